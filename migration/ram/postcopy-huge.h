/*
 * Huge pages during postcopy, on the destination: userfaultfd places a
 * huge page only whole, but the source sends it as 4 KiB pieces, which
 * may come in any order, split between records and channels (a request
 * served on the preempt channel while main's background had begun the
 * same huge page).  A HugeAssembler gathers the pieces of each huge page
 * in a buffer of its own until every piece has come, then hands the
 * buffer over for one UFFDIO_COPY.
 *
 * A piece that comes twice (sent again after a recovery) overwrites the
 * first and counts once.  Buffers are huge pages in flight: a channel
 * sends a huge page's pieces in order, so about one per channel, plus
 * those a request split.
 *
 * Threads: any (a mutex inside), so every channel can add pieces.
 */
#ifndef VMIG_MIGRATION_RAM_POSTCOPY_HUGE_H
#define VMIG_MIGRATION_RAM_POSTCOPY_HUGE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct HugeAssembler HugeAssembler;

HugeAssembler *huge_assembler_new(void);
/* Frees the buffers of huge pages not complete yet, too. */
void huge_assembler_free(HugeAssembler *ha);

/*
 * The piece at @piece_off (a multiple of 4 KiB, below @page_size) of
 * the huge page of @page_size bytes at @page (its guest address, the
 * key): @data's 4 KiB, or zeroes if NULL.  Returns the huge page's
 * whole content once its last piece came (the caller places it, then
 * frees it with huge_assembler_buffer_free()), else NULL.
 */
uint8_t *huge_assembler_add(HugeAssembler *ha, const uint8_t *page,
                            uint64_t page_size, uint64_t piece_off,
                            const uint8_t *data);
void huge_assembler_buffer_free(uint8_t *buf, uint64_t page_size);

/* Huge pages begun and not complete. */
unsigned huge_assembler_in_flight(HugeAssembler *ha);

/*
 * The huge page holding 4 KiB page @page of a block with @page_size
 * pages: its first 4 KiB page's index (a fault asks for the huge page
 * from there, and its bitmaps change as one).
 */
uint64_t huge_page_first(uint64_t page, uint64_t page_size);

/*
 * The @i-th PAGE_REQUEST (*@offset, *@length: bytes into the block) that
 * asks for the whole page of @page_size bytes from 4 KiB page @first: a
 * source takes at most WIRE_RAM_PAGES_MAX pages a request, so a 1 GiB
 * page needs 256; false once @i is past the last.
 */
bool huge_page_request(uint64_t first, uint64_t page_size, uint64_t i,
                       uint64_t *offset, uint64_t *length);

#endif
