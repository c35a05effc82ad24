/* Unit tests for util/cutils.c: strict number parsing. */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/cutils.h"

/* Asserts that @err is set, its message contains @needle, and frees it. */
static void int64_ok(const char *str, int64_t expect)
{
    int64_t val = 42;
    Error *err = NULL;

    ck_assert_msg(parse_int64(str, &val, &err), "'%s' refused: %s", str,
                  err ? error_get_pretty(err) : "");
    ck_assert_ptr_null(err);
    ck_assert_msg(val == expect, "'%s' gave %" PRId64, str, val);
}

static void int64_bad(const char *str, const char *why)
{
    int64_t val = 42;
    Error *err = NULL;

    ck_assert_msg(!parse_int64(str, &val, &err), "'%s' accepted", str);
    ck_assert_int_eq(val, 42);   /* untouched on error */
    check_error(&err, why);
}

static void uint64_ok(const char *str, uint64_t expect)
{
    uint64_t val = 42;
    Error *err = NULL;

    ck_assert_msg(parse_uint64(str, &val, &err), "'%s' refused", str);
    ck_assert_msg(val == expect, "'%s' gave %" PRIu64, str, val);
}

static void uint64_bad(const char *str, const char *why)
{
    uint64_t val = 42;
    Error *err = NULL;

    ck_assert_msg(!parse_uint64(str, &val, &err), "'%s' accepted", str);
    ck_assert_uint_eq(val, 42);
    check_error(&err, why);
}

static void size_ok(const char *str, uint64_t expect)
{
    uint64_t val = 42;
    Error *err = NULL;

    ck_assert_msg(parse_size(str, &val, &err), "'%s' refused: %s", str,
                  err ? error_get_pretty(err) : "");
    ck_assert_msg(val == expect, "'%s' gave %" PRIu64 ", expected %" PRIu64,
                  str, val, expect);
}

static void size_bad(const char *str, const char *why)
{
    uint64_t val = 42;
    Error *err = NULL;

    ck_assert_msg(!parse_size(str, &val, &err), "'%s' accepted (%" PRIu64
                  ")", str, val);
    ck_assert_uint_eq(val, 42);
    check_error(&err, why);
}

START_TEST(test_int64)
{
    int64_ok("0", 0);
    int64_ok("1", 1);
    int64_ok("-1", -1);
    int64_ok("+7", 7);
    int64_ok("-0", 0);
    int64_ok("9223372036854775807", INT64_MAX);
    int64_ok("-9223372036854775808", INT64_MIN);
    int64_ok("0x7fffffffffffffff", INT64_MAX);
    int64_ok("0X1F", 31);
    int64_ok("0x0010", 16);
    int64_ok("-0x10", -16);
    int64_ok("-0x8000000000000000", INT64_MIN);

    int64_bad("", "empty");
    int64_bad("9223372036854775808", "out of range");
    int64_bad("-9223372036854775809", "out of range");
    int64_bad("0x8000000000000000", "out of range");
    int64_bad("0xffffffffffffffff", "out of range");
    int64_bad("99999999999999999999999", "out of range");
    int64_bad("0x", "no digits after '0x'");
    int64_bad("0xg", "no digits after '0x'");
    int64_bad("010", "leading zeros");
    int64_bad("-", "not a number");
    int64_bad("--1", "not a number");
    int64_bad("+-1", "not a number");
    int64_bad(" 1", "not a number");
    int64_bad("1 ", "trailing characters");
    int64_bad("1x", "trailing characters");
    int64_bad("1.0", "trailing characters");
    int64_bad("1e3", "trailing characters");
    int64_bad("1k", "trailing characters");
    int64_bad("abc", "not a number");
    /* Trailing garbage is reported even when the digits overflow. */
    int64_bad("99999999999999999999x", "trailing characters");
}
END_TEST

START_TEST(test_int64_message)
{
    int64_t val;
    Error *err = NULL;

    ck_assert(!parse_int64("12a", &val, &err));
    ck_assert_str_eq(error_get_pretty(err),
                     "Invalid integer '12a': trailing characters");
    error_free(err);
}
END_TEST

