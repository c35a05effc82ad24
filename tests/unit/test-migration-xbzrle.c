/*
 * Unit tests for XBZRLE: the codec (migration/ram/xbzrle.c) on random, text
 * and sparse changes, its exact bytes, its output bound and every
 * refusal of a malformed delta; the page cache (migration/ram/xbzrle-cache.c);
 * and guest RAM through the source's cache and RAM_XBZRLE records into
 * other memory over several passes (migration/ram/ram-xbzrle.c).
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>

#include "migration/ram/dirty-bitmap.h"
#include "migration/ram/ram-xbzrle.h"
#include "migration/ram/xbzrle-cache.h"
#include "migration/ram/xbzrle.h"
#include "system/ram.h"

#define PAGE GUEST_PAGE_SIZE

/* ---- The codec ---- */

static void fill_random(GRand *r, uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)g_rand_int_range(r, 0, 256);
    }
}

/* English-like text, as a guest's page cache might hold. */
static void fill_text(GRand *r, uint8_t *p, size_t len)
{
    static const char *const words[] = {
        "page", "delta", "the", "run", "of", "zero", "bytes", "cache",
    };
    size_t pos = 0;

    while (pos < len) {
        const char *w = words[g_rand_int_range(r, 0, G_N_ELEMENTS(words))];

        for (size_t i = 0; w[i] && pos < len; i++) {
            p[pos++] = (uint8_t)w[i];
        }
        if (pos < len) {
            p[pos++] = ' ';
        }
    }
}

/*
 * Encodes @old -> @new with room for @out_max bytes (in an allocation of
 * exactly that size, so any overrun is caught under ASan) and, unless it
 * overflowed, checks the delta turns @old into @new.  Returns the length.
 */
static size_t round_trip(const uint8_t *old, const uint8_t *new,
                         size_t out_max)
{
    g_autofree uint8_t *out = g_malloc(MAX(out_max, 1));
    g_autofree uint8_t *page = g_memdup2(old, PAGE);
    size_t len = xbzrle_encode(old, new, PAGE, out, out_max);

    if (len == XBZRLE_OVERFLOW || len == 0) {
        return len;
    }
    ck_assert_uint_le(len, out_max);
    ck_assert(xbzrle_check(out, len, PAGE, &error_abort));
    ck_assert(xbzrle_decode(out, len, page, PAGE, &error_abort));
    ck_assert_int_eq(memcmp(page, new, PAGE), 0);
    return len;
}

START_TEST(test_codec_random_changes)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(1);
    uint8_t old[PAGE], new[PAGE];

    for (int iter = 0; iter < 400; iter++) {
        int changes = g_rand_int_range(r, 1, 300);
        size_t len;

        fill_random(r, old, PAGE);
        memcpy(new, old, PAGE);
        for (int c = 0; c < changes; c++) {
            size_t at = g_rand_int_range(r, 0, PAGE);

            /* A changed byte really differs. */
            new[at] = old[at] ^ (uint8_t)g_rand_int_range(r, 1, 256);
        }
        len = round_trip(old, new, PAGE - 1);
        ck_assert_uint_ne(len, 0);
        ck_assert_uint_ne(len, XBZRLE_OVERFLOW);
        /* Each change costs its byte and at most two lengths of 2. */
        ck_assert_uint_le(len, 5 * (size_t)changes);
    }
}
END_TEST

START_TEST(test_codec_text_changes)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(2);
    uint8_t old[PAGE], new[PAGE];

    for (int iter = 0; iter < 100; iter++) {
        size_t at = g_rand_int_range(r, 0, PAGE - 64);
        size_t n = g_rand_int_range(r, 1, 64);
        size_t len;

        fill_text(r, old, PAGE);
        memcpy(new, old, PAGE);
        /* A line rewritten in place. */
        fill_text(r, new + at, n);
        len = round_trip(old, new, PAGE - 1);
        if (memcmp(old, new, PAGE) == 0) {
            ck_assert_uint_eq(len, 0);
            continue;
        }
        ck_assert_uint_ne(len, XBZRLE_OVERFLOW);
        /* Runs within the n bytes, 3 apart at least: their lengths. */
        ck_assert_uint_le(len, n + 3 + 2 * ((n + 3) / 4));
    }
}
END_TEST

