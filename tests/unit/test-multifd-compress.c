/*
 * Unit tests for per-packet multifd compression (migration/multifd/
 * compress.c, zlib.c, zstd.c): round trips of zlib and zstd at several levels on
 * random, text-like, zero and half-zero pages; one compressor and one
 * decompressor reused for many packets, with their byte counters; every
 * way a record's data can be wrong (too few or too many pages, truncated,
 * garbage, trailing bytes, the other method's stream); empty batches;
 * levels out of range; and pages changing while they are compressed.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <zstd.h>

#include "migration/multifd/compress.h"
#include "system/ram.h"
#include "util/atomic.h"
#include "util/tsan.h"

#define PAGE GUEST_PAGE_SIZE

typedef enum DataKind {
    DATA_RANDOM,
    DATA_TEXT,
    DATA_ZERO,
    DATA_HALF_ZERO,     /* each page: random first half, zero second */
    DATA__MAX,
} DataKind;

/* @n pages, each allocated on its own so the iovec is not contiguous. */
typedef struct Pages {
    struct iovec *iov;
    size_t n;
} Pages;

static Pages *pages_new(size_t n, uint8_t fill)
{
    Pages *p = g_new0(Pages, 1);

    p->n = n;
    p->iov = g_new0(struct iovec, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        p->iov[i].iov_base = g_malloc(PAGE);
        p->iov[i].iov_len = PAGE;
        memset(p->iov[i].iov_base, fill, PAGE);
    }
    return p;
}

static void pages_free(Pages *p)
{
    for (size_t i = 0; i < p->n; i++) {
        g_free(p->iov[i].iov_base);
    }
    g_free(p->iov);
    g_free(p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Pages, pages_free)

static void fill_random(GRand *r, uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = g_rand_int(r) & 0xff;
    }
}

static void fill_text(GRand *r, uint8_t *p, size_t len)
{
    static const char *const words[] = {
        "migration", "page", "dirty", "guest", "channel", "the", "of",
        "multifd", "zstd", "zlib", "record", "stream", "\n",
    };
    size_t i = 0;

    while (i < len) {
        const char *w = words[g_rand_int_range(r, 0, G_N_ELEMENTS(words))];

        for (size_t j = 0; w[j] && i < len; j++) {
            p[i++] = w[j];
        }
        if (i < len) {
            p[i++] = ' ';
        }
    }
}

static void fill(GRand *r, Pages *p, DataKind kind)
{
    for (size_t i = 0; i < p->n; i++) {
        uint8_t *b = p->iov[i].iov_base;

        switch (kind) {
        case DATA_RANDOM:
            fill_random(r, b, PAGE);
            break;
        case DATA_TEXT:
            fill_text(r, b, PAGE);
            break;
        case DATA_ZERO:
            memset(b, 0, PAGE);
            break;
        default:
            fill_random(r, b, PAGE / 2);
            memset(b + PAGE / 2, 0, PAGE / 2);
            break;
        }
    }
}

static void assert_pages_equal(const Pages *a, const Pages *b)
{
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert_msg(!memcmp(a->iov[i].iov_base, b->iov[i].iov_base, PAGE),
                      "page %zu differs after the round trip", i);
    }
}

/* Compresses @src, which the test expects to compress. */
static GByteArray *compress_ok(MultifdCompressor *c, const Pages *src)
{
    GByteArray *out = g_byte_array_new();
    bool compressed;

    ck_assert(multifd_compress(c, src->iov, src->n, out, &compressed,
                               &error_abort));
    ck_assert(compressed);
    ck_assert_uint_gt(out->len, 0);
    ck_assert_uint_lt(out->len, src->n * PAGE);
    return out;
}

/* A compressed batch of @n text pages of @method, in *@src. */
static GByteArray *some_stream(MultiFDCompression method, size_t n,
                               Pages **src)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(42);
    g_autoptr(MultifdCompressor) c =
        multifd_compressor_new(method, 1, &error_abort);

    *src = pages_new(n, 0);
    fill(r, *src, DATA_TEXT);
    return compress_ok(c, *src);
}

static const MultiFDCompression methods[] = {
    MULTIFD_COMPRESSION_ZLIB, MULTIFD_COMPRESSION_ZSTD,
};