START_TEST(test_uint64)
{
    uint64_ok("0", 0);
    uint64_ok("18446744073709551615", UINT64_MAX);
    uint64_ok("0xffffffffffffffff", UINT64_MAX);
    uint64_ok("0xFFFFFFFFFFFFFFFF", UINT64_MAX);
    uint64_ok("4096", 4096);

    uint64_bad("18446744073709551616", "out of range");
    uint64_bad("0x10000000000000000", "out of range");
    uint64_bad("-1", "negative values are not allowed");
    uint64_bad("-0", "negative values are not allowed");
    uint64_bad("+1", "a sign is not allowed");
    uint64_bad("", "empty");
    uint64_bad("0x", "no digits");
    uint64_bad("00", "leading zeros");
    uint64_bad("1\n", "trailing characters");
    uint64_bad("\t1", "not a number");
}
END_TEST

START_TEST(test_size)
{
    size_ok("0", 0);
    size_ok("1", 1);
    size_ok("1B", 1);
    size_ok("1b", 1);
    size_ok("1k", 1024);
    size_ok("1K", 1024);
    size_ok("2m", 2 * 1024 * 1024);
    size_ok("2M", 2 * 1024 * 1024);
    size_ok("3g", UINT64_C(3) << 30);
    size_ok("3G", UINT64_C(3) << 30);
    size_ok("4T", UINT64_C(4) << 40);
    size_ok("5P", UINT64_C(5) << 50);
    size_ok("15E", UINT64_C(15) << 60);
    size_ok("1.5k", 1536);
    size_ok("1.5G", UINT64_C(3) << 29);
    size_ok("0.5k", 512);
    size_ok("1.0", 1);
    size_ok("1.50000000000000000000000000k", 1536);
    size_ok("0.0009765625M", 1024);
    size_ok("18446744073709551615", UINT64_MAX);
    size_ok("18446744073709551615B", UINT64_MAX);
    size_ok("15.75E", UINT64_C(18158513697557839872));
    size_ok("0x1000", 4096);
    size_ok("0X10", 16);
    size_ok("0xffffffffffffffff", UINT64_MAX);

    size_bad("", "empty");
    size_bad("16E", "out of range");
    size_bad("16384P", "out of range");
    size_bad("18446744073709551616", "out of range");
    size_bad("1.2345", "not a whole number of bytes");
    size_bad("0.5", "not a whole number of bytes");
    size_bad("1.5B", "not a whole number of bytes");
    size_bad("1.001k", "not a whole number of bytes");
    size_bad("0.1234567890123456789012k", "too many digits");
    size_bad("-1", "negative");
    size_bad("-1k", "negative");
    size_bad("+1k", "a sign is not allowed");
    size_bad("1.k", "no digits after the decimal point");
    size_bad(".5k", "not a number");
    size_bad("k", "not a number");
    size_bad("1kB", "suffix");
    size_bad("1KiB", "suffix");
    size_bad("1Q", "suffix");
    size_bad("1 k", "suffix");
    size_bad(" 1k", "not a number");
    size_bad("1k ", "suffix");
    size_bad("01k", "leading zeros");
    size_bad("0x10k", "takes no fraction or suffix");
    size_bad("0x1.8", "takes no fraction or suffix");
    size_bad("0x", "no digits");
    size_bad("0x10000000000000000", "out of range");
}
END_TEST

START_TEST(test_bool)
{
    static const struct {
        const char *str;
        bool val;
    } good[] = {
        { "on", true }, { "yes", true }, { "true", true },
        { "off", false }, { "no", false }, { "false", false },
    };
    static const char *const bad[] = {
        "", "ON", "On", "1", "0", "y", "n", "onn", " on", "on ", "truee",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        bool val = !good[i].val;
        ck_assert(parse_bool(good[i].str, &val, &error_abort));
        ck_assert(val == good[i].val);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        bool val = true;
        Error *err = NULL;

        ck_assert_msg(!parse_bool(bad[i], &val, &err), "'%s' accepted",
                      bad[i]);
        ck_assert(val);
        check_error(&err, "expected on/off, yes/no or true/false");
    }
}
END_TEST

