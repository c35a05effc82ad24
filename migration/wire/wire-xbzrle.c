/*
 * RAM_XBZRLE: pages of one RAM block as XBZRLE deltas.  The fixed header
 * is RAM_PAGES's; then the offsets, the delta lengths and the deltas.
 * Each delta's own format is checked where it is applied
 * (migration/xbzrle.c); here every length is checked against the page
 * size and the bytes that are actually there.
 */
#include "migration/wire/wire.h"

#include <inttypes.h>

#define HEADER_SIZE 24u

/* RAM_PAGES's header, without flags: none is defined for deltas. */
static bool check_header(const WireRamPagesHeader *h, Error **errp)
{
    return wire_ram_header_check(h, 0, errp);
}

static bool check_page(const WireRamPagesHeader *h, uint32_t i,
                       uint64_t offset, uint32_t length, Error **errp)
{
    if (offset % h->page_size) {
        error_setg(errp, "page %u: offset 0x%" PRIx64 " is not a multiple "
                   "of the page size %u", i, offset, h->page_size);
        return false;
    }
    if (length == 0) {
        error_setg(errp, "page %u: empty delta (an unchanged page is not "
                   "sent)", i);
        return false;
    }
    if (length >= h->page_size) {
        error_setg(errp, "page %u: a delta of %u bytes is not smaller than "
                   "the page (%u bytes)", i, length, h->page_size);
        return false;
    }
    return true;
}

bool wire_ram_xbzrle_encode(GByteArray *out, const WireRamPagesHeader *h,
                            const uint64_t *offsets,
                            const uint32_t *lengths, const void *data,
                            size_t data_len, Error **errp)
{
    uint64_t sum = 0;
    size_t start;

    if (!check_header(h, errp)) {
        goto fail;
    }
    for (uint32_t i = 0; i < h->count; i++) {
        if (!check_page(h, i, offsets[i], lengths[i], errp)) {
            goto fail;
        }
        sum += lengths[i];
    }
    if (sum != data_len) {
        error_setg(errp, "the delta lengths add up to %" PRIu64 " bytes, "
                   "not %zu", sum, data_len);
        goto fail;
    }
    /* Before copying anything: @data_len may be huge. */
    if (data_len > WIRE_RECORD_MAX - HEADER_SIZE - 12 * (size_t)h->count) {
        error_setg(errp, "%zu bytes of deltas exceed the record size limit "
                   "%u", data_len, WIRE_RECORD_MAX);
        goto fail;
    }
    start = wire_record_begin(out, WIRE_REC_RAM_XBZRLE);
    wire_put_u32(out, h->block);
    wire_put_u32(out, h->count);
    wire_put_u32(out, h->page_size);
    wire_put_u32(out, h->flags);
    wire_put_u64(out, h->packet);
    for (uint32_t i = 0; i < h->count; i++) {
        wire_put_u64(out, offsets[i]);
    }
    for (uint32_t i = 0; i < h->count; i++) {
        wire_put_u32(out, lengths[i]);
    }
    wire_put_bytes(out, data, data_len);
    return wire_record_end(out, start, errp);

fail:
    error_prepend(errp, "RAM_XBZRLE: ");
    return false;
}

static bool decode(const uint8_t *body, size_t len, WireRamXbzrle *x,
                   Error **errp)
{
    uint64_t sum = 0;
    WireReader r;

    wire_reader_init(&r, body, len);
    if (!wire_get_u32(&r, "block", &x->h.block, errp) ||
        !wire_get_u32(&r, "count", &x->h.count, errp) ||
        !wire_get_u32(&r, "page size", &x->h.page_size, errp) ||
        !wire_get_u32(&r, "flags", &x->h.flags, errp) ||
        !check_header(&x->h, errp) ||
        !wire_get_u64(&r, "packet", &x->h.packet, errp) ||
        !wire_get_bytes(&r, "offsets", 8 * (size_t)x->h.count, &x->offsets,
                        errp) ||
        !wire_get_bytes(&r, "lengths", 4 * (size_t)x->h.count, &x->lengths,
                        errp)) {
        return false;
    }
    for (uint32_t i = 0; i < x->h.count; i++) {
        uint32_t length = wire_ram_xbzrle_length(x, i);

        if (!check_page(&x->h, i, wire_ram_xbzrle_offset(x, i), length,
                        errp)) {
            return false;
        }
        sum += length;
    }
    x->data = body + r.pos;
    x->data_len = wire_reader_left(&r);
    if (sum != x->data_len) {
        error_setg(errp, "the delta lengths add up to %" PRIu64 " bytes, "
                   "but %zu bytes of deltas follow", sum, x->data_len);
        return false;
    }
    return true;
}

bool wire_ram_xbzrle_decode(const uint8_t *body, size_t len,
                            WireRamXbzrle *out, Error **errp)
{
    WireRamXbzrle x = { 0 };

    if (!decode(body, len, &x, errp)) {
        error_prepend(errp, "RAM_XBZRLE: ");
        return false;
    }
    *out = x;
    return true;
}
