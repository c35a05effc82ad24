/*
 * Unit tests for the v2 migration stream codec (migration/wire*.c): every
 * record round trips; every truncation of every record is "need more" at
 * the framing level and an error in the body decoder, reading only the
 * bytes it was given (each prefix is a separate heap copy, so ASan sees
 * any overrun); lying lengths and counts, bad magic, unknown record
 * types, flags and config members; version negotiation; channel binding.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>

#include "migration/config.h"
#include "migration/wire/wire.h"

static const uint8_t session[WIRE_SESSION_ID_LEN] = {
    0x5e, 0x55, 0x10, 0x4e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
};

/* Decodes the one record @b holds, insisting it is exactly that long. */
static WireRecord decode_one(const GByteArray *b)
{
    WireRecord rec;

    ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec, &error_abort),
                     WIRE_OK);
    ck_assert_uint_eq(rec.size, b->len);
    ck_assert_uint_eq(b->len % WIRE_ALIGN, 0);
    return rec;
}

/* A body decoder that frees what it decoded. */
typedef bool BodyDecodeFn(const uint8_t *body, size_t len, Error **errp);

/*
 * Every proper prefix of the record in @b must be "need more" to the
 * framing, and every proper prefix of its body an error naming @name to
 * the body decoder.  Each prefix is decoded from a heap copy of exactly
 * its length.
 */
static void check_truncations(const GByteArray *b, BodyDecodeFn *fn,
                              const char *name)
{
    WireRecord full = decode_one(b);

    for (size_t n = 0; n < b->len; n++) {
        g_autofree uint8_t *copy = g_memdup2(b->data, n);
        WireRecord rec;

        ck_assert_int_eq(wire_record_decode(copy, n, &rec, &error_abort),
                         WIRE_NEED_MORE);
        ck_assert_uint_gt(rec.size, n);
    }
    for (size_t n = 0; n < full.len; n++) {
        g_autofree uint8_t *copy = g_memdup2(full.body, n);
        Error *err = NULL;

        ck_assert_msg(!fn(copy ? copy : (const uint8_t *)"", n, &err),
                      "%s body of %zu of %u bytes decoded", name, n,
                      full.len);
        check_error(&err, name);
    }
}

static MigrationConfig *sample_config(void)
{
    MigrationConfig *cfg = g_new0(MigrationConfig, 1);

    cfg->has_multifd = true;
    cfg->multifd = true;
    cfg->has_multifd_channels = true;
    cfg->multifd_channels = 4;
    cfg->has_max_bandwidth = true;
    cfg->max_bandwidth = 1ull << 30;
    cfg->has_multifd_compression = true;
    cfg->multifd_compression = MULTIFD_COMPRESSION_ZSTD;
    cfg->tls_creds = g_strdup("tls0");      /* local: never sent */
    cfg->tls_authz = g_strdup("authz0");
    return cfg;
}

static WireHello *sample_hello(void)
{
    WireHello *h = wire_hello_new();

    h->min_version = 2;
    h->max_version = 3;
    h->flags = WIRE_HELLO_DRY_RUN | (1u << 20);     /* advisory bit too */
    memcpy(h->session_id, session, sizeof(session));
    memset(h->vm_uuid, 0xaa, sizeof(h->vm_uuid));
    g_free(h->implementation);
    h->implementation = g_strdup("vmig 0.1.0 \xc3\xa9");
    qapi_free_MigrationConfig(h->config);
    h->config = sample_config();
    wire_hello_add_ram_block(h, "pc.ram", 256ull << 20, 4096);
    wire_hello_add_ram_block(h, "mem1", 2ull << 30, 2ull << 20);
    wire_hello_add_device(h, "counter", 1, 1);
    wire_hello_add_device(h, "log", 2, 1);
    return h;
}

/* ---- Stream header ---- */

START_TEST(test_stream_header)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    Error *err = NULL;
    uint8_t bad[WIRE_STREAM_HEADER_SIZE];

    wire_stream_header_encode(b);
    ck_assert_uint_eq(b->len, WIRE_STREAM_HEADER_SIZE);
    ck_assert(memcmp(b->data, "\x89VMIG\r\n\x1a\0\0\0\x02\0\0\0\0", 16) == 0);
    ck_assert_int_eq(wire_stream_header_decode(b->data, b->len,
                                               &error_abort), WIRE_OK);
    for (size_t n = 0; n < b->len; n++) {
        g_autofree uint8_t *copy = g_memdup2(b->data, n);

        ck_assert_int_eq(wire_stream_header_decode(copy, n, &error_abort),
                         WIRE_NEED_MORE);
    }

    /* A wrong byte fails as soon as it is there, without waiting. */
    for (size_t i = 0; i < WIRE_MAGIC_LEN; i++) {
        memcpy(bad, b->data, sizeof(bad));
        bad[i] ^= 0x20;
        ck_assert_int_eq(wire_stream_header_decode(bad, i + 1, &err),
                         WIRE_ERROR);
        check_error(&err, i == 0 ? "bad magic a9" : "bad magic");
    }
    ck_assert_int_eq(wire_stream_header_decode((const uint8_t *)"\x16\x03",
                                               2, &err), WIRE_ERROR);
    check_error(&err, "the peer started TLS but this end has no TLS");
    ck_assert_int_eq(wire_stream_header_decode((const uint8_t *)"QEVM\0\0\0\3",
                                               8, &err), WIRE_ERROR);
    check_error(&err, "QEMU (v1) migration stream");

    memcpy(bad, b->data, sizeof(bad));
    bad[11] = 3;
    ck_assert_int_eq(wire_stream_header_decode(bad, sizeof(bad), &err),
                     WIRE_ERROR);
    check_error(&err, "unsupported stream format 3 (this vmig reads "
                "format 2)");
    memcpy(bad, b->data, sizeof(bad));
    bad[15] = 1;
    ck_assert_int_eq(wire_stream_header_decode(bad, sizeof(bad), &err),
                     WIRE_ERROR);
    check_error(&err, "reserved");
}
END_TEST

/* ---- Framing ---- */

START_TEST(test_record_framing)
{
    static const uint8_t body[17] = "0123456789abcdef";

    for (size_t len = 0; len <= sizeof(body); len++) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        WireRecord rec;

        ck_assert(wire_record_encode(b, WIRE_REC_NOP, body, len,
                                     &error_abort));
        ck_assert_uint_eq(b->len, 8 + (len + 7) / 8 * 8);
        rec = decode_one(b);
        ck_assert_uint_eq(rec.type, WIRE_REC_NOP);
        ck_assert_uint_eq(rec.len, len);
        ck_assert(memcmp(rec.body, body, len) == 0);
        /* The header alone tells how much to wait for. */
        ck_assert_int_eq(wire_record_decode(b->data, 8, &rec, &error_abort),
                         len ? WIRE_NEED_MORE : WIRE_OK);
        ck_assert_uint_eq(rec.size, b->len);
    }
}
END_TEST

START_TEST(test_record_errors)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t hdr[8];
    WireRecord rec;
    Error *err = NULL;

    /* Zero bytes where a record should start. */
    memset(hdr, 0, sizeof(hdr));
    ck_assert_int_eq(wire_record_decode(hdr, 8, &rec, &err), WIRE_ERROR);
    check_error(&err, "invalid record type 0");

    /* Oversized lengths fail from the header alone, before buffering. */
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, WIRE_REC_RAM_PAGES);
    wire_put_u32(b, WIRE_RECORD_MAX + 1);
    ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec, &err),
                     WIRE_ERROR);
    check_error(&err, "RAM_PAGES: body length 16777217 exceeds 16777216");
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, WIRE_REC_HELLO);
    wire_put_u32(b, WIRE_HANDSHAKE_RECORD_MAX + 1);
    ck_assert_int_eq(wire_record_header_decode(b->data, b->len, &rec, &err),
                     WIRE_ERROR);
    check_error(&err, "HELLO: body length 4194305 exceeds 4194304");
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, WIRE_REC_CHANNEL_HEADER);
    wire_put_u32(b, 25);
    ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec, &err),
                     WIRE_ERROR);
    check_error(&err, "CHANNEL_HEADER: body length 25 exceeds 24");
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, 0x4242);
    wire_put_u32(b, 0xffffffff);
    ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec, &err),
                     WIRE_ERROR);
    check_error(&err, "record type 0x00004242: body length 4294967295");

    /* Padding must be zero. */
    g_byte_array_set_size(b, 0);
    ck_assert(wire_record_encode(b, WIRE_REC_NOP, "abc", 3, &error_abort));
    b->data[b->len - 1] = 1;
    ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec, &err),
                     WIRE_ERROR);
    check_error(&err, "NOP: non-zero padding");

    /* The encoder refuses oversize bodies and leaves @out as it was. */
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, 0xdeadbeef);
    {
        size_t start = wire_record_begin(b, WIRE_REC_SYNC);

        wire_put_u64(b, 1);
        wire_put_u8(b, 0);
        ck_assert(!wire_record_end(b, start, &err));
        check_error(&err, "SYNC: body length 9 exceeds 8");
        ck_assert_uint_eq(b->len, 4);
    }
    ck_assert(!wire_record_encode(b, WIRE_REC_END, "x", 1, &err));
    check_error(&err, "END: body length 1 exceeds 0");
    ck_assert_uint_eq(b->len, 4);
}
END_TEST

/*
 * A minimal stream reader, as the engine's will be: header, then records
 * until END, skipping what may be skipped.
 */
static bool read_stream(const GByteArray *s, unsigned *skipped,
                        Error **errp)
{
    size_t pos = WIRE_STREAM_HEADER_SIZE;

    *skipped = 0;
    if (wire_stream_header_decode(s->data, s->len, errp) != WIRE_OK) {
        return false;
    }
    for (;;) {
        WireRecord rec;

        if (wire_record_decode(s->data + pos, s->len - pos, &rec, errp) !=
            WIRE_OK) {
            return false;
        }
        pos += rec.size;
        if (rec.type == WIRE_REC_END) {
            return wire_empty_decode(rec.type, rec.body, rec.len, errp);
        }
        if (rec.type == WIRE_REC_SYNC) {
            uint64_t it;

            if (!wire_sync_decode(rec.body, rec.len, &it, errp)) {
                return false;
            }
            continue;
        }
        if (!wire_record_skip_unknown(rec.type, errp)) {
            return false;
        }
        (*skipped)++;
    }
}

START_TEST(test_unknown_types)
{
    g_autoptr(GByteArray) s = g_byte_array_new();
    unsigned skipped;
    Error *err = NULL;

    ck_assert(wire_record_skip_unknown(WIRE_REC_NOP, &error_abort));
    ck_assert(wire_record_skip_unknown(0x80001234, &error_abort));
    ck_assert(!wire_record_skip_unknown(0x1234, &err));
    check_error(&err, "unknown mandatory record type 0x00001234");
    ck_assert(!wire_record_skip_unknown(WIRE_REC_HELLO, &err));
    check_error(&err, "unexpected HELLO record");
    ck_assert_ptr_null(wire_record_type_name(0x1234));
    ck_assert_str_eq(wire_record_type_name(WIRE_REC_PAGE_REQUEST),
                     "PAGE_REQUEST");

    wire_stream_header_encode(s);
    ck_assert(wire_sync_encode(s, 1, &error_abort));
    ck_assert(wire_record_encode(s, WIRE_REC_NOP, "pad", 3, &error_abort));
    ck_assert(wire_record_encode(s, 0x80007777, "future", 6, &error_abort));
    ck_assert(wire_empty_encode(s, WIRE_REC_END, &error_abort));
    ck_assert(read_stream(s, &skipped, &error_abort));
    ck_assert_uint_eq(skipped, 2);

    g_byte_array_set_size(s, 0);
    wire_stream_header_encode(s);
    ck_assert(wire_record_encode(s, 0x00007777, "future", 6, &error_abort));
    ck_assert(wire_empty_encode(s, WIRE_REC_END, &error_abort));
    ck_assert(!read_stream(s, &skipped, &err));
    check_error(&err, "unknown mandatory record type 0x00007777");

    {
        WireRecord rec = { .type = WIRE_REC_RAM_PAGES };

        ck_assert(wire_record_expect(&rec, WIRE_REC_RAM_PAGES, &error_abort));
        ck_assert(!wire_record_expect(&rec, WIRE_REC_HELLO, &err));
        check_error(&err, "expected HELLO, got RAM_PAGES");
    }
}
END_TEST

