/*
 * The source's side of guest RAM: dirty pages into RAM_PAGES records.
 * See include/migration/ram-transfer.h.
 */
#include "migration/ram/ram.h"

#include <string.h>

#include "migration/ram/precopy-policy.h"
#include "util/atomic.h"

bool ram_page_is_zero(const uint8_t *p)
{
    /* Equal to itself shifted by one byte and starting with 0: all 0.
     * memcmp() is faster than any loop we would write. */
    return p[0] == 0 && memcmp(p, p + 1, GUEST_PAGE_SIZE - 1) == 0;
}

unsigned ram_save_batch_pages(uint64_t rate)
{
    /* An eighth of a window's allowance: a record overshoots a window
     * by little, and the next windows soon pay it off. */
    uint64_t pages = rate / (G_USEC_PER_SEC / MIG_RATE_WINDOW_US) / 8 /
                     GUEST_PAGE_SIZE;

    if (rate == 0) {
        return RAM_SAVE_BATCH_MAX_PAGES;
    }
    return CLAMP(pages, RAM_SAVE_BATCH_PAGES, RAM_SAVE_BATCH_MAX_PAGES);
}

void ram_saver_init(RamSaver *rs, DirtyBitmap *bitmap, bool detect_zero)
{
    memset(rs, 0, sizeof(*rs));
    rs->bitmap = bitmap;
    rs->detect_zero = detect_zero;
    rs->blocks = ram_guest_blocks();
}

void ram_saver_destroy(RamSaver *rs)
{
    g_clear_pointer(&rs->blocks, g_ptr_array_unref);
}

void ram_saver_rewind(RamSaver *rs)
{
    rs->block = 0;
    rs->page = 0;
}

unsigned ram_saver_next_batch(RamSaver *rs, RamPageBatch *batch,
                              unsigned max_pages, bool detect_zero)
{
    max_pages = MIN(max_pages, WIRE_RAM_PAGES_MAX);
    while (rs->block < rs->blocks->len) {
        RAMBlock *b = g_ptr_array_index(rs->blocks, rs->block);
        uint64_t npages = b->size / GUEST_PAGE_SIZE;
        unsigned n = 0;

        /* Not migrated (x-ignore-shared): the destination has it. */
        if (!dirty_bitmap_tracks(rs->bitmap, b)) {
            rs->block++;
            rs->page = 0;
            continue;
        }

        while (n < max_pages) {
            uint64_t page = dirty_bitmap_next_dirty(rs->bitmap, b,
                                                    rs->page);

            if (page >= npages) {
                rs->page = npages;
                break;
            }
            /* Clear, then read: a racing write is dirty again.  The
             * read is whoever sends the batch's. */
            dirty_bitmap_test_and_clear(rs->bitmap, b, page);
            batch->offsets[n] = page * GUEST_PAGE_SIZE;
            batch->kinds[n] = detect_zero &&
                              ram_page_is_zero(b->host + batch->offsets[n])
                              ? WIRE_PAGE_ZERO : WIRE_PAGE_NORMAL;
            n++;
            rs->page = page + 1;
        }
        if (n == 0) {
            rs->block++;
            rs->page = 0;
            continue;
        }
        batch->block = b;
        batch->block_index = rs->block;
        batch->count = n;
        rs->pages += n;
        return n;
    }
    batch->count = 0;
    return 0;
}

unsigned ram_saver_range_batch(RamSaver *rs, uint32_t block_index,
                               uint64_t offset, uint64_t length,
                               RamPageBatch *batch)
{
    RAMBlock *b = g_ptr_array_index(rs->blocks, block_index);
    uint64_t page = offset / GUEST_PAGE_SIZE;
    uint64_t end = (offset + length + GUEST_PAGE_SIZE - 1) / GUEST_PAGE_SIZE;
    unsigned n = 0;

    for (; page < end && n < WIRE_RAM_PAGES_MAX; page++) {
        /* Sent already (or in flight): it will arrive without us. */
        if (!dirty_bitmap_test_and_clear(rs->bitmap, b, page)) {
            continue;
        }
        batch->offsets[n] = page * GUEST_PAGE_SIZE;
        batch->kinds[n] = rs->detect_zero &&
                          ram_page_is_zero(b->host + batch->offsets[n])
                          ? WIRE_PAGE_ZERO : WIRE_PAGE_NORMAL;
        n++;
    }
    batch->block = b;
    batch->block_index = block_index;
    batch->count = n;
    rs->pages += n;
    return n;
}

void ram_saver_count_batch(RamSaver *rs, const RamPageBatch *batch)
{
    for (unsigned i = 0; i < batch->count; i++) {
        if (batch->kinds[i] == WIRE_PAGE_NORMAL) {
            qatomic_inc(&rs->normal_pages);
        } else {
            qatomic_inc(&rs->zero_pages);
        }
    }
}

size_t ram_batch_record_iov(const RamPageBatch *batch, uint64_t packet,
                            GByteArray *out, struct iovec *iov)
{
    static const uint8_t zeroes[WIRE_ALIGN];
    WireRamPagesHeader h = {
        .block = batch->block_index,
        .count = batch->count,
        .page_size = GUEST_PAGE_SIZE,
        .packet = packet,
    };
    size_t start, pad, n_iov = 1, n_normal = 0;

    wire_ram_pages_begin(out, &h, batch->offsets, batch->kinds, &start,
                         &error_abort);
    for (unsigned i = 0; i < batch->count; i++) {
        if (batch->kinds[i] == WIRE_PAGE_NORMAL) {
            /* iov[0] is the record's start: never merged into. */
            n_iov = 1 + ram_iov_append(iov + 1, n_iov - 1,
                                       batch->block->host +
                                       batch->offsets[i], GUEST_PAGE_SIZE);
            n_normal++;
        }
    }
    wire_record_end_external(out, start, n_normal * (size_t)GUEST_PAGE_SIZE,
                             &pad, &error_abort);
    /* @out no longer grows: pointers into it stay valid. */
    iov[0].iov_base = out->data + start;
    iov[0].iov_len = out->len - start;
    if (pad) {
        iov[n_iov].iov_base = (void *)zeroes;
        iov[n_iov].iov_len = pad;
        n_iov++;
    }
    return n_iov;
}

unsigned ram_saver_next_record_iov(RamSaver *rs, GByteArray *out,
                                   struct iovec *iov, size_t *niov,
                                   unsigned max_pages)
{
    RamPageBatch batch;

    if (!ram_saver_next_batch(rs, &batch, max_pages, rs->detect_zero)) {
        *niov = 0;
        return 0;
    }
    ram_saver_count_batch(rs, &batch);
    *niov = ram_batch_record_iov(&batch, rs->next_packet++, out, iov);
    return batch.count;
}

unsigned ram_saver_next_record(RamSaver *rs, GByteArray *out,
                               unsigned max_pages)
{
    struct iovec iov[WIRE_RAM_PAGES_MAX + 2];
    size_t niov;
    unsigned n = ram_saver_next_record_iov(rs, out, iov, &niov, max_pages);

    /* iov[0] is in @out already. */
    for (size_t i = 1; i < niov; i++) {
        g_byte_array_append(out, iov[i].iov_base, iov[i].iov_len);
    }
    return n;
}
