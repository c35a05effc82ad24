/*
 * The source's side of guest RAM: dirty pages into RAM_PAGES records.
 * See include/migration/ram-transfer.h.
 */
#include "migration/ram-transfer.h"

#include <string.h>

bool ram_page_is_zero(const uint8_t *p)
{
    /* Equal to itself shifted by one byte and starting with 0: all 0.
     * memcmp() is faster than any loop we would write. */
    return p[0] == 0 && memcmp(p, p + 1, GUEST_PAGE_SIZE - 1) == 0;
}

static int add_block(RAMBlock *block, void *opaque)
{
    g_ptr_array_add(opaque, block);
    return 0;
}

void ram_saver_init(RamSaver *rs, DirtyTracker *tracker, bool detect_zero)
{
    memset(rs, 0, sizeof(*rs));
    rs->tracker = tracker;
    rs->detect_zero = detect_zero;
    rs->blocks = g_ptr_array_new();
    ram_block_foreach(add_block, rs->blocks);
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

unsigned ram_saver_next_record(RamSaver *rs, GByteArray *out,
                               unsigned max_pages)
{
    uint64_t offsets[WIRE_RAM_PAGES_MAX];
    uint8_t kinds[WIRE_RAM_PAGES_MAX];

    max_pages = MIN(max_pages, WIRE_RAM_PAGES_MAX);
    while (rs->block < rs->blocks->len) {
        RAMBlock *b = g_ptr_array_index(rs->blocks, rs->block);
        uint64_t npages = b->size / GUEST_PAGE_SIZE;
        WireRamPagesHeader h = {
            .block = rs->block,
            .page_size = GUEST_PAGE_SIZE,
        };
        size_t start;
        unsigned n = 0;

        while (n < max_pages) {
            uint64_t page = dirty_tracker_next_dirty(rs->tracker, b,
                                                     rs->page);

            if (page >= npages) {
                rs->page = npages;
                break;
            }
            /* Clear, then read: a racing write is dirty again. */
            dirty_tracker_test_and_clear(rs->tracker, b, page);
            offsets[n] = page * GUEST_PAGE_SIZE;
            kinds[n] = rs->detect_zero &&
                       ram_page_is_zero(b->host + offsets[n])
                       ? WIRE_PAGE_ZERO : WIRE_PAGE_NORMAL;
            n++;
            rs->page = page + 1;
        }
        if (n == 0) {
            rs->block++;
            rs->page = 0;
            continue;
        }
        h.count = n;
        wire_ram_pages_begin(out, &h, offsets, kinds, &start, &error_abort);
        for (unsigned i = 0; i < n; i++) {
            if (kinds[i] == WIRE_PAGE_NORMAL) {
                g_byte_array_append(out, b->host + offsets[i],
                                    GUEST_PAGE_SIZE);
                rs->normal_pages++;
            } else {
                rs->zero_pages++;
            }
        }
        rs->pages += n;
        wire_record_end(out, start, &error_abort);
        return n;
    }
    return 0;
}