START_TEST(test_codec_sparse_changes)
{
    uint8_t old[PAGE] = { 0 }, new[PAGE] = { 0 };

    /* Unchanged: nothing to send. */
    ck_assert_uint_eq(round_trip(old, new, PAGE - 1), 0);
    /* The first byte, the last byte, both: the edges of the page. */
    new[0] = 1;
    ck_assert_uint_eq(round_trip(old, new, PAGE - 1), 3);
    new[0] = 0;
    new[PAGE - 1] = 1;
    /* 4095 takes two bytes: 0xff 0x1f. */
    ck_assert_uint_eq(round_trip(old, new, PAGE - 1), 4);
    new[0] = 1;
    ck_assert_uint_eq(round_trip(old, new, PAGE - 1), 3 + 4);
    /* One word in every 64-byte line. */
    memset(new, 0, PAGE);
    for (size_t i = 0; i < PAGE; i += 64) {
        memcpy(new + i + 10, "abcdefgh", 8);
    }
    ck_assert_uint_eq(round_trip(old, new, PAGE - 1), 64 * (1 + 1 + 8));
}
END_TEST

/* The encoder's exact bytes: QEMU's format, and merged short gaps. */
START_TEST(test_codec_bytes)
{
    uint8_t old[PAGE] = { 0 }, new[PAGE] = { 0 };
    uint8_t out[64];

    memcpy(new + 10, "abc", 3);
    ck_assert_uint_eq(xbzrle_encode(old, new, PAGE, out, sizeof(out)), 5);
    ck_assert_int_eq(memcmp(out, "\x0a\x03" "abc", 5), 0);

    /* A 200-byte zero run: two bytes of ULEB128. */
    memset(new, 0, PAGE);
    new[200] = 'x';
    ck_assert_uint_eq(xbzrle_encode(old, new, PAGE, out, sizeof(out)), 4);
    ck_assert_int_eq(memcmp(out, "\xc8\x01\x01x", 4), 0);

    /* A gap of two unchanged bytes stays inside the run... */
    memset(new, 0, PAGE);
    new[0] = 'a';
    new[3] = 'b';
    ck_assert_uint_eq(xbzrle_encode(old, new, PAGE, out, sizeof(out)), 6);
    ck_assert_int_eq(memcmp(out, "\x00\x04" "a\0\0b", 6), 0);
    /* ...a gap of three does not. */
    new[3] = 0;
    new[4] = 'b';
    ck_assert_uint_eq(xbzrle_encode(old, new, PAGE, out, sizeof(out)), 6);
    ck_assert_int_eq(memcmp(out, "\x00\x01" "a" "\x03\x01" "b", 6), 0);
    /* A short gap at the end of the page is the unchanged tail. */
    memset(new, 0, PAGE);
    new[PAGE - 3] = 'z';
    ck_assert_uint_eq(xbzrle_encode(old, new, PAGE, out, sizeof(out)), 4);
    ck_assert_int_eq(memcmp(out, "\xfd\x1f\x01z", 4), 0);
}
END_TEST

START_TEST(test_codec_overflow)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(3);
    uint8_t old[PAGE], new[PAGE];
    size_t len;

    /* Unrelated pages: never smaller than the page. */
    fill_random(r, old, PAGE);
    fill_random(r, new, PAGE);
    ck_assert_uint_eq(round_trip(old, new, PAGE - 1), XBZRLE_OVERFLOW);
    /* With room enough it still encodes, and decodes. */
    len = round_trip(old, new, 2 * PAGE);
    ck_assert_uint_ne(len, XBZRLE_OVERFLOW);
    ck_assert_uint_ge(len, PAGE);

    /* The bound is exact: the delta's own length fits, one less not. */
    memcpy(new, old, PAGE);
    for (size_t i = 0; i < PAGE; i += 100) {
        new[i] ^= 0xff;
    }
    len = round_trip(old, new, PAGE - 1);
    ck_assert_uint_ne(len, XBZRLE_OVERFLOW);
    ck_assert_uint_eq(round_trip(old, new, len), len);
    ck_assert_uint_eq(round_trip(old, new, len - 1), XBZRLE_OVERFLOW);
    ck_assert_uint_eq(round_trip(old, new, 0), XBZRLE_OVERFLOW);
}
END_TEST