START_TEST(test_negotiate)
{
    uint32_t v = 0;
    Error *err = NULL;

    ck_assert(wire_negotiate_version(2, 2, 2, 2, &v, &error_abort));
    ck_assert_uint_eq(v, 2);
    /* A newer source, an older destination, and the other way round. */
    ck_assert(wire_negotiate_version(2, 5, 2, 3, &v, &error_abort));
    ck_assert_uint_eq(v, 3);
    ck_assert(wire_negotiate_version(2, 3, 3, 7, &v, &error_abort));
    ck_assert_uint_eq(v, 3);
    ck_assert(!wire_negotiate_version(4, 5, 2, 3, &v, &err));
    check_error(&err, "no common protocol version: the source speaks "
                "versions 4 to 5, the destination 2 to 3");
    ck_assert(!wire_negotiate_version(2, 3, 7, 9, &v, &err));
    check_error(&err, "versions 2 to 3, the destination 7 to 9");
    ck_assert(!wire_negotiate_version(3, 2, 2, 3, &v, &err));
    check_error(&err, "source offers an empty protocol version range 3..2");
    ck_assert(!wire_negotiate_version(2, 3, 3, 2, &v, &err));
    check_error(&err, "destination speaks an empty");
}
END_TEST

/* ---- Config ---- */

START_TEST(test_config_json)
{
    g_autoptr(MigrationConfig) def = migration_config_new_default();
    g_autoptr(MigrationConfig) back = NULL;
    g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *json = NULL;
    size_t len;

    g_free(def->tls_creds);
    def->tls_creds = g_strdup("tls0");
    json = wire_config_to_json(def, &len);
    ck_assert_uint_eq(strlen(json), len);
    ck_assert_ptr_null(strstr(json, "tls-"));
    ck_assert_ptr_null(strstr(json, "cpr-exec-command"));
    ck_assert_ptr_null(strstr(json, "accept-timeout"));
    /* Deprecated options at their default are left out... */
    ck_assert_ptr_null(strstr(json, "compress-level"));
    ck_assert_ptr_nonnull(strstr(json, "\"multifd-channels\":2"));
    ck_assert(wire_config_from_json((const uint8_t *)json, len, &back,
                                    ignored, NULL, &error_abort));
    ck_assert(!back->has_compress_level);
    ck_assert_ptr_null(back->tls_creds);
    migration_config_fill_defaults(back);
    g_free(def->tls_creds);
    def->tls_creds = g_strdup("");
    ck_assert(migration_config_equal(def, back));
    ck_assert_uint_eq(ignored->len, 0);

    /* ... but sent when set. */
    def->compress_level = 9;
    g_free(json);
    json = wire_config_to_json(def, &len);
    ck_assert_ptr_nonnull(strstr(json, "\"compress-level\":9"));
}
END_TEST

/* Decoding @json must fail with @needle, blaming @option (or none). */
static void config_fails(const char *json, const char *option,
                         const char *needle)
{
    g_autofree char *bad = NULL;
    MigrationConfig *cfg = NULL;
    Error *err = NULL;

    ck_assert(!wire_config_from_json((const uint8_t *)json, strlen(json),
                                     &cfg, NULL, &bad, &err));
    ck_assert_ptr_null(cfg);
    if (option) {
        ck_assert_str_eq(bad, option);
    } else {
        ck_assert_ptr_null(bad);
    }
    check_error(&err, needle);
}

START_TEST(test_config_rules)
{
    g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(MigrationConfig) cfg = NULL;
    static const char off[] = "{\"multifd\":true,\"x-a\":false,\"x-b\":0,"
                              "\"x-c\":\"\",\"x-d\":[],\"x-e\":{},"
                              "\"x-f\":null,\"x-g\":0.0}";

    /* Unknown members that are off are dropped, and reported. */
    ck_assert(wire_config_from_json((const uint8_t *)off, strlen(off), &cfg,
                                    ignored, NULL, &error_abort));
    ck_assert(cfg->has_multifd && cfg->multifd);
    ck_assert_uint_eq(ignored->len, 7);
    ck_assert_str_eq(g_ptr_array_index(ignored, 0), "x-a");

    config_fails("{\"x-future\":true}", "x-future",
                 "config: option 'x-future' is on, but this vmig does not "
                 "know it");
    config_fails("{\"x-future\":3}", "x-future", "is on");
    config_fails("{\"x-future\":\"zstd\"}", "x-future", "is on");
    config_fails("{\"x-future\":[1]}", "x-future", "is on");
    config_fails("{\"tls-creds\":\"\"}", "tls-creds",
                 "option 'tls-creds' is local to each end");
    config_fails("{\"cpr-exec-command\":[\"a\"]}", "cpr-exec-command",
                 "local");
    config_fails("{\"accept-timeout\":100}", "accept-timeout", "local");
    config_fails("{\"multifd\":3}", "multifd",
                 "config: Invalid parameter type for 'multifd'");
    config_fails("{\"multifd-channels\":300}", "multifd-channels",
                 "multifd-channels");
    config_fails("{\"multifd-compression\":\"brotli\"}",
                 "multifd-compression", "brotli");
    config_fails("{\"multifd\":true,\"multifd\":false}", NULL,
                 "config is not valid JSON");
    config_fails("{\"multifd\":", NULL, "config is not valid JSON");
    config_fails("[1]", NULL, "config is not a JSON object");
    config_fails("{} {}", NULL, "not valid JSON");
    config_fails("", NULL, "not valid JSON");
}
END_TEST

/* ---- HELLO ---- */

static bool hello_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    g_autoptr(WireHello) h = NULL;

    return wire_hello_decode(body, len, &h, NULL, errp);
}

START_TEST(test_hello_round_trip)
{
    g_autoptr(WireHello) h = sample_hello();
    g_autoptr(WireHello) back = NULL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    const WireRamBlock *blk;
    const WireDevice *dev;
    WireRecord rec;

    ck_assert(wire_hello_encode(h, b, &error_abort));
    rec = decode_one(b);
    ck_assert_uint_eq(rec.type, WIRE_REC_HELLO);
    ck_assert(wire_hello_decode(rec.body, rec.len, &back, NULL,
                                &error_abort));
    ck_assert_uint_eq(back->min_version, 2);
    ck_assert_uint_eq(back->max_version, 3);
    ck_assert_uint_eq(back->flags, WIRE_HELLO_DRY_RUN | (1u << 20));
    ck_assert(memcmp(back->session_id, session, sizeof(session)) == 0);
    ck_assert_uint_eq(back->vm_uuid[15], 0xaa);
    ck_assert_str_eq(back->implementation, "vmig 0.1.0 \xc3\xa9");
    ck_assert(back->config->multifd);
    ck_assert_uint_eq(back->config->multifd_channels, 4);
    ck_assert(back->config->max_bandwidth == 1ull << 30);
    ck_assert_int_eq(back->config->multifd_compression,
                     MULTIFD_COMPRESSION_ZSTD);
    ck_assert_ptr_null(back->config->tls_creds);
    ck_assert_ptr_null(back->config->tls_authz);
    ck_assert(!back->config->has_xbzrle);
    ck_assert_uint_eq(back->ram_blocks->len, 2);
    blk = g_ptr_array_index(back->ram_blocks, 1);
    ck_assert_str_eq(blk->id, "mem1");
    ck_assert(blk->size == 2ull << 30 && blk->page_size == 2ull << 20);
    ck_assert_uint_eq(back->devices->len, 2);
    dev = g_ptr_array_index(back->devices, 1);
    ck_assert_str_eq(dev->id, "log");
    ck_assert_uint_eq(dev->version, 2);
    ck_assert_uint_eq(dev->min_version, 1);

    check_truncations(b, hello_decode_fn, "HELLO: ");
}
END_TEST

START_TEST(test_hello_minimal)
{
    g_autoptr(WireHello) h = wire_hello_new();
    g_autoptr(WireHello) back = NULL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRecord rec;

    /* File form: one version, no blocks or devices, empty config. */
    h->flags = WIRE_HELLO_UNIDIRECTIONAL;
    ck_assert(wire_session_id_generate(h->session_id, &error_abort));
    ck_assert(wire_hello_encode(h, b, &error_abort));
    rec = decode_one(b);
    ck_assert(wire_hello_decode(rec.body, rec.len, &back, NULL,
                                &error_abort));
    ck_assert_uint_eq(back->flags, WIRE_HELLO_UNIDIRECTIONAL);
    ck_assert_uint_eq(back->ram_blocks->len, 0);
    ck_assert(memcmp(back->session_id, h->session_id,
                     WIRE_SESSION_ID_LEN) == 0);
    check_truncations(b, hello_decode_fn, "HELLO: ");
}
END_TEST

/* The exec: form: an advisory flag, one version, kept on decoding. */
START_TEST(test_hello_reply_optional)
{
    g_autoptr(WireHello) h = wire_hello_new();
    g_autoptr(WireHello) back = NULL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    Error *err = NULL;
    WireRecord rec;

    ck_assert_uint_eq(WIRE_HELLO_REPLY_OPTIONAL & WIRE_FLAGS_CRITICAL, 0);
    ck_assert(wire_session_id_generate(h->session_id, &error_abort));
    h->flags = WIRE_HELLO_REPLY_OPTIONAL;
    /* The encoder runs the decoder's checks: two versions are refused. */
    h->min_version = 2;
    h->max_version = 3;
    ck_assert(!wire_hello_encode(h, b, &err));
    check_error(&err, "must offer one version");
    g_byte_array_set_size(b, 0);
    h->max_version = 2;
    ck_assert(wire_hello_encode(h, b, &error_abort));
    rec = decode_one(b);
    ck_assert(wire_hello_decode(rec.body, rec.len, &back, NULL,
                                &error_abort));
    ck_assert_uint_eq(back->flags, WIRE_HELLO_REPLY_OPTIONAL);
    ck_assert_uint_eq(back->min_version, 2);
    ck_assert_uint_eq(back->max_version, 2);
}
END_TEST

/* A HELLO body up to (and including) the config. */
static void hello_prefix(GByteArray *b, uint32_t min, uint32_t max,
                         uint32_t flags, const char *config)
{
    wire_put_u32(b, min);
    wire_put_u32(b, max);
    wire_put_u32(b, flags);
    wire_put_bytes(b, session, sizeof(session));
    wire_put_bytes(b, session, WIRE_UUID_LEN);
    ck_assert(wire_put_str(b, "impl", "test", 255, &error_abort));
    ck_assert(wire_put_blob(b, "config", config, strlen(config), 1 << 20,
                            &error_abort));
}

static void put_block(GByteArray *b, const char *id, uint64_t size,
                      uint64_t page_size)
{
    wire_put_u16(b, strlen(id));
    wire_put_bytes(b, id, strlen(id));
    wire_put_u64(b, size);
    wire_put_u64(b, page_size);
}

/*
 * Decoding @b must fail with @needle; the REJECT made for it has class
 * @cls and option @option ("" for none).
 */
static void hello_fails(const GByteArray *b, const char *cls,
                        const char *option, const char *needle)
{
    g_autoptr(WireReject) rej = NULL;
    g_autofree uint8_t *copy = g_memdup2(b->data, b->len);
    WireHello *h = NULL;
    Error *err = NULL;

    ck_assert(!wire_hello_decode(copy, b->len, &h, &rej, &err));
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(rej);
    ck_assert_str_eq(rej->error_class, cls);
    ck_assert_str_eq(rej->option, option);
    ck_assert_str_eq(rej->message, error_get_pretty(err));
    ck_assert_msg(g_str_has_prefix(rej->message, "HELLO: "), "%s",
                  rej->message);
    check_error(&err, needle);
}

/* Flags of streams that may be one-way, refused with these offers. */
static const struct {
    uint32_t max;
    uint32_t flags;
    const char *needle;
} one_way_flags[] = {
    { 2, WIRE_HELLO_UNIDIRECTIONAL | WIRE_HELLO_RESUME, "need a reply" },
    { 3, WIRE_HELLO_UNIDIRECTIONAL, "must offer one version, not 2..3" },
    { 3, WIRE_HELLO_REPLY_OPTIONAL,
      "a REPLY_OPTIONAL stream must offer one version, not 2..3" },
    { 2, WIRE_HELLO_REPLY_OPTIONAL | WIRE_HELLO_DRY_RUN,
      "DRY_RUN and RESUME need a reply, REPLY_OPTIONAL may have none" },
    { 2, WIRE_HELLO_REPLY_OPTIONAL | WIRE_HELLO_RESUME, "need a reply" },
    { 2, WIRE_HELLO_REPLY_OPTIONAL | WIRE_HELLO_UNIDIRECTIONAL,
      "UNIDIRECTIONAL and REPLY_OPTIONAL contradict each other" },
};

START_TEST(test_hello_header_errors)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    Error *err = NULL;
    WireHello *h = NULL;