START_TEST(test_round_trip)
{
    static const int zlib_levels[] = { 1, 6, 9 };
    static const int zstd_levels[] = { 0, 1, 3, 19 };
    MultiFDCompression method = methods[_i];
    const int *levels = _i == 0 ? zlib_levels : zstd_levels;
    size_t n_levels = _i == 0 ? G_N_ELEMENTS(zlib_levels)
                              : G_N_ELEMENTS(zstd_levels);
    g_autoptr(GRand) r = g_rand_new_with_seed(1);

    for (size_t l = 0; l < n_levels; l++) {
        g_autoptr(MultifdCompressor) c =
            multifd_compressor_new(method, levels[l], &error_abort);
        g_autoptr(MultifdDecompressor) d =
            multifd_decompressor_new(method, &error_abort);

        for (DataKind kind = 0; kind < DATA__MAX; kind++) {
            g_autoptr(Pages) src = pages_new(16, 0);
            g_autoptr(Pages) dst = pages_new(16, 0xaa);
            g_autoptr(GByteArray) out = g_byte_array_new();
            bool compressed;

            fill(r, src, kind);
            /* Junk the compressor must replace. */
            g_byte_array_append(out, (const guint8 *)"junk", 4);
            ck_assert(multifd_compress(c, src->iov, src->n, out,
                                       &compressed, &error_abort));
            if (kind == DATA_RANDOM) {
                /* Incompressible: the caller is told to send raw. */
                ck_assert(!compressed);
                ck_assert_uint_eq(out->len, 0);
                continue;
            }
            ck_assert_msg(compressed, "%s level %d kind %d not compressed",
                          MultiFDCompression_str(method), levels[l], kind);
            ck_assert_uint_lt(out->len, src->n * PAGE);
            if (kind == DATA_ZERO) {
                /* 16 zero pages take less than one. */
                ck_assert_uint_lt(out->len, PAGE);
            }
            ck_assert(multifd_decompress(d, out->data, out->len, dst->iov,
                                         dst->n, &error_abort));
            assert_pages_equal(src, dst);
        }
    }
}
END_TEST

/* zlib level 0 stores: the stream is larger than the input, so raw. */
START_TEST(test_zlib_level0_is_raw)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(2);
    g_autoptr(MultifdCompressor) c =
        multifd_compressor_new(MULTIFD_COMPRESSION_ZLIB, 0, &error_abort);
    g_autoptr(Pages) src = pages_new(4, 0);
    g_autoptr(GByteArray) out = g_byte_array_new();
    bool compressed = true;

    fill(r, src, DATA_ZERO);
    ck_assert(multifd_compress(c, src->iov, src->n, out, &compressed,
                               &error_abort));
    ck_assert(!compressed);
    ck_assert_uint_eq(out->len, 0);
    ck_assert_uint_eq(multifd_compressor_bytes_out(c), 4 * PAGE);
}
END_TEST

/* Many packets of varying sizes and kinds through one pair of objects. */
START_TEST(test_reuse_and_counters)
{
    MultiFDCompression method = methods[_i];
    g_autoptr(GRand) r = g_rand_new_with_seed(3);
    g_autoptr(MultifdCompressor) c =
        multifd_compressor_new(method, 3, &error_abort);
    g_autoptr(MultifdDecompressor) d =
        multifd_decompressor_new(method, &error_abort);
    g_autoptr(GByteArray) out = g_byte_array_new();
    uint64_t c_in = 0, c_out = 0, d_in = 0, d_out = 0;
    unsigned raw = 0, packed = 0;

    for (int packet = 0; packet < 60; packet++) {
        size_t n = g_rand_int_range(r, 1, 33);
        g_autoptr(Pages) src = pages_new(n, 0);
        g_autoptr(Pages) dst = pages_new(n, 0x55);
        bool compressed;

        fill(r, src, g_rand_int_range(r, 0, DATA__MAX));
        ck_assert(multifd_compress(c, src->iov, n, out, &compressed,
                                   &error_abort));
        c_in += n * PAGE;
        if (!compressed) {
            ck_assert_uint_eq(out->len, 0);
            c_out += n * PAGE;
            raw++;
            continue;
        }
        packed++;
        c_out += out->len;
        ck_assert(multifd_decompress(d, out->data, out->len, dst->iov, n,
                                     &error_abort));
        d_in += out->len;
        d_out += n * PAGE;
        assert_pages_equal(src, dst);
    }
    /* The seed gives both outcomes; otherwise this test proves less. */
    ck_assert_uint_gt(raw, 0);
    ck_assert_uint_gt(packed, 0);
    ck_assert_uint_eq(multifd_compressor_bytes_in(c), c_in);
    ck_assert_uint_eq(multifd_compressor_bytes_out(c), c_out);
    ck_assert_uint_lt(c_out, c_in);
    ck_assert_uint_eq(multifd_decompressor_bytes_in(d), d_in);
    ck_assert_uint_eq(multifd_decompressor_bytes_out(d), d_out);
}
END_TEST