/* Every way a delta can be malformed, each refused with its reason. */
START_TEST(test_codec_refusals)
{
    static const struct {
        const char *delta;
        size_t len;
        const char *error;
    } cases[] = {
        { "", 0, "empty delta (an unchanged page is not sent)" },
        { "\x80", 1, "zero run length at byte 0 is truncated: the delta "
          "ends after 1 of its bytes" },
        { "\x05", 1, "zero run at byte 0 is not followed by a non-zero run: "
          "the delta is truncated" },
        { "\x00\x81", 2, "non-zero run length at byte 1 is truncated" },
        { "\x80\x00\x01x", 4, "zero run length at byte 0 is not minimally "
          "encoded" },
        { "\x00\x01x\x81\x80\x00\x01y", 8, "zero run length at byte 3 is "
          "not minimally encoded" },
        { "\x80\x80\x80\x80\x80\x01", 6, "zero run length at byte 0 is "
          "longer than 5 bytes" },
        { "\xff\xff\xff\xff\x7f", 5, "zero run length 34359738367 at byte "
          "0 exceeds 4294967295" },
        { "\x00\x01x\x00\x01y", 6, "empty zero run at byte 3 (only the "
          "first may be empty)" },
        { "\x05\x00", 2, "empty non-zero run at byte 1" },
        { "\x81\x20\x01x", 4, "zero run of 4097 bytes at byte 0 runs past "
          "the end of the page (4096 bytes left)" },
        { "\xfa\x1f\x0ax", 4, "non-zero run of 10 bytes at byte 2 runs "
          "past the end of the page (6 bytes left)" },
        { "\x00\x05" "ab", 4, "non-zero run of 5 bytes at byte 1 is "
          "truncated: 2 bytes of data left" },
        { "\xff\x1f\x01x\x01", 5, "1 bytes at byte 4 follow the run that "
          "ends the page" },
        { "\xff\x1f\x01x\x00\x01y", 7, "3 bytes at byte 4 follow the run "
          "that ends the page" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint8_t page[PAGE];
        Error *err = NULL;

        memset(page, 0x77, PAGE);
        ck_assert_msg(!xbzrle_check((const uint8_t *)cases[i].delta,
                                    cases[i].len, PAGE, &err),
                      "case %zu accepted", i);
        check_error(&err, cases[i].error);
        ck_assert(!xbzrle_decode((const uint8_t *)cases[i].delta,
                                 cases[i].len, page, PAGE, &err));
        check_error(&err, cases[i].error);
        /* A refused delta changes nothing, even its good first runs. */
        for (size_t j = 0; j < PAGE; j++) {
            ck_assert_uint_eq(page[j], 0x77);
        }
    }

    /* Up to the edge is fine: a run ending exactly at the page's end. */
    {
        uint8_t page[PAGE] = { 0 };

        ck_assert(xbzrle_decode((const uint8_t *)"\xff\x1f\x01x", 4, page,
                                PAGE, &error_abort));
        ck_assert_uint_eq(page[PAGE - 1], 'x');
        ck_assert(xbzrle_decode((const uint8_t *)"\x00\x01y", 3, page,
                                PAGE, &error_abort));
        ck_assert_uint_eq(page[0], 'y');
    }
}
END_TEST

/*
 * Whatever the bytes, the decoder stays within the delta and the page:
 * random input and mangled good deltas, each in an allocation of exactly
 * its size (ASan catches a byte too far).
 */
START_TEST(test_codec_decoder_bounds)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(4);
    uint8_t old[PAGE], new[PAGE], good[PAGE];
    unsigned accepted = 0;

    for (int iter = 0; iter < 3000; iter++) {
        size_t page_len = (size_t)1 << g_rand_int_range(r, 0, 13);
        size_t len = g_rand_int_range(r, 1, 64);
        g_autofree uint8_t *delta = g_malloc(len);
        g_autofree uint8_t *page = g_malloc0(page_len);
        Error *err = NULL;

        fill_random(r, delta, len);
        /* Small lengths, so some inputs are valid. */
        for (size_t i = 0; i < len; i++) {
            if (g_rand_boolean(r)) {
                delta[i] &= 0x07;
            }
        }
        if (xbzrle_decode(delta, len, page, page_len, &err)) {
            accepted++;
        } else {
            error_free(err);
        }
    }
    ck_assert_uint_gt(accepted, 0);

    fill_random(r, old, PAGE);
    memcpy(new, old, PAGE);
    for (size_t i = 0; i < PAGE; i += 37) {
        new[i] ^= 0x5a;
    }
    {
        size_t good_len = xbzrle_encode(old, new, PAGE, good, PAGE - 1);

        ck_assert_uint_ne(good_len, XBZRLE_OVERFLOW);
        for (int iter = 0; iter < 2000; iter++) {
            size_t len = g_rand_int_range(r, 1, good_len + 1);
            g_autofree uint8_t *delta = g_memdup2(good, len);
            g_autofree uint8_t *page = g_memdup2(old, PAGE);
            Error *err = NULL;

            delta[g_rand_int_range(r, 0, len)] ^=
                (uint8_t)g_rand_int_range(r, 1, 256);
            if (!xbzrle_decode(delta, len, page, PAGE, &err)) {
                error_free(err);
                ck_assert_int_eq(memcmp(page, old, PAGE), 0);
            }
        }
    }
}
END_TEST