#define RESET() g_byte_array_set_size(b, 0)
    RESET();
    hello_prefix(b, 3, 2, 0, "{}");
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "HELLO: invalid version range 3..2");
    RESET();
    hello_prefix(b, 1, 2, 0, "{}");
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "invalid version range 1..2");
    RESET();
    hello_prefix(b, 2, 2, 1u << 7, "{}");
    hello_fails(b, WIRE_ERR_UNSUPPORTED_FEATURE, "",
                "HELLO: unknown critical flags 0x00000080");
    /* Streams that may be one-way: one version, no request for a reply;
     * REPLY_OPTIONAL follows the rules of UNIDIRECTIONAL and contradicts
     * it. */
    for (size_t i = 0; i < G_N_ELEMENTS(one_way_flags); i++) {
        RESET();
        hello_prefix(b, 2, one_way_flags[i].max, one_way_flags[i].flags,
                     "{}");
        hello_fails(b, WIRE_ERR_PROTOCOL, "", one_way_flags[i].needle);
    }
    RESET();
    hello_prefix(b, 2, 2, 0, "{}");
    memset(b->data + 12, 0, WIRE_SESSION_ID_LEN);
    wire_put_u32(b, 0);
    wire_put_u32(b, 0);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "session id is all zero");

    /* Config problems name the option for the REJECT. */
    RESET();
    hello_prefix(b, 2, 2, 0, "{\"postcopy-ram\":true,\"x-future\":true}");
    wire_put_u32(b, 0);
    wire_put_u32(b, 0);
    hello_fails(b, WIRE_ERR_INCOMPATIBLE_CONFIG, "x-future",
                "HELLO: config: option 'x-future' is on");
    RESET();
    hello_prefix(b, 2, 2, 0, "{\"tls-hostname\":\"a\"}");
    hello_fails(b, WIRE_ERR_INCOMPATIBLE_CONFIG, "tls-hostname", "local");
    RESET();
    hello_prefix(b, 2, 2, 0, "not json");
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "HELLO: config is not valid JSON");

    /* The implementation string must be UTF-8 without NUL. */
    RESET();
    wire_put_u32(b, 2);
    wire_put_u32(b, 2);
    wire_put_u32(b, 0);
    wire_put_bytes(b, session, sizeof(session));
    wire_put_bytes(b, session, sizeof(session));
    wire_put_u16(b, 3);
    wire_put_bytes(b, "a\0b", 3);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "implementation is not valid UTF-8");
    b->data[b->len - 2] = 0xff;
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "implementation is not valid UTF-8");

    /* Without @reject the error is the same. */
    RESET();
    hello_prefix(b, 3, 2, 0, "{}");
    ck_assert(!wire_hello_decode(b->data, b->len, &h, NULL, &err));
    check_error(&err, "invalid version range");
#undef RESET
}
END_TEST

START_TEST(test_hello_layout_errors)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    char long_id[301];

    memset(long_id, 'x', 300);
    long_id[300] = 0;
#define START(n) do { g_byte_array_set_size(b, 0); \
                      hello_prefix(b, 2, 2, 0, "{}"); \
                      wire_put_u32(b, (n)); } while (0)
    START(3);
    put_block(b, "a", 4096, 4096);
    put_block(b, "b", 4096, 4096);
    put_block(b, long_id, 4096, 4096);
    wire_put_u32(b, 0);
    hello_fails(b, WIRE_ERR_PROTOCOL, "",
                "HELLO: RAM block 2: id length 300 exceeds 255");

    /* Lying counts. */
    START(1000);
    hello_fails(b, WIRE_ERR_PROTOCOL, "",
                "HELLO: RAM block count 1000 exceeds 256");
    START(200);
    put_block(b, "a", 4096, 4096);
    hello_fails(b, WIRE_ERR_PROTOCOL, "",
                "HELLO: RAM block count 200 does not fit in the 19 bytes "
                "left");
    START(2);
    put_block(b, "a", 4096, 4096);
    put_block(b, "bbbbbbbb", 4096, 4096);
    b->len -= 3;
    hello_fails(b, WIRE_ERR_PROTOCOL, "",
                "HELLO: RAM block 1: truncated: need 8 bytes for page size, "
                "5 left");
    START(0);
    wire_put_u32(b, 5000);
    hello_fails(b, WIRE_ERR_PROTOCOL, "",
                "HELLO: device count 5000 exceeds 4096");
    START(0);
    wire_put_u32(b, 3);
    wire_put_u64(b, 0);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "device count 3 does not fit");

    /* Values. */
    START(1);
    put_block(b, "a", 12288, 3072);
    hello_fails(b, WIRE_ERR_PROTOCOL, "",
                "HELLO: RAM block 0: page size 3072 is not a power of two");
    START(1);
    put_block(b, "a", 4096, 1ull << 31);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "page size 2147483648 is not");
    START(1);
    put_block(b, "a", 6144, 4096);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "size 6144 is not a positive "
                "multiple of the page size 4096");
    START(1);
    put_block(b, "a", 0, 4096);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "size 0 is not");
    START(1);
    put_block(b, "", 4096, 4096);
    wire_put_u32(b, 0);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "RAM block 0: id is empty");
    START(2);
    put_block(b, "a", 4096, 4096);
    put_block(b, "a", 4096, 4096);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "RAM block 1: id 'a' is used twice");
    START(0);
    wire_put_u32(b, 2);
    ck_assert(wire_put_str(b, "id", "dev", 255, &error_abort));
    wire_put_u32(b, 1);
    wire_put_u32(b, 1);
    ck_assert(wire_put_str(b, "id", "dev2", 255, &error_abort));
    wire_put_u32(b, 1);
    wire_put_u32(b, 2);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "HELLO: device 1: 'dev2': invalid "
                "versions: min version 2, version 1");
    START(0);
    wire_put_u32(b, 2);
    ck_assert(wire_put_str(b, "id", "dev", 255, &error_abort));
    wire_put_u32(b, 1);
    wire_put_u32(b, 1);
    ck_assert(wire_put_str(b, "id", "dev", 255, &error_abort));
    wire_put_u32(b, 1);
    wire_put_u32(b, 1);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "device 1: id 'dev' is used twice");
#undef START
}
END_TEST

START_TEST(test_hello_extensions)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(WireHello) h = NULL;

    g_byte_array_set_size(b, 0);
    hello_prefix(b, 2, 2, 0, "{}");
    wire_put_u32(b, 0);
    wire_put_u32(b, 0);
    /* An optional extension of a later version is skipped. */
    wire_put_u32(b, WIRE_RECORD_OPTIONAL | 7);
    ck_assert(wire_put_blob(b, "x", "hi", 2, 16, &error_abort));
    wire_put_u32(b, WIRE_RECORD_OPTIONAL | 8);
    wire_put_u32(b, 0);
    ck_assert(wire_hello_decode(b->data, b->len, &h, NULL, &error_abort));

    /* A mandatory one is refused as unsupported... */
    wire_put_u32(b, 9);
    wire_put_u32(b, 0);
    hello_fails(b, WIRE_ERR_UNSUPPORTED_FEATURE, "",
                "HELLO: unknown mandatory extension 0x00000009");
    /* ... and garbage after the layout as malformed. */
    b->len -= 8;
    wire_put_u8(b, 1);
    hello_fails(b, WIRE_ERR_PROTOCOL, "",
                "HELLO: truncated: need 4 bytes for extension 2 type, "
                "1 left");
    b->len -= 1;
    wire_put_u32(b, WIRE_RECORD_OPTIONAL | 9);
    wire_put_u32(b, 1000);
    hello_fails(b, WIRE_ERR_PROTOCOL, "",
                "HELLO: truncated: need 1000 bytes for extension 2 data, "
                "0 left");
}
END_TEST

/* A HELLO body with @n RAM blocks and no device, before extensions. */
static void hello_with_blocks(GByteArray *b, unsigned n)
{
    hello_prefix(b, 2, 2, 0, "{}");
    wire_put_u32(b, n);
    for (unsigned i = 0; i < n; i++) {
        g_autofree char *id = g_strdup_printf("b%u", i);

        put_block(b, id, 1 << 20, 4096);
    }
    wire_put_u32(b, 0);
}

/* SHARED_RAM's data: (block, path, dev, ino) entries. */
static void put_shared_ram(GByteArray *b, unsigned n, const uint32_t *blocks)
{
    g_autoptr(GByteArray) d = g_byte_array_new();

    wire_put_u32(d, n);
    for (unsigned i = 0; i < n; i++) {
        wire_put_u32(d, blocks[i]);
        ck_assert(wire_put_str(d, "p", "/dev/shm/x", 4095, &error_abort));
        wire_put_u64(d, 0x803);
        wire_put_u64(d, 1000 + i);
    }
    wire_put_extension(b, WIRE_EXT_SHARED_RAM, d);
}

/* x-ignore-shared's blocks not sent: a mandatory extension of HELLO. */
START_TEST(test_hello_shared_ram)
{
    g_autoptr(WireHello) h = sample_hello();
    g_autoptr(WireHello) back = NULL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    const WireSharedBlock *s;
    static const uint32_t ok[] = { 0, 2 }, twice[] = { 1, 1 },
                          beyond[] = { 3 };
    WireRecord rec;

    wire_hello_add_shared_block(h, 1, "/dev/shm/guest", 0x803, 4242);
    ck_assert(wire_hello_encode(h, b, &error_abort));
    rec = decode_one(b);
    ck_assert(wire_hello_decode(rec.body, rec.len, &back, NULL,
                                &error_abort));
    ck_assert_uint_eq(back->shared_blocks->len, 1);
    s = g_ptr_array_index(back->shared_blocks, 0);
    ck_assert_uint_eq(s->block, 1);
    ck_assert_str_eq(s->path, "/dev/shm/guest");
    ck_assert_uint_eq(s->dev, 0x803);
    ck_assert_uint_eq(s->ino, 4242);
    /* Cut inside the extension: malformed (cut before it, the HELLO
     * would just have none). */
    rec.len -= 3;
    ck_assert(!wire_hello_decode(rec.body, rec.len, &back, NULL, NULL));

    /* Without shared blocks there is no extension at all. */
    g_byte_array_set_size(b, 0);
    g_ptr_array_set_size(h->shared_blocks, 0);
    ck_assert(wire_hello_encode(h, b, &error_abort));
    ck_assert_ptr_null(memmem(b->data, b->len, "/dev/shm/guest", 14));

    /* Built by hand: two blocks of three, in order. */
    g_byte_array_set_size(b, 0);
    hello_with_blocks(b, 3);
    put_shared_ram(b, 2, ok);
    g_clear_pointer(&back, wire_hello_free);
    ck_assert(wire_hello_decode(b->data, b->len, &back, NULL,
                                &error_abort));
    ck_assert_uint_eq(back->shared_blocks->len, 2);

    /* A block listed twice, one that does not exist, none at all, the
     * extension twice, more entries than blocks. */
    g_byte_array_set_size(b, 0);
    hello_with_blocks(b, 3);
    put_shared_ram(b, 2, twice);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "extension 0 (0x00000001): "
                "shared block 1: block 1 is out of range or out of order");
    g_byte_array_set_size(b, 0);
    hello_with_blocks(b, 3);
    put_shared_ram(b, 1, beyond);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "block 3 is out of range");
    g_byte_array_set_size(b, 0);
    hello_with_blocks(b, 3);
    put_shared_ram(b, 0, NULL);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "SHARED_RAM lists no block");
    g_byte_array_set_size(b, 0);
    hello_with_blocks(b, 3);
    put_shared_ram(b, 1, ok);
    put_shared_ram(b, 1, ok);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "extension 1 (0x00000001): "
                "SHARED_RAM appears twice");
    g_byte_array_set_size(b, 0);
    hello_with_blocks(b, 1);
    put_shared_ram(b, 2, ok);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "shared block count 2 exceeds 1");
    /* Bytes left over in the extension's data. */
    g_byte_array_set_size(b, 0);
    hello_with_blocks(b, 3);
    {
        g_autoptr(GByteArray) d = g_byte_array_new();

        wire_put_u32(d, 1);
        wire_put_u32(d, 0);
        ck_assert(wire_put_str(d, "p", "/x", 4095, &error_abort));
        wire_put_u64(d, 1);
        wire_put_u64(d, 2);
        wire_put_u8(d, 0);
        wire_put_extension(b, WIRE_EXT_SHARED_RAM, d);
    }
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "1 unexpected bytes after the "
                "last field");
}
END_TEST

/* A HELLO body with @n devices ("d0"...) and no RAM block. */
static void hello_with_devices(GByteArray *b, unsigned n)
{
    hello_prefix(b, 2, 2, 0, "{}");
    wire_put_u32(b, 0);
    wire_put_u32(b, n);
    for (unsigned i = 0; i < n; i++) {
        g_autofree char *id = g_strdup_printf("d%u", i);

        ck_assert(wire_put_str(b, "id", id, 255, &error_abort));
        wire_put_u32(b, 1);
        wire_put_u32(b, 1);
    }
}

/* One shape of @n properties named by @names, values 1, 2... */
static void put_shape(GByteArray *d, unsigned n, const char *const *names)
{
    wire_put_u32(d, n);
    for (unsigned i = 0; i < n; i++) {
        ck_assert(wire_put_str(d, "n", names[i], 255, &error_abort));
        wire_put_u64(d, i + 1);
    }
}

/* SHAPE after a hello_with_devices(@b, 2): the machine's, the two
 * devices' (@n_dev of them, in case it lies). */