/*
 * Five pages decompressed into four: "more", and the page after the four
 * (in the same allocation) untouched.  Into six: "less".
 */
START_TEST(test_page_count_mismatch)
{
    MultiFDCompression method = methods[_i];
    const char *name = MultiFDCompression_str(method);
    g_autoptr(Pages) src = NULL;
    g_autoptr(GByteArray) s = some_stream(method, 5, &src);
    g_autoptr(MultifdDecompressor) d =
        multifd_decompressor_new(method, &error_abort);
    g_autofree uint8_t *area = g_malloc(5 * PAGE);
    g_autoptr(Pages) six = pages_new(6, 0);
    g_autofree char *more = g_strdup_printf(
        "%s: the data decompresses to more than the 4 pages (16384 bytes) "
        "of the record", name);
    g_autofree char *less = g_strdup_printf(
        "%s: the data decompresses to 20480 bytes, less than the 6 pages "
        "(24576 bytes) of the record", name);
    struct iovec four[4];
    Error *err = NULL;

    memset(area, 0xcc, 5 * PAGE);
    for (int i = 0; i < 4; i++) {
        four[i] = (struct iovec){ area + i * PAGE, PAGE };
    }
    ck_assert(!multifd_decompress(d, s->data, s->len, four, 4, &err));
    check_error(&err, more);
    for (size_t i = 4 * PAGE; i < 5 * PAGE; i++) {
        ck_assert_uint_eq(area[i], 0xcc);
    }
    ck_assert(!multifd_decompress(d, s->data, s->len, six->iov, 6, &err));
    check_error(&err, less);
    /* A failed record leaves the decompressor usable. */
    ck_assert(multifd_decompress(d, s->data, s->len, six->iov, 5,
                                 &error_abort));
    ck_assert_uint_eq(multifd_decompressor_bytes_in(d), s->len);
    ck_assert_uint_eq(multifd_decompressor_bytes_out(d), 5 * PAGE);
}
END_TEST

START_TEST(test_truncated)
{
    MultiFDCompression method = methods[_i];
    g_autoptr(Pages) src = NULL;
    g_autoptr(GByteArray) s = some_stream(method, 8, &src);
    g_autoptr(MultifdDecompressor) d =
        multifd_decompressor_new(method, &error_abort);
    g_autoptr(Pages) dst = pages_new(8, 0);
    g_autofree char *needle = g_strdup_printf(
        "%s: the data is truncated: it ends inside the %s %s, after 1 "
        "byte", MultiFDCompression_str(method),
        MultiFDCompression_str(method), _i == 0 ? "stream" : "frame");
    size_t cuts[] = { 1, 2, s->len / 2, s->len - 1 };
    Error *err = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(cuts); i++) {
        ck_assert(!multifd_decompress(d, s->data, cuts[i], dst->iov, 8,
                                      &err));
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(error_get_pretty(err), "is truncated"),
                      "cut at %zu: '%s'", cuts[i], error_get_pretty(err));
        if (cuts[i] == 1) {
            check_error(&err, needle);
        } else {
            error_free_or_abort(&err);
        }
    }
    ck_assert_uint_eq(multifd_decompressor_bytes_in(d), 0);
}
END_TEST

START_TEST(test_garbage)
{
    MultiFDCompression method = methods[_i];
    g_autoptr(GRand) r = g_rand_new_with_seed(4);
    g_autoptr(MultifdDecompressor) d =
        multifd_decompressor_new(method, &error_abort);
    g_autoptr(Pages) dst = pages_new(4, 0);
    g_autofree char *needle = g_strdup_printf(
        "%s: corrupt data: ", MultiFDCompression_str(method));
    uint8_t junk[1000];
    Error *err = NULL;

    fill_random(r, junk, sizeof(junk));
    ck_assert(!multifd_decompress(d, junk, sizeof(junk), dst->iov, 4, &err));
    check_error(&err, needle);
    memset(junk, 0, sizeof(junk));
    ck_assert(!multifd_decompress(d, junk, sizeof(junk), dst->iov, 4, &err));
    check_error(&err, needle);
}
END_TEST