/* ---- The cache ---- */

START_TEST(test_cache_sizes)
{
    Error *err = NULL;
    XbzrleCache *c;

    ck_assert_ptr_null(xbzrle_cache_new(PAGE - 1, PAGE, 0, &err));
    check_error(&err, "an xbzrle cache of 4095 bytes cannot hold one page "
                "of 4096 bytes");
    /* Slots: a power of two, rounded down... */
    c = xbzrle_cache_new(3 * PAGE, PAGE, 0, &error_abort);
    ck_assert_uint_eq(xbzrle_cache_slots(c), 2);
    ck_assert_uint_eq(xbzrle_cache_page_size(c), PAGE);
    xbzrle_cache_free(c);
    /* ...and no more than guest RAM needs, rounded up. */
    c = xbzrle_cache_new(64 * PAGE, PAGE, 5, &error_abort);
    ck_assert_uint_eq(xbzrle_cache_slots(c), 8);
    xbzrle_cache_free(c);
    c = xbzrle_cache_new(64 * PAGE, PAGE, 64, &error_abort);
    ck_assert_uint_eq(xbzrle_cache_slots(c), 64);
    xbzrle_cache_free(c);
}
END_TEST

START_TEST(test_cache_hits_and_evictions)
{
    XbzrleCache *c = xbzrle_cache_new(4 * PAGE, PAGE, 0, &error_abort);
    uint8_t a[PAGE], b[PAGE];
    uint8_t *copy;

    memset(a, 'a', PAGE);
    memset(b, 'b', PAGE);
    for (uint64_t p = 0; p < 8; p++) {
        ck_assert_ptr_null(xbzrle_cache_lookup(c, p));
    }
    copy = xbzrle_cache_insert(c, 1, a);
    ck_assert_ptr_eq(xbzrle_cache_lookup(c, 1), copy);
    ck_assert_int_eq(memcmp(copy, a, PAGE), 0);
    /* Pages 1, 5, 9... share a slot; the others are still misses. */
    ck_assert_ptr_null(xbzrle_cache_lookup(c, 5));
    ck_assert_ptr_null(xbzrle_cache_lookup(c, 2));
    /* Storing a page again replaces its copy, evicting nothing. */
    ck_assert_ptr_eq(xbzrle_cache_insert(c, 1, b), copy);
    ck_assert_int_eq(memcmp(copy, b, PAGE), 0);
    ck_assert_uint_eq(xbzrle_cache_evictions(c), 0);
    /* Its slot's next page evicts it. */
    xbzrle_cache_insert(c, 5, a);
    ck_assert_uint_eq(xbzrle_cache_evictions(c), 1);
    ck_assert_ptr_null(xbzrle_cache_lookup(c, 1));
    ck_assert_int_eq(memcmp(xbzrle_cache_lookup(c, 5), a, PAGE), 0);
    /* Four neighbours fit side by side. */
    for (uint64_t p = 8; p < 12; p++) {
        memset(a, (int)p, PAGE);
        xbzrle_cache_insert(c, p, a);
    }
    ck_assert_uint_eq(xbzrle_cache_evictions(c), 2);
    for (uint64_t p = 8; p < 12; p++) {
        copy = xbzrle_cache_lookup(c, p);
        ck_assert_ptr_nonnull(copy);
        ck_assert_uint_eq(copy[PAGE - 1], p);
    }
    xbzrle_cache_free(c);
}
END_TEST

