/* Unit tests for util/json-streamer.c: JSON values out of a byte stream. */
#include <check.h>
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>

#include "qapi/json-streamer.h"

/*
 * Every emitted value is recorded as its compact JSON text, every error
 * as "ERR:" + message, so a whole run compares as a list of strings.
 */
typedef struct Recorder {
    GPtrArray *events;
} Recorder;

static void record(void *opaque, json_t *value, Error *err)
{
    Recorder *r = opaque;

    ck_assert((value == NULL) != (err == NULL));
    if (value) {
        char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS |
                                JSON_ENCODE_ANY);
        g_ptr_array_add(r->events, text);
        json_decref(value);
    } else {
        g_ptr_array_add(r->events, g_strconcat("ERR:", error_get_pretty(err),
                                               NULL));
        error_free(err);
    }
}

static Recorder *recorder_new(void)
{
    Recorder *r = g_new0(Recorder, 1);
    r->events = g_ptr_array_new_with_free_func(g_free);
    return r;
}

static void recorder_free(Recorder *r)
{
    g_ptr_array_free(r->events, TRUE);
    g_free(r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Recorder, recorder_free)

/* Feeds @input in pieces cut at the offsets in @cuts (ascending, ending
 * with (size_t)-1), then flushes.  limits: 0 keeps the default. */
static Recorder *run_cuts(const char *input, size_t len, const size_t *cuts,
                          size_t max_bytes, unsigned max_depth)
{
    Recorder *r = recorder_new();
    g_autoptr(JsonStreamer) s = json_streamer_new(record, r);
    size_t pos = 0;

    if (max_bytes) {
        json_streamer_set_limits(s, max_bytes, max_depth);
    }
    for (; *cuts != (size_t)-1; cuts++) {
        json_streamer_feed(s, input + pos, *cuts - pos);
        pos = *cuts;
    }
    json_streamer_feed(s, input + pos, len - pos);
    json_streamer_flush(s);
    return r;
}

static Recorder *run(const char *input)
{
    static const size_t no_cuts[] = { (size_t)-1 };
    return run_cuts(input, strlen(input), no_cuts, 0, 0);
}

/* Does @event match @pattern?  A pattern ending in '*' matches every
 * event starting with the rest: the wording of jansson's messages is
 * jansson's business, the position prefix is ours. */
static bool event_matches(const char *event, const char *pattern)
{
    size_t len = strlen(pattern);

    if (len && pattern[len - 1] == '*') {
        return !strncmp(event, pattern, len - 1);
    }
    return !strcmp(event, pattern);
}

/* Checks the events of @r against the NULL-terminated @expect. */
static void check_events(Recorder *r, const char *const *expect,
                         const char *what)
{
    size_t n = 0;

    while (expect[n]) {
        n++;
    }
    for (size_t i = 0; i < MIN(n, r->events->len); i++) {
        ck_assert_msg(event_matches(r->events->pdata[i], expect[i]),
                      "%s: event %zu is '%s', expected '%s'", what, i,
                      (char *)r->events->pdata[i], expect[i]);
    }
    ck_assert_msg(r->events->len == n, "%s: %u events, expected %zu (last "
                  "'%s')", what, r->events->len, n,
                  r->events->len ? (char *)r->events->pdata[r->events->len
                                                             - 1] : "");
}

#define EXPECT(input, ...) do {                                 \
        static const char *const expect_[] = { __VA_ARGS__, NULL }; \
        g_autoptr(Recorder) r_ = run(input);                    \
        check_events(r_, expect_, input);                       \
    } while (0)

START_TEST(test_simple)
{
    EXPECT("{\"execute\": \"cont\"}", "{\"execute\":\"cont\"}");
    EXPECT("  \r\n\t{}\r\n", "{}");
    EXPECT("[]", "[]");
    EXPECT("[1, [2, [3]], {\"a\": []}]", "[1,[2,[3]],{\"a\":[]}]");
    /* Two values in one feed, with and without white space between. */
    EXPECT("{\"a\":1}{\"b\":2}", "{\"a\":1}", "{\"b\":2}");
    EXPECT("{\"a\":1}\n[2]\r\n", "{\"a\":1}", "[2]");
}
END_TEST

/* A value and the start of the next: the first is emitted at once, the
 * second when its end arrives. */
START_TEST(test_partial)
{
    g_autoptr(Recorder) r = recorder_new();
    g_autoptr(JsonStreamer) s = json_streamer_new(record, r);
    static const char *const after_first[] = { "{\"a\":1}", NULL };
    static const char *const after_second[] = {
        "{\"a\":1}", "{\"b\":\"}\"}", NULL,
    };

    static const char part1[] = "{\"a\":1}\r\n{\"b\":\"";
    static const char part2[] = "}";
    static const char part3[] = "\"}\r\n";

    json_streamer_feed(s, part1, strlen(part1));
    check_events(r, after_first, "first feed");
    json_streamer_feed(s, part2, strlen(part2));
    check_events(r, after_first, "inside the string");
    json_streamer_feed(s, part3, strlen(part3));
    check_events(r, after_second, "second feed");
    json_streamer_flush(s);
    check_events(r, after_second, "flush");
}
END_TEST

