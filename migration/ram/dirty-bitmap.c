/*
 * The migration's dirty bitmap, filled from the dirty log.
 * See migration/ram/dirty-bitmap.h.
 */
#include "migration/ram/dirty-bitmap.h"

#include <string.h>

#define WORD_BITS 64

typedef struct BitmapBlock {
    RAMBlock *block;
    uint64_t pages;
    uint64_t *bits;         /* bit n: page n is dirty */
    uint64_t dirty;         /* bits set */
    /* The log's last answer to dirty_log_arm(): pages below are armed,
     * so clearing them needs no call. */
    uint64_t armed;
} BitmapBlock;

struct DirtyBitmap {
    DirtyLog *log;
    BitmapBlock *blocks;
    unsigned nblocks;
    uint64_t syncs;
    uint64_t last_sync_pages;
    BitmapBlock *sync_block;    /* during a sync: the block last reported */
};

static uint64_t words_for(uint64_t bits)
{
    return (bits + WORD_BITS - 1) / WORD_BITS;
}

/* Sets bit @page; returns whether it was clear. */
static bool bb_set(BitmapBlock *bb, uint64_t page)
{
    uint64_t mask = 1ull << (page % WORD_BITS);
    uint64_t *w = &bb->bits[page / WORD_BITS];

    if (*w & mask) {
        return false;
    }
    *w |= mask;
    bb->dirty++;
    return true;
}

static BitmapBlock *find_block(const DirtyBitmap *bm, const RAMBlock *block)
{
    for (unsigned i = 0; i < bm->nblocks; i++) {
        if (bm->blocks[i].block == block) {
            return &bm->blocks[i];
        }
    }
    g_error("RAM block '%s' has no dirty bitmap", block->idstr);
}

static BitmapBlock *find_page(const DirtyBitmap *bm, const RAMBlock *block,
                              uint64_t page)
{
    BitmapBlock *bb = find_block(bm, block);

    g_assert(page < bb->pages);
    return bb;
}

typedef struct AddBlocks {
    GArray *blocks;
    DirtyLog *log;
} AddBlocks;

static int add_block(RAMBlock *block, void *opaque)
{
    AddBlocks *add = opaque;
    BitmapBlock bb = {
        .block = block,
        .pages = block->size / GUEST_PAGE_SIZE,
    };

    /* The blocks the log logs: the others are not migrated. */
    if (!dirty_log_logs(add->log, block)) {
        return 0;
    }
    bb.bits = g_new0(uint64_t, words_for(bb.pages));
    g_array_append_val(add->blocks, bb);
    return 0;
}

static DirtyBitmap *start(DirtyLogBackend backend, bool all_dirty,
                          const GPtrArray *skip, Error **errp)
{
    DirtyLog *log = all_dirty ? dirty_log_start_unarmed(backend, skip, errp)
                              : dirty_log_start(backend, errp);
    AddBlocks add = { .log = log };
    DirtyBitmap *bm;

    if (!log) {
        return NULL;
    }
    bm = g_new0(DirtyBitmap, 1);
    bm->log = log;
    /* The same blocks as the log's: guest RAM cannot change between. */
    add.blocks = g_array_new(FALSE, FALSE, sizeof(BitmapBlock));
    ram_block_foreach(add_block, &add);
    bm->nblocks = add.blocks->len;
    bm->blocks = (BitmapBlock *)g_array_free(add.blocks, FALSE);
    for (unsigned i = 0; !all_dirty && i < bm->nblocks; i++) {
        bm->blocks[i].armed = bm->blocks[i].pages;
    }
    if (all_dirty) {
        dirty_bitmap_set_all(bm);
    }
    return bm;
}

DirtyBitmap *dirty_bitmap_start(DirtyLogBackend backend, Error **errp)
{
    return start(backend, false, NULL, errp);
}

DirtyBitmap *dirty_bitmap_start_all_dirty(DirtyLogBackend backend,
                                          const GPtrArray *skip,
                                          Error **errp)
{
    return start(backend, true, skip, errp);
}

bool dirty_bitmap_tracks(const DirtyBitmap *bm, const RAMBlock *block)
{
    for (unsigned i = 0; i < bm->nblocks; i++) {
        if (bm->blocks[i].block == block) {
            return true;
        }
    }
    return false;
}

