/*
 * RAM_PAGES: a batch of pages of one RAM block.  The fixed header, the
 * offsets and kinds come first, the data last, starting 8-aligned, so a
 * reader can place pages straight into guest memory.
 */
#include "migration/wire/wire.h"

#include <string.h>

#define HEADER_SIZE 24u

/* Bytes before the data: header, offsets, kinds, padding to 8. */
static size_t meta_size(uint32_t count)
{
    return (HEADER_SIZE + 9 * (size_t)count + WIRE_ALIGN - 1) &
           ~(size_t)(WIRE_ALIGN - 1);
}

bool wire_ram_header_check(const WireRamPagesHeader *h, uint32_t known_flags,
                           Error **errp)
{
    if (h->count == 0 || h->count > WIRE_RAM_PAGES_MAX) {
        error_setg(errp, "page count %u is not 1 to %u", h->count,
                   WIRE_RAM_PAGES_MAX);
        return false;
    }
    if (!h->page_size || (h->page_size & (h->page_size - 1)) ||
        h->page_size < WIRE_PAGE_SIZE_MIN ||
        h->page_size > WIRE_PAGE_SIZE_MAX) {
        error_setg(errp, "page size %u is not a power of two from %u to %u",
                   h->page_size, WIRE_PAGE_SIZE_MIN, WIRE_PAGE_SIZE_MAX);
        return false;
    }
    if (h->flags & ~known_flags) {
        error_setg(errp, "unknown flags 0x%08x", h->flags & ~known_flags);
        return false;
    }
    return true;
}

static bool check_header(const WireRamPagesHeader *h, Error **errp)
{
    return wire_ram_header_check(h, WIRE_RAM_PAGES_KNOWN_FLAGS, errp);
}

static bool check_page(const WireRamPagesHeader *h, uint32_t i,
                       uint64_t offset, uint8_t kind, Error **errp)
{
    if (offset % h->page_size) {
        error_setg(errp, "page %u: offset 0x%" G_GINT64_MODIFIER "x is not "
                   "a multiple of the page size %u", i, offset,
                   h->page_size);
        return false;
    }
    if (kind != WIRE_PAGE_ZERO && kind != WIRE_PAGE_NORMAL) {
        error_setg(errp, "page %u: unknown kind %u", i, kind);
        return false;
    }
    return true;
}

bool wire_ram_pages_begin(GByteArray *out, const WireRamPagesHeader *h,
                          const uint64_t *offsets, const uint8_t *kinds,
                          size_t *start, Error **errp)
{
    uint64_t n_normal = 0;

    if (!check_header(h, errp)) {
        goto fail;
    }
    for (uint32_t i = 0; i < h->count; i++) {
        if (!check_page(h, i, offsets[i], kinds[i], errp)) {
            goto fail;
        }
        n_normal += kinds[i] == WIRE_PAGE_NORMAL;
    }
    /* Uncompressed, the size is known now: refuse before any copying. */
    if (!(h->flags & WIRE_RAM_PAGES_COMPRESSED) &&
        meta_size(h->count) + n_normal * h->page_size > WIRE_RECORD_MAX) {
        error_setg(errp, "%" G_GUINT64_FORMAT " pages of %u bytes exceed "
                   "the record size limit %u", n_normal, h->page_size,
                   WIRE_RECORD_MAX);
        goto fail;
    }
    *start = wire_record_begin(out, WIRE_REC_RAM_PAGES);
    wire_put_u32(out, h->block);
    wire_put_u32(out, h->count);
    wire_put_u32(out, h->page_size);
    wire_put_u32(out, h->flags);
    wire_put_u64(out, h->packet);
    for (uint32_t i = 0; i < h->count; i++) {
        wire_put_u64(out, offsets[i]);
    }
    wire_put_bytes(out, kinds, h->count);
    while ((out->len - *start - WIRE_RECORD_HEADER_SIZE) % WIRE_ALIGN) {
        wire_put_u8(out, 0);
    }
    return true;

fail:
    error_prepend(errp, "RAM_PAGES: ");
    return false;
}