START_TEST(test_double)
{
    static const struct {
        const char *str;
        double val;
    } good[] = {
        { "0", 0 }, { "1", 1 }, { "-1.5", -1.5 }, { "+2.25", 2.25 },
        { ".5", 0.5 }, { "5.", 5 }, { "1e3", 1000 }, { "1E-3", 0.001 },
        { "2.5e+2", 250 }, { "007.5", 7.5 }, { "1e-400", 0 },
    };
    static const struct {
        const char *str;
        const char *why;
    } bad[] = {
        { "", "empty" }, { "inf", "not a decimal" },
        { "-infinity", "not a decimal" }, { "nan", "not a decimal" },
        { "0x1p3", "not a decimal" }, { " 1", "not a decimal" },
        { "1 ", "not a decimal" }, { "1e", "not a decimal" },
        { "1e+", "not a decimal" }, { ".", "not a decimal" },
        { "-", "not a decimal" }, { "1.2.3", "not a decimal" },
        { "1,5", "not a decimal" }, { "1e999", "out of range" },
        { "-1e999", "out of range" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        double val = -42;
        ck_assert_msg(parse_double(good[i].str, &val, &error_abort), "%s",
                      good[i].str);
        ck_assert_msg(val == good[i].val, "'%s' gave %g", good[i].str, val);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        double val = -42;
        Error *err = NULL;

        ck_assert_msg(!parse_double(bad[i].str, &val, &err), "'%s' accepted",
                      bad[i].str);
        ck_assert(val == -42);
        check_error(&err, bad[i].why);
    }
}
END_TEST

START_TEST(test_size_to_str)
{
    static const struct {
        uint64_t bytes;
        const char *str;
    } cases[] = {
        { 0, "0 B" },
        { 1, "1 B" },
        { 1000, "1000 B" },
        { 1023, "1023 B" },
        { 1024, "1 KiB" },
        { 1536, "1.50 KiB" },
        { 1025, "1.00 KiB" },
        { 1024 * 1024 - 1, "1023.99 KiB" },
        { 64 * 1024 * 1024, "64 MiB" },
        { UINT64_C(3) << 30, "3 GiB" },
        { UINT64_C(1) << 40, "1 TiB" },
        { UINT64_C(1) << 50, "1 PiB" },
        { UINT64_C(1) << 60, "1 EiB" },
        { UINT64_MAX, "15.99 EiB" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *str = size_to_str(cases[i].bytes);
        ck_assert_str_eq(str, cases[i].str);
    }
}
END_TEST

/* size_to_str() output for whole units parses back to the same value. */
START_TEST(test_size_round_trip)
{
    for (unsigned shift = 0; shift < 64; shift++) {
        uint64_t bytes = UINT64_C(1) << shift;
        g_autofree char *str = size_to_str(bytes);
        const char *space = strchr(str, ' ');
        g_autofree char *compact = NULL;
        uint64_t back;

        /* "64 MiB" -> "64M", "1 B" -> "1B" */
        ck_assert_ptr_nonnull(space);
        compact = g_strdup_printf("%.*s%c", (int)(space - str), str,
                                  space[1]);
        ck_assert_msg(parse_size(compact, &back, &error_abort), "%s",
                      compact);
        ck_assert_msg(back == bytes, "%s", compact);
    }
}
END_TEST

/* Messages quote short values whole, long ones by their start. */
START_TEST(test_str_abbrev)
{
    g_autofree char *exact = g_strnfill(STR_ABBREV_MAX, 'x');
    g_autofree char *huge = g_strnfill(100 * 1024, 'y');
    g_autofree char *shown = NULL;
    g_autofree char *same = NULL;
    g_autofree char *utf8 = NULL;
    g_autofree char *cut = NULL;
    GString *s = g_string_new(NULL);

    same = str_abbrev(exact);
    ck_assert_str_eq(same, exact);
    shown = str_abbrev(huge);
    ck_assert(g_str_has_suffix(shown, "... (102400 bytes)"));
    ck_assert(g_str_has_prefix(shown, "yyyy"));
    ck_assert_uint_le(strlen(shown), STR_ABBREV_MAX);
    /* Two-byte characters after one of one byte: the cut would fall in
     * the middle of one, and must not. */
    g_string_append_c(s, 'a');
    for (int i = 0; i < STR_ABBREV_MAX; i++) {
        g_string_append(s, "\xc3\xa9");
    }
    utf8 = g_string_free(s, FALSE);
    cut = str_abbrev(utf8);
    ck_assert(g_utf8_validate(cut, -1, NULL));
    ck_assert(g_str_has_suffix(cut, "... (513 bytes)"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cutils");
    TCase *tc = tcase_create("parse");
    SRunner *sr;

    tcase_add_test(tc, test_int64);
    tcase_add_test(tc, test_int64_message);
    tcase_add_test(tc, test_uint64);
    tcase_add_test(tc, test_size);
    tcase_add_test(tc, test_bool);
    tcase_add_test(tc, test_double);
    tcase_add_test(tc, test_size_to_str);
    tcase_add_test(tc, test_size_round_trip);
    tcase_add_test(tc, test_str_abbrev);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