/* zlib's adler32 catches a damaged byte; zstd frames carry no checksum. */
START_TEST(test_zlib_checksum)
{
    g_autoptr(Pages) src = NULL;
    g_autoptr(GByteArray) s = some_stream(MULTIFD_COMPRESSION_ZLIB, 3, &src);
    g_autoptr(MultifdDecompressor) d =
        multifd_decompressor_new(MULTIFD_COMPRESSION_ZLIB, &error_abort);
    g_autoptr(Pages) dst = pages_new(3, 0);
    Error *err = NULL;

    s->data[s->len - 1] ^= 1;
    ck_assert(!multifd_decompress(d, s->data, s->len, dst->iov, 3, &err));
    check_error(&err, "zlib: corrupt data: incorrect data check");
}
END_TEST

START_TEST(test_trailing)
{
    MultiFDCompression method = methods[_i];
    const char *name = MultiFDCompression_str(method);
    g_autoptr(Pages) src = NULL;
    g_autoptr(GByteArray) s = some_stream(method, 4, &src);
    g_autoptr(MultifdDecompressor) d =
        multifd_decompressor_new(method, &error_abort);
    g_autoptr(Pages) dst = pages_new(4, 0);
    size_t len = s->len;
    g_autofree char *three = g_strdup_printf(
        "%s: 3 bytes of trailing data after the end of the %s %s", name,
        name, _i == 0 ? "stream" : "frame");
    g_autofree char *again = g_strdup_printf(
        "%s: %zu bytes of trailing data", name, len);
    Error *err = NULL;

    /* A second copy of the whole stream is trailing data too. */
    g_byte_array_append(s, s->data, len);
    ck_assert(!multifd_decompress(d, s->data, s->len, dst->iov, 4, &err));
    check_error(&err, again);
    g_byte_array_set_size(s, len);
    g_byte_array_append(s, (const guint8 *)"xyz", 3);
    ck_assert(!multifd_decompress(d, s->data, s->len, dst->iov, 4, &err));
    check_error(&err, three);
    ck_assert(multifd_decompress(d, s->data, len, dst->iov, 4,
                                 &error_abort));
    assert_pages_equal(src, dst);
}
END_TEST

START_TEST(test_wrong_method)
{
    g_autoptr(Pages) zsrc = NULL;
    g_autoptr(Pages) ssrc = NULL;
    g_autoptr(GByteArray) zs = some_stream(MULTIFD_COMPRESSION_ZLIB, 2,
                                           &zsrc);
    g_autoptr(GByteArray) ss = some_stream(MULTIFD_COMPRESSION_ZSTD, 2,
                                           &ssrc);
    g_autoptr(MultifdDecompressor) zd =
        multifd_decompressor_new(MULTIFD_COMPRESSION_ZLIB, &error_abort);
    g_autoptr(MultifdDecompressor) sd =
        multifd_decompressor_new(MULTIFD_COMPRESSION_ZSTD, &error_abort);
    g_autoptr(Pages) dst = pages_new(2, 0);
    Error *err = NULL;

    ck_assert(!multifd_decompress(zd, ss->data, ss->len, dst->iov, 2, &err));
    check_error(&err, "zlib: corrupt data: incorrect header check");
    ck_assert(!multifd_decompress(sd, zs->data, zs->len, dst->iov, 2, &err));
    check_error(&err, "zstd: corrupt data: Unknown frame descriptor");
}
END_TEST

/*
 * No page bytes: nothing to compress, and the data must be empty
 * (protocol 6.5); empty data for some pages fails.
 */