static void put_shapes(GByteArray *b, const char *const *machine,
                       unsigned n_machine, unsigned n_dev)
{
    static const char *const dev[] = { "queues" };
    g_autoptr(GByteArray) d = g_byte_array_new();

    put_shape(d, n_machine, machine);
    wire_put_u32(d, n_dev);
    put_shape(d, 1, dev);
    put_shape(d, 0, NULL);
    wire_put_extension(b, WIRE_EXT_SHAPE, d);
}

/* SHAPE of data @d after a HELLO of no device fails with @needle;
 * @d is emptied for the next case. */
static void shape_data_fails(GByteArray *d, const char *needle)
{
    g_autoptr(GByteArray) b = g_byte_array_new();

    hello_with_devices(b, 0);
    wire_put_extension(b, WIRE_EXT_SHAPE, d);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", needle);
    g_byte_array_set_size(d, 0);
}

static const char *const vcpus[] = { "vCPU count" };
static const char *const twice[] = { "vCPU count", "vCPU count" };
static const char *const empty[] = { "" };

/* SHAPEs of two devices' HELLO that break a rule. */
static const struct {
    const char *const *machine;
    unsigned n_machine, n_dev;
    const char *needle;
} bad_shapes[] = {
    { twice, 2, 2, "machine: shape property 1: 'vCPU count' is listed "
      "twice" },
    { empty, 1, 2, "machine: shape property 0: name is empty" },
    { vcpus, 1, 7, "device shape count 7 does not fit in the 24 bytes "
      "left" },
    { vcpus, 1, 1, "SHAPE describes 1 devices, HELLO lists 2" },
    { vcpus, 1, 5000, "device shape count 5000 exceeds 4096" },
};

/* What device state depends on: an optional extension of HELLO. */
START_TEST(test_hello_shape)
{
    g_autoptr(WireHello) h = sample_hello();
    g_autoptr(WireHello) back = NULL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree char *long_name = g_strnfill(WIRE_SHAPE_NAME_MAX + 1, 'n');
    g_autoptr(GByteArray) d = g_byte_array_new();
    WireDevice *counter = g_ptr_array_index(h->devices, 0);
    const WireDevice *dev;
    size_t ext_at;
    Error *err = NULL;
    WireRecord rec;

    ck_assert(wire_record_type_is_optional(WIRE_EXT_SHAPE));
    /* Without a machine shape there is no extension at all. */
    ck_assert(wire_hello_encode(h, b, &error_abort));
    ext_at = decode_one(b).len;

    h->machine_shape = wire_shape_new();
    wire_shape_add(h->machine_shape, "vCPU count", 2);
    counter->shape = wire_shape_new();
    wire_shape_add(counter->shape, "vCPU count", 2);
    wire_shape_add(counter->shape, "\xc3\xa9tat", UINT64_MAX);
    g_byte_array_set_size(b, 0);
    ck_assert(wire_hello_encode(h, b, &error_abort));
    rec = decode_one(b);
    ck_assert(wire_hello_decode(rec.body, rec.len, &back, NULL,
                                &error_abort));
    ck_assert_uint_eq(back->machine_shape->len, 1);
    ck_assert_uint_eq(wire_shape_find(back->machine_shape,
                                      "vCPU count")->value, 2);
    dev = g_ptr_array_index(back->devices, 0);
    ck_assert_uint_eq(dev->shape->len, 2);
    ck_assert(wire_shape_find(dev->shape, "\xc3\xa9tat")->value ==
              UINT64_MAX);
    ck_assert_ptr_null(wire_shape_find(dev->shape, "queues"));
    /* A device without a shape goes as an empty one. */
    dev = g_ptr_array_index(back->devices, 1);
    ck_assert_uint_eq(dev->shape->len, 0);

    /* Every cut inside the body fails but the one before the extension,
     * which is a HELLO of a source that describes no shape. */
    for (size_t n = 0; n < rec.len; n++) {
        g_autofree uint8_t *copy = g_memdup2(rec.body, n);
        g_autoptr(WireHello) cut = NULL;

        ck_assert_msg(wire_hello_decode(copy ? copy : (const uint8_t *)"",
                                        n, &cut, NULL, &err) ==
                      (n == ext_at), "cut at %zu of %u", n, rec.len);
        if (cut) {
            ck_assert_ptr_null(cut->machine_shape);
        } else {
            check_error(&err, "HELLO: ");
        }
    }

    /* The encoder keeps the limits. */
    for (unsigned i = counter->shape->len; i <= WIRE_SHAPE_PROPS_MAX; i++) {
        g_autofree char *name = g_strdup_printf("p%u", i);

        wire_shape_add(counter->shape, name, i);
    }
    ck_assert(!wire_hello_encode(h, b, &err));
    check_error(&err, "HELLO: device 'counter': 17 shape properties exceed "
                "16");
    g_ptr_array_set_size(counter->shape, 1);
    wire_shape_add(counter->shape, long_name, 1);
    ck_assert(!wire_hello_encode(h, b, &err));
    check_error(&err, "device 'counter': shape property 1: name length 65 "
                "exceeds 64");

    /* Built by hand, with each rule broken. */
    g_byte_array_set_size(b, 0);
    hello_with_devices(b, 2);
    put_shapes(b, vcpus, 1, 2);
    g_clear_pointer(&back, wire_hello_free);
    ck_assert(wire_hello_decode(b->data, b->len, &back, NULL,
                                &error_abort));
    ck_assert_uint_eq(back->machine_shape->len, 1);
    put_shapes(b, vcpus, 1, 2);
    hello_fails(b, WIRE_ERR_PROTOCOL, "", "extension 1 (0x80000003): "
                "SHAPE appears twice");
    for (size_t i = 0; i < G_N_ELEMENTS(bad_shapes); i++) {
        g_byte_array_set_size(b, 0);
        hello_with_devices(b, 2);
        put_shapes(b, bad_shapes[i].machine, bad_shapes[i].n_machine,
                   bad_shapes[i].n_dev);
        hello_fails(b, WIRE_ERR_PROTOCOL, "", bad_shapes[i].needle);
    }

    /* A count that lies, one past the limit, a name past its limit,
     * bytes left over. */
    wire_put_u32(d, 3);
    wire_put_u32(d, 0);
    shape_data_fails(d, "machine: shape property count 3 does not fit in "
                     "the 4 bytes left");
    wire_put_u32(d, WIRE_SHAPE_PROPS_MAX + 1);
    shape_data_fails(d, "machine: shape property count 17 exceeds 16");
    wire_put_u32(d, 1);
    ck_assert(wire_put_str(d, "n", long_name, 255, &error_abort));
    wire_put_u64(d, 1);
    wire_put_u32(d, 0);
    shape_data_fails(d, "machine: shape property 0: name length 65 exceeds "
                     "64");
    put_shape(d, 1, vcpus);
    wire_put_u32(d, 0);
    wire_put_u8(d, 0);
    shape_data_fails(d, "1 unexpected bytes after the last field");
}
END_TEST

START_TEST(test_hello_encode_errors)
{
    g_autoptr(WireHello) h = sample_hello();
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRamBlock *blk = g_ptr_array_index(h->ram_blocks, 1);
    char long_id[301];
    Error *err = NULL;

    memset(long_id, 'x', 300);
    long_id[300] = 0;
    wire_put_u32(b, 0x12345678);

    g_free(blk->id);
    blk->id = g_strdup(long_id);
    ck_assert(!wire_hello_encode(h, b, &err));
    check_error(&err, "HELLO: RAM block 1: id length 300 exceeds 255");
    ck_assert_uint_eq(b->len, 4);

    /* What the decoder refuses, the encoder refuses too. */
    g_free(blk->id);
    blk->id = g_strdup("pc.ram");
    ck_assert(!wire_hello_encode(h, b, &err));
    check_error(&err, "HELLO: RAM block 1: id 'pc.ram' is used twice");
    ck_assert_uint_eq(b->len, 4);
    g_free(blk->id);
    blk->id = g_strdup("mem1");
    blk->page_size = 1000;
    ck_assert(!wire_hello_encode(h, b, &err));
    check_error(&err, "page size 1000 is not a power of two");
    blk->page_size = 4096;
    memset(h->session_id, 0, sizeof(h->session_id));
    ck_assert(!wire_hello_encode(h, b, &err));
    check_error(&err, "session id is all zero");
    ck_assert_uint_eq(b->len, 4);
    memcpy(h->session_id, session, sizeof(session));

    for (unsigned i = 0; i <= WIRE_RAM_BLOCKS_MAX; i++) {
        g_autofree char *id = g_strdup_printf("b%u", i);

        wire_hello_add_ram_block(h, id, 4096, 4096);
    }
    ck_assert(!wire_hello_encode(h, b, &err));
    check_error(&err, "259 RAM blocks and 2 devices exceed the limits");
    ck_assert_uint_eq(b->len, 4);
}
END_TEST

/* ---- ACCEPT ---- */

static bool accept_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    g_autoptr(WireAccept) a = NULL;

    return wire_accept_decode(body, len, &a, errp);
}

START_TEST(test_accept)
{
    g_autoptr(WireAccept) a = wire_accept_new();
    g_autoptr(WireAccept) back = NULL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRecord rec;
    Error *err = NULL;

    a->version = 2;
    memcpy(a->session_id, session, sizeof(session));
    g_free(a->implementation);
    a->implementation = g_strdup("vmig 0.1.0");
    qapi_free_MigrationConfig(a->config);
    a->config = sample_config();
    wire_accept_add_feature(a, "zstd");
    wire_accept_add_feature(a, "userfaultfd");
    wire_accept_add_feature(a, "postcopy-preempt");
    ck_assert(wire_accept_encode(a, b, &error_abort));
    rec = decode_one(b);
    ck_assert_uint_eq(rec.type, WIRE_REC_ACCEPT);
    ck_assert(wire_accept_decode(rec.body, rec.len, &back, &error_abort));
    ck_assert_uint_eq(back->version, 2);
    ck_assert(memcmp(back->session_id, session, sizeof(session)) == 0);
    ck_assert_str_eq(back->implementation, "vmig 0.1.0");
    ck_assert_uint_eq(back->config->multifd_channels, 4);
    ck_assert_ptr_null(back->config->tls_creds);
    ck_assert_uint_eq(back->features->len, 3);
    ck_assert(wire_accept_has_feature(back, "postcopy-preempt"));
    ck_assert(!wire_accept_has_feature(back, "multifd"));
    check_truncations(b, accept_decode_fn, "ACCEPT: ");

    /* Encoder checks: the decoder's rules, applied before sending. */
    g_byte_array_set_size(b, 0);
    wire_accept_add_feature(a, "Bad Name");
    ck_assert(!wire_accept_encode(a, b, &err));
    check_error(&err, "ACCEPT: feature 3: 'Bad Name' is not made of a-z");
    ck_assert_uint_eq(b->len, 0);
    g_ptr_array_set_size(a->features, 3);
    wire_accept_add_feature(a, "zstd");
    ck_assert(!wire_accept_encode(a, b, &err));
    check_error(&err, "ACCEPT: feature 3: 'zstd' is listed twice");
    g_ptr_array_set_size(a->features, 0);
    for (unsigned i = 0; i <= WIRE_FEATURES_MAX; i++) {
        g_autofree char *f = g_strdup_printf("f%u", i);

        wire_accept_add_feature(a, f);
    }
    ck_assert(!wire_accept_encode(a, b, &err));
    check_error(&err, "ACCEPT: feature count 65 exceeds 64");
    g_ptr_array_set_size(a->features, 0);
    a->flags = 1;
    ck_assert(!wire_accept_encode(a, b, &err));
    check_error(&err, "ACCEPT: unknown critical flags 0x00000001");
    a->flags = 1u << 16;
    ck_assert(wire_accept_encode(a, b, &error_abort));
    ck_assert_uint_eq(b->len, decode_one(b).size);

    /* A lying feature count. */
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, 2);
    wire_put_u32(b, 0);
    wire_put_bytes(b, session, sizeof(session));
    ck_assert(wire_put_str(b, "i", "", 255, &error_abort));
    ck_assert(wire_put_blob(b, "c", "{}", 2, 16, &error_abort));
    wire_put_u32(b, 40);
    wire_put_u32(b, 0);
    ck_assert(!wire_accept_decode(b->data, b->len, &back, &err));
    check_error(&err, "ACCEPT: feature count 40 does not fit in the 4 bytes");
}
END_TEST

/* ---- REJECT / ERROR ---- */

static bool reject_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    g_autoptr(WireReject) r = NULL;

    return wire_reject_decode(WIRE_REC_REJECT, body, len, &r, errp);
}

static bool error_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    g_autoptr(WireReject) r = NULL;

    return wire_reject_decode(WIRE_REC_ERROR, body, len, &r, errp);
}

