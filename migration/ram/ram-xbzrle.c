/*
 * Guest RAM as XBZRLE deltas: see migration/ram-xbzrle.h.
 */
#include "migration/ram/ram-xbzrle.h"

#include <inttypes.h>
#include <string.h>

#include "migration/ram/xbzrle.h"
#include "util/cutils.h"

#define PAGE GUEST_PAGE_SIZE

XbzrleSaver *xbzrle_saver_new(uint64_t cache_size, Error **errp)
{
    uint64_t max_pages = ram_guest_size() / PAGE;
    XbzrleCache *cache = xbzrle_cache_new(cache_size, PAGE, max_pages, errp);
    XbzrleSaver *x;

    if (!cache) {
        return NULL;
    }
    x = g_new0(XbzrleSaver, 1);
    x->cache = cache;
    x->cache_size = x->requested_size = cache_size;
    x->max_pages = max_pages;
    x->whole = g_malloc(WIRE_RAM_PAGES_MAX * (size_t)PAGE);
    x->deltas = g_malloc(WIRE_RAM_PAGES_MAX * (size_t)PAGE);
    return x;
}

void xbzrle_saver_free(XbzrleSaver *x)
{
    if (x) {
        xbzrle_cache_free(x->cache);
        g_free(x->whole);
        g_free(x->deltas);
        g_free(x);
    }
}

bool xbzrle_saver_resize(XbzrleSaver *x, uint64_t size, Error **errp)
{
    XbzrleCache *cache;

    if (size == x->requested_size) {
        return true;
    }
    x->requested_size = size;
    cache = xbzrle_cache_new(size, PAGE, x->max_pages, errp);
    if (!cache) {
        return false;
    }
    xbzrle_cache_free(x->cache);
    x->cache = cache;
    x->cache_size = size;
    return true;
}

void xbzrle_saver_period(XbzrleSaver *x)
{
    uint64_t lookups = x->lookups - x->prev_lookups;
    uint64_t bytes = x->bytes - x->prev_bytes;

    if (lookups) {
        x->cache_miss_rate = (double)(x->cache_miss - x->prev_miss) /
                             lookups;
    }
    x->encoding_rate = bytes ? (double)(x->pages - x->prev_pages) * PAGE /
                               bytes : 0;
    x->prev_lookups = x->lookups;
    x->prev_miss = x->cache_miss;
    x->prev_pages = x->pages;
    x->prev_bytes = x->bytes;
}

/*
 * One NORMAL page, copied to @snap already: true if it goes whole, false
 * if as a delta (appended to the deltas) or not at all.
 */
static bool save_page(XbzrleSaver *x, uint64_t page, const uint8_t *snap,
                      bool first_pass, size_t *delta_len, unsigned *n_delta,
                      uint64_t offset)
{
    uint8_t *copy = NULL;
    size_t len;

    if (!first_pass) {
        x->lookups++;
        copy = xbzrle_cache_lookup(x->cache, page);
        if (!copy) {
            x->cache_miss++;
        }
    }
    if (!copy) {
        xbzrle_cache_insert(x->cache, page, snap);
        return true;
    }
    /* Smaller than the page, or not worth it. */
    len = xbzrle_encode(copy, snap, PAGE, x->deltas + *delta_len, PAGE - 1);
    if (len == 0) {
        /* The destination has it already. */
        x->unchanged++;
        return false;
    }
    memcpy(copy, snap, PAGE);
    if (len == XBZRLE_OVERFLOW) {
        x->overflow++;
        return true;
    }
    x->delta_offsets[*n_delta] = offset;
    x->delta_lengths[*n_delta] = (uint32_t)len;
    (*n_delta)++;
    *delta_len += len;
    x->pages++;
    x->bytes += len;
    return false;
}

