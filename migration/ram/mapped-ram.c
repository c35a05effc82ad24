/*
 * mapped-ram: guest RAM at fixed offsets in a migration file.  See
 * migration/mapped-ram.h.
 */
#include "migration/ram/mapped-ram.h"
#include "migration/config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/crc32c.h"
#include "util/thread-name.h"

/* Longest run of pages one pwrite()/pread() moves: 1 MiB, so loading
 * threads take turns on the file often. */
#define MAX_RUN 256

typedef struct MappedBlock {
    RAMBlock *block;
    WireMappedRamBlock layout;
    uint64_t *bitmap;           /* bit per page, set = written; atomic */
    char *what;                 /* "pages of RAM block 'x'", for errors */
} MappedBlock;

struct MappedRamWriter {
    int fd;
    uint64_t base;
    guint n;
    MappedBlock *blocks;
    uint64_t end;               /* stream offset after the last region */
    uint64_t bytes;             /* atomic */
    bool checksum;              /* records and regions carry CRC32Cs */
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

static bool pwrite_all(int fd, const void *buf, size_t len, uint64_t off,
                       const char *what, Error **errp)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = pwrite(fd, p, len, off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            error_setg_errno(errp, n < 0 ? errno : ENOSPC,
                             "Writing %s at offset %" PRIu64 " failed", what,
                             off);
            return false;
        }
        p += n;
        len -= n;
        off += n;
    }
    return true;
}

static bool pread_all(int fd, void *buf, size_t len, uint64_t off,
                      const char *what, Error **errp)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = pread(fd, p, len, off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            error_setg_errno(errp, n < 0 ? errno : EIO,
                             "Reading %s at offset %" PRIu64 " failed%s",
                             what, off, n == 0 ? ": the file ends there" : "");
            return false;
        }
        p += n;
        len -= n;
        off += n;
    }
    return true;
}

MappedRamWriter *mapped_ram_writer_new(int fd, uint64_t base, uint64_t pos,
                                       GPtrArray *blocks, bool checksum,
                                       Error **errp)
{
    MappedRamWriter *w = g_new0(MappedRamWriter, 1);
    g_autoptr(GByteArray) rec = g_byte_array_new();

    w->fd = fd;
    w->base = base;
    w->checksum = checksum;
    w->n = blocks->len;
    w->blocks = g_new0(MappedBlock, w->n);
    for (guint i = 0; i < w->n; i++) {
        MappedBlock *mb = &w->blocks[i];
        WireMappedRamBlock *l = &mb->layout;
        uint64_t pages;

        mb->block = g_ptr_array_index(blocks, i);
        mb->what = g_strdup_printf("pages of RAM block '%s'",
                                   mb->block->idstr);
        pages = mb->block->size / GUEST_PAGE_SIZE;
        l->block = i;
        l->page_size = GUEST_PAGE_SIZE;
        /* Room for the record with its checksum either way. */
        l->bitmap_offset = align_up(pos + wire_record_size(
                                        48 + WIRE_CHECKSUM_LEN),
                                    WIRE_MAPPED_RAM_ALIGN);
        l->bitmap_len = (pages + 7) / 8;
        l->pages_offset = align_up(l->bitmap_offset + l->bitmap_len,
                                   WIRE_MAPPED_RAM_ALIGN);
        l->pages_len = mb->block->size;
        l->next_offset = l->pages_offset + l->pages_len;
        mb->bitmap = g_new0(uint64_t, (pages + 63) / 64);

        g_byte_array_set_size(rec, 0);
        if (!wire_mapped_ram_block_encode(l, rec, errp)) {
            mapped_ram_writer_free(w);
            return NULL;
        }
        /* Written past the stream, which would add it. */
        if (checksum) {
            wire_records_add_checksum(rec, 0);
        }
        if (!pwrite_all(fd, rec->data, rec->len, base + pos,
                        "a MAPPED_RAM_BLOCK record", errp)) {
            mapped_ram_writer_free(w);
            return NULL;
        }
        pos = l->next_offset;
    }
    w->end = pos;
    return w;
}

static void mark(MappedBlock *mb, uint64_t page, bool written)
{
    uint64_t bit = 1ull << (page % 64);

    if (written) {
        qatomic_or(&mb->bitmap[page / 64], bit);
    } else {
        qatomic_and(&mb->bitmap[page / 64], ~bit);
    }
}

/* @n consecutive pages from page @first: contiguous in guest memory
 * and in the file, so one pwrite(). */