START_TEST(test_strings)
{
    /* Brackets and quotes inside strings do not count. */
    EXPECT("{\"a\": \"}{][\"}", "{\"a\":\"}{][\"}");
    EXPECT("{\"a\": \"\\\"}\"}", "{\"a\":\"\\\"}\"}");
    /* "\\" ends with an escaped backslash, so the quote closes it. */
    EXPECT("{\"a\": \"\\\\\"}", "{\"a\":\"\\\\\"}");
    EXPECT("{\"a\": \"\\\\\\\"\"}", "{\"a\":\"\\\\\\\"\"}");
    EXPECT("[\"\\\\\", \"}\"]", "[\"\\\\\",\"}\"]");
    /* Unicode escapes, including a surrogate pair, and raw UTF-8. */
    EXPECT("[\"\\u00e9\\u20ac\\ud83d\\ude00\"]",
           "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
    EXPECT("[\"\xc3\xa9\"]", "[\"\xc3\xa9\"]");
    /* NUL in strings is refused (vmig strings are C strings). */
    EXPECT("[\"a\\u0000b\"] {}",
           "ERR:JSON parse error at line 1, column 11: \\u0000 is not "
           "allowed*", "{}");
}
END_TEST

START_TEST(test_scalars)
{
    /* A bare scalar ends at a delimiter or at the end of input. */
    EXPECT("123", "123");
    EXPECT("123 456\n", "123", "456");
    EXPECT("true{}", "true", "{}");
    EXPECT("null[1]false", "null", "[1]", "false");
    EXPECT("\"str\"\"ing\"", "\"str\"", "\"ing\"");
    EXPECT("-1.5e3", "-1500.0");
    EXPECT("1,2", "ERR:JSON parse error at line 1, column 2: *");
    EXPECT("nope {}", "ERR:JSON parse error at line 1, column 4: *", "{}");
    EXPECT("12}", "12", "ERR:JSON parse error: unbalanced '}'");
}
END_TEST

START_TEST(test_errors)
{
    /* Malformed values are reported by jansson, with the position. */
    EXPECT("{\"a\" 1}\n{\"b\":2}",
           "ERR:JSON parse error at line 1, column 6: *", "{\"b\":2}");
    EXPECT("{\n\"a\": 1,\n}\n[]",
           "ERR:JSON parse error at line 3, column 1: *", "[]");
    EXPECT("[1}{}", "ERR:JSON parse error at line 1, column 3: *", "{}");
    EXPECT("{\"a\":1,\"a\":2}",
           "ERR:JSON parse error at line 1, column 10: duplicate*");
    /* Stray closers between values. */
    EXPECT("}{}", "ERR:JSON parse error: unbalanced '}'", "{}");
    EXPECT("{}]]", "{}", "ERR:JSON parse error: unbalanced ']'",
           "ERR:JSON parse error: unbalanced ']'");
    /* A missing closing quote is caught at the end of the line. */
    EXPECT("{\"a: 1}\n{\"b\": 2}",
           "ERR:JSON parse error at line 1, column 8: control character "
           "0x0a in string", "{\"b\":2}");
    /* Garbage, then recovery. */
    EXPECT("\x01\x02 garbage {\"ok\": true}",
           "ERR:JSON parse error at line 1, column *",
           "ERR:JSON parse error at line 1, column *", "{\"ok\":true}");
}
END_TEST

START_TEST(test_flush)
{
    EXPECT("{\"a\":", "ERR:JSON parse error at line 1, column 5: end of "
           "input inside an incomplete value");
    EXPECT("{}\n[1,\n2", "{}", "ERR:JSON parse error at line 2, column 1: "
           "end of input inside an incomplete value");
    EXPECT("\"abc", "ERR:JSON parse error at line 1, column 4: end of input "
           "inside an incomplete value");
    EXPECT("   ", NULL);
    EXPECT("", NULL);

    /* Flushing resets: feeding continues normally. */
    {
        g_autoptr(Recorder) r = recorder_new();
        g_autoptr(JsonStreamer) s = json_streamer_new(record, r);
        static const char *const expect[] = {
            "ERR:JSON parse error at line 1, column 2: end of input inside "
            "an incomplete value", "7", "{}", NULL,
        };

        json_streamer_feed(s, "[1", 2);
        json_streamer_flush(s);
        json_streamer_feed(s, "7", 1);
        json_streamer_flush(s);
        json_streamer_flush(s);
        json_streamer_feed(s, "{}", 2);
        check_events(r, expect, "flush");
    }
}
END_TEST

START_TEST(test_resync_byte)
{
    /* 0xFF drops a partial value silently, even inside a string. */
    EXPECT("{\"a\": [1, \xff{\"b\":1}", "{\"b\":1}");
    EXPECT("{\"a\": \"x\xff[2]", "[2]");
    EXPECT("12\xff[3]", "[3]");
    EXPECT("\xff\xff{}", "{}");
}
END_TEST

static Recorder *run_limited(const char *input, size_t max_bytes,
                             unsigned max_depth)
{
    static const size_t no_cuts[] = { (size_t)-1 };
    return run_cuts(input, strlen(input), no_cuts, max_bytes, max_depth);
}

#define EXPECT_LIMITS(input, bytes, depth, ...) do {              \
        static const char *const expect_[] = { __VA_ARGS__, NULL }; \
        g_autoptr(Recorder) r_ = run_limited(input, bytes, depth);  \
        check_events(r_, expect_, input);                         \
    } while (0)