START_TEST(test_reject)
{
    g_autoptr(WireReject) rej = wire_reject_new(WIRE_ERR_INCOMPATIBLE_CONFIG,
                                                "multifd", "no %s here",
                                                "multifd");
    g_autoptr(WireReject) back = NULL;
    g_autoptr(WireReject) big = NULL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree char *msg = NULL;
    WireRecord rec;
    Error *err = NULL;

    ck_assert(wire_reject_encode(rej, WIRE_REC_REJECT, b, &error_abort));
    rec = decode_one(b);
    ck_assert_uint_eq(rec.type, WIRE_REC_REJECT);
    ck_assert(wire_reject_decode(rec.type, rec.body, rec.len, &back,
                                 &error_abort));
    ck_assert_uint_eq(back->min_version, WIRE_VERSION_MIN);
    ck_assert_uint_eq(back->max_version, WIRE_VERSION_MAX);
    ck_assert_str_eq(back->error_class, "IncompatibleConfig");
    ck_assert_str_eq(back->option, "multifd");
    ck_assert_str_eq(back->message, "no multifd here");
    check_truncations(b, reject_decode_fn, "REJECT: ");

    g_byte_array_set_size(b, 0);
    ck_assert(wire_reject_encode(rej, WIRE_REC_ERROR, b, &error_abort));
    ck_assert_uint_eq(decode_one(b).type, WIRE_REC_ERROR);
    check_truncations(b, error_decode_fn, "ERROR: ");

    /* An over-long message is cut at a character boundary, not refused. */
    msg = g_strnfill(WIRE_MESSAGE_MAX - 1, 'm');
    big = wire_reject_new(WIRE_ERR_GENERIC, NULL, "%s\xc3\xa9tc", msg);
    ck_assert_uint_eq(strlen(big->message), WIRE_MESSAGE_MAX - 1);
    ck_assert_str_eq(big->option, "");
    g_byte_array_set_size(b, 0);
    ck_assert(wire_reject_encode(big, WIRE_REC_REJECT, b, &error_abort));

    g_free(big->error_class);
    big->error_class = g_strdup("");
    ck_assert(!wire_reject_encode(big, WIRE_REC_REJECT, b, &err));
    check_error(&err, "REJECT: error class is empty");
    g_free(big->error_class);
    big->error_class = g_strnfill(65, 'E');
    ck_assert(!wire_reject_encode(big, WIRE_REC_REJECT, b, &err));
    check_error(&err, "REJECT: error class length 65 exceeds 64");

    /* Decoding: a lying message length. */
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, 2);
    wire_put_u32(b, 2);
    ck_assert(wire_put_str(b, "c", "GenericError", 64, &error_abort));
    ck_assert(wire_put_str(b, "o", "", 64, &error_abort));
    wire_put_u16(b, 4000);
    wire_put_bytes(b, "short", 5);
    ck_assert(!wire_reject_decode(WIRE_REC_REJECT, b->data, b->len, &back,
                                  &err));
    check_error(&err, "REJECT: truncated: need 4000 bytes for message, "
                "5 left");
}
END_TEST

/* ---- CHANNEL_HEADER ---- */

static bool channel_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    WireChannelHeader ch;

    return wire_channel_header_decode(body, len, &ch, errp);
}

static WireChannelHeader channel(uint32_t role, uint32_t index)
{
    WireChannelHeader ch = { .role = role, .index = index };

    memcpy(ch.session_id, session, sizeof(session));
    return ch;
}

START_TEST(test_channel_header)
{
    WireChannelHeader ch = channel(WIRE_CHANNEL_MULTIFD, 3), back;
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRecord rec;
    Error *err = NULL;

    ck_assert(wire_channel_header_encode(&ch, b, &error_abort));
    ck_assert_uint_eq(b->len, 8 + 24);
    rec = decode_one(b);
    ck_assert(wire_channel_header_decode(rec.body, rec.len, &back,
                                         &error_abort));
    ck_assert(memcmp(&ch, &back, sizeof(ch)) == 0);
    check_truncations(b, channel_decode_fn, "CHANNEL_HEADER: ");

    g_byte_array_append(b, (const uint8_t *)"\0\0\0\0", 4);
    ck_assert(!wire_channel_header_decode(b->data + 8, 28, &back, &err));
    check_error(&err, "CHANNEL_HEADER: 4 unexpected bytes");
    ck_assert_str_eq(wire_channel_role_name(2), "postcopy-preempt");
    ck_assert_ptr_null(wire_channel_role_name(0));
    ck_assert_ptr_null(wire_channel_role_name(99));
}
END_TEST

START_TEST(test_channel_bind)
{
    g_autoptr(WireChannelSet) set = wire_channel_set_new(session, 3, 1);
    WireChannelHeader ch;
    Error *err = NULL;

    /* Any order binds. */
    ch = channel(WIRE_CHANNEL_MULTIFD, 2);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &error_abort), WIRE_BIND_OK);
    ch = channel(WIRE_CHANNEL_POSTCOPY_PREEMPT, 0);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &error_abort), WIRE_BIND_OK);
    ch = channel(WIRE_CHANNEL_MULTIFD, 0);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &error_abort), WIRE_BIND_OK);
    ck_assert(!wire_channel_set_complete(set));

    ch = channel(WIRE_CHANNEL_MULTIFD, 2);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &err), WIRE_BIND_INVALID);
    check_error(&err, "multifd channel 2 connected twice");
    ch = channel(WIRE_CHANNEL_MULTIFD, 3);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &err), WIRE_BIND_INVALID);
    check_error(&err, "multifd channel index 3 out of range (3 expected)");
    /* Exactly one preempt channel (protocol section 5.2). */
    ch = channel(WIRE_CHANNEL_POSTCOPY_PREEMPT, 0);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &err), WIRE_BIND_INVALID);
    check_error(&err, "postcopy-preempt channel 0 connected twice");
    ch = channel(WIRE_CHANNEL_POSTCOPY_PREEMPT, 1);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &err), WIRE_BIND_INVALID);
    check_error(&err, "postcopy-preempt channel index 1 out of range "
                "(1 expected)");
    ch = channel(7, 0);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &err), WIRE_BIND_INVALID);
    check_error(&err, "unknown role 7");
    ch = channel(0, 0);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &err), WIRE_BIND_INVALID);
    check_error(&err, "unknown role 0");
    ch = channel(WIRE_CHANNEL_MULTIFD, 1);
    ch.session_id[15] ^= 1;
    ck_assert_int_eq(wire_channel_bind(set, &ch, &err), WIRE_BIND_FOREIGN);
    check_error(&err, "unknown session");

    ch = channel(WIRE_CHANNEL_MULTIFD, 1);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &error_abort), WIRE_BIND_OK);
    ck_assert(wire_channel_set_complete(set));
}
END_TEST

START_TEST(test_channel_bind_none)
{
    g_autoptr(WireChannelSet) set = wire_channel_set_new(session, 0, 0);
    WireChannelHeader ch = channel(WIRE_CHANNEL_POSTCOPY_PREEMPT, 0);
    Error *err = NULL;

    ck_assert(wire_channel_set_complete(set));
    ck_assert_int_eq(wire_channel_bind(set, &ch, &err), WIRE_BIND_INVALID);
    check_error(&err, "postcopy-preempt channel index 0 out of range "
                "(0 expected)");
}
END_TEST

/* A recovery's new preempt channel: one more binding, not two. */
START_TEST(test_channel_reopen)
{
    g_autoptr(WireChannelSet) set = wire_channel_set_new(session, 0, 1);
    WireChannelHeader ch = channel(WIRE_CHANNEL_POSTCOPY_PREEMPT, 0);
    Error *err = NULL;

    /* Not bound yet: nothing changes. */
    wire_channel_reopen(set, WIRE_CHANNEL_POSTCOPY_PREEMPT, 0);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &error_abort), WIRE_BIND_OK);
    ck_assert(wire_channel_set_complete(set));
    wire_channel_reopen(set, WIRE_CHANNEL_POSTCOPY_PREEMPT, 0);
    ck_assert(!wire_channel_set_complete(set));
    ck_assert_int_eq(wire_channel_bind(set, &ch, &error_abort), WIRE_BIND_OK);
    ck_assert_int_eq(wire_channel_bind(set, &ch, &err), WIRE_BIND_INVALID);
    check_error(&err, "postcopy-preempt channel 0 connected twice");
    ch.session_id[0] ^= 1;
    ck_assert_int_eq(wire_channel_bind(set, &ch, &err), WIRE_BIND_FOREIGN);
    check_error(&err, "unknown session");
}
END_TEST

/* ---- RAM_PAGES ---- */

static bool ram_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    WireRamPages p;

    return wire_ram_pages_decode(body, len, &p, errp);
}

START_TEST(test_ram_pages)
{
    static const uint64_t offsets[] = { 0, 4096, 65536, 1ull << 33 };
    static const uint8_t kinds[] = {
        WIRE_PAGE_NORMAL, WIRE_PAGE_ZERO, WIRE_PAGE_NORMAL, WIRE_PAGE_ZERO,
    };
    WireRamPagesHeader h = { .block = 1, .count = 4, .page_size = 4096 };
    g_autofree uint8_t *data = g_malloc(2 * 4096);
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(GByteArray) b2 = g_byte_array_new();
    WireRamPages p;
    WireRecord rec;
    size_t start;

    for (size_t i = 0; i < 2 * 4096; i++) {
        data[i] = i * 7;
    }
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, data, 2 * 4096,
                                    &error_abort));
    rec = decode_one(b);
    ck_assert(wire_ram_pages_decode(rec.body, rec.len, &p, &error_abort));
    ck_assert_uint_eq(p.h.block, 1);
    ck_assert_uint_eq(p.h.count, 4);
    ck_assert_uint_eq(p.h.page_size, 4096);
    ck_assert_uint_eq(p.h.flags, 0);
    ck_assert_uint_eq(p.n_normal, 2);
    for (uint32_t i = 0; i < 4; i++) {
        ck_assert(wire_ram_pages_offset(&p, i) == offsets[i]);
        ck_assert_uint_eq(p.kinds[i], kinds[i]);
    }
    ck_assert_uint_eq(p.data_len, 2 * 4096);
    ck_assert(memcmp(p.data, data, 2 * 4096) == 0);
    /* Page data starts 8-aligned within the stream. */
    ck_assert_uint_eq((p.data - b->data) % WIRE_ALIGN, 0);
    check_truncations(b, ram_decode_fn, "RAM_PAGES: ");

    /* The header encoder with data appended by the caller. */
    ck_assert(wire_ram_pages_begin(b2, &h, offsets, kinds, &start,
                                   &error_abort));
    wire_put_bytes(b2, data, 2 * 4096);
    ck_assert(wire_record_end(b2, start, &error_abort));
    ck_assert_uint_eq(b2->len, b->len);
    ck_assert(memcmp(b2->data, b->data, b->len) == 0);

    /* Compressed: any non-empty data. */
    g_byte_array_set_size(b, 0);
    h.flags = WIRE_RAM_PAGES_COMPRESSED;
    ck_assert(wire_ram_pages_encode(b, &h, offsets, kinds, "zz", 2,
                                    &error_abort));
    rec = decode_one(b);
    ck_assert(wire_ram_pages_decode(rec.body, rec.len, &p, &error_abort));
    ck_assert_uint_eq(p.data_len, 2);
    ck_assert_uint_eq(p.h.flags, WIRE_RAM_PAGES_COMPRESSED);
}
END_TEST

/* Decoding a RAM_PAGES body with this header and @tail must fail. */
static void ram_fails(uint32_t count, uint32_t page_size, uint32_t flags,
                      const GByteArray *tail, const char *needle)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree uint8_t *copy = NULL;
    WireRamPages p;
    Error *err = NULL;

    wire_put_u32(b, 0);
    wire_put_u32(b, count);
    wire_put_u32(b, page_size);
    wire_put_u32(b, flags);
    wire_put_u64(b, 0);         /* packet */
    if (tail) {
        wire_put_bytes(b, tail->data, tail->len);
    }
    copy = g_memdup2(b->data, b->len);
    ck_assert(!wire_ram_pages_decode(copy, b->len, &p, &err));
    check_error(&err, needle);
}

static void mapped_fails(const WireMappedRamBlock *mb, const char *needle)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireMappedRamBlock out;
    Error *err = NULL;

    /* The encoder refuses what the decoder would. */
    ck_assert(!wire_mapped_ram_block_encode(mb, b, &err));
    check_error(&err, needle);
    /* And the decoder, given those bytes anyway. */
    wire_put_u32(b, mb->block);
    wire_put_u32(b, mb->page_size);
    wire_put_u64(b, mb->bitmap_offset);
    wire_put_u64(b, mb->bitmap_len);
    wire_put_u64(b, mb->pages_offset);
    wire_put_u64(b, mb->pages_len);
    wire_put_u64(b, mb->next_offset);
    ck_assert(!wire_mapped_ram_block_decode(b->data, b->len, &out, &err));
    check_error(&err, needle);
}

