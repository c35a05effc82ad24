/*
 * mapped-ram: guest RAM in a file: with every page at a fixed offset
 * (docs/devel/migration-protocol.md, 6.10), internal to the engine.
 *
 * Saving writes each block's MAPPED_RAM_BLOCK record up front, then
 * pages in place with pwrite(), from any number of threads at once (a
 * page written again in a later pass overwrites its older copy), and
 * the page bitmaps last.  Loading reads a block's bitmap and then its
 * written pages straight into guest RAM, split between threads.
 */
#ifndef VMIG_MIGRATION_MAPPED_RAM_H
#define VMIG_MIGRATION_MAPPED_RAM_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/ram/ram.h"
#include "migration/wire/wire.h"
#include "qapi/error.h"

typedef struct MappedRamWriter MappedRamWriter;

/*
 * Lays out @blocks (RAMBlock *, guest order) after stream offset @pos in
 * the file @fd, whose stream starts at file offset @base, and writes
 * their MAPPED_RAM_BLOCK records.
 */
MappedRamWriter *mapped_ram_writer_new(int fd, uint64_t base, uint64_t pos,
                                       GPtrArray *blocks, bool checksum,
                                       Error **errp);
/*
 * Writes the NORMAL pages of @batch in place and marks them written; a
 * ZERO page is marked unwritten (read back as zero).  Any thread; two
 * calls at once must not share a page (the migration's SYNC points see
 * to that).
 */
bool mapped_ram_write_batch(MappedRamWriter *w, const RamPageBatch *batch,
                            Error **errp);
/* Page bytes written so far (any thread). */
uint64_t mapped_ram_bytes_written(MappedRamWriter *w);
/* Writes the bitmaps and puts the file position where the record
 * stream goes on (after the last block's pages).  With @checksum, the
 * record to write there first, MAPPED_RAM_CHECKSUMS, is appended to
 * @out: its CRCs are of guest memory as the pages and bitmaps say, so
 * the VM must be stopped and every page written. */
bool mapped_ram_writer_finish(MappedRamWriter *w, GByteArray *out,
                              Error **errp);
void mapped_ram_writer_free(MappedRamWriter *w);

/*
 * Loads the block @mb describes into @block with @threads threads: the
 * written pages from the file @fd (stream at file offset @base), the
 * others made zero.  @file_size bounds every region.  *@crc (if not
 * NULL) is then the CRC32C MAPPED_RAM_CHECKSUMS has for the block.
 */
bool mapped_ram_load_block(int fd, uint64_t base, uint64_t file_size,
                           const WireMappedRamBlock *mb, RAMBlock *block,
                           unsigned threads, uint64_t *normal_pages,
                           uint64_t *zero_pages, uint32_t *crc,
                           Error **errp);

#endif