/* ---- Guest RAM through the cache and RAM_XBZRLE ---- */

#define MiB (1024 * 1024)

/* Guest RAM: two registered blocks; their copies are not registered. */
static RAMBlock *src[2], *dst[2];
static GPtrArray *dst_list;
static DirtyBitmap *tracker;

static void setup(void)
{
    src[0] = ram_block_new_anon("a", 1 * MiB, false, &error_abort);
    src[1] = ram_block_new_anon("b", 260 * PAGE, false, &error_abort);
    dst[0] = ram_block_new_anon("a", 1 * MiB, false, &error_abort);
    dst[1] = ram_block_new_anon("b", 260 * PAGE, false, &error_abort);
    ck_assert(ram_block_register(src[0], &error_abort));
    ck_assert(ram_block_register(src[1], &error_abort));
    dst_list = g_ptr_array_new();
    g_ptr_array_add(dst_list, dst[0]);
    g_ptr_array_add(dst_list, dst[1]);
    tracker = dirty_bitmap_start(DIRTY_LOG_BACKEND_SOFTWARE, &error_abort);
}

static void teardown(void)
{
    dirty_bitmap_stop(tracker);
    g_ptr_array_unref(dst_list);
    for (int i = 1; i >= 0; i--) {
        ram_block_unregister(src[i]);
        ram_block_free(src[i]);
        ram_block_free(dst[i]);
    }
}

typedef struct Counts {
    unsigned ram_pages, ram_xbzrle;     /* records */
    uint64_t bytes;
} Counts;

/* One pass: every dirty page, record by record, into @rl. */
static Counts pass(XbzrleSaver *x, RamSaver *rs, RamLoader *rl,
                   bool first_pass)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    Counts n = { 0 };

    ram_saver_rewind(rs);
    while (xbzrle_saver_next_record(x, rs, first_pass, b, 64)) {
        size_t pos = 0;

        n.bytes += b->len;
        while (pos < b->len) {
            WireRecord rec;

            ck_assert_int_eq(wire_record_decode(b->data + pos, b->len - pos,
                                                &rec, &error_abort),
                             WIRE_OK);
            if (rec.type == WIRE_REC_RAM_PAGES) {
                ck_assert(ram_loader_load(rl, rec.body, rec.len,
                                          &error_abort));
                n.ram_pages++;
            } else {
                ck_assert_uint_eq(rec.type, WIRE_REC_RAM_XBZRLE);
                ck_assert(ram_loader_load_xbzrle(rl, rec.body, rec.len,
                                                 &error_abort));
                n.ram_xbzrle++;
            }
            pos += rec.size;
        }
        g_byte_array_set_size(b, 0);
    }
    return n;
}

static void write_guest(RAMBlock *blk, uint64_t off, const void *data,
                        size_t len)
{
    memcpy(blk->host + off, data, len);
    dirty_log_note_write(blk->offset + off, len);
}

static void assert_equal(void)
{
    ck_assert_int_eq(memcmp(src[0]->host, dst[0]->host, 1 * MiB), 0);
    ck_assert_int_eq(memcmp(src[1]->host, dst[1]->host, 260 * PAGE), 0);
}

