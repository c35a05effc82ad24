/*
 * Postcopy recovery, the source's connection-free pieces.  See
 * postcopy-recover.h.
 */
#include "migration/engine/postcopy-recover.h"

#include <inttypes.h>

#include "system/ram.h"

int64_t postcopy_apply_received(DirtyBitmap *bitmap, GPtrArray *blocks,
                                const WireReceivedBitmap *rb, Error **errp)
{
    RAMBlock *b = rb->block < blocks->len ?
                  g_ptr_array_index(blocks, rb->block) : NULL;
    uint64_t npages;
    int64_t marked = 0;

    if (!b) {
        error_setg(errp, "RECEIVED_BITMAP: block %u is not migrated "
                   "(HELLO listed %u RAM blocks)", rb->block, blocks->len);
        return -1;
    }
    if (rb->page_size != GUEST_PAGE_SIZE) {
        error_setg(errp, "RECEIVED_BITMAP: RAM block '%s': %u-byte bits "
                   "(the pages are %u bytes)", b->idstr, rb->page_size,
                   GUEST_PAGE_SIZE);
        return -1;
    }
    npages = b->size / GUEST_PAGE_SIZE;
    if (rb->first_bit >= npages || npages - rb->first_bit < rb->n_bits) {
        error_setg(errp, "RECEIVED_BITMAP: RAM block '%s': bits %"
                   PRIu64 "..%" PRIu64 " past its %" PRIu64 " pages",
                   b->idstr, rb->first_bit, rb->first_bit + rb->n_bits - 1,
                   npages);
        return -1;
    }
    for (uint64_t i = 0; i < rb->n_bits; i++) {
        uint64_t page = rb->first_bit + i;

        if (!wire_received_bitmap_test(rb, i) &&
            !dirty_bitmap_is_dirty(bitmap, b, page)) {
            dirty_bitmap_set_dirty(bitmap, b, page);
            marked++;
        }
    }
    return marked;
}

/* A page sent, and the PING after which it is confirmed. */
typedef struct SentPage {
    RAMBlock *block;
    uint64_t offset;
    uint64_t ping;
} SentPage;

struct PostcopyRelease {
    GArray *pages;              /* SentPage, by increasing ping */
};

PostcopyRelease *postcopy_release_new(void)
{
    PostcopyRelease *r = g_new0(PostcopyRelease, 1);

    r->pages = g_array_new(FALSE, FALSE, sizeof(SentPage));
    return r;
}

void postcopy_release_free(PostcopyRelease *r)
{
    if (r) {
        g_array_free(r->pages, TRUE);
        g_free(r);
    }
}

void postcopy_release_sent(PostcopyRelease *r, const RamPageBatch *batch,
                           uint64_t ping)
{
    for (unsigned i = 0; i < batch->count; i++) {
        SentPage p = {
            .block = batch->block, .offset = batch->offsets[i],
            .ping = ping,
        };

        g_array_append_val(r->pages, p);
    }
}

static void give_back(const SentPage *p)
{
    /* Best effort: a page not released costs memory, nothing else (a
     * piece of a huge page is never released). */
    if (p->block->page_size == GUEST_PAGE_SIZE) {
        ram_block_discard_range(p->block, p->offset, GUEST_PAGE_SIZE, NULL);
    }
}

uint64_t postcopy_release_confirmed(PostcopyRelease *r, uint64_t pong)
{
    guint n = 0;

    while (n < r->pages->len &&
           g_array_index(r->pages, SentPage, n).ping <= pong) {
        give_back(&g_array_index(r->pages, SentPage, n));
        n++;
    }
    g_array_remove_range(r->pages, 0, n);
    return n;
}

uint64_t postcopy_release_resumed(PostcopyRelease *r, DirtyBitmap *bitmap)
{
    uint64_t n = 0;

    for (guint i = 0; i < r->pages->len; i++) {
        const SentPage *p = &g_array_index(r->pages, SentPage, i);

        if (!dirty_bitmap_is_dirty(bitmap, p->block,
                                   p->offset / GUEST_PAGE_SIZE)) {
            give_back(p);
            n++;
        }
    }
    g_array_set_size(r->pages, 0);
    return n;
}

uint64_t postcopy_release_waiting(const PostcopyRelease *r)
{
    return r->pages->len;
}