START_TEST(test_mapped_ram_block)
{
    const WireMappedRamBlock good = {
        .block = 1, .page_size = 4096,
        .bitmap_offset = 1 << 20, .bitmap_len = 32,     /* 256 pages */
        .pages_offset = 2 << 20, .pages_len = 1 << 20,
        .next_offset = 3 << 20,
    };
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireMappedRamBlock mb = good, out;
    WireRecord rec;
    Error *err = NULL;

    ck_assert(wire_mapped_ram_block_encode(&good, b, &error_abort));
    ck_assert_uint_eq(b->len, 8 + 48);
    ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec, &error_abort),
                     WIRE_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_MAPPED_RAM_BLOCK);
    ck_assert(wire_mapped_ram_block_decode(rec.body, rec.len, &out,
                                           &error_abort));
    ck_assert_mem_eq(&out, &good, sizeof(out));
    /* Truncated and over-long bodies. */
    ck_assert(!wire_mapped_ram_block_decode(rec.body, 40, &out, &err));
    check_error(&err, "MAPPED_RAM_BLOCK: truncated");

    mb.page_size = 3000;
    mapped_fails(&mb, "page size 3000 is not a power of two");
    mb = good;
    mb.pages_len = 4096 * 3 + 1;
    mapped_fails(&mb, "pages length 12289 is not a positive multiple");
    mb = good;
    mb.bitmap_len = 31;
    mapped_fails(&mb, "bitmap length 31 for 256 pages (32 expected)");
    mb = good;
    mb.pages_offset += 4096;
    mapped_fails(&mb, "is not a multiple of 1048576");
    /* A lying layout: pages overlapping the bitmap, or the next record
     * inside the pages, or offsets that wrap around. */
    mb = good;
    mb.pages_offset = mb.bitmap_offset;
    mapped_fails(&mb, "regions out of order or overlapping");
    mb = good;
    mb.next_offset = mb.pages_offset + 4096;
    mapped_fails(&mb, "regions out of order or overlapping");
    mb = good;
    mb.pages_offset = UINT64_MAX - (UINT64_MAX % (1 << 20)) - (1 << 20);
    mb.pages_len = 1ull << 40;
    mb.bitmap_len = (mb.pages_len / 4096 + 7) / 8;
    mapped_fails(&mb, "regions out of order or overlapping");
}
END_TEST

START_TEST(test_ram_pages_errors)
{
    g_autoptr(GByteArray) t = g_byte_array_new();
    WireRamPagesHeader h = { .count = 1, .page_size = 4096 };
    uint64_t off = 4096;
    uint8_t kind = WIRE_PAGE_NORMAL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    Error *err = NULL;
    size_t start;

    ram_fails(0, 4096, 0, NULL, "RAM_PAGES: page count 0 is not 1 to 1024");
    ram_fails(1025, 4096, 0, NULL, "page count 1025 is not 1 to 1024");
    ram_fails(1, 3000, 0, NULL, "page size 3000 is not a power of two");
    ram_fails(1, 256, 0, NULL, "page size 256 is not");
    ram_fails(1, 8u << 20, 0, NULL, "page size 8388608 is not");
    ram_fails(1, 4096, 2, NULL, "RAM_PAGES: unknown flags 0x00000002");
    /* A lying count: 1000 pages, a body for none. */
    ram_fails(1000, 4096, 0, NULL,
              "RAM_PAGES: truncated: need 8000 bytes for offsets, 0 left");

    wire_put_u64(t, 100);
    wire_put_u8(t, WIRE_PAGE_ZERO);
    wire_put_bytes(t, "\0\0\0\0\0\0\0", 7);
    ram_fails(1, 4096, 0, t, "page 0: offset 0x64 is not a multiple of the "
              "page size 4096");
    g_byte_array_set_size(t, 0);
    wire_put_u64(t, 0);
    wire_put_u8(t, 7);
    wire_put_bytes(t, "\0\0\0\0\0\0\0", 7);
    ram_fails(1, 4096, 0, t, "page 0: unknown kind 7");
    t->data[8] = WIRE_PAGE_ZERO;
    t->data[9] = 1;
    ram_fails(1, 4096, 0, t, "non-zero padding before the data");
    t->data[9] = 0;
    wire_put_u8(t, 0);
    ram_fails(1, 4096, 0, t, "1 data bytes, expected 0 pages of 4096 bytes");
    t->len--;
    t->data[8] = WIRE_PAGE_NORMAL;
    ram_fails(1, 4096, 0, t, "0 data bytes, expected 1 pages of 4096 bytes");
    ram_fails(1, 4096, WIRE_RAM_PAGES_COMPRESSED, t,
              "0 compressed data bytes for 1 normal pages");

    /* Encoding refuses the same, and what would not fit a record. */
    off = 100;
    ck_assert(!wire_ram_pages_begin(b, &h, &off, &kind, &start, &err));
    check_error(&err, "RAM_PAGES: page 0: offset 0x64 is not a multiple");
    off = 0;
    ck_assert(!wire_ram_pages_encode(b, &h, &off, &kind, "x", 1, &err));
    check_error(&err, "RAM_PAGES: 1 data bytes for 1 pages of 4096 bytes");
    {
        uint64_t offs[8];
        uint8_t kinds[8];
        WireRamPagesHeader big = { .count = 8, .page_size = 4u << 20 };

        for (int i = 0; i < 8; i++) {
            offs[i] = (uint64_t)i << 22;
            kinds[i] = WIRE_PAGE_NORMAL;
        }
        ck_assert(!wire_ram_pages_begin(b, &big, offs, kinds, &start, &err));
        check_error(&err, "8 pages of 4194304 bytes exceed the record size");
    }
    ck_assert_uint_eq(b->len, 0);
}
END_TEST

/* ---- RAM_XBZRLE ---- */

static bool xbzrle_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    WireRamXbzrle x;

    return wire_ram_xbzrle_decode(body, len, &x, errp);
}

START_TEST(test_ram_xbzrle)
{
    static const uint64_t offsets[] = { 0, 4096, 1ull << 33 };
    static const uint32_t lengths[] = { 3, 5, 1 };
    WireRamPagesHeader h = { .block = 2, .count = 3, .page_size = 4096,
                             .packet = 7 };
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRamXbzrle x;
    WireRecord rec;

    ck_assert(wire_ram_xbzrle_encode(b, &h, offsets, lengths, "abcdefghi",
                                     9, &error_abort));
    rec = decode_one(b);
    ck_assert_uint_eq(rec.type, WIRE_REC_RAM_XBZRLE);
    /* Header, offsets, lengths, the deltas: no padding before them. */
    ck_assert_uint_eq(rec.len, 24 + 3 * 8 + 3 * 4 + 9);
    ck_assert_uint_eq(wire_load_u32(rec.body), 2);
    ck_assert(wire_load_u64(rec.body + 16) == 7);
    ck_assert(wire_load_u64(rec.body + 24 + 16) == 1ull << 33);
    ck_assert_uint_eq(wire_load_u32(rec.body + 48 + 4), 5);
    ck_assert_int_eq(memcmp(rec.body + 60, "abcdefghi", 9), 0);
    ck_assert(wire_ram_xbzrle_decode(rec.body, rec.len, &x, &error_abort));
    ck_assert_uint_eq(x.h.block, 2);
    ck_assert_uint_eq(x.h.count, 3);
    ck_assert_uint_eq(x.h.page_size, 4096);
    ck_assert_uint_eq(x.h.flags, 0);
    ck_assert(x.h.packet == 7);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert(wire_ram_xbzrle_offset(&x, i) == offsets[i]);
        ck_assert_uint_eq(wire_ram_xbzrle_length(&x, i), lengths[i]);
    }
    ck_assert_uint_eq(x.data_len, 9);
    ck_assert_ptr_eq(x.data, rec.body + 60);
    check_truncations(b, xbzrle_decode_fn, "RAM_XBZRLE: ");

    /* Mandatory, any size up to the record limit. */
    ck_assert_str_eq(wire_record_type_name(WIRE_REC_RAM_XBZRLE),
                     "RAM_XBZRLE");
    ck_assert(!wire_record_type_is_optional(WIRE_REC_RAM_XBZRLE));
    ck_assert_uint_eq(wire_record_max_len(WIRE_REC_RAM_XBZRLE),
                      WIRE_RECORD_MAX);
    {
        uint8_t head[8];
        Error *err = NULL;

        memcpy(head, "\0\0\0\x18\x01\0\0\x01", 8);
        ck_assert_int_eq(wire_record_decode(head, 8, &rec, &err),
                         WIRE_ERROR);
        check_error(&err, "RAM_XBZRLE: body length 16777217 exceeds "
                    "16777216");
    }
}
END_TEST

/* Decoding a RAM_XBZRLE body with this header and @tail must fail. */
static void xbzrle_fails(uint32_t count, uint32_t page_size, uint32_t flags,
                         const GByteArray *tail, const char *needle)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree uint8_t *copy = NULL;
    WireRamXbzrle x;
    Error *err = NULL;

    wire_put_u32(b, 0);
    wire_put_u32(b, count);
    wire_put_u32(b, page_size);
    wire_put_u32(b, flags);
    wire_put_u64(b, 0);         /* packet */
    if (tail) {
        wire_put_bytes(b, tail->data, tail->len);
    }
    copy = g_memdup2(b->data, b->len);
    ck_assert(!wire_ram_xbzrle_decode(copy, b->len, &x, &err));
    check_error(&err, needle);
}

/* A one-page tail: @offset, @length, then @n bytes of delta. */
static GByteArray *xbzrle_tail(uint64_t offset, uint32_t length, size_t n)
{
    GByteArray *t = g_byte_array_new();

    wire_put_u64(t, offset);
    wire_put_u32(t, length);
    for (size_t i = 0; i < n; i++) {
        wire_put_u8(t, 'd');
    }
    return t;
}

START_TEST(test_ram_xbzrle_errors)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRamPagesHeader h = { .count = 1, .page_size = 4096 };
    uint64_t off = 4096;
    uint32_t len = 3;
    Error *err = NULL;

    xbzrle_fails(0, 4096, 0, NULL,
                 "RAM_XBZRLE: page count 0 is not 1 to 1024");
    xbzrle_fails(1025, 4096, 0, NULL, "page count 1025 is not 1 to 1024");
    xbzrle_fails(1, 3000, 0, NULL, "page size 3000 is not a power of two");
    xbzrle_fails(1, 256, 0, NULL, "page size 256 is not");
    xbzrle_fails(1, 8u << 20, 0, NULL, "page size 8388608 is not");
    /* No flags are defined, COMPRESSED included. */
    xbzrle_fails(1, 4096, 1, NULL, "RAM_XBZRLE: unknown flags 0x00000001");
    /* Lying counts: 1000 pages with a body for none; lengths cut off. */
    xbzrle_fails(1000, 4096, 0, NULL,
                 "RAM_XBZRLE: truncated: need 8000 bytes for offsets, 0 "
                 "left");
    {
        /* Two offsets, then one length and its delta. */
        g_autoptr(GByteArray) t = g_byte_array_new();

        wire_put_u64(t, 0);
        wire_put_u64(t, 4096);
        wire_put_u32(t, 3);
        wire_put_bytes(t, "abc", 3);
        xbzrle_fails(2, 4096, 0, t, "RAM_XBZRLE: truncated: need 8 bytes "
                     "for lengths, 7 left");
    }
    {
        g_autoptr(GByteArray) t = xbzrle_tail(100, 3, 3);

        xbzrle_fails(1, 4096, 0, t, "RAM_XBZRLE: page 0: offset 0x64 is "
                     "not a multiple of the page size 4096");
    }
    {
        g_autoptr(GByteArray) t = xbzrle_tail(0, 0, 0);

        xbzrle_fails(1, 4096, 0, t, "RAM_XBZRLE: page 0: empty delta (an "
                     "unchanged page is not sent)");
    }
    {
        g_autoptr(GByteArray) t = xbzrle_tail(0, 4096, 4096);

        xbzrle_fails(1, 4096, 0, t, "RAM_XBZRLE: page 0: a delta of 4096 "
                     "bytes is not smaller than the page (4096 bytes)");
    }
    {
        /* A length far beyond the body is refused by the page size. */
        g_autoptr(GByteArray) t = xbzrle_tail(0, UINT32_MAX, 5);

        xbzrle_fails(1, 4096, 0, t, "a delta of 4294967295 bytes is not "
                     "smaller than the page");
    }
    {
        /* Lengths adding up to more, or less, than the deltas there. */
        g_autoptr(GByteArray) t = xbzrle_tail(0, 10, 5);

        xbzrle_fails(1, 4096, 0, t, "RAM_XBZRLE: the delta lengths add up "
                     "to 10 bytes, but 5 bytes of deltas follow");
        g_byte_array_set_size(t, 0);
        g_byte_array_unref(t);
        t = xbzrle_tail(0, 3, 5);
        xbzrle_fails(1, 4096, 0, t, "the delta lengths add up to 3 bytes, "
                     "but 5 bytes of deltas follow");
    }

    /* Encoding refuses the same, and what would not fit a record. */
    off = 100;
    ck_assert(!wire_ram_xbzrle_encode(b, &h, &off, &len, "abc", 3, &err));
    check_error(&err, "RAM_XBZRLE: page 0: offset 0x64 is not a multiple");
    off = 0;
    len = 0;
    ck_assert(!wire_ram_xbzrle_encode(b, &h, &off, &len, "", 0, &err));
    check_error(&err, "RAM_XBZRLE: page 0: empty delta");
    len = 3;
    ck_assert(!wire_ram_xbzrle_encode(b, &h, &off, &len, "ab", 2, &err));
    check_error(&err, "RAM_XBZRLE: the delta lengths add up to 3 bytes, "
                "not 2");
    h.flags = WIRE_RAM_PAGES_COMPRESSED;
    ck_assert(!wire_ram_xbzrle_encode(b, &h, &off, &len, "abc", 3, &err));
    check_error(&err, "RAM_XBZRLE: unknown flags 0x00000001");
    {
        uint64_t offs[5];
        uint32_t lens[5];
        WireRamPagesHeader big = { .count = 5, .page_size = 4u << 20 };

        for (int i = 0; i < 5; i++) {
            offs[i] = (uint64_t)i << 22;
            lens[i] = (4u << 20) - 1;
        }
        /* Refused before the (absent) data is read. */
        ck_assert(!wire_ram_xbzrle_encode(b, &big, offs, lens, "",
                                          5 * (size_t)lens[0], &err));
        check_error(&err, "RAM_XBZRLE: 20971515 bytes of deltas exceed the "
                    "record size limit 16777216");
    }
    ck_assert_uint_eq(b->len, 0);
}
END_TEST

