/*
 * Guest RAM on the migration stream: the source's side turns dirty pages
 * into RAM_PAGES records, the destination's side puts the pages of a
 * RAM_PAGES record into guest RAM.
 *
 * Blocks are named by their index in HELLO's list, which is guest order
 * on both ends (the handshake made sure the layouts are equal).
 *
 * Saving follows the dirty bitmap's contract (migration/ram/dirty-bitmap.h):
 * a page's dirty bit is cleared before the page is read, so a write
 * racing with the read is reported again by the next sync.  Zero pages
 * become ZERO markers unless zero-page-detection is "none".  Without
 * multifd the migration thread looks for them, whatever the mode; with
 * multifd, "legacy" looks here and "multifd" in the channel threads
 * (migration/multifd.h).
 *
 * Loading checks everything against the layout before touching memory:
 * the block index, each offset, and that every page lies within its
 * block.  A ZERO page is written only when the memory there is not zero
 * already, so an untouched destination page stays unallocated.
 */
#ifndef VMIG_MIGRATION_RAM_TRANSFER_H
#define VMIG_MIGRATION_RAM_TRANSFER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "migration/ram/dirty-bitmap.h"
#include "migration/transport/stream.h"
#include "migration/wire/wire.h"
#include "qapi/error.h"
#include "system/ram.h"

/*
 * Pages per RAM_PAGES record the source builds.  With a bandwidth limit
 * (max-bandwidth), records stay a small part of a 100 ms window's
 * allowance, so that limiting is smooth: RAM_SAVE_BATCH_PAGES (256 KiB)
 * at a few MiB/s.  Without one, and at high limits, they grow up to
 * RAM_SAVE_BATCH_MAX_PAGES (4 MiB): each record is one sendmsg() on the
 * source and about one readv() into place on the destination, and
 * larger ones cut those calls and their TCP overhead (docs/benchmarks.md).
 */
#define RAM_SAVE_BATCH_PAGES 64
#define RAM_SAVE_BATCH_MAX_PAGES WIRE_RAM_PAGES_MAX

/* The pages per record for a bandwidth limit of @rate bytes/s (0: no
 * limit), between RAM_SAVE_BATCH_PAGES and RAM_SAVE_BATCH_MAX_PAGES. */
unsigned ram_save_batch_pages(uint64_t rate);

/*
 * Appends @len bytes at @base to the @n entries of @iov, as a new entry
 * or, when they start where the last entry ends, by growing it: a run
 * of adjacent guest pages is one entry, so the kernel walks fewer.
 * Returns the new entry count.
 */
static inline size_t ram_iov_append(struct iovec *iov, size_t n, void *base,
                                    size_t len)
{
    if (n && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len ==
             (uint8_t *)base) {
        iov[n - 1].iov_len += len;
        return n;
    }
    iov[n].iov_base = base;
    iov[n].iov_len = len;
    return n + 1;
}

/* Whether the GUEST_PAGE_SIZE bytes at @p are all zero. */
bool ram_page_is_zero(const uint8_t *p);

typedef struct RamSaver {
    DirtyBitmap *bitmap;
    uint64_t next_packet;       /* of the next RAM_PAGES record built */
    GPtrArray *blocks;          /* RAMBlock *, in guest order (borrowed) */
    bool detect_zero;
    /* Where the current pass has got to. */
    guint block;
    uint64_t page;
    /* Totals since the start. */
    uint64_t zero_pages;
    uint64_t normal_pages;
    uint64_t pages;             /* zero + normal */
} RamSaver;

/*
 * Dirty pages of one block, their dirty bits already cleared: what a
 * multifd channel is handed to send.
 */
typedef struct RamPageBatch {
    RAMBlock *block;
    uint32_t block_index;       /* in HELLO's list */
    unsigned count;
    uint64_t offsets[WIRE_RAM_PAGES_MAX];   /* bytes into the block */
    uint8_t kinds[WIRE_RAM_PAGES_MAX];      /* WIRE_PAGE_* */
} RamPageBatch;

/* Saves the registered blocks @bitmap has, their dirty pages (the
 * others are not migrated: x-ignore-shared). */
void ram_saver_init(RamSaver *rs, DirtyBitmap *bitmap, bool detect_zero);
void ram_saver_destroy(RamSaver *rs);

/* Starts a new pass at the first block (after a sync). */
void ram_saver_rewind(RamSaver *rs);

/*
 * Appends one RAM_PAGES record of up to @max_pages dirty pages (from
 * where the pass has got to) to @out, clearing their dirty bits.
 * Returns the number of pages in it: 0 when the pass has no dirty page
 * left.
 */
unsigned ram_saver_next_record(RamSaver *rs, GByteArray *out,
                               unsigned max_pages);