void dirty_bitmap_stop(DirtyBitmap *bm)
{
    if (!bm) {
        return;
    }
    dirty_log_stop(bm->log);
    for (unsigned i = 0; i < bm->nblocks; i++) {
        g_free(bm->blocks[i].bits);
    }
    g_free(bm->blocks);
    g_free(bm);
}

DirtyLog *dirty_bitmap_log(const DirtyBitmap *bm)
{
    return bm->log;
}

static void range_written(void *opaque, RAMBlock *block, uint64_t offset,
                          uint64_t len)
{
    DirtyBitmap *bm = opaque;
    BitmapBlock *bb = bm->sync_block;
    uint64_t end;

    /* The log reports a block at a time: look it up once. */
    if (!bb || bb->block != block) {
        bb = bm->sync_block = find_block(bm, block);
    }
    end = MIN((offset + len + GUEST_PAGE_SIZE - 1) / GUEST_PAGE_SIZE,
              bb->pages);
    for (uint64_t page = offset / GUEST_PAGE_SIZE; page < end; page++) {
        bb_set(bb, page);
        bm->last_sync_pages++;
    }
}

bool dirty_bitmap_sync(DirtyBitmap *bm, Error **errp)
{
    bool ok;

    bm->last_sync_pages = 0;
    bm->sync_block = NULL;
    ok = dirty_log_sync(bm->log, range_written, bm, errp);
    if (ok) {
        bm->syncs++;
    }
    return ok;
}

uint64_t dirty_bitmap_dirty_pages(const DirtyBitmap *bm)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < bm->nblocks; i++) {
        n += bm->blocks[i].dirty;
    }
    return n;
}

uint64_t dirty_bitmap_block_dirty_pages(const DirtyBitmap *bm,
                                        const RAMBlock *block)
{
    return find_block(bm, block)->dirty;
}

uint64_t dirty_bitmap_sync_count(const DirtyBitmap *bm)
{
    return bm->syncs;
}

uint64_t dirty_bitmap_last_sync_pages(const DirtyBitmap *bm)
{
    return bm->last_sync_pages;
}

uint64_t dirty_bitmap_next_dirty(const DirtyBitmap *bm,
                                 const RAMBlock *block, uint64_t page)
{
    BitmapBlock *bb = find_block(bm, block);
    uint64_t w, word;

    if (page >= bb->pages) {
        return bb->pages;
    }
    w = page / WORD_BITS;
    word = bb->bits[w] & (~0ull << (page % WORD_BITS));
    while (!word) {
        if (++w >= words_for(bb->pages)) {
            return bb->pages;
        }
        word = bb->bits[w];
    }
    /* Bits past the last page are never set. */
    return w * WORD_BITS + __builtin_ctzll(word);
}

bool dirty_bitmap_is_dirty(const DirtyBitmap *bm, const RAMBlock *block,
                           uint64_t page)
{
    BitmapBlock *bb = find_page(bm, block, page);

    return bb->bits[page / WORD_BITS] & (1ull << (page % WORD_BITS));
}

bool dirty_bitmap_test_and_clear(DirtyBitmap *bm, const RAMBlock *block,
                                 uint64_t page)
{
    BitmapBlock *bb = find_page(bm, block, page);
    uint64_t mask = 1ull << (page % WORD_BITS);
    uint64_t *w = &bb->bits[page / WORD_BITS];

    if (!(*w & mask)) {
        return false;
    }
    /* Armed before the caller reads the page: a write after the read
     * is logged. */
    if (page >= bb->armed) {
        bb->armed = dirty_log_arm(bm->log, block, page * GUEST_PAGE_SIZE) /
                    GUEST_PAGE_SIZE;
    }
    *w &= ~mask;
    bb->dirty--;
    return true;
}

void dirty_bitmap_set_dirty(DirtyBitmap *bm, const RAMBlock *block,
                            uint64_t page)
{
    bb_set(find_page(bm, block, page), page);
}

void dirty_bitmap_set_all(DirtyBitmap *bm)
{
    for (unsigned i = 0; i < bm->nblocks; i++) {
        BitmapBlock *bb = &bm->blocks[i];
        uint64_t words = words_for(bb->pages);

        if (!words) {
            continue;
        }
        memset(bb->bits, 0xff, words * sizeof(uint64_t));
        /* Keep bits past the last page clear: next_dirty relies on it. */
        if (bb->pages % WORD_BITS) {
            bb->bits[words - 1] = ~0ull >> (WORD_BITS - bb->pages %
                                            WORD_BITS);
        }
        bb->dirty = bb->pages;
    }
}