START_TEST(test_depth_limit)
{
    EXPECT_LIMITS("[[[1]]]", 1000, 3, "[[[1]]]");
    EXPECT_LIMITS("{\"a\":{\"b\":[1]}}", 1000, 3, "{\"a\":{\"b\":[1]}}");
    EXPECT_LIMITS("[[[[1]]]] [2]", 1000, 3,
                  "ERR:JSON message nested deeper than 3 levels", "[2]");
    /* The skipped rest is still lexed: the "]]]]" in the string do not
     * end it early. */
    EXPECT_LIMITS("[[[[\"]]]]\"]]]] [2]", 1000, 3,
                  "ERR:JSON message nested deeper than 3 levels", "[2]");
    EXPECT_LIMITS("[[[[[[[[1]]]]]]]][2]", 1000, 3,
                  "ERR:JSON message nested deeper than 3 levels", "[2]");
    /* Scalars and strings have no depth. */
    EXPECT_LIMITS("1 \"x\" []", 1000, 0, "1", "\"x\"",
                  "ERR:JSON message nested deeper than 0 levels");
}
END_TEST

START_TEST(test_default_depth_limit)
{
    GString *in = g_string_new(NULL);

    for (unsigned depth = JSON_STREAMER_MAX_DEPTH;
         depth <= JSON_STREAMER_MAX_DEPTH + 1; depth++) {
        g_autoptr(Recorder) r = NULL;

        g_string_truncate(in, 0);
        for (unsigned i = 0; i < depth; i++) {
            g_string_append_c(in, '[');
        }
        for (unsigned i = 0; i < depth; i++) {
            g_string_append_c(in, ']');
        }
        g_string_append(in, "{}");
        r = run(in->str);
        ck_assert_uint_eq(r->events->len, 2);
        if (depth == JSON_STREAMER_MAX_DEPTH) {
            ck_assert(g_str_has_prefix(r->events->pdata[0], "[[[[[[["));
        } else {
            ck_assert_str_eq(r->events->pdata[0],
                             "ERR:JSON message nested deeper than 1024 "
                             "levels");
        }
        ck_assert_str_eq(r->events->pdata[1], "{}");
    }
    g_string_free(in, TRUE);
}
END_TEST

START_TEST(test_size_limit)
{
    /* {"a":"xx"} is 10 bytes. */
    EXPECT_LIMITS("{\"a\":\"xx\"}", 10, 100, "{\"a\":\"xx\"}");
    EXPECT_LIMITS("{\"a\":\"xxx\"} {}", 10, 100,
                  "ERR:JSON message exceeds 10 bytes", "{}");
    /* Leading white space does not count; strings and scalars do. */
    EXPECT_LIMITS("        \"123456789\"", 11, 100, "\"123456789\"");
    EXPECT_LIMITS("\"1234567890\" 123456789012 1", 11, 100,
                  "ERR:JSON message exceeds 11 bytes",
                  "ERR:JSON message exceeds 11 bytes", "1");
    /* The skipped value's brackets in strings are still understood. */
    EXPECT_LIMITS("{\"a\": \"}}}}}}}}}}}}}}\", \"b\": [1]} [7]", 10, 100,
                  "ERR:JSON message exceeds 10 bytes", "[7]");
    /* An oversized value cut off by the end of input: one error only. */
    EXPECT_LIMITS("[1111111111111", 10, 100,
                  "ERR:JSON message exceeds 10 bytes");
}
END_TEST

