/*
 * The v2 stream's framing: the stream header, record headers and
 * padding, the record type table and version negotiation.  See
 * docs/devel/migration-protocol.md.
 */
#include "migration/wire/wire.h"

#include <inttypes.h>
#include <string.h>

typedef struct WireTypeInfo {
    uint32_t type;
    const char *name;
    /* Fixed-size records get their exact size here, so a reader never
     * buffers more than that for them. */
    uint32_t max_len;
} WireTypeInfo;

static const WireTypeInfo wire_types[] = {
    { WIRE_REC_HELLO, "HELLO", WIRE_HANDSHAKE_RECORD_MAX },
    { WIRE_REC_ACCEPT, "ACCEPT", WIRE_HANDSHAKE_RECORD_MAX },
    { WIRE_REC_REJECT, "REJECT", WIRE_HANDSHAKE_RECORD_MAX },
    { WIRE_REC_CHANNEL_HEADER, "CHANNEL_HEADER", 24 },
    { WIRE_REC_RAM_PAGES, "RAM_PAGES", WIRE_RECORD_MAX },
    { WIRE_REC_DEVICE_STATE, "DEVICE_STATE", WIRE_RECORD_MAX },
    { WIRE_REC_SYNC, "SYNC", 8 },
    { WIRE_REC_END, "END", 0 },
    { WIRE_REC_POSTCOPY_LISTEN, "POSTCOPY_LISTEN", 0 },
    { WIRE_REC_POSTCOPY_RUN, "POSTCOPY_RUN", 0 },
    { WIRE_REC_MAPPED_RAM_BLOCK, "MAPPED_RAM_BLOCK", 48 },
    { WIRE_REC_ONE_WAY, "ONE_WAY", 0 },
    { WIRE_REC_RAM_XBZRLE, "RAM_XBZRLE", WIRE_RECORD_MAX },
    { WIRE_REC_PING, "PING", 8 },
    { WIRE_REC_MAPPED_RAM_CHECKSUMS, "MAPPED_RAM_CHECKSUMS",
      4 + 4 * WIRE_RAM_BLOCKS_MAX },
    { WIRE_REC_POSTCOPY_DISCARD, "POSTCOPY_DISCARD",
      8 + 16 * WIRE_DISCARD_RANGES_MAX },
    { WIRE_REC_SWITCHOVER_ACK, "SWITCHOVER_ACK", 0 },
    { WIRE_REC_PAGE_REQUEST, "PAGE_REQUEST", 20 },
    { WIRE_REC_RECEIVED_BITMAP, "RECEIVED_BITMAP", WIRE_RECORD_MAX },
    { WIRE_REC_RESUME_REQUEST, "RESUME_REQUEST", 4 },
    { WIRE_REC_SHUTDOWN, "SHUTDOWN", 4 },
    { WIRE_REC_ERROR, "ERROR", WIRE_HANDSHAKE_RECORD_MAX },
    { WIRE_REC_PONG, "PONG", 8 },
    { WIRE_REC_NOP, "NOP", WIRE_RECORD_MAX },
};

static const WireTypeInfo *type_info(uint32_t type)
{
    for (size_t i = 0; i < G_N_ELEMENTS(wire_types); i++) {
        if (wire_types[i].type == type) {
            return &wire_types[i];
        }
    }
    return NULL;
}

const char *wire_record_type_name(uint32_t type)
{
    const WireTypeInfo *ti = type_info(type);

    return ti ? ti->name : NULL;
}

bool wire_record_type_known(uint32_t type)
{
    return type_info(type);
}

uint32_t wire_record_max_len(uint32_t type)
{
    const WireTypeInfo *ti = type_info(type);

    return ti ? ti->max_len : WIRE_RECORD_MAX;
}

/* "HELLO" or "record type 0x00000042", for messages. */
static char *type_str(uint32_t type)
{
    const char *name = wire_record_type_name(type);

    return name ? g_strdup(name) : g_strdup_printf("record type 0x%08x",
                                                   type);
}