START_TEST(test_ram_passes)
{
    XbzrleSaver *x;
    RamSaver rs;
    RamLoader rl;
    Counts n;
    uint8_t page[PAGE], text20[8];

    /* Text in every page of block a but the first 16, a few bytes in b. */
    for (uint64_t p = 16; p < 256; p++) {
        g_autoptr(GRand) r = g_rand_new_with_seed(p);

        fill_text(r, src[0]->host + p * PAGE, PAGE);
    }
    src[1]->host[259 * PAGE + 7] = 0x5a;
    /* A destination page that is not zero: a ZERO marker must fix it. */
    memset(dst[1]->host + 3 * PAGE, 0xee, PAGE);

    x = xbzrle_saver_new(64 * MiB, &error_abort);
    /* Never more than guest RAM (256 + 260 pages, rounded up). */
    ck_assert_uint_eq(xbzrle_cache_slots(x->cache), 1024);
    ram_saver_init(&rs, tracker, true);
    ram_loader_init(&rl, dst_list);
    dirty_bitmap_set_all(tracker);

    /* First pass: whole pages, the cache filled, nothing looked up. */
    n = pass(x, &rs, &rl, true);
    ck_assert_uint_eq(n.ram_xbzrle, 0);
    ck_assert_uint_eq(rs.normal_pages, 240 + 1);
    ck_assert_uint_eq(x->lookups, 0);
    ck_assert_uint_eq(x->pages, 0);
    assert_equal();

    /* Second pass: a few bytes of a few pages change. */
    ck_assert(dirty_bitmap_sync(tracker, &error_abort));
    memcpy(text20, src[0]->host + 20 * PAGE + 100, sizeof(text20));
    for (uint64_t p = 20; p < 30; p++) {
        /* Capitals: unlike every byte of the text they replace. */
        write_guest(src[0], p * PAGE + 100, "CHANGED", 7);
    }
    write_guest(src[1], 259 * PAGE, "tail", 4);
    /* Written with the same bytes: dirty, but unchanged. */
    write_guest(src[0], 40 * PAGE, src[0]->host + 40 * PAGE, 64);
    ck_assert(dirty_bitmap_sync(tracker, &error_abort));
    n = pass(x, &rs, &rl, false);
    ck_assert_uint_eq(n.ram_pages, 0);
    ck_assert_uint_eq(n.ram_xbzrle, 2);     /* one per block */
    ck_assert_uint_eq(x->pages, 11);
    ck_assert_uint_eq(x->unchanged, 1);
    ck_assert_uint_eq(x->lookups, 12);
    ck_assert_uint_eq(x->cache_miss, 0);
    ck_assert_uint_eq(rl.xbzrle_pages, 11);
    /* Deltas, not pages, went over. */
    ck_assert_uint_lt(n.bytes, 2 * PAGE);
    ck_assert_uint_eq(x->bytes, 10 * (1 + 1 + 7) + (1 + 1 + 4));
    assert_equal();

    /* Third: a whole page rewritten (overflow), a page zeroed, a zero
     * page made non-zero, and a delta onto the zeroed page's copy. */
    {
        g_autoptr(GRand) r = g_rand_new_with_seed(99);

        for (size_t i = 0; i < PAGE; i++) {
            page[i] = (uint8_t)g_rand_int_range(r, 1, 256);
        }
    }
    write_guest(src[0], 50 * PAGE, page, PAGE);
    memset(page, 0, PAGE);
    write_guest(src[0], 60 * PAGE, page, PAGE);
    write_guest(src[0], 2 * PAGE + 8, "new", 3);
    ck_assert(dirty_bitmap_sync(tracker, &error_abort));
    n = pass(x, &rs, &rl, false);
    ck_assert_uint_eq(x->overflow, 1);
    /* Page 2 was zero in the first pass, so never cached: a miss. */
    ck_assert_uint_eq(x->cache_miss, 1);
    ck_assert_uint_eq(n.ram_xbzrle, 0);
    assert_equal();
    /* Fourth: deltas against what each copy became: zeros, a miss's
     * page, a delta's page put back as it was, an overflow's page. */
    write_guest(src[0], 60 * PAGE + 5, "x", 1);
    write_guest(src[0], 2 * PAGE + 8, "old", 3);
    write_guest(src[0], 20 * PAGE + 100, text20, sizeof(text20));
    write_guest(src[0], 50 * PAGE + 7, "\0", 1);
    ck_assert(dirty_bitmap_sync(tracker, &error_abort));
    n = pass(x, &rs, &rl, false);
    ck_assert_uint_eq(n.ram_xbzrle, 1);
    ck_assert_uint_eq(n.ram_pages, 0);
    ck_assert_uint_eq(x->pages, 11 + 4);
    ck_assert_uint_eq(x->overflow, 1);
    assert_equal();

    /* The rates of the period: all of it so far. */
    xbzrle_saver_period(x);
    ck_assert(x->cache_miss_rate > 0 && x->cache_miss_rate < 1);
    ck_assert(x->encoding_rate > 100);
    ram_saver_destroy(&rs);
    ram_loader_destroy(&rl);
    xbzrle_saver_free(x);
}
END_TEST

