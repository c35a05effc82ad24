/*
 * The XBZRLE page cache: see migration/xbzrle-cache.h.
 */
#include "migration/ram/xbzrle-cache.h"

#include <glib.h>
#include <string.h>

#include "util/cutils.h"

/* The key of an empty slot: no page has this number. */
#define NO_PAGE UINT64_MAX

struct XbzrleCache {
    uint64_t n_slots;           /* a power of two */
    size_t page_size;
    uint64_t *keys;             /* the page in each slot, or NO_PAGE */
    uint8_t *data;              /* n_slots pages */
    uint64_t evictions;
};

static uint64_t pow2_floor(uint64_t v)
{
    return v ? (uint64_t)1 << (63 - __builtin_clzll(v)) : 0;
}

static uint64_t pow2_ceil(uint64_t v)
{
    uint64_t p = pow2_floor(v);

    return p == v ? p : p << 1;
}

XbzrleCache *xbzrle_cache_new(uint64_t size, size_t page_size,
                              uint64_t max_pages, Error **errp)
{
    uint64_t n = pow2_floor(size / page_size);
    XbzrleCache *c;

    g_assert(page_size && !(page_size & (page_size - 1)));
    if (n == 0) {
        error_setg(errp, "an xbzrle cache of %" G_GUINT64_FORMAT " bytes "
                   "cannot hold one page of %zu bytes", size, page_size);
        return NULL;
    }
    if (max_pages && max_pages < (UINT64_C(1) << 62)) {
        n = MIN(n, pow2_ceil(max_pages));
    }
    c = g_new0(XbzrleCache, 1);
    c->n_slots = n;
    c->page_size = page_size;
    /* Large: allocation may fail, and must not end vmig when it does. */
    if (n <= SIZE_MAX / page_size) {
        c->keys = g_try_new(uint64_t, n);
        c->data = g_try_malloc(n * page_size);
    }
    if (!c->keys || !c->data) {
        g_autofree char *want = size_to_str(n * page_size);

        error_setg(errp, "cannot allocate %s for the xbzrle cache", want);
        xbzrle_cache_free(c);
        return NULL;
    }
    for (uint64_t i = 0; i < n; i++) {
        c->keys[i] = NO_PAGE;
    }
    return c;
}

void xbzrle_cache_free(XbzrleCache *c)
{
    if (c) {
        g_free(c->keys);
        g_free(c->data);
        g_free(c);
    }
}

uint64_t xbzrle_cache_slots(const XbzrleCache *c)
{
    return c->n_slots;
}

size_t xbzrle_cache_page_size(const XbzrleCache *c)
{
    return c->page_size;
}

static uint64_t slot_of(const XbzrleCache *c, uint64_t page)
{
    return page & (c->n_slots - 1);
}

uint8_t *xbzrle_cache_lookup(XbzrleCache *c, uint64_t page)
{
    uint64_t s = slot_of(c, page);

    g_assert(page != NO_PAGE);
    return c->keys[s] == page ? c->data + s * c->page_size : NULL;
}

uint8_t *xbzrle_cache_insert(XbzrleCache *c, uint64_t page,
                             const uint8_t *data)
{
    uint64_t s = slot_of(c, page);
    uint8_t *copy = c->data + s * c->page_size;

    g_assert(page != NO_PAGE);
    if (c->keys[s] != NO_PAGE && c->keys[s] != page) {
        c->evictions++;
    }
    c->keys[s] = page;
    memcpy(copy, data, c->page_size);
    return copy;
}

uint64_t xbzrle_cache_evictions(const XbzrleCache *c)
{
    return c->evictions;
}