/* ---- Stream header ---- */

void wire_stream_header_encode(GByteArray *out)
{
    wire_put_bytes(out, WIRE_MAGIC, WIRE_MAGIC_LEN);
    wire_put_u32(out, WIRE_STREAM_FORMAT);
    wire_put_u32(out, 0);
}

bool wire_stream_header_is_tls(const uint8_t *buf, size_t len)
{
    return len >= 1 && buf[0] == 0x16 && (len < 2 || buf[1] == 0x03);
}

/* Names the likely mix-up behind bad magic @buf (@len >= 1 bytes). */
static void bad_magic(const uint8_t *buf, size_t len, Error **errp)
{
    g_autoptr(GString) hex = g_string_new(NULL);

    for (size_t i = 0; i < MIN(len, WIRE_MAGIC_LEN); i++) {
        g_string_append_printf(hex, "%s%02x", i ? " " : "", buf[i]);
    }
    if (wire_stream_header_is_tls(buf, len)) {
        error_setg(errp, "the peer started TLS but this end has no TLS "
                   "configured (tls-creds)");
    } else if (len >= 4 && memcmp(buf, "QEVM", 4) == 0) {
        error_setg(errp, "this is a QEMU (v1) migration stream, not a vmig "
                   "v2 stream");
    } else {
        error_setg(errp, "not a vmig migration stream: bad magic %s",
                   hex->str);
    }
}

WireStatus wire_stream_header_decode(const uint8_t *buf, size_t len,
                                     Error **errp)
{
    size_t n = MIN(len, WIRE_MAGIC_LEN);
    uint32_t format, reserved;

    if (n && memcmp(buf, WIRE_MAGIC, n) != 0) {
        bad_magic(buf, len, errp);
        return WIRE_ERROR;
    }
    if (len < WIRE_STREAM_HEADER_SIZE) {
        return WIRE_NEED_MORE;
    }
    format = wire_load_u32(buf + 8);
    reserved = wire_load_u32(buf + 12);
    if (format != WIRE_STREAM_FORMAT) {
        error_setg(errp, "unsupported stream format %u (this vmig reads "
                   "format %u)", format, WIRE_STREAM_FORMAT);
        return WIRE_ERROR;
    }
    if (reserved) {
        error_setg(errp, "stream header: reserved field is 0x%08x, not 0",
                   reserved);
        return WIRE_ERROR;
    }
    return WIRE_OK;
}

/* ---- Records ---- */

/* @trailer: bytes of checksum the body carries beyond its type's limit
 * (0, or WIRE_CHECKSUM_LEN once checksums are on). */
static WireStatus header_decode(const uint8_t *buf, size_t len,
                                size_t trailer, WireRecord *rec,
                                Error **errp)
{
    memset(rec, 0, sizeof(*rec));
    rec->size = WIRE_RECORD_HEADER_SIZE;
    if (len < WIRE_RECORD_HEADER_SIZE) {
        return WIRE_NEED_MORE;
    }
    rec->type = wire_load_u32(buf);
    rec->len = wire_load_u32(buf + 4);
    if (rec->type == 0) {
        /* Zero-filled garbage, or a reader out of step with the writer. */
        error_setg(errp, "invalid record type 0");
        return WIRE_ERROR;
    }
    if (rec->len > wire_record_max_len(rec->type) + trailer) {
        g_autofree char *what = type_str(rec->type);

        error_setg(errp, "%s: body length %u exceeds %zu", what, rec->len,
                   wire_record_max_len(rec->type) + trailer);
        return WIRE_ERROR;
    }
    if (rec->len < trailer) {
        g_autofree char *what = type_str(rec->type);

        error_setg(errp, "%s: body length %u is too short for its "
                   "checksum", what, rec->len);
        return WIRE_ERROR;
    }
    rec->size = wire_record_size(rec->len);
    return WIRE_OK;
}

