/*
 * The small fixed-size records that steer a migration: SYNC, the
 * bodiless markers (END, POSTCOPY_LISTEN, POSTCOPY_RUN, SWITCHOVER_ACK),
 * PAGE_REQUEST, SHUTDOWN and the heartbeat (PING, PONG).
 */
#include "migration/wire/wire.h"

/* @ok: whether the getters succeeded; then the body must be used up. */
static bool fixed_done(const char *name, WireReader *r, bool ok,
                       Error **errp)
{
    if (ok && wire_reader_finish(r, errp)) {
        return true;
    }
    error_prepend(errp, "%s: ", name);
    return false;
}

bool wire_sync_encode(GByteArray *out, uint64_t iteration, Error **errp)
{
    size_t start;

    if (iteration == 0) {
        error_setg(errp, "SYNC: iteration 0 is invalid (passes count "
                   "from 1)");
        return false;
    }
    start = wire_record_begin(out, WIRE_REC_SYNC);
    wire_put_u64(out, iteration);
    return wire_record_end(out, start, errp);
}

bool wire_sync_decode(const uint8_t *body, size_t len, uint64_t *iteration,
                      Error **errp)
{
    WireReader r;

    wire_reader_init(&r, body, len);
    if (!fixed_done("SYNC", &r,
                    wire_get_u64(&r, "iteration", iteration, errp), errp)) {
        return false;
    }
    if (*iteration == 0) {
        error_setg(errp, "SYNC: iteration 0 is invalid (passes count "
                   "from 1)");
        return false;
    }
    return true;
}

static bool heartbeat_seq_valid(uint32_t type, uint64_t seq, Error **errp)
{
    g_assert(type == WIRE_REC_PING || type == WIRE_REC_PONG);
    if (seq == 0) {
        error_setg(errp, "%s: number 0 is invalid (heartbeats count "
                   "from 1)", wire_record_type_name(type));
        return false;
    }
    return true;
}

bool wire_heartbeat_encode(GByteArray *out, uint32_t type, uint64_t seq,
                           Error **errp)
{
    size_t start;

    if (!heartbeat_seq_valid(type, seq, errp)) {
        return false;
    }
    start = wire_record_begin(out, type);
    wire_put_u64(out, seq);
    return wire_record_end(out, start, errp);
}

bool wire_heartbeat_decode(uint32_t type, const uint8_t *body, size_t len,
                           uint64_t *seq, Error **errp)
{
    WireReader r;

    g_assert(type == WIRE_REC_PING || type == WIRE_REC_PONG);
    wire_reader_init(&r, body, len);
    return fixed_done(wire_record_type_name(type), &r,
                      wire_get_u64(&r, "seq", seq, errp), errp) &&
           heartbeat_seq_valid(type, *seq, errp);
}

static bool is_empty_type(uint32_t type)
{
    return type == WIRE_REC_END || type == WIRE_REC_POSTCOPY_LISTEN ||
           type == WIRE_REC_POSTCOPY_RUN || type == WIRE_REC_SWITCHOVER_ACK ||
           type == WIRE_REC_ONE_WAY;
}

bool wire_empty_encode(GByteArray *out, uint32_t type, Error **errp)
{
    g_assert(is_empty_type(type));
    return wire_record_encode(out, type, NULL, 0, errp);
}

bool wire_empty_decode(uint32_t type, const uint8_t *body, size_t len,
                       Error **errp)
{
    g_assert(is_empty_type(type));
    if (len) {
        error_setg(errp, "%s: %zu unexpected body bytes",
                   wire_record_type_name(type), len);
        return false;
    }
    return true;
}

/* Block bounds need the layout: the callers check those. */
static bool page_range_valid(const WirePageRequest *req, Error **errp)
{
    if (req->length == 0 || req->offset + req->length < req->offset) {
        error_setg(errp, "PAGE_REQUEST: invalid range: offset 0x%"
                   G_GINT64_MODIFIER "x, length 0x%" G_GINT64_MODIFIER "x",
                   req->offset, req->length);
        return false;
    }
    return true;
}

bool wire_page_request_encode(const WirePageRequest *req, GByteArray *out,
                              Error **errp)
{
    size_t start;

    if (!page_range_valid(req, errp)) {
        return false;
    }
    start = wire_record_begin(out, WIRE_REC_PAGE_REQUEST);
    wire_put_u32(out, req->block);
    wire_put_u64(out, req->offset);
    wire_put_u64(out, req->length);
    return wire_record_end(out, start, errp);
}

bool wire_page_request_decode(const uint8_t *body, size_t len,
                              WirePageRequest *out, Error **errp)
{
    WireReader r;

    wire_reader_init(&r, body, len);
    if (!fixed_done("PAGE_REQUEST", &r,
                    wire_get_u32(&r, "block", &out->block, errp) &&
                    wire_get_u64(&r, "offset", &out->offset, errp) &&
                    wire_get_u64(&r, "length", &out->length, errp), errp)) {
        return false;
    }
    return page_range_valid(out, errp);
}

bool wire_shutdown_encode(GByteArray *out, uint32_t status, Error **errp)
{
    size_t start = wire_record_begin(out, WIRE_REC_SHUTDOWN);

    wire_put_u32(out, status);
    return wire_record_end(out, start, errp);
}

bool wire_shutdown_decode(const uint8_t *body, size_t len, uint32_t *status,
                          Error **errp)
{
    WireReader r;

    wire_reader_init(&r, body, len);
    return fixed_done("SHUTDOWN", &r,
                      wire_get_u32(&r, "status", status, errp), errp);
}