/* A resize empties the cache: the next sends are whole, then deltas. */
START_TEST(test_ram_resize)
{
    XbzrleSaver *x;
    XbzrleCache *old;
    RamSaver rs;
    RamLoader rl;
    Counts n;

    for (uint64_t p = 0; p < 256; p++) {
        memset(src[0]->host + p * PAGE, (int)p + 1, PAGE);
    }
    x = xbzrle_saver_new(4 * MiB, &error_abort);
    ram_saver_init(&rs, tracker, true);
    ram_loader_init(&rl, dst_list);
    dirty_bitmap_set_all(tracker);
    pass(x, &rs, &rl, true);
    ck_assert(dirty_bitmap_sync(tracker, &error_abort));

    /* The same size again: nothing happens. */
    old = x->cache;
    ck_assert(xbzrle_saver_resize(x, 4 * MiB, &error_abort));
    ck_assert_ptr_eq(x->cache, old);
    ck_assert(xbzrle_saver_resize(x, 16 * PAGE, &error_abort));
    ck_assert_uint_eq(x->cache_size, 16 * PAGE);
    ck_assert_uint_eq(xbzrle_cache_slots(x->cache), 16);

    for (uint64_t p = 0; p < 16; p++) {
        write_guest(src[0], p * PAGE, "v2", 2);
    }
    ck_assert(dirty_bitmap_sync(tracker, &error_abort));
    n = pass(x, &rs, &rl, false);
    ck_assert_uint_eq(n.ram_xbzrle, 0);
    ck_assert_uint_eq(x->cache_miss, 16);
    assert_equal();
    for (uint64_t p = 0; p < 16; p++) {
        write_guest(src[0], p * PAGE, "v3", 2);
    }
    ck_assert(dirty_bitmap_sync(tracker, &error_abort));
    n = pass(x, &rs, &rl, false);
    ck_assert_uint_eq(n.ram_xbzrle, 1);
    ck_assert_uint_eq(x->pages, 16);
    ck_assert_uint_eq(x->cache_miss, 16);
    assert_equal();
    /* Page 16 takes page 0's slot, so page 0 is a miss next time. */
    write_guest(src[0], 16 * PAGE, "v4", 2);
    ck_assert(dirty_bitmap_sync(tracker, &error_abort));
    pass(x, &rs, &rl, false);
    ck_assert_uint_eq(x->cache_miss, 17);
    write_guest(src[0], 0, "v5", 2);
    ck_assert(dirty_bitmap_sync(tracker, &error_abort));
    pass(x, &rs, &rl, false);
    ck_assert_uint_eq(x->cache_miss, 18);
    ck_assert_uint_eq(x->pages, 16);
    ck_assert_uint_eq(xbzrle_cache_evictions(x->cache), 2);
    assert_equal();

    /* Too small to hold a page: refused, the cache stays. */
    {
        Error *err = NULL;

        old = x->cache;
        ck_assert(!xbzrle_saver_resize(x, 100, &err));
        check_error(&err, "cannot hold one page");
        ck_assert_ptr_eq(x->cache, old);
        ck_assert_uint_eq(x->cache_size, 16 * PAGE);
    }
    ram_saver_destroy(&rs);
    ram_loader_destroy(&rl);
    xbzrle_saver_free(x);
}
END_TEST

/* The RAM_XBZRLE record in @b, without its header and padding. */
static bool load_record(RamLoader *rl, GByteArray *b, Error **errp)
{
    WireRecord rec;

    ck_assert_int_eq(wire_record_decode(b->data, b->len, &rec,
                                        &error_abort), WIRE_OK);
    ck_assert_uint_eq(rec.type, WIRE_REC_RAM_XBZRLE);
    return ram_loader_load_xbzrle(rl, rec.body, rec.len, errp);
}

