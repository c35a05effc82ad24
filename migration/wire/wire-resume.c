/*
 * The return-path records of postcopy recovery (protocol sections 6.11
 * and 6.12): RECEIVED_BITMAP, the pages of one RAM block a paused
 * destination holds, and RESUME_REQUEST, which ends them.
 */
#include "migration/wire/wire.h"

/* The bytes of a piece of @n_bits bits. */
static uint64_t bitmap_bytes(uint64_t n_bits)
{
    return (n_bits + 7) / 8;
}

static bool bitmap_header_valid(const WireReceivedBitmap *rb, Error **errp)
{
    if (rb->page_size < WIRE_PAGE_SIZE_MIN ||
        rb->page_size > WIRE_PAGE_SIZE_MAX ||
        (rb->page_size & (rb->page_size - 1))) {
        error_setg(errp, "RECEIVED_BITMAP: page_size %u is not a power of "
                   "two from %u to %u", rb->page_size, WIRE_PAGE_SIZE_MIN,
                   WIRE_PAGE_SIZE_MAX);
        return false;
    }
    if (rb->first_bit % 64) {
        error_setg(errp, "RECEIVED_BITMAP: first_bit %" G_GUINT64_FORMAT
                   " is not a multiple of 64", rb->first_bit);
        return false;
    }
    if (rb->n_bits == 0 || rb->n_bits > WIRE_RECEIVED_BITMAP_BITS_MAX) {
        error_setg(errp, "RECEIVED_BITMAP: n_bits %" G_GUINT64_FORMAT
                   " is not 1..%" G_GUINT64_FORMAT, rb->n_bits,
                   (uint64_t)WIRE_RECEIVED_BITMAP_BITS_MAX);
        return false;
    }
    if (rb->first_bit + rb->n_bits < rb->first_bit) {
        error_setg(errp, "RECEIVED_BITMAP: first_bit %" G_GUINT64_FORMAT
                   " + n_bits %" G_GUINT64_FORMAT " overflows",
                   rb->first_bit, rb->n_bits);
        return false;
    }
    return true;
}

bool wire_received_bitmap_encode(const WireReceivedBitmap *rb,
                                 GByteArray *out, Error **errp)
{
    uint64_t n = bitmap_bytes(rb->n_bits);
    size_t start;

    if (!bitmap_header_valid(rb, errp)) {
        return false;
    }
    start = wire_record_begin(out, WIRE_REC_RECEIVED_BITMAP);
    wire_put_u32(out, rb->block);
    wire_put_u32(out, rb->page_size);
    wire_put_u64(out, rb->first_bit);
    wire_put_u64(out, rb->n_bits);
    wire_put_bytes(out, rb->bitmap, n);
    if (rb->n_bits % 8) {
        /* Unused bits are zero on the wire whatever the caller had. */
        out->data[out->len - 1] &= (1u << (rb->n_bits % 8)) - 1;
    }
    return wire_record_end(out, start, errp);
}

bool wire_received_bitmap_decode(const uint8_t *body, size_t len,
                                 WireReceivedBitmap *out, Error **errp)
{
    WireReader r;

    wire_reader_init(&r, body, len);
    if (!wire_get_u32(&r, "block", &out->block, errp) ||
        !wire_get_u32(&r, "page_size", &out->page_size, errp) ||
        !wire_get_u64(&r, "first_bit", &out->first_bit, errp) ||
        !wire_get_u64(&r, "n_bits", &out->n_bits, errp)) {
        error_prepend(errp, "RECEIVED_BITMAP: ");
        return false;
    }
    if (!bitmap_header_valid(out, errp)) {
        return false;
    }
    if (wire_reader_left(&r) != bitmap_bytes(out->n_bits)) {
        error_setg(errp, "RECEIVED_BITMAP: %" G_GUINT64_FORMAT " bits take "
                   "%" G_GUINT64_FORMAT " bytes, but %zu follow",
                   out->n_bits, bitmap_bytes(out->n_bits),
                   wire_reader_left(&r));
        return false;
    }
    if (!wire_get_bytes(&r, "bitmap", bitmap_bytes(out->n_bits),
                        &out->bitmap, errp)) {
        error_prepend(errp, "RECEIVED_BITMAP: ");
        return false;
    }
    if (out->n_bits % 8 &&
        (out->bitmap[bitmap_bytes(out->n_bits) - 1] >> (out->n_bits % 8))) {
        error_setg(errp, "RECEIVED_BITMAP: bits past n_bits %"
                   G_GUINT64_FORMAT " are set", out->n_bits);
        return false;
    }
    return true;
}

bool wire_received_bitmap_test(const WireReceivedBitmap *rb, uint64_t i)
{
    g_assert(i < rb->n_bits);
    return (rb->bitmap[i / 8] >> (i % 8)) & 1;
}

bool wire_resume_request_encode(GByteArray *out, uint32_t n_bitmaps,
                                Error **errp)
{
    size_t start = wire_record_begin(out, WIRE_REC_RESUME_REQUEST);

    wire_put_u32(out, n_bitmaps);
    return wire_record_end(out, start, errp);
}

bool wire_resume_request_decode(const uint8_t *body, size_t len,
                                uint32_t *n_bitmaps, Error **errp)
{
    WireReader r;

    wire_reader_init(&r, body, len);
    if (!wire_get_u32(&r, "n_bitmaps", n_bitmaps, errp) ||
        !wire_reader_finish(&r, errp)) {
        error_prepend(errp, "RESUME_REQUEST: ");
        return false;
    }
    return true;
}