bool wire_ram_pages_encode(GByteArray *out, const WireRamPagesHeader *h,
                           const uint64_t *offsets, const uint8_t *kinds,
                           const void *data, size_t data_len, Error **errp)
{
    size_t start;
    uint64_t n_normal = 0;

    if (!check_header(h, errp)) {
        error_prepend(errp, "RAM_PAGES: ");
        return false;
    }
    for (uint32_t i = 0; i < h->count; i++) {
        n_normal += kinds[i] == WIRE_PAGE_NORMAL;
    }
    if (!(h->flags & WIRE_RAM_PAGES_COMPRESSED) &&
        data_len != n_normal * h->page_size) {
        error_setg(errp, "RAM_PAGES: %zu data bytes for %" G_GUINT64_FORMAT
                   " pages of %u bytes", data_len, n_normal, h->page_size);
        return false;
    }
    if (!wire_ram_pages_begin(out, h, offsets, kinds, &start, errp)) {
        return false;
    }
    if (data_len > WIRE_RECORD_MAX) {
        /* wire_record_end() would refuse it; do not copy it first. */
        g_byte_array_set_size(out, start);
        error_setg(errp, "RAM_PAGES: %zu data bytes exceed the record size "
                   "limit %u", data_len, WIRE_RECORD_MAX);
        return false;
    }
    wire_put_bytes(out, data, data_len);
    return wire_record_end(out, start, errp);
}

/* Only @avail bytes of the @len-byte body are at @body. */
static bool decode(const uint8_t *body, size_t avail, size_t len,
                   WireRamPages *p, Error **errp)
{
    const uint8_t *pad;
    size_t pad_len;
    WireReader r;

    wire_reader_init(&r, body, MIN(avail, len));
    if (!wire_get_u32(&r, "block", &p->h.block, errp) ||
        !wire_get_u32(&r, "count", &p->h.count, errp) ||
        !wire_get_u32(&r, "page size", &p->h.page_size, errp) ||
        !wire_get_u32(&r, "flags", &p->h.flags, errp) ||
        !check_header(&p->h, errp) ||
        !wire_get_u64(&r, "packet", &p->h.packet, errp)) {
        return false;
    }
    pad_len = meta_size(p->h.count) - HEADER_SIZE - 9 * (size_t)p->h.count;
    if (!wire_get_bytes(&r, "offsets", 8 * (size_t)p->h.count, &p->offsets,
                        errp) ||
        !wire_get_bytes(&r, "kinds", p->h.count, &p->kinds, errp) ||
        !wire_get_bytes(&r, "padding", pad_len, &pad, errp)) {
        return false;
    }
    for (size_t i = 0; i < pad_len; i++) {
        if (pad[i]) {
            error_setg(errp, "non-zero padding before the data");
            return false;
        }
    }
    p->n_normal = 0;
    for (uint32_t i = 0; i < p->h.count; i++) {
        if (!check_page(&p->h, i, wire_ram_pages_offset(p, i), p->kinds[i],
                        errp)) {
            return false;
        }
        p->n_normal += p->kinds[i] == WIRE_PAGE_NORMAL;
    }
    p->data_len = len - r.pos;
    p->data = avail >= len ? body + r.pos : NULL;
    if (p->h.flags & WIRE_RAM_PAGES_COMPRESSED) {
        if ((p->data_len == 0) != (p->n_normal == 0)) {
            error_setg(errp, "%zu compressed data bytes for %u normal pages",
                       p->data_len, p->n_normal);
            return false;
        }
    } else if (p->data_len != (size_t)p->n_normal * p->h.page_size) {
        error_setg(errp, "%zu data bytes, expected %u pages of %u bytes",
                   p->data_len, p->n_normal, p->h.page_size);
        return false;
    }
    return true;
}

bool wire_ram_pages_decode(const uint8_t *body, size_t len,
                           WireRamPages *out, Error **errp)
{
    WireRamPages p = { 0 };

    if (!decode(body, len, len, &p, errp)) {
        error_prepend(errp, "RAM_PAGES: ");
        return false;
    }
    *out = p;
    return true;
}

size_t wire_ram_pages_head_size(const uint8_t *body, size_t avail)
{
    uint32_t count;

    if (avail < HEADER_SIZE) {
        return HEADER_SIZE;
    }
    count = wire_load_u32(body + 4);
    /* A bad count is refused by the decoder from the fixed header. */
    return count && count <= WIRE_RAM_PAGES_MAX ? meta_size(count)
                                                : HEADER_SIZE;
}

bool wire_ram_pages_decode_head(const uint8_t *body, size_t avail,
                                size_t len, WireRamPages *out,
                                Error **errp)
{
    WireRamPages p = { 0 };

    g_assert(avail >= MIN(len, wire_ram_pages_head_size(body, avail)));
    if (!decode(body, avail, len, &p, errp)) {
        error_prepend(errp, "RAM_PAGES: ");
        return false;
    }
    *out = p;
    return true;
}