/* The destination checks every page and delta before changing any. */
START_TEST(test_ram_load_refusals)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    WireRamPagesHeader h = { .block = 1, .count = 2, .page_size = PAGE };
    uint64_t offsets[2] = { 0, 259 * PAGE };
    uint32_t lengths[2] = { 3, 4 };
    Error *err = NULL;
    RamLoader rl;

    ram_loader_init(&rl, dst_list);
    memset(dst[1]->host, 0x11, PAGE);

    /* A good record, to start with. */
    ck_assert(wire_ram_xbzrle_encode(b, &h, offsets, lengths,
                                     "\x00\x01" "a" "\xff\x1f\x01z", 7,
                                     &error_abort));
    ck_assert(load_record(&rl, b, &error_abort));
    ck_assert_uint_eq(dst[1]->host[0], 'a');
    ck_assert_uint_eq(dst[1]->host[1], 0x11);
    ck_assert_uint_eq(dst[1]->host[260 * PAGE - 1], 'z');
    ck_assert_uint_eq(rl.next_packet, 1);

    /* A bad delta in the second page: the first is not applied either. */
    g_byte_array_set_size(b, 0);
    h.packet = 1;
    ck_assert(wire_ram_xbzrle_encode(b, &h, offsets, lengths,
                                     "\x00\x01" "b" "\xff\x1f\x02z", 7,
                                     &error_abort));
    ck_assert(!load_record(&rl, b, &err));
    check_error(&err, "RAM_XBZRLE: page 1 (offset 0x103000 of 'b'): "
                "non-zero run of 2 bytes at byte 2 runs past the end of "
                "the page (1 bytes left)");
    ck_assert_uint_eq(dst[1]->host[0], 'a');

    /* A page past the block's end. */
    g_byte_array_set_size(b, 0);
    offsets[1] = 260 * PAGE;
    ck_assert(wire_ram_xbzrle_encode(b, &h, offsets, lengths,
                                     "\x00\x01" "b" "\xff\x1f\x01z", 7,
                                     &error_abort));
    ck_assert(!load_record(&rl, b, &err));
    check_error(&err, "RAM_XBZRLE: page 1: 4096 bytes at offset 0x104000 "
                "are beyond the end of RAM block 'b' (1.01 MiB)");
    ck_assert_uint_eq(dst[1]->host[0], 'a');

    /* A block that does not exist. */
    g_byte_array_set_size(b, 0);
    offsets[1] = 0;
    h.block = 2;
    ck_assert(wire_ram_xbzrle_encode(b, &h, offsets, lengths,
                                     "\x00\x01" "b" "\xff\x1f\x01z", 7,
                                     &error_abort));
    ck_assert(!load_record(&rl, b, &err));
    check_error(&err, "RAM_XBZRLE: block 2 does not exist: HELLO listed 2 "
                "RAM blocks");

    /* A repeated packet, shared with RAM_PAGES's numbering. */
    g_byte_array_set_size(b, 0);
    h.block = 1;
    h.packet = 0;
    ck_assert(wire_ram_xbzrle_encode(b, &h, offsets, lengths,
                                     "\x00\x01" "b" "\xff\x1f\x01z", 7,
                                     &error_abort));
    ck_assert(!load_record(&rl, b, &err));
    check_error(&err, "RAM_XBZRLE: packet 0 where packet 1 was due");
    ck_assert_uint_eq(dst[1]->host[0], 'a');

    /* The record's own form is the wire decoder's to refuse. */
    ck_assert(!ram_loader_load_xbzrle(&rl, b->data + 8, 20, &err));
    check_error(&err, "RAM_XBZRLE: truncated");
    ck_assert_uint_eq(rl.xbzrle_pages, 2);
    ram_loader_destroy(&rl);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-xbzrle");
    TCase *codec = tcase_create("codec");
    TCase *cache = tcase_create("cache");
    TCase *ram = tcase_create("ram");
    SRunner *sr;

    tcase_add_test(codec, test_codec_random_changes);
    tcase_add_test(codec, test_codec_text_changes);
    tcase_add_test(codec, test_codec_sparse_changes);
    tcase_add_test(codec, test_codec_bytes);
    tcase_add_test(codec, test_codec_overflow);
    tcase_add_test(codec, test_codec_refusals);
    tcase_add_test(codec, test_codec_decoder_bounds);
    suite_add_tcase(s, codec);
    tcase_add_test(cache, test_cache_sizes);
    tcase_add_test(cache, test_cache_hits_and_evictions);
    suite_add_tcase(s, cache);
    tcase_add_checked_fixture(ram, setup, teardown);
    tcase_add_test(ram, test_ram_passes);
    tcase_add_test(ram, test_ram_resize);
    tcase_add_test(ram, test_ram_load_refusals);
    suite_add_tcase(s, ram);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