/* ---- DEVICE_STATE ---- */

static bool device_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    g_auto(WireDeviceState) ds = { 0 };

    return wire_device_state_decode(body, len, &ds, errp);
}

START_TEST(test_device_state)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_auto(WireDeviceState) ds = { 0 };
    WireRecord rec;
    Error *err = NULL;

    ck_assert(wire_device_state_encode(b, "log", 2, WIRE_DEVICE_STATE_MORE,
                                       "state", 5, &error_abort));
    rec = decode_one(b);
    ck_assert(wire_device_state_decode(rec.body, rec.len, &ds,
                                       &error_abort));
    ck_assert_str_eq(ds.id, "log");
    ck_assert_uint_eq(ds.version, 2);
    ck_assert_uint_eq(ds.flags, WIRE_DEVICE_STATE_MORE);
    ck_assert_uint_eq(ds.len, 5);
    ck_assert(memcmp(ds.data, "state", 5) == 0);
    check_truncations(b, device_decode_fn, "DEVICE_STATE: ");

    /* Empty state is fine. */
    g_byte_array_set_size(b, 0);
    ck_assert(wire_device_state_encode(b, "c", 1, 0, NULL, 0, &error_abort));
    ck_assert(device_decode_fn(decode_one(b).body, decode_one(b).len,
                               &error_abort));

    /* Lying data length, leftovers, bad values. */
    g_byte_array_set_size(b, 0);
    ck_assert(wire_put_str(b, "id", "dev", 255, &error_abort));
    wire_put_u32(b, 1);
    wire_put_u32(b, 0);
    wire_put_u32(b, 1000);
    wire_put_bytes(b, "abc", 3);
    ck_assert(!device_decode_fn(b->data, b->len, &err));
    check_error(&err, "DEVICE_STATE: truncated: need 1000 bytes for data, "
                "3 left");
    /* Body: id length 0-1, "dev" 2-4, version 5-8, flags 9-12, data
     * length 13-16, data. */
    b->data[15] = 0;
    b->data[16] = 2;
    ck_assert(!device_decode_fn(b->data, b->len, &err));
    check_error(&err, "DEVICE_STATE: 1 unexpected bytes after the last field");
    b->data[12] = 4;
    ck_assert(!device_decode_fn(b->data, b->len, &err));
    check_error(&err, "DEVICE_STATE: 'dev': unknown flags 0x00000004");
    b->data[12] = 0;
    b->data[8] = 0;
    ck_assert(!device_decode_fn(b->data, b->len, &err));
    check_error(&err, "DEVICE_STATE: 'dev': version 0 is invalid");

    ck_assert(!wire_device_state_encode(b, "", 1, 0, NULL, 0, &err));
    check_error(&err, "DEVICE_STATE: '': invalid id");
    /* The limit is on the whole body: check it before reading @data. */
    ck_assert(!wire_device_state_encode(b, "d", 1, 0, "", WIRE_RECORD_MAX,
                                        &err));
    check_error(&err, "exceed the record size limit");
    ck_assert(!wire_device_state_encode(b, "d", 1, 0, "",
                                        WIRE_RECORD_MAX - 14, &err));
    check_error(&err, "exceed the record size limit");
    {
        g_autofree uint8_t *max = g_malloc0(WIRE_RECORD_MAX - 15);

        g_byte_array_set_size(b, 0);
        ck_assert(wire_device_state_encode(b, "d", 1, 0, max,
                                           WIRE_RECORD_MAX - 15,
                                           &error_abort));
        ck_assert_uint_eq(decode_one(b).len, WIRE_RECORD_MAX);
    }
}
END_TEST

/* ---- Small records ---- */

static bool sync_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    uint64_t it;

    return wire_sync_decode(body, len, &it, errp);
}

static bool page_request_decode_fn(const uint8_t *body, size_t len,
                                   Error **errp)
{
    WirePageRequest req;

    return wire_page_request_decode(body, len, &req, errp);
}

static bool shutdown_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    uint32_t status;

    return wire_shutdown_decode(body, len, &status, errp);
}

/* ---- Postcopy recovery (6.11, 6.12) ---- */

static bool received_bitmap_decode_fn(const uint8_t *body, size_t len,
                                      Error **errp)
{
    WireReceivedBitmap rb;

    return wire_received_bitmap_decode(body, len, &rb, errp);
}

static bool resume_request_decode_fn(const uint8_t *body, size_t len,
                                     Error **errp)
{
    uint32_t n;

    return wire_resume_request_decode(body, len, &n, errp);
}

/* A RECEIVED_BITMAP body written field by field, @nbytes of @fill. */
static void put_bitmap_body(GByteArray *b, uint32_t page_size,
                            uint64_t first, uint64_t bits, size_t nbytes,
                            uint8_t fill)
{
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, 1);
    wire_put_u32(b, page_size);
    wire_put_u64(b, first);
    wire_put_u64(b, bits);
    for (size_t i = 0; i < nbytes; i++) {
        wire_put_u8(b, fill);
    }
}

/* A HELLO resuming a session keeps its flag and the session's id; it
 * needs an answer, so a one-way stream cannot carry it (the header
 * errors above). */
START_TEST(test_hello_resume)
{
    g_autoptr(WireHello) h = wire_hello_new();
    g_autoptr(WireHello) back = NULL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRecord rec;

    ck_assert_uint_ne(WIRE_HELLO_RESUME & WIRE_FLAGS_CRITICAL, 0);
    ck_assert(wire_session_id_generate(h->session_id, &error_abort));
    h->flags = WIRE_HELLO_RESUME;
    ck_assert(wire_hello_encode(h, b, &error_abort));
    rec = decode_one(b);
    ck_assert(wire_hello_decode(rec.body, rec.len, &back, NULL,
                                &error_abort));
    ck_assert_uint_eq(back->flags, WIRE_HELLO_RESUME);
    ck_assert(memcmp(back->session_id, h->session_id,
                     WIRE_SESSION_ID_LEN) == 0);
}
END_TEST

START_TEST(test_received_bitmap)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    /* 13 bits: pages 64, 66 and 76 of the block have arrived, and the
     * caller's unused high bits are set, which the wire never carries. */
    static const uint8_t map[2] = { 0x05, 0xf0 };
    WireReceivedBitmap rb = {
        .block = 7, .page_size = 4096, .first_bit = 64, .n_bits = 13,
        .bitmap = map,
    }, back;
    WireRecord rec;
    Error *err = NULL;

    ck_assert(wire_received_bitmap_encode(&rb, b, &error_abort));
    rec = decode_one(b);
    ck_assert_uint_eq(rec.type, WIRE_REC_RECEIVED_BITMAP);
    ck_assert_uint_eq(rec.len, WIRE_RECEIVED_BITMAP_HEADER + 2);
    ck_assert(wire_received_bitmap_decode(rec.body, rec.len, &back,
                                          &error_abort));
    ck_assert_uint_eq(back.block, 7);
    ck_assert_uint_eq(back.page_size, 4096);
    ck_assert(back.first_bit == 64 && back.n_bits == 13);
    ck_assert_uint_eq(back.bitmap[0], 0x05);
    ck_assert_uint_eq(back.bitmap[1], 0x10);
    ck_assert(wire_received_bitmap_test(&back, 0));
    ck_assert(!wire_received_bitmap_test(&back, 1));
    ck_assert(wire_received_bitmap_test(&back, 2));
    ck_assert(wire_received_bitmap_test(&back, 12));
    check_truncations(b, received_bitmap_decode_fn, "RECEIVED_BITMAP: ");

    /* Refused by the decoder, each with its reason. */
    put_bitmap_body(b, 4096, 0, 16, 3, 0);
    ck_assert(!received_bitmap_decode_fn(b->data, b->len, &err));
    check_error(&err, "16 bits take 2 bytes, but 3 follow");
    put_bitmap_body(b, 4096, 0, 13, 2, 0xff);
    ck_assert(!received_bitmap_decode_fn(b->data, b->len, &err));
    check_error(&err, "bits past n_bits 13 are set");
    put_bitmap_body(b, 4096, 32, 8, 1, 0);
    ck_assert(!received_bitmap_decode_fn(b->data, b->len, &err));
    check_error(&err, "first_bit 32 is not a multiple of 64");
    put_bitmap_body(b, 4096, 0, 0, 0, 0);
    ck_assert(!received_bitmap_decode_fn(b->data, b->len, &err));
    check_error(&err, "n_bits 0 is not 1..");
    put_bitmap_body(b, 4096, 0, WIRE_RECEIVED_BITMAP_BITS_MAX + 1, 0, 0);
    ck_assert(!received_bitmap_decode_fn(b->data, b->len, &err));
    check_error(&err, "RECEIVED_BITMAP: n_bits");
    put_bitmap_body(b, 4096, UINT64_MAX - 63, 128, 16, 0);
    ck_assert(!received_bitmap_decode_fn(b->data, b->len, &err));
    check_error(&err, "overflows");
    put_bitmap_body(b, 3000, 0, 8, 1, 0);
    ck_assert(!received_bitmap_decode_fn(b->data, b->len, &err));
    check_error(&err, "page_size 3000 is not a power of two");
    put_bitmap_body(b, 8u << 20, 0, 8, 1, 0);
    ck_assert(!received_bitmap_decode_fn(b->data, b->len, &err));
    check_error(&err, "page_size 8388608");

    /* The encoder refuses what the decoder would, writing nothing. */
    g_byte_array_set_size(b, 0);
    rb.first_bit = 1;
    ck_assert(!wire_received_bitmap_encode(&rb, b, &err));
    check_error(&err, "not a multiple of 64");
    ck_assert_uint_eq(b->len, 0);

    /* The largest piece a writer makes fits a record. */
    ck_assert(WIRE_RECEIVED_BITMAP_PIECE_BITS <=
              WIRE_RECEIVED_BITMAP_BITS_MAX);
}
END_TEST

START_TEST(test_resume_request)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRecord rec;
    Error *err = NULL;
    uint32_t n;

    ck_assert(wire_resume_request_encode(b, 3, &error_abort));
    rec = decode_one(b);
    ck_assert_uint_eq(rec.type, WIRE_REC_RESUME_REQUEST);
    ck_assert_uint_eq(rec.len, 4);
    ck_assert(wire_resume_request_decode(rec.body, rec.len, &n,
                                         &error_abort));
    ck_assert_uint_eq(n, 3);
    check_truncations(b, resume_request_decode_fn, "RESUME_REQUEST: ");
    ck_assert(!wire_resume_request_decode((const uint8_t *)"\0\0\0\1\0", 5,
                                          &n, &err));
    check_error(&err, "RESUME_REQUEST: ");
}
END_TEST

