/*
 * POSTCOPY_DISCARD: the pages still dirty on the source when postcopy
 * starts, which the destination must drop so that a vCPU touching one
 * faults and asks for the current copy (docs/devel/migration-protocol.md,
 * section 6.9).
 */
#include "migration/wire/wire.h"

/* Block bounds need the layout: the reader checks those. */
static bool range_valid(uint64_t offset, uint64_t length, Error **errp)
{
    if (length == 0 || offset + length < offset) {
        error_setg(errp, "invalid range: offset 0x%" G_GINT64_MODIFIER
                   "x, length 0x%" G_GINT64_MODIFIER "x", offset, length);
        return false;
    }
    return true;
}

bool wire_postcopy_discard_encode(GByteArray *out, uint32_t block,
                                  const WireDiscardRange *ranges,
                                  uint32_t count, Error **errp)
{
    size_t start;

    if (count == 0 || count > WIRE_DISCARD_RANGES_MAX) {
        error_setg(errp, "POSTCOPY_DISCARD: %u ranges (1 to %u)", count,
                   WIRE_DISCARD_RANGES_MAX);
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (!range_valid(ranges[i].offset, ranges[i].length, errp)) {
            error_prepend(errp, "POSTCOPY_DISCARD: ");
            return false;
        }
    }
    start = wire_record_begin(out, WIRE_REC_POSTCOPY_DISCARD);
    wire_put_u32(out, block);
    wire_put_u32(out, count);
    for (uint32_t i = 0; i < count; i++) {
        wire_put_u64(out, ranges[i].offset);
        wire_put_u64(out, ranges[i].length);
    }
    return wire_record_end(out, start, errp);
}

bool wire_postcopy_discard_decode(const uint8_t *body, size_t len,
                                  uint32_t *block, WireDiscardRange *ranges,
                                  uint32_t *count, Error **errp)
{
    WireReader r;
    uint32_t n;

    wire_reader_init(&r, body, len);
    if (!wire_get_u32(&r, "block", block, errp) ||
        !wire_get_u32(&r, "count", &n, errp)) {
        goto fail;
    }
    /* Against the limit and the bytes left before any loop. */
    if (n == 0 || n > WIRE_DISCARD_RANGES_MAX ||
        wire_reader_left(&r) != (size_t)n * 16) {
        error_setg(errp, "%u ranges in %zu bytes (1 to %u ranges of 16 "
                   "bytes)", n, wire_reader_left(&r),
                   WIRE_DISCARD_RANGES_MAX);
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!wire_get_u64(&r, "offset", &ranges[i].offset, errp) ||
            !wire_get_u64(&r, "length", &ranges[i].length, errp) ||
            !range_valid(ranges[i].offset, ranges[i].length, errp)) {
            goto fail;
        }
    }
    *count = n;
    if (wire_reader_finish(&r, errp)) {
        return true;
    }
fail:
    error_prepend(errp, "POSTCOPY_DISCARD: ");
    return false;
}