/* The whole record, its padding not yet checked. */
static WireStatus record_frame(const uint8_t *buf, size_t len,
                               size_t trailer, WireRecord *rec, Error **errp)
{
    WireStatus st = header_decode(buf, len, trailer, rec, errp);

    if (st != WIRE_OK) {
        return st;
    }
    if (len < rec->size) {
        return WIRE_NEED_MORE;
    }
    rec->body = buf + WIRE_RECORD_HEADER_SIZE;
    return WIRE_OK;
}

/* Zero padding, so a desynchronised reader fails fast. */
static WireStatus check_padding(const uint8_t *buf, const WireRecord *rec,
                                Error **errp)
{
    for (size_t i = WIRE_RECORD_HEADER_SIZE + rec->len; i < rec->size; i++) {
        if (buf[i]) {
            g_autofree char *what = type_str(rec->type);

            error_setg(errp, "%s: non-zero padding", what);
            return WIRE_ERROR;
        }
    }
    return WIRE_OK;
}

static WireStatus record_decode(const uint8_t *buf, size_t len,
                                WireRecord *rec, Error **errp)
{
    WireStatus st = record_frame(buf, len, 0, rec, errp);

    return st == WIRE_OK ? check_padding(buf, rec, errp) : st;
}

WireStatus wire_record_header_decode(const uint8_t *buf, size_t len,
                                     WireRecord *rec, Error **errp)
{
    return header_decode(buf, len, 0, rec, errp);
}

WireStatus wire_record_decode(const uint8_t *buf, size_t len,
                              WireRecord *rec, Error **errp)
{
    return record_decode(buf, len, rec, errp);
}

/* A checksummed record's header refused before its checksum can be
 * found: where it is, as a checksum mismatch would say. */
static WireStatus header_refused_at(WireStatus st, uint64_t offset,
                                    Error **errp)
{
    if (st == WIRE_ERROR) {
        error_prepend(errp, "at offset %" PRIu64 ": ", offset);
    }
    return st;
}

WireStatus wire_record_header_decode_checksummed(const uint8_t *buf,
                                                 size_t len, uint64_t offset,
                                                 WireRecord *rec,
                                                 Error **errp)
{
    WireStatus st = header_decode(buf, len, WIRE_CHECKSUM_LEN, rec, errp);

    if (st == WIRE_OK) {
        rec->len -= WIRE_CHECKSUM_LEN;
    }
    return header_refused_at(st, offset, errp);
}

WireStatus wire_record_decode_checksummed(const uint8_t *buf, size_t len,
                                          uint64_t offset, WireRecord *rec,
                                          Error **errp)
{
    WireStatus st = record_frame(buf, len, WIRE_CHECKSUM_LEN, rec, errp);

    if (st != WIRE_OK) {
        return header_refused_at(st, offset, errp);
    }
    /* The checksum before the padding: a flipped bit in the length
     * moves both, and "checksum mismatch" is what happened. */
    if (!wire_record_checksum_check(rec->type, offset,
                                    wire_load_u32(rec->body + rec->len -
                                                  WIRE_CHECKSUM_LEN),
                                    wire_record_checksum(buf, rec->len -
                                                         WIRE_CHECKSUM_LEN),
                                    errp)) {
        return WIRE_ERROR;
    }
    st = check_padding(buf, rec, errp);
    rec->len -= WIRE_CHECKSUM_LEN;
    return st;
}

bool wire_record_skip_unknown(uint32_t type, Error **errp)
{
    if (wire_record_type_is_optional(type)) {
        return true;
    }
    if (wire_record_type_known(type)) {
        error_setg(errp, "unexpected %s record", wire_record_type_name(type));
    } else {
        error_setg(errp, "unknown mandatory record type 0x%08x (this vmig "
                   "speaks protocol versions %u to %u)", type,
                   WIRE_VERSION_MIN, WIRE_VERSION_MAX);
    }
    return false;
}