static bool write_run(MappedRamWriter *w, MappedBlock *mb, uint64_t first,
                      unsigned n, Error **errp)
{
    if (!pwrite_all(w->fd, mb->block->host + first * GUEST_PAGE_SIZE,
                    (size_t)n * GUEST_PAGE_SIZE,
                    w->base + mb->layout.pages_offset +
                    first * GUEST_PAGE_SIZE, mb->what, errp)) {
        return false;
    }
    qatomic_add(&w->bytes, (uint64_t)n * GUEST_PAGE_SIZE);
    return true;
}

bool mapped_ram_write_batch(MappedRamWriter *w, const RamPageBatch *batch,
                            Error **errp)
{
    MappedBlock *mb = &w->blocks[batch->block_index];
    unsigned i = 0;

    while (i < batch->count) {
        uint64_t first = batch->offsets[i] / GUEST_PAGE_SIZE;
        unsigned n = 1;

        if (batch->kinds[i] != WIRE_PAGE_NORMAL) {
            mark(mb, first, false);
            i++;
            continue;
        }
        /* Consecutive normal pages go in one system call. */
        while (i + n < batch->count && n < MAX_RUN &&
               batch->kinds[i + n] == WIRE_PAGE_NORMAL &&
               batch->offsets[i + n] / GUEST_PAGE_SIZE == first + n) {
            n++;
        }
        if (!write_run(w, mb, first, n, errp)) {
            return false;
        }
        for (unsigned k = 0; k < n; k++) {
            mark(mb, first + k, true);
        }
        i += n;
    }
    return true;
}

uint64_t mapped_ram_bytes_written(MappedRamWriter *w)
{
    return qatomic_read(&w->bytes);
}

/* The CRC32C of @block's contents with the pages @bitmap (little-endian
 * words) marks unwritten counted as zeros: what a reader loads. */
static uint32_t block_crc(uint32_t crc, const RAMBlock *block,
                          const uint64_t *le)
{
    static const uint8_t zero_page[GUEST_PAGE_SIZE];
    uint64_t pages = block->size / GUEST_PAGE_SIZE;

    for (uint64_t p = 0; p < pages; p++) {
        bool written = GUINT64_FROM_LE(le[p / 64]) & (1ull << (p % 64));

        crc = crc32c(crc, written ? block->host + p * GUEST_PAGE_SIZE
                                  : zero_page, GUEST_PAGE_SIZE);
    }
    return crc;
}

bool mapped_ram_writer_finish(MappedRamWriter *w, GByteArray *out,
                              Error **errp)
{
    g_autofree uint32_t *crcs = g_new0(uint32_t, w->n);

    for (guint i = 0; i < w->n; i++) {
        MappedBlock *mb = &w->blocks[i];
        uint64_t words = (mb->layout.bitmap_len + 7) / 8;
        g_autofree uint64_t *le = g_new(uint64_t, words);

        /* On the wire bit i is byte i / 8, least significant first:
         * little-endian words. */
        for (uint64_t k = 0; k < words; k++) {
            le[k] = GUINT64_TO_LE(mb->bitmap[k]);
        }
        if (!pwrite_all(w->fd, le, mb->layout.bitmap_len,
                        w->base + mb->layout.bitmap_offset,
                        "a mapped-ram bitmap", errp)) {
            return false;
        }
        if (w->checksum) {
            crcs[i] = block_crc(crc32c(0, le, mb->layout.bitmap_len),
                                mb->block, le);
        }
    }
    if (w->checksum &&
        !wire_mapped_ram_checksums_encode(out, crcs, w->n, errp)) {
        return false;
    }
    if (lseek(w->fd, w->base + w->end, SEEK_SET) < 0) {
        error_setg_errno(errp, errno, "Seeking past the mapped-ram regions "
                         "failed");
        return false;
    }
    return true;
}

void mapped_ram_writer_free(MappedRamWriter *w)
{
    if (!w) {
        return;
    }
    for (guint i = 0; i < w->n; i++) {
        g_free(w->blocks[i].bitmap);
        g_free(w->blocks[i].what);
    }
    g_free(w->blocks);
    g_free(w);
}

/* ---- Loading ---- */

typedef struct LoadPart {
    int fd;
    uint64_t pages_at;          /* file offset of page 0 */
    const uint8_t *bitmap;
    RAMBlock *block;
    const char *what;           /* "pages of RAM block 'x'", for errors */
    uint64_t first, end;        /* pages [first, end) */
    uint64_t normal, zero;
    Error *err;
} LoadPart;

static bool page_written(const uint8_t *bitmap, uint64_t page)
{
    return bitmap[page / 8] & (1u << (page % 8));
}