/*
 * The same record without copying the pages: appends only its start
 * (record header, RAM_PAGES header, offsets, kinds) to @out and fills
 * @iov (room for MIN(@max_pages, WIRE_RAM_PAGES_MAX) + 2 entries) with
 * that start, the normal pages in guest memory (one entry per run of
 * adjacent pages), then any padding; *@niov is the entry count (0 with
 * 0 returned).  The entries are valid
 * until @out changes.  The pages' dirty bits are already clear, so
 * writing them later (writev) is reading them after the clear.
 */
unsigned ram_saver_next_record_iov(RamSaver *rs, GByteArray *out,
                                   struct iovec *iov, size_t *niov,
                                   unsigned max_pages);

/*
 * Decompresses the @len bytes at @data into exactly the @n pages of
 * @pages (a COMPRESSED record's normal pages, in order).
 */
typedef bool RamDecompressFunc(void *opaque, const void *data, size_t len,
                               const struct iovec *pages, size_t n,
                               Error **errp);

/*
 * Takes up to @max_pages dirty pages (from where the pass has got to,
 * within one block) into @batch, clearing their dirty bits; with
 * @detect_zero their kinds say which are zero, else all are NORMAL (the
 * sender may look again).  Returns the count: 0 at the end of the pass.
 * The zero/normal totals are not counted: ram_saver_count_batch() does
 * that once the kinds are final (any thread).
 */
unsigned ram_saver_next_batch(RamSaver *rs, RamPageBatch *batch,
                              unsigned max_pages, bool detect_zero);
void ram_saver_count_batch(RamSaver *rs, const RamPageBatch *batch);
/*
 * Postcopy's page requests: the dirty pages among the @length bytes at
 * @offset of block @block_index (an index of rs->blocks, the range
 * checked against it by the caller; at most WIRE_RAM_PAGES_MAX pages)
 * into @batch, their dirty bits cleared.  Returns the count: 0 when
 * every page was sent already.
 */
unsigned ram_saver_range_batch(RamSaver *rs, uint32_t block_index,
                               uint64_t offset, uint64_t length,
                               RamPageBatch *batch);
/*
 * The RAM_PAGES record of @batch numbered @packet, as
 * ram_saver_next_record_iov() builds it: its start appended to @out,
 * @iov (room for count + 2) filled; returns the entry count.
 */
size_t ram_batch_record_iov(const RamPageBatch *batch, uint64_t packet,
                            GByteArray *out, struct iovec *iov);

typedef struct RamLoader {
    /* RAMBlock *, by HELLO index (borrowed); NULL for a block that is
     * not sent (x-ignore-shared), whose pages are refused. */
    GPtrArray *blocks;
    /* For COMPRESSED records; NULL refuses them (compression "none"). */
    RamDecompressFunc *decompress;
    void *decompress_opaque;
    uint64_t next_packet;       /* the packet number due next */
    /* Atomic: query-migrate reads a multifd channel's while it loads. */
    uint64_t zero_pages;
    uint64_t normal_pages;
    uint64_t xbzrle_pages;      /* applied deltas (migration/ram-xbzrle.h) */
} RamLoader;

/* Loads into @blocks (RAMBlock *, HELLO order; borrowed). */
void ram_loader_init(RamLoader *rl, GPtrArray *blocks);
/* Loads into every registered block, in guest order. */
void ram_loader_init_guest(RamLoader *rl);
void ram_loader_destroy(RamLoader *rl);

/*
 * The block of decoded RAM_PAGES @p, every page checked to lie within
 * it and the packet number to be the one due (then counted); NULL with
 * @errp set otherwise, nothing counted.  For a loader placing pages
 * itself (postcopy, migration/ram/postcopy-ram.h).
 */
RAMBlock *ram_loader_check_pages(RamLoader *rl, const WireRamPages *p,
                                 Error **errp);

/* Puts the pages of the RAM_PAGES record @body into guest RAM. */
bool ram_loader_load(RamLoader *rl, const uint8_t *body, size_t len,
                     Error **errp);

typedef enum RamLoadResult {
    RAM_LOAD_OK,
    RAM_LOAD_INVALID,       /* errp set: the record is bad */
    RAM_LOAD_IO_ERROR,      /* errp set: reading the stream failed */
} RamLoadResult;

/*
 * The same for the RAM_PAGES record whose header
 * mig_stream_read_record_header() just returned: reads the rest of it
 * from @s, the page data straight into guest RAM once every offset has
 * been checked.  The ZERO pages are applied after the normal ones (the
 * same result unless a record names a page twice).  A bad record
 * changes nothing; a stream failing in the middle of the data may leave
 * some of its pages written.
 */
RamLoadResult ram_loader_load_from(RamLoader *rl, MigStream *s,
                                   WireRecord *rec, gint64 deadline,
                                   Error **errp);

#endif