START_TEST(test_empty)
{
    MultiFDCompression method = methods[_i];
    const char *name = MultiFDCompression_str(method);
    g_autoptr(MultifdCompressor) c =
        multifd_compressor_new(method, 1, &error_abort);
    g_autoptr(MultifdDecompressor) d =
        multifd_decompressor_new(method, &error_abort);
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(Pages) one = pages_new(1, 0);
    g_autofree char *no_pages = g_strdup_printf(
        "%s: 5 bytes of data for 0 pages (0 bytes): the data must be empty "
        "exactly when there are no pages", name);
    g_autofree char *no_data = g_strdup_printf(
        "%s: 0 bytes of data for 1 page (4096 bytes)", name);
    struct iovec empty_pages[2] = { { one->iov[0].iov_base, 0 },
                                    { one->iov[0].iov_base, 0 } };
    bool compressed = true;
    Error *err = NULL;

    g_byte_array_append(out, (const guint8 *)"junk", 4);
    ck_assert(multifd_compress(c, NULL, 0, out, &compressed, &error_abort));
    ck_assert(!compressed);
    ck_assert_uint_eq(out->len, 0);
    compressed = true;
    ck_assert(multifd_compress(c, empty_pages, 2, out, &compressed,
                               &error_abort));
    ck_assert(!compressed);
    ck_assert_uint_eq(out->len, 0);
    ck_assert_uint_eq(multifd_compressor_bytes_in(c), 0);

    ck_assert(multifd_decompress(d, NULL, 0, NULL, 0, &error_abort));
    ck_assert(!multifd_decompress(d, "abcde", 5, NULL, 0, &err));
    check_error(&err, no_pages);
    ck_assert(!multifd_decompress(d, NULL, 0, one->iov, 1, &err));
    check_error(&err, no_data);
}
END_TEST

/* "none": always raw on the source, every compressed record refused. */
START_TEST(test_none)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(5);
    g_autoptr(MultifdCompressor) c =
        multifd_compressor_new(MULTIFD_COMPRESSION_NONE, 0, &error_abort);
    g_autoptr(MultifdDecompressor) d =
        multifd_decompressor_new(MULTIFD_COMPRESSION_NONE, &error_abort);
    g_autoptr(Pages) src = pages_new(3, 0);
    g_autoptr(GByteArray) out = g_byte_array_new();
    bool compressed = true;
    Error *err = NULL;

    fill(r, src, DATA_ZERO);
    ck_assert(multifd_compress(c, src->iov, 3, out, &compressed,
                               &error_abort));
    ck_assert(!compressed);
    ck_assert_uint_eq(out->len, 0);
    ck_assert_uint_eq(multifd_compressor_bytes_in(c), 3 * PAGE);
    ck_assert_uint_eq(multifd_compressor_bytes_out(c), 3 * PAGE);
    ck_assert(!multifd_decompress(d, "x", 1, src->iov, 3, &err));
    check_error(&err, "none: the data is compressed, but the effective "
                "multifd-compression is 'none'");
}
END_TEST

START_TEST(test_new_errors)
{
    static const MultiFDCompression unimplemented[] = {
        MULTIFD_COMPRESSION_QATZIP, MULTIFD_COMPRESSION_QPL,
        MULTIFD_COMPRESSION_UADK,
    };
    g_autofree char *zstd_max = g_strdup_printf(
        "zstd: compression level %d is out of range 0..%d",
        ZSTD_maxCLevel() + 1, ZSTD_maxCLevel());
    Error *err = NULL;

    ck_assert_ptr_null(multifd_compressor_new(MULTIFD_COMPRESSION_ZLIB, 10,
                                              &err));
    check_error(&err, "zlib: compression level 10 is out of range 0..9");
    ck_assert_ptr_null(multifd_compressor_new(MULTIFD_COMPRESSION_ZLIB, -1,
                                              &err));
    check_error(&err, "zlib: compression level -1 is out of range 0..9");
    ck_assert_ptr_null(multifd_compressor_new(MULTIFD_COMPRESSION_ZSTD,
                                              ZSTD_maxCLevel() + 1, &err));
    check_error(&err, zstd_max);
    ck_assert_ptr_null(multifd_compressor_new(MULTIFD_COMPRESSION_ZSTD, -1,
                                              &err));
    check_error(&err, "zstd: compression level -1 is out of range");
    /* Both ends of each range are fine. */
    multifd_compressor_free(
        multifd_compressor_new(MULTIFD_COMPRESSION_ZLIB, 0, &error_abort));
    multifd_compressor_free(
        multifd_compressor_new(MULTIFD_COMPRESSION_ZLIB, 9, &error_abort));
    multifd_compressor_free(
        multifd_compressor_new(MULTIFD_COMPRESSION_ZSTD, 0, &error_abort));
    multifd_compressor_free(
        multifd_compressor_new(MULTIFD_COMPRESSION_ZSTD, ZSTD_maxCLevel(),
                               &error_abort));

    for (size_t i = 0; i < G_N_ELEMENTS(unimplemented); i++) {
        g_autofree char *needle = g_strdup_printf(
            "multifd-compression '%s' is not implemented by vmig",
            MultiFDCompression_str(unimplemented[i]));

        ck_assert_ptr_null(multifd_compressor_new(unimplemented[i], 1,
                                                  &err));
        check_error(&err, needle);
        ck_assert_ptr_null(multifd_decompressor_new(unimplemented[i], &err));
        check_error(&err, needle);
    }
}
END_TEST