START_TEST(test_small_records)
{
    static const uint32_t empty[] = {
        WIRE_REC_END, WIRE_REC_POSTCOPY_LISTEN, WIRE_REC_POSTCOPY_RUN,
        WIRE_REC_SWITCHOVER_ACK, WIRE_REC_ONE_WAY,
    };
    g_autoptr(GByteArray) b = g_byte_array_new();
    WirePageRequest req = { 3, 1ull << 40, 8192 }, rback;
    uint64_t it;
    uint32_t status;
    WireRecord rec;
    Error *err = NULL;

    ck_assert(wire_sync_encode(b, 42, &error_abort));
    rec = decode_one(b);
    ck_assert(wire_sync_decode(rec.body, rec.len, &it, &error_abort));
    ck_assert(it == 42);
    check_truncations(b, sync_decode_fn, "SYNC: ");
    ck_assert(!wire_sync_encode(b, 0, &err));
    check_error(&err, "SYNC: iteration 0 is invalid");
    ck_assert(!wire_sync_decode((const uint8_t *)"\0\0\0\0\0\0\0\0", 8, &it,
                                &err));
    check_error(&err, "SYNC: iteration 0 is invalid");

    for (size_t i = 0; i < G_N_ELEMENTS(empty); i++) {
        g_byte_array_set_size(b, 0);
        ck_assert(wire_empty_encode(b, empty[i], &error_abort));
        ck_assert_uint_eq(b->len, 8);
        rec = decode_one(b);
        ck_assert_uint_eq(rec.type, empty[i]);
        ck_assert(wire_empty_decode(rec.type, rec.body, rec.len,
                                    &error_abort));
        ck_assert(!wire_empty_decode(rec.type, rec.body, 1, &err));
        check_error(&err, "1 unexpected body bytes");
    }

    g_byte_array_set_size(b, 0);
    ck_assert(wire_page_request_encode(&req, b, &error_abort));
    rec = decode_one(b);
    ck_assert(wire_page_request_decode(rec.body, rec.len, &rback,
                                       &error_abort));
    ck_assert_uint_eq(rback.block, 3);
    ck_assert(rback.offset == 1ull << 40 && rback.length == 8192);
    check_truncations(b, page_request_decode_fn, "PAGE_REQUEST: ");
    /* Empty and wrapping ranges, refused both ways. */
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, 0);
    wire_put_u64(b, 4096);
    wire_put_u64(b, 0);
    ck_assert(!page_request_decode_fn(b->data, b->len, &err));
    check_error(&err, "PAGE_REQUEST: invalid range: offset 0x1000, "
                "length 0x0");
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, 0);
    wire_put_u64(b, UINT64_MAX - 10);
    wire_put_u64(b, 4096);
    ck_assert(!page_request_decode_fn(b->data, b->len, &err));
    check_error(&err, "PAGE_REQUEST: invalid range");
    g_byte_array_set_size(b, 0);
    req.length = 0;
    ck_assert(!wire_page_request_encode(&req, b, &err));
    check_error(&err, "PAGE_REQUEST: invalid range");
    ck_assert_uint_eq(b->len, 0);

    g_byte_array_set_size(b, 0);
    ck_assert(wire_shutdown_encode(b, 7, &error_abort));
    rec = decode_one(b);
    ck_assert(wire_shutdown_decode(rec.body, rec.len, &status, &error_abort));
    ck_assert_uint_eq(status, 7);
    check_truncations(b, shutdown_decode_fn, "SHUTDOWN: ");
}
END_TEST

static bool discard_decode_fn(const uint8_t *body, size_t len, Error **errp)
{
    g_autofree WireDiscardRange *r = g_new(WireDiscardRange,
                                           WIRE_DISCARD_RANGES_MAX);
    uint32_t block, n;

    return wire_postcopy_discard_decode(body, len, &block, r, &n, errp);
}

START_TEST(test_postcopy_discard)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree WireDiscardRange *many = g_new0(WireDiscardRange,
                                               WIRE_DISCARD_RANGES_MAX + 1);
    g_autofree WireDiscardRange *back = g_new(WireDiscardRange,
                                              WIRE_DISCARD_RANGES_MAX);
    WireDiscardRange two[] = { { 0, 4096 }, { 1ull << 33, 3 * 4096 } };
    uint32_t block, n;
    WireRecord rec;
    Error *err = NULL;

    ck_assert(wire_postcopy_discard_encode(b, 5, two, 2, &error_abort));
    rec = decode_one(b);
    ck_assert_uint_eq(rec.type, WIRE_REC_POSTCOPY_DISCARD);
    ck_assert(wire_postcopy_discard_decode(rec.body, rec.len, &block, back,
                                           &n, &error_abort));
    ck_assert_uint_eq(block, 5);
    ck_assert_uint_eq(n, 2);
    ck_assert(back[1].offset == 1ull << 33 && back[1].length == 3 * 4096);
    check_truncations(b, discard_decode_fn, "POSTCOPY_DISCARD: ");

    /* The most ranges fit the type's limit; one more is refused. */
    for (uint32_t i = 0; i <= WIRE_DISCARD_RANGES_MAX; i++) {
        many[i].offset = i * 8192ull;
        many[i].length = 4096;
    }
    g_byte_array_set_size(b, 0);
    ck_assert(wire_postcopy_discard_encode(b, 0, many,
                                           WIRE_DISCARD_RANGES_MAX,
                                           &error_abort));
    ck_assert(decode_one(b).len == wire_record_max_len(
                  WIRE_REC_POSTCOPY_DISCARD));
    g_byte_array_set_size(b, 0);
    ck_assert(!wire_postcopy_discard_encode(b, 0, many,
                                            WIRE_DISCARD_RANGES_MAX + 1,
                                            &err));
    check_error(&err, "POSTCOPY_DISCARD: 4097 ranges (1 to 4096)");
    ck_assert_uint_eq(b->len, 0);

    /* A count that lies about the body, empty and wrapping ranges. */
    wire_put_u32(b, 0);
    wire_put_u32(b, 1000);
    wire_put_u64(b, 0);
    wire_put_u64(b, 4096);
    ck_assert(!discard_decode_fn(b->data, b->len, &err));
    check_error(&err, "POSTCOPY_DISCARD: 1000 ranges in 16 bytes");
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, 0);
    wire_put_u32(b, 1);
    wire_put_u64(b, UINT64_MAX - 10);
    wire_put_u64(b, 4096);
    ck_assert(!discard_decode_fn(b->data, b->len, &err));
    check_error(&err, "POSTCOPY_DISCARD: invalid range");
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, 0);
    wire_put_u32(b, 1);
    wire_put_u64(b, 4096);
    wire_put_u64(b, 0);
    ck_assert(!discard_decode_fn(b->data, b->len, &err));
    check_error(&err, "POSTCOPY_DISCARD: invalid range: offset 0x1000, "
                "length 0x0");
    g_byte_array_set_size(b, 0);
    wire_put_u32(b, 0);
    wire_put_u32(b, 0);
    ck_assert(!discard_decode_fn(b->data, b->len, &err));
    check_error(&err, "POSTCOPY_DISCARD: 0 ranges");
}
END_TEST

static uint32_t heartbeat_type;

static bool heartbeat_decode_fn(const uint8_t *body, size_t len,
                                Error **errp)
{
    uint64_t seq;

    return wire_heartbeat_decode(heartbeat_type, body, len, &seq, errp);
}

/* PING and PONG: a number from 1, 8 bytes, exactly. */
START_TEST(test_heartbeat)
{
    static const struct {
        uint32_t type;
        const char *name;
    } kinds[] = { { WIRE_REC_PING, "PING" }, { WIRE_REC_PONG, "PONG" } };
    static const uint8_t ping7[] = {
        0, 0, 0, 0x19, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7,
    };
    static const uint8_t zero[8];
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree char *prefix = NULL;
    Error *err = NULL;
    WireRecord rec;
    uint64_t seq;

    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        heartbeat_type = kinds[i].type;
        g_byte_array_set_size(b, 0);
        ck_assert(wire_heartbeat_encode(b, kinds[i].type, UINT64_MAX - 1,
                                        &error_abort));
        ck_assert_uint_eq(b->len, 16);
        rec = decode_one(b);
        ck_assert_uint_eq(rec.type, kinds[i].type);
        ck_assert_str_eq(wire_record_type_name(rec.type), kinds[i].name);
        ck_assert(wire_heartbeat_decode(rec.type, rec.body, rec.len, &seq,
                                        &error_abort));
        ck_assert(seq == UINT64_MAX - 1);
        g_free(prefix);
        prefix = g_strdup_printf("%s: ", kinds[i].name);
        check_truncations(b, heartbeat_decode_fn, prefix);
        ck_assert(!heartbeat_decode_fn(rec.body, 9, &err));
        check_error(&err, prefix);
        g_byte_array_set_size(b, 0);
        ck_assert(!wire_heartbeat_encode(b, kinds[i].type, 0, &err));
        check_error(&err, "number 0 is invalid");
        ck_assert_uint_eq(b->len, 0);
        ck_assert(!heartbeat_decode_fn(zero, sizeof(zero), &err));
        check_error(&err, "number 0 is invalid");
    }
    /* The bytes of protocol section 6.14's example. */
    g_byte_array_set_size(b, 0);
    ck_assert(wire_heartbeat_encode(b, WIRE_REC_PING, 7, &error_abort));
    ck_assert_mem_eq(b->data, ping7, sizeof(ping7));
}
END_TEST

/* A whole exchange in one buffer, read back in arbitrary pieces, as a
 * streaming reader gets it. */
START_TEST(test_streaming)
{
    g_autoptr(GByteArray) s = g_byte_array_new();
    g_autoptr(GByteArray) in = g_byte_array_new();
    g_autoptr(WireHello) h = sample_hello();
    static const uint32_t expect[] = {
        WIRE_REC_HELLO, WIRE_REC_DEVICE_STATE, WIRE_REC_SYNC, WIRE_REC_END,
    };
    size_t fed = 0, n = 0, pos;
    bool have_header = false;

    wire_stream_header_encode(s);
    ck_assert(wire_hello_encode(h, s, &error_abort));
    ck_assert(wire_device_state_encode(s, "log", 2, 0, "x", 1,
                                       &error_abort));
    ck_assert(wire_sync_encode(s, 1, &error_abort));
    ck_assert(wire_empty_encode(s, WIRE_REC_END, &error_abort));

    pos = 0;
    while (n < G_N_ELEMENTS(expect)) {
        WireRecord rec;
        size_t chunk = MIN(s->len - fed, 1 + fed % 13);

        g_byte_array_append(in, s->data + fed, chunk);
        fed += chunk;
        if (!have_header) {
            WireStatus st = wire_stream_header_decode(in->data, in->len,
                                                      &error_abort);
            if (st == WIRE_NEED_MORE) {
                continue;
            }
            have_header = true;
            pos = WIRE_STREAM_HEADER_SIZE;
        }
        while (wire_record_decode(in->data + pos, in->len - pos, &rec,
                                  &error_abort) == WIRE_OK) {
            ck_assert_uint_eq(rec.type, expect[n]);
            n++;
            pos += rec.size;
        }
    }
    ck_assert_uint_eq(fed, s->len);
    ck_assert_uint_eq(pos, s->len);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-wire");
    TCase *framing = tcase_create("framing");
    TCase *config = tcase_create("config");
    TCase *handshake = tcase_create("handshake");
    TCase *channels = tcase_create("channels");
    TCase *data = tcase_create("data");
    SRunner *sr;

    tcase_add_test(framing, test_stream_header);
    tcase_add_test(framing, test_record_framing);
    tcase_add_test(framing, test_record_errors);
    tcase_add_test(framing, test_unknown_types);
    tcase_add_test(framing, test_negotiate);
    tcase_add_test(framing, test_streaming);
    suite_add_tcase(s, framing);
    tcase_add_test(config, test_config_json);
    tcase_add_test(config, test_config_rules);
    suite_add_tcase(s, config);
    tcase_add_test(handshake, test_hello_round_trip);
    tcase_add_test(handshake, test_hello_minimal);
    tcase_add_test(handshake, test_hello_reply_optional);
    tcase_add_test(handshake, test_hello_resume);
    tcase_add_test(handshake, test_hello_header_errors);
    tcase_add_test(handshake, test_hello_layout_errors);
    tcase_add_test(handshake, test_hello_extensions);
    tcase_add_test(handshake, test_hello_shared_ram);
    tcase_add_test(handshake, test_hello_shape);
    tcase_add_test(handshake, test_hello_encode_errors);
    tcase_add_test(handshake, test_accept);
    tcase_add_test(handshake, test_reject);
    suite_add_tcase(s, handshake);
    tcase_add_test(channels, test_channel_header);
    tcase_add_test(channels, test_channel_bind);
    tcase_add_test(channels, test_channel_bind_none);
    tcase_add_test(channels, test_channel_reopen);
    suite_add_tcase(s, channels);
    tcase_add_test(data, test_ram_pages);
    tcase_add_test(data, test_ram_pages_errors);
    tcase_add_test(data, test_ram_xbzrle);
    tcase_add_test(data, test_ram_xbzrle_errors);
    tcase_add_test(data, test_mapped_ram_block);
    tcase_add_test(data, test_device_state);
    tcase_add_test(data, test_small_records);
    tcase_add_test(data, test_postcopy_discard);
    tcase_add_test(data, test_heartbeat);
    tcase_add_test(data, test_received_bitmap);
    tcase_add_test(data, test_resume_request);
    suite_add_tcase(s, data);

    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