/* The default limit, fed in chunks: the value is not buffered whole. */
START_TEST(test_default_size_limit)
{
    size_t chunk = 1024 * 1024;
    g_autofree char *filler = g_malloc(chunk);
    g_autoptr(Recorder) r = recorder_new();
    g_autoptr(JsonStreamer) s = json_streamer_new(record, r);
    static const char *const expect[] = {
        "ERR:JSON message exceeds 67108864 bytes", "{\"after\":1}", NULL,
    };

    memset(filler, 'x', chunk);
    json_streamer_feed(s, "[\"", 2);
    for (size_t done = 0; done <= JSON_STREAMER_MAX_BYTES; done += chunk) {
        json_streamer_feed(s, filler, chunk);
    }
    json_streamer_feed(s, "\"]\n{\"after\":1}", 14);
    json_streamer_flush(s);
    check_events(r, expect, "64 MiB");
}
END_TEST

/* A stream exercising most lexer states, for the split tests. */
static const char split_input[] =
    "{\"execute\": \"qmp_capabilities\"}\r\n"
    "{\"execute\":\"x\",\"arguments\":{\"s\":\"a}\\\"b\\\\\",\"l\":[1,[2.5e1]],"
    "\"u\":\"\\u00e9\"},\"id\":7}"
    "  }  "
    "123 \"top\"[true,false,null]"
    "{\"bad\" 1}"
    "\n{\"last\": {}}";

static const char *const split_expect[] = {
    "{\"execute\":\"qmp_capabilities\"}",
    "{\"arguments\":{\"l\":[1,[25.0]],\"s\":\"a}\\\"b\\\\\",\"u\":\"\xc3\xa9\"},"
    "\"execute\":\"x\",\"id\":7}",
    "ERR:JSON parse error: unbalanced '}'",
    "123",
    "\"top\"",
    "[true,false,null]",
    "ERR:JSON parse error at line 1, column 8: *",
    "{\"last\":{}}",
    NULL,
};

START_TEST(test_split_every_byte)
{
    size_t len = strlen(split_input);
    g_autofree size_t *cuts = g_new(size_t, len + 1);
    g_autoptr(Recorder) r = NULL;

    for (size_t i = 0; i < len; i++) {
        cuts[i] = i + 1;
    }
    cuts[len] = (size_t)-1;
    r = run_cuts(split_input, len, cuts, 0, 0);
    check_events(r, split_expect, "one byte at a time");
}
END_TEST

/* Every way of cutting the stream in two (one piece may be empty). */
START_TEST(test_split_once)
{
    size_t len = strlen(split_input);

    for (size_t i = 0; i <= len; i++) {
        size_t cuts[] = { i, (size_t)-1 };
        g_autoptr(Recorder) r = run_cuts(split_input, len, cuts, 0, 0);
        g_autofree char *what = g_strdup_printf("cut at %zu", i);
        check_events(r, split_expect, what);
    }
}
END_TEST

/* Two cuts close together: a short middle piece, so that a token or an
 * escape sequence starts in one feed and ends two feeds later. */
START_TEST(test_split_twice)
{
    size_t len = strlen(split_input);

    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i + 1; j <= MIN(i + 8, len); j++) {
            size_t cuts[] = { i, j, (size_t)-1 };
            g_autoptr(Recorder) r = run_cuts(split_input, len, cuts, 0, 0);
            g_autofree char *what = g_strdup_printf("cut at %zu and %zu", i,
                                                    j);
            check_events(r, split_expect, what);
        }
    }
}
END_TEST

/* Limits must hold the same way whatever the chunking. */
START_TEST(test_split_limits)
{
    static const char input[] = "[[[[1]]]] [\"0123456789\"] [[[2]]] [3]";
    static const char *const expect[] = {
        "ERR:JSON message nested deeper than 3 levels",
        "ERR:JSON message exceeds 12 bytes",
        "[[[2]]]",
        "[3]",
        NULL,
    };
    size_t len = strlen(input);

    for (size_t i = 0; i <= len; i++) {
        size_t cuts[] = { i, (size_t)-1 };
        g_autoptr(Recorder) r = run_cuts(input, len, cuts, 12, 3);
        g_autofree char *what = g_strdup_printf("cut at %zu", i);
        check_events(r, expect, what);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("json-streamer");
    TCase *tc = tcase_create("streamer");
    SRunner *sr;

    /* The 64 MiB test is slow under sanitizers. */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_simple);
    tcase_add_test(tc, test_partial);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_scalars);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_flush);
    tcase_add_test(tc, test_resync_byte);
    tcase_add_test(tc, test_depth_limit);
    tcase_add_test(tc, test_default_depth_limit);
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_default_size_limit);
    tcase_add_test(tc, test_split_every_byte);
    tcase_add_test(tc, test_split_once);
    tcase_add_test(tc, test_split_twice);
    tcase_add_test(tc, test_split_limits);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