/*
 * Pages the guest writes while they are compressed: whatever the timing,
 * every compressed batch is a valid stream of exactly the batch's size.
 * The guest writes random bytes into the first SCRIBBLE_BYTES of each
 * page only: however fast it runs, the text stays compressible, so some
 * batches are compressed (a time-bound scribbler made them all random
 * on a loaded machine, and nothing compressed).
 */
#define SCRIBBLE_BYTES 256

typedef struct Scribbler {
    Pages *pages;
    gint stop;
} Scribbler;

static gpointer scribble(gpointer opaque)
{
    Scribbler *s = opaque;
    g_autoptr(GRand) r = g_rand_new_with_seed(6);

    while (!qatomic_mb_read(&s->stop)) {
        size_t page = g_rand_int_range(r, 0, s->pages->n);
        volatile uint8_t *b = s->pages->iov[page].iov_base;
        size_t off = g_rand_int_range(r, 0, SCRIBBLE_BYTES);
        uint8_t val = g_rand_int(r) & 0xff;

        /* A guest store, which TSan does not check (system/workload.c). */
        tsan_ignore_begin();
        b[off] = val;
        tsan_ignore_end();
    }
    return NULL;
}

START_TEST(test_concurrent_writes)
{
    MultiFDCompression method = methods[_i];
    g_autoptr(GRand) r = g_rand_new_with_seed(7);
    g_autoptr(MultifdCompressor) c =
        multifd_compressor_new(method, 1, &error_abort);
    g_autoptr(MultifdDecompressor) d =
        multifd_decompressor_new(method, &error_abort);
    g_autoptr(Pages) src = pages_new(32, 0);
    g_autoptr(Pages) dst = pages_new(32, 0);
    g_autoptr(GByteArray) out = g_byte_array_new();
    Scribbler s = { src, 0 };
    int packed = 0;
    GThread *t;

    fill(r, src, DATA_TEXT);
    t = g_thread_new("scribbler", scribble, &s);
    for (int i = 0; i < 100; i++) {
        bool compressed;

        ck_assert(multifd_compress(c, src->iov, src->n, out, &compressed,
                                   &error_abort));
        if (compressed) {
            ck_assert(multifd_decompress(d, out->data, out->len, dst->iov,
                                         dst->n, &error_abort));
            packed++;
        }
    }
    qatomic_mb_set(&s.stop, 1);
    g_thread_join(t);
    /* A few random bytes keep text compressible: the streams were real. */
    ck_assert_int_gt(packed, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("multifd-compress");
    TCase *tc = tcase_create("multifd-compress");
    int nm = G_N_ELEMENTS(methods);
    SRunner *sr;

    tcase_add_loop_test(tc, test_round_trip, 0, nm);
    tcase_add_test(tc, test_zlib_level0_is_raw);
    tcase_add_loop_test(tc, test_reuse_and_counters, 0, nm);
    tcase_add_loop_test(tc, test_page_count_mismatch, 0, nm);
    tcase_add_loop_test(tc, test_truncated, 0, nm);
    tcase_add_loop_test(tc, test_garbage, 0, nm);
    tcase_add_test(tc, test_zlib_checksum);
    tcase_add_loop_test(tc, test_trailing, 0, nm);
    tcase_add_test(tc, test_wrong_method);
    tcase_add_loop_test(tc, test_empty, 0, nm);
    tcase_add_test(tc, test_none);
    tcase_add_test(tc, test_new_errors);
    tcase_add_loop_test(tc, test_concurrent_writes, 0, nm);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