unsigned xbzrle_saver_next_record_iov(XbzrleSaver *x, RamSaver *rs,
                                      bool first_pass, GByteArray *out,
                                      struct iovec *iov, size_t *niov,
                                      unsigned max_pages)
{
    static const uint8_t zeroes[WIRE_ALIGN];
    RamPageBatch *batch = &x->batch;
    unsigned n = ram_saver_next_batch(rs, batch, max_pages, rs->detect_zero);
    unsigned n_pages = 0, n_whole = 0, n_delta = 0;
    size_t delta_len = 0, pages_start = 0, pages_len = 0, pad = 0;
    size_t xbzrle_start = 0;
    uint64_t first_page;

    *niov = 0;
    if (!n) {
        return 0;
    }
    first_page = batch->block->offset / PAGE;
    for (unsigned i = 0; i < n; i++) {
        uint64_t offset = batch->offsets[i];
        uint64_t page = first_page + offset / PAGE;
        uint8_t *snap = x->whole + (size_t)n_whole * PAGE;

        if (batch->kinds[i] == WIRE_PAGE_ZERO) {
            uint8_t *copy = xbzrle_cache_lookup(x->cache, page);

            if (copy) {
                memset(copy, 0, PAGE);
            }
            rs->zero_pages++;
        } else {
            /* One read of guest memory: compared, sent and cached. */
            memcpy(snap, batch->block->host + offset, PAGE);
            if (!save_page(x, page, snap, first_pass, &delta_len, &n_delta,
                           offset)) {
                continue;
            }
            n_whole++;
            rs->normal_pages++;
        }
        x->page_offsets[n_pages] = offset;
        x->page_kinds[n_pages] = batch->kinds[i];
        n_pages++;
    }

    /* The bounds are the protocol's, and met by construction. */
    if (n_pages) {
        WireRamPagesHeader h = {
            .block = batch->block_index,
            .count = n_pages,
            .page_size = PAGE,
            .packet = rs->next_packet++,
        };

        wire_ram_pages_begin(out, &h, x->page_offsets, x->page_kinds,
                             &pages_start, &error_abort);
        wire_record_end_external(out, pages_start, n_whole * (size_t)PAGE,
                                 &pad, &error_abort);
        pages_len = out->len - pages_start;
    }
    if (n_delta) {
        WireRamPagesHeader h = {
            .block = batch->block_index,
            .count = n_delta,
            .page_size = PAGE,
            .packet = rs->next_packet++,
        };

        xbzrle_start = out->len;
        wire_ram_xbzrle_encode(out, &h, x->delta_offsets, x->delta_lengths,
                               x->deltas, delta_len, &error_abort);
    }
    /* @out is complete: pointers into it stay valid now. */
    if (n_pages) {
        iov[(*niov)++] = (struct iovec){ out->data + pages_start, pages_len };
        if (n_whole) {
            iov[(*niov)++] = (struct iovec){ x->whole,
                                             n_whole * (size_t)PAGE };
        }
        if (pad) {
            iov[(*niov)++] = (struct iovec){ (void *)zeroes, pad };
        }
    }
    if (n_delta) {
        iov[(*niov)++] = (struct iovec){ out->data + xbzrle_start,
                                         out->len - xbzrle_start };
    }
    return n;
}

unsigned xbzrle_saver_next_record(XbzrleSaver *x, RamSaver *rs,
                                  bool first_pass, GByteArray *out,
                                  unsigned max_pages)
{
    g_autoptr(GByteArray) tmp = g_byte_array_new();
    struct iovec iov[XBZRLE_SAVER_IOV_MAX];
    size_t niov;
    unsigned n = xbzrle_saver_next_record_iov(x, rs, first_pass, tmp, iov,
                                              &niov, max_pages);

    for (size_t i = 0; i < niov; i++) {
        g_byte_array_append(out, iov[i].iov_base, iov[i].iov_len);
    }
    return n;
}

/* ---- The destination ---- */

bool ram_loader_load_xbzrle(RamLoader *rl, const uint8_t *body, size_t len,
                            Error **errp)
{
    WireRamXbzrle x;
    const uint8_t *delta;
    RAMBlock *b;

    if (!wire_ram_xbzrle_decode(body, len, &x, errp)) {
        return false;
    }
    if (x.h.block >= rl->blocks->len) {
        error_setg(errp, "RAM_XBZRLE: block %u does not exist: HELLO "
                   "listed %u RAM block%s", x.h.block, rl->blocks->len,
                   rl->blocks->len == 1 ? "" : "s");
        return false;
    }
    b = g_ptr_array_index(rl->blocks, x.h.block);
    /* Everything before anything: a bad record changes nothing. */
    delta = x.data;
    for (uint32_t i = 0; i < x.h.count; i++) {
        uint64_t off = wire_ram_xbzrle_offset(&x, i);
        uint32_t dlen = wire_ram_xbzrle_length(&x, i);

        if (off > b->size || b->size - off < x.h.page_size) {
            g_autofree char *size = size_to_str(b->size);

            error_setg(errp, "RAM_XBZRLE: page %u: %u bytes at offset 0x%"
                       PRIx64 " are beyond the end of RAM block '%s' (%s)",
                       i, x.h.page_size, off, b->idstr, size);
            return false;
        }
        if (!xbzrle_check(delta, dlen, x.h.page_size, errp)) {
            error_prepend(errp, "RAM_XBZRLE: page %u (offset 0x%" PRIx64
                          " of '%s'): ", i, off, b->idstr);
            return false;
        }
        delta += dlen;
    }
    if (x.h.packet != rl->next_packet) {
        error_setg(errp, "RAM_XBZRLE: packet %" PRIu64 " where packet %"
                   PRIu64 " was due: a batch of pages was lost or sent "
                   "twice", x.h.packet, rl->next_packet);
        return false;
    }
    rl->next_packet++;
    delta = x.data;
    for (uint32_t i = 0; i < x.h.count; i++) {
        uint32_t dlen = wire_ram_xbzrle_length(&x, i);

        /* Checked above; a delta's form does not depend on the page. */
        xbzrle_decode(delta, dlen, b->host + wire_ram_xbzrle_offset(&x, i),
                      x.h.page_size, &error_abort);
        delta += dlen;
    }
    rl->xbzrle_pages += x.h.count;
    return true;
}
