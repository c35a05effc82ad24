/*
 * The source's side of postcopy: requests and discards.  See
 * postcopy.h.
 */
#include "migration/engine/postcopy.h"

#include <inttypes.h>

#include "migration/ram/postcopy-huge.h"
#include "system/ram.h"

struct PostcopyRequests {
    GPtrArray *blocks;
    GMutex lock;
    GCond cond;
    GQueue queue;               /* WirePageRequest * */
    bool kicked;
    uint64_t total;
};

PostcopyRequests *postcopy_requests_new(GPtrArray *blocks)
{
    PostcopyRequests *q = g_new0(PostcopyRequests, 1);

    q->blocks = g_ptr_array_ref(blocks);
    g_mutex_init(&q->lock);
    g_cond_init(&q->cond);
    g_queue_init(&q->queue);
    return q;
}

void postcopy_requests_free(PostcopyRequests *q)
{
    if (!q) {
        return;
    }
    g_queue_clear_full(&q->queue, g_free);
    g_ptr_array_unref(q->blocks);
    g_mutex_clear(&q->lock);
    g_cond_clear(&q->cond);
    g_free(q);
}

bool postcopy_requests_push(PostcopyRequests *q, const WirePageRequest *req,
                            Error **errp)
{
    RAMBlock *b = req->block < q->blocks->len
                  ? g_ptr_array_index(q->blocks, req->block) : NULL;
    bool full;

    /* Before anything touches memory: the range within its block. */
    if (!b) {
        error_setg(errp, "PAGE_REQUEST for RAM block %u, but HELLO listed "
                   "%u", req->block, q->blocks->len);
        return false;
    }
    if (req->offset % GUEST_PAGE_SIZE || req->length % GUEST_PAGE_SIZE ||
        req->offset > b->size || b->size - req->offset < req->length ||
        req->length / GUEST_PAGE_SIZE > WIRE_RAM_PAGES_MAX) {
        error_setg(errp, "PAGE_REQUEST: offset 0x%" PRIx64 ", length 0x%"
                   PRIx64 " is not at most %u whole pages of RAM block "
                   "'%s' (0x%" PRIx64 " bytes)", req->offset, req->length,
                   WIRE_RAM_PAGES_MAX, b->idstr, b->size);
        return false;
    }
    g_mutex_lock(&q->lock);
    full = q->queue.length >= POSTCOPY_REQUESTS_MAX;
    if (!full) {
        g_queue_push_tail(&q->queue, g_memdup2(req, sizeof(*req)));
        q->total++;
        g_cond_broadcast(&q->cond);
    }
    g_mutex_unlock(&q->lock);
    if (full) {
        error_setg(errp, "more than %u page requests outstanding",
                   POSTCOPY_REQUESTS_MAX);
        return false;
    }
    return true;
}

bool postcopy_requests_pop(PostcopyRequests *q, WirePageRequest *out)
{
    WirePageRequest *r;

    g_mutex_lock(&q->lock);
    r = g_queue_pop_head(&q->queue);
    g_mutex_unlock(&q->lock);
    if (!r) {
        return false;
    }
    *out = *r;
    g_free(r);
    return true;
}

bool postcopy_requests_wait(PostcopyRequests *q, gint64 until)
{
    bool queued;

    g_mutex_lock(&q->lock);
    while (!q->queue.length && !q->kicked &&
           g_cond_wait_until(&q->cond, &q->lock, until)) {
    }
    /* Once: a paused postcopy that resumes waits again. */
    q->kicked = false;
    queued = q->queue.length;
    g_mutex_unlock(&q->lock);
    return queued;
}

void postcopy_requests_sleep(PostcopyRequests *q, gint64 until)
{
    g_mutex_lock(&q->lock);
    while (!q->kicked && g_cond_wait_until(&q->cond, &q->lock, until)) {
    }
    /* Once, as postcopy_requests_wait(). */
    q->kicked = false;
    g_mutex_unlock(&q->lock);
}

void postcopy_requests_kick(PostcopyRequests *q)
{
    g_mutex_lock(&q->lock);
    q->kicked = true;
    g_cond_broadcast(&q->cond);
    g_mutex_unlock(&q->lock);
}

uint64_t postcopy_requests_total(PostcopyRequests *q)
{
    uint64_t n;

    g_mutex_lock(&q->lock);
    n = q->total;
    g_mutex_unlock(&q->lock);
    return n;
}

/* Appends the record of @n ranges of block @index, if any. */
static void flush_ranges(GByteArray *out, uint32_t index,
                         WireDiscardRange *r, uint32_t *n)
{
    if (*n) {
        wire_postcopy_discard_encode(out, index, r, *n, &error_abort);
        *n = 0;
    }
}

uint64_t postcopy_discard_records(DirtyBitmap *bitmap, GPtrArray *blocks,
                                  GByteArray *out)
{
    g_autofree WireDiscardRange *r = g_new(WireDiscardRange,
                                           WIRE_DISCARD_RANGES_MAX);
    uint64_t total = 0;

    for (guint i = 0; i < blocks->len; i++) {
        RAMBlock *b = g_ptr_array_index(blocks, i);
        uint64_t npages = b->size / GUEST_PAGE_SIZE;
        uint32_t n = 0;

        if (!dirty_bitmap_tracks(bitmap, b)) {
            continue;
        }
        uint64_t per = b->page_size / GUEST_PAGE_SIZE;

        /* A huge page is dropped and placed whole: one dirty piece makes
         * every piece of it dirty, so all of them are sent again. */
        for (uint64_t p = dirty_bitmap_next_dirty(bitmap, b, 0); p < npages;
             p = dirty_bitmap_next_dirty(bitmap, b, p + per)) {
            uint64_t off;

            p = huge_page_first(p, b->page_size);
            off = p * GUEST_PAGE_SIZE;
            for (uint64_t q = p; q < p + per; q++) {
                dirty_bitmap_set_dirty(bitmap, b, q);
            }
            total += per;
            if (n && r[n - 1].offset + r[n - 1].length == off) {
                r[n - 1].length += b->page_size;
                continue;
            }
            if (n == WIRE_DISCARD_RANGES_MAX) {
                flush_ranges(out, i, r, &n);
            }
            r[n].offset = off;
            r[n].length = b->page_size;
            n++;
        }
        flush_ranges(out, i, r, &n);
    }
    return total;
}