bool wire_record_expect(const WireRecord *rec, uint32_t type, Error **errp)
{
    g_autofree char *want = NULL, *got = NULL;

    if (rec->type == type) {
        return true;
    }
    want = type_str(type);
    got = type_str(rec->type);
    error_setg(errp, "expected %s, got %s", want, got);
    return false;
}

size_t wire_record_begin(GByteArray *out, uint32_t type)
{
    size_t start = out->len;

    g_assert(type != 0);
    wire_put_u32(out, type);
    wire_put_u32(out, 0);       /* body length, set by wire_record_end() */
    return start;
}

bool wire_record_end(GByteArray *out, size_t start, Error **errp)
{
    uint32_t type;
    size_t len;
    static const uint8_t zeroes[WIRE_ALIGN];

    g_assert(start + WIRE_RECORD_HEADER_SIZE <= out->len);
    type = wire_load_u32(out->data + start);
    len = out->len - start - WIRE_RECORD_HEADER_SIZE;
    if (len > wire_record_max_len(type)) {
        g_autofree char *what = type_str(type);

        error_setg(errp, "%s: body length %zu exceeds %u", what, len,
                   wire_record_max_len(type));
        g_byte_array_set_size(out, start);
        return false;
    }
    for (int i = 0; i < 4; i++) {
        out->data[start + 4 + i] = (uint8_t)(len >> (24 - 8 * i));
    }
    wire_put_bytes(out, zeroes, wire_record_size(len) -
                   WIRE_RECORD_HEADER_SIZE - len);
    return true;
}

bool wire_record_end_external(GByteArray *out, size_t start,
                              size_t data_len, size_t *pad_len, Error **errp)
{
    uint32_t type;
    size_t len;

    g_assert(start + WIRE_RECORD_HEADER_SIZE <= out->len);
    type = wire_load_u32(out->data + start);
    len = out->len - start - WIRE_RECORD_HEADER_SIZE;
    if (data_len > wire_record_max_len(type) ||
        len > wire_record_max_len(type) - data_len) {
        g_autofree char *what = type_str(type);

        error_setg(errp, "%s: body length %zu exceeds %u", what,
                   len + data_len, wire_record_max_len(type));
        g_byte_array_set_size(out, start);
        return false;
    }
    len += data_len;
    for (int i = 0; i < 4; i++) {
        out->data[start + 4 + i] = (uint8_t)(len >> (24 - 8 * i));
    }
    *pad_len = wire_record_size(len) - WIRE_RECORD_HEADER_SIZE - len;
    return true;
}

bool wire_record_encode(GByteArray *out, uint32_t type, const void *body,
                        size_t len, Error **errp)
{
    size_t start;

    if (len > wire_record_max_len(type)) {
        /* Checked before copying: @len may be huge. */
        g_autofree char *what = type_str(type);

        error_setg(errp, "%s: body length %zu exceeds %u", what, len,
                   wire_record_max_len(type));
        return false;
    }
    start = wire_record_begin(out, type);
    wire_put_bytes(out, body, len);
    return wire_record_end(out, start, errp);
}

/* ---- Versions ---- */

bool wire_negotiate_version(uint32_t src_min, uint32_t src_max,
                            uint32_t dst_min, uint32_t dst_max,
                            uint32_t *chosen, Error **errp)
{
    uint32_t lo = MAX(src_min, dst_min), hi = MIN(src_max, dst_max);

    if (src_min > src_max) {
        error_setg(errp, "the source offers an empty protocol version "
                   "range %u..%u", src_min, src_max);
        return false;
    }
    if (dst_min > dst_max) {
        error_setg(errp, "the destination speaks an empty protocol version "
                   "range %u..%u", dst_min, dst_max);
        return false;
    }
    if (lo > hi) {
        error_setg(errp, "no common protocol version: the source speaks "
                   "versions %u to %u, the destination %u to %u",
                   src_min, src_max, dst_min, dst_max);
        return false;
    }
    *chosen = hi;
    return true;
}