static bool read_run(LoadPart *lp, uint64_t first, uint64_t n)
{
    if (!pread_all(lp->fd, lp->block->host + first * GUEST_PAGE_SIZE,
                   n * GUEST_PAGE_SIZE, lp->pages_at + first * GUEST_PAGE_SIZE,
                   lp->what, &lp->err)) {
        return false;
    }
    lp->normal += n;
    return true;
}

static gpointer load_part(gpointer opaque)
{
    LoadPart *lp = opaque;
    uint64_t p = lp->first;

    while (p < lp->end) {
        uint64_t n = 0;

        if (!page_written(lp->bitmap, p)) {
            uint8_t *host = lp->block->host + p * GUEST_PAGE_SIZE;

            /* A fresh page reads as zero without being allocated. */
            if (!ram_page_is_zero(host)) {
                memset(host, 0, GUEST_PAGE_SIZE);
            }
            lp->zero++;
            p++;
            continue;
        }
        while (p + n < lp->end && n < MAX_RUN &&
               page_written(lp->bitmap, p + n)) {
            n++;
        }
        if (!read_run(lp, p, n)) {
            break;
        }
        p += n;
    }
    return NULL;
}

bool mapped_ram_load_block(int fd, uint64_t base, uint64_t file_size,
                           const WireMappedRamBlock *mb, RAMBlock *block,
                           unsigned threads, uint64_t *normal_pages,
                           uint64_t *zero_pages, uint32_t *crc,
                           Error **errp)
{
    uint64_t pages = block->size / GUEST_PAGE_SIZE;
    g_autofree uint8_t *bitmap = NULL;
    g_autofree LoadPart *parts = NULL;
    g_autofree GThread **tids = NULL;
    g_autofree char *what = g_strdup_printf("pages of RAM block '%s'",
                                            block->idstr);
    bool ok = true;

    if (mb->page_size != GUEST_PAGE_SIZE || mb->pages_len != block->size) {
        error_setg(errp, "MAPPED_RAM_BLOCK: block %u has %" PRIu64 " bytes "
                   "in pages of %u, but RAM block '%s' has %" PRIu64
                   " bytes in pages of %u", mb->block, mb->pages_len,
                   mb->page_size, block->idstr, block->size,
                   GUEST_PAGE_SIZE);
        return false;
    }
    if (base + mb->bitmap_offset + mb->bitmap_len > file_size) {
        error_setg(errp, "MAPPED_RAM_BLOCK: the bitmap of block %u ends at "
                   "offset %" PRIu64 ", past the end of the file (%"
                   PRIu64 " bytes): the file is truncated", mb->block,
                   base + mb->bitmap_offset + mb->bitmap_len, file_size);
        return false;
    }
    bitmap = g_malloc(mb->bitmap_len);
    if (!pread_all(fd, bitmap, mb->bitmap_len, base + mb->bitmap_offset,
                   "the mapped-ram bitmap", errp)) {
        return false;
    }
    /* Bits past the last page are never set by a writer. */
    if (pages % 8 && (bitmap[mb->bitmap_len - 1] >> (pages % 8))) {
        error_setg(errp, "MAPPED_RAM_BLOCK: the bitmap of block %u marks "
                   "pages past the end of the block", mb->block);
        return false;
    }

    threads = MAX(1, MIN(threads, pages));
    parts = g_new0(LoadPart, threads);
    tids = g_new0(GThread *, threads);
    for (unsigned t = 0; t < threads; t++) {
        LoadPart *lp = &parts[t];
        g_autofree char *name = vmig_thread_name_indexed(
            "mig/mram-ld/", t, MIGRATION_MULTIFD_CHANNELS_MAX - 1);

        lp->fd = fd;
        lp->pages_at = base + mb->pages_offset;
        lp->bitmap = bitmap;
        lp->block = block;
        lp->what = what;
        lp->first = pages * t / threads;
        lp->end = pages * (t + 1) / threads;
        /* The source chose the thread count: past what this host can
         * start, the calling thread loads the part itself. */
        tids[t] = threads == 1 ? NULL :
                  g_thread_try_new(name, load_part, lp, NULL);
        if (!tids[t]) {
            load_part(lp);
        }
    }
    for (unsigned t = 0; t < threads; t++) {
        if (tids[t]) {
            g_thread_join(tids[t]);
        }
        *normal_pages += parts[t].normal;
        *zero_pages += parts[t].zero;
        if (parts[t].err) {
            if (ok) {
                error_propagate(errp, parts[t].err);
                ok = false;
            } else {
                error_free(parts[t].err);
            }
        }
    }
    if (ok && crc) {
        *crc = crc32c(crc32c(0, bitmap, mb->bitmap_len), block->host,
                      block->size);
    }
    return ok;
}
