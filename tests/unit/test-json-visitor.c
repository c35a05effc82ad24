/*
 * JSON input and output visitors, the dealloc visitor and qapi_clone().
 *
 * The first half drives the visitors by hand through the visit_* API, the
 * way generated code does, so every scalar kind and every error path is
 * reached directly.  The second half uses the test schema's generated
 * types (tests/qapi-schema/qapi-schema-test.json) for whole-object round
 * trips, unions, alternates and lists.
 */
#include <check.h>
#include "tests/check-run.h"
#include <math.h>
#include <stdlib.h>

#include "qapi/clone.h"
#include "qapi/compat-policy.h"
#include "qapi/visitor.h"
#include "test-qapi-types.h"
#include "test-qapi-visit.h"

/* ---- Harness ---- */

/* Input under test and its visitor; freed by teardown() so that a failing
 * assertion does not leak and hide the failure behind LeakSanitizer. */
static json_t *input;
static Visitor *iv;
static Visitor *ov;

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &jerr);

    ck_assert_msg(value, "bad JSON in test: %s: %s", text, jerr.text);
    return value;
}

/* An input visitor over @text (JSON). */
static Visitor *in(const char *text)
{
    visit_free(iv);
    json_decref(input);
    input = parse(text);
    iv = json_input_visitor_new(input);
    return iv;
}

static Visitor *out(void)
{
    visit_free(ov);
    ov = json_output_visitor_new();
    return ov;
}

/* The output visitor's result must equal @expected (JSON text). */
static void check_output(const char *expected)
{
    json_t *result = NULL;
    json_t *want = parse(expected);

    visit_complete(ov, &result);
    char *got = json_dumps(result, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    ck_assert_msg(json_equal(result, want), "got %s, want %s", got,
                  expected);
    free(got);
    json_decref(result);
    json_decref(want);
}

/* @err must be set with exactly @msg; frees it. */
static void check_error(Error **err, const char *msg)
{
    ck_assert_msg(*err, "no error, expected \"%s\"", msg);
    ck_assert_str_eq(error_get_pretty(*err), msg);
    ck_assert_int_eq(error_get_class(*err), ERROR_CLASS_GENERIC_ERROR);
    error_free_or_abort(err);
}

static void setup(void)
{
    input = NULL;
    iv = ov = NULL;
}

static void teardown(void)
{
    visit_free(iv);
    visit_free(ov);
    json_decref(input);
    qapi_set_deprecated_input_policy(false);
}

/* Visits the single member "x" of {"x": VALUE} with @visit. */
#define CHECK_MEMBER(value_json, visit_call, expect_ok, msg)                 \
    do {                                                                     \
        Error *err_ = NULL;                                                  \
        Visitor *v_ = in("{\"x\": " value_json "}");                         \
        visit_start_struct(v_, NULL, NULL, 0, &error_abort);                 \
        bool ok_ = (visit_call);                                             \
        ck_assert_msg(ok_ == (expect_ok), "%s: visit returned %d",           \
                      value_json, ok_);                                      \
        if (ok_) {                                                           \
            ck_assert_ptr_null(err_);                                        \
            visit_check_struct(v_, &error_abort);                            \
        } else {                                                             \
            check_error(&err_, msg);                                         \
        }                                                                    \
        visit_end_struct(v_, NULL);                                          \
    } while (0)

/* ---- Input: integers ---- */

START_TEST(test_in_int)
{
    int64_t i;

    CHECK_MEMBER("42", visit_type_int(v_, "x", &i, &err_), true, NULL);
    ck_assert_int_eq(i, 42);
    CHECK_MEMBER("-9223372036854775808", visit_type_int(v_, "x", &i, &err_),
                 true, NULL);
    ck_assert_int_eq(i, INT64_MIN);
    CHECK_MEMBER("9223372036854775807",
                 visit_type_int64(v_, "x", &i, &err_), true, NULL);
    ck_assert_int_eq(i, INT64_MAX);

    /* JSON mode is strict about kinds: no strings, no reals, not even
     * whole ones. */
    static const char *const wrong[] = {
        "\"42\"", "42.0", "1e3", "true", "null", "{}", "[42]",
    };
    for (size_t n = 0; n < G_N_ELEMENTS(wrong); n++) {
        g_autofree char *text = g_strdup_printf("{\"x\": %s}", wrong[n]);
        Error *err = NULL;
        Visitor *v = in(text);
        visit_start_struct(v, NULL, NULL, 0, &error_abort);
        ck_assert(!visit_type_int(v, "x", &i, &err));
        check_error(&err,
                    "Invalid parameter type for 'x', expected: integer");
        visit_end_struct(v, NULL);
    }
}
END_TEST

/* Each width accepts exactly its C range; the error names type and range.*/
START_TEST(test_in_int_ranges)
{
    int8_t i8;
    int16_t i16;
    int32_t i32;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    CHECK_MEMBER("-128", visit_type_int8(v_, "x", &i8, &err_), true, NULL);
    ck_assert_int_eq(i8, -128);
    CHECK_MEMBER("127", visit_type_int8(v_, "x", &i8, &err_), true, NULL);
    ck_assert_int_eq(i8, 127);
    CHECK_MEMBER("-129", visit_type_int8(v_, "x", &i8, &err_), false,
                 "Parameter 'x' expects int8 (-128..127), got -129");
    CHECK_MEMBER("128", visit_type_int8(v_, "x", &i8, &err_), false,
                 "Parameter 'x' expects int8 (-128..127), got 128");

    CHECK_MEMBER("-32768", visit_type_int16(v_, "x", &i16, &err_), true,
                 NULL);
    ck_assert_int_eq(i16, INT16_MIN);
    CHECK_MEMBER("32767", visit_type_int16(v_, "x", &i16, &err_), true,
                 NULL);
    ck_assert_int_eq(i16, INT16_MAX);
    CHECK_MEMBER("-32769", visit_type_int16(v_, "x", &i16, &err_), false,
                 "Parameter 'x' expects int16 (-32768..32767), got -32769");
    CHECK_MEMBER("32768", visit_type_int16(v_, "x", &i16, &err_), false,
                 "Parameter 'x' expects int16 (-32768..32767), got 32768");

    CHECK_MEMBER("-2147483648", visit_type_int32(v_, "x", &i32, &err_), true,
                 NULL);
    ck_assert_int_eq(i32, INT32_MIN);
    CHECK_MEMBER("2147483647", visit_type_int32(v_, "x", &i32, &err_), true,
                 NULL);
    ck_assert_int_eq(i32, INT32_MAX);
    CHECK_MEMBER("-2147483649", visit_type_int32(v_, "x", &i32, &err_),
                 false, "Parameter 'x' expects int32 "
                 "(-2147483648..2147483647), got -2147483649");
    CHECK_MEMBER("2147483648", visit_type_int32(v_, "x", &i32, &err_),
                 false, "Parameter 'x' expects int32 "
                 "(-2147483648..2147483647), got 2147483648");

    CHECK_MEMBER("0", visit_type_uint8(v_, "x", &u8, &err_), true, NULL);
    ck_assert_uint_eq(u8, 0);
    CHECK_MEMBER("255", visit_type_uint8(v_, "x", &u8, &err_), true, NULL);
    ck_assert_uint_eq(u8, 255);
    CHECK_MEMBER("256", visit_type_uint8(v_, "x", &u8, &err_), false,
                 "Parameter 'x' expects uint8 (0..255), got 256");
    CHECK_MEMBER("-1", visit_type_uint8(v_, "x", &u8, &err_), false,
                 "Parameter 'x' expects uint64 (0..18446744073709551615), "
                 "got -1");

    CHECK_MEMBER("65535", visit_type_uint16(v_, "x", &u16, &err_), true,
                 NULL);
    ck_assert_uint_eq(u16, UINT16_MAX);
    CHECK_MEMBER("65536", visit_type_uint16(v_, "x", &u16, &err_), false,
                 "Parameter 'x' expects uint16 (0..65535), got 65536");

    CHECK_MEMBER("4294967295", visit_type_uint32(v_, "x", &u32, &err_), true,
                 NULL);
    ck_assert_uint_eq(u32, UINT32_MAX);
    CHECK_MEMBER("4294967296", visit_type_uint32(v_, "x", &u32, &err_),
                 false, "Parameter 'x' expects uint32 (0..4294967295), "
                 "got 4294967296");

    CHECK_MEMBER("9223372036854775807",
                 visit_type_uint64(v_, "x", &u64, &err_), true, NULL);
    ck_assert_uint_eq(u64, INT64_MAX);
    CHECK_MEMBER("-1", visit_type_uint64(v_, "x", &u64, &err_), false,
                 "Parameter 'x' expects uint64 (0..18446744073709551615), "
                 "got -1");
    CHECK_MEMBER("\"1\"", visit_type_uint64(v_, "x", &u64, &err_), false,
                 "Invalid parameter type for 'x', expected: integer");
    CHECK_MEMBER("1.5", visit_type_uint64(v_, "x", &u64, &err_), false,
                 "Invalid parameter type for 'x', expected: integer");
}
END_TEST

/* A failed range check leaves the destination alone. */
START_TEST(test_in_int_range_keeps_value)
{
    uint8_t u8 = 7;

    CHECK_MEMBER("300", visit_type_uint8(v_, "x", &u8, &err_), false,
                 "Parameter 'x' expects uint8 (0..255), got 300");
    ck_assert_uint_eq(u8, 7);
}
END_TEST

/*
 * Values above INT64_MAX cannot be JSON integers for jansson; they arrive
 * as whole reals (that is also how our output visitor writes them).
 */
START_TEST(test_in_uint64_big)
{
    uint64_t u64;

    CHECK_MEMBER("9223372036854775808.0",
                 visit_type_uint64(v_, "x", &u64, &err_), true, NULL);
    ck_assert_uint_eq(u64, 9223372036854775808ull);
    CHECK_MEMBER("18446744073709551616.0",
                 visit_type_size(v_, "x", &u64, &err_), true, NULL);
    ck_assert_uint_eq(u64, UINT64_MAX);
    CHECK_MEMBER("1e20", visit_type_uint64(v_, "x", &u64, &err_), false,
                 "Invalid parameter type for 'x', expected: integer");
    CHECK_MEMBER("-1.0", visit_type_size(v_, "x", &u64, &err_), false,
                 "Invalid parameter type for 'x', expected: integer");
}
END_TEST

START_TEST(test_in_size)
{
    uint64_t sz;

    CHECK_MEMBER("1073741824", visit_type_size(v_, "x", &sz, &err_), true,
                 NULL);
    ck_assert_uint_eq(sz, 1ull << 30);
    /* Suffixes are for keyval; JSON sizes are plain integers. */
    CHECK_MEMBER("\"1G\"", visit_type_size(v_, "x", &sz, &err_), false,
                 "Invalid parameter type for 'x', expected: integer");
    CHECK_MEMBER("-4096", visit_type_size(v_, "x", &sz, &err_), false,
                 "Parameter 'x' expects size (0..18446744073709551615), "
                 "got -4096");
}
END_TEST

/* ---- Input: other scalars ---- */

START_TEST(test_in_bool)
{
    bool b = false;

    CHECK_MEMBER("true", visit_type_bool(v_, "x", &b, &err_), true, NULL);
    ck_assert(b);
    CHECK_MEMBER("false", visit_type_bool(v_, "x", &b, &err_), true, NULL);
    ck_assert(!b);

    /* Only JSON booleans: the keyval spellings are not JSON. */
    static const char *const wrong[] = {
        "\"on\"", "\"true\"", "1", "0", "null", "[]",
    };
    for (size_t n = 0; n < G_N_ELEMENTS(wrong); n++) {
        g_autofree char *text = g_strdup_printf("{\"x\": %s}", wrong[n]);
        Error *err = NULL;
        Visitor *v = in(text);
        visit_start_struct(v, NULL, NULL, 0, &error_abort);
        ck_assert(!visit_type_bool(v, "x", &b, &err));
        check_error(&err,
                    "Invalid parameter type for 'x', expected: boolean");
        visit_end_struct(v, NULL);
    }
}
END_TEST

START_TEST(test_in_number)
{
    double d;

    CHECK_MEMBER("3.25", visit_type_number(v_, "x", &d, &err_), true, NULL);
    ck_assert_double_eq(d, 3.25);
    /* Integers are numbers too. */
    CHECK_MEMBER("-7", visit_type_number(v_, "x", &d, &err_), true, NULL);
    ck_assert_double_eq(d, -7.0);
    CHECK_MEMBER("\"3.25\"", visit_type_number(v_, "x", &d, &err_), false,
                 "Invalid parameter type for 'x', expected: number");
    CHECK_MEMBER("null", visit_type_number(v_, "x", &d, &err_), false,
                 "Invalid parameter type for 'x', expected: number");
    CHECK_MEMBER("\"inf\"", visit_type_number(v_, "x", &d, &err_), false,
                 "Invalid parameter type for 'x', expected: number");
}
END_TEST

START_TEST(test_in_str)
{
    char *s = NULL;

    CHECK_MEMBER("\"h\\u00e9llo\"", visit_type_str(v_, "x", &s, &err_), true,
                 NULL);
    ck_assert_str_eq(s, "h\xc3\xa9llo");
    g_free(s);
    CHECK_MEMBER("\"\"", visit_type_str(v_, "x", &s, &err_), true, NULL);
    ck_assert_str_eq(s, "");
    g_free(s);
    CHECK_MEMBER("5", visit_type_str(v_, "x", &s, &err_), false,
                 "Invalid parameter type for 'x', expected: string");
    ck_assert_ptr_null(s);
    CHECK_MEMBER("null", visit_type_str(v_, "x", &s, &err_), false,
                 "Invalid parameter type for 'x', expected: string");
    CHECK_MEMBER("[\"a\"]", visit_type_str(v_, "x", &s, &err_), false,
                 "Invalid parameter type for 'x', expected: string");
}
END_TEST

START_TEST(test_in_null)
{
    CHECK_MEMBER("null", visit_type_null(v_, "x", &err_), true, NULL);
    CHECK_MEMBER("0", visit_type_null(v_, "x", &err_), false,
                 "Invalid parameter type for 'x', expected: null");
    CHECK_MEMBER("\"\"", visit_type_null(v_, "x", &err_), false,
                 "Invalid parameter type for 'x', expected: null");
}
END_TEST

/* 'any' hands out a new reference to the very value, whatever it is. */
START_TEST(test_in_any)
{
    static const char *const values[] = {
        "null", "1", "\"s\"", "[1, {\"a\": null}]", "{\"k\": [true]}",
    };
    for (size_t n = 0; n < G_N_ELEMENTS(values); n++) {
        json_t *any = NULL;
        g_autofree char *text = g_strdup_printf("{\"x\": %s}", values[n]);
        Visitor *v = in(text);
        visit_start_struct(v, NULL, NULL, 0, &error_abort);
        ck_assert(visit_type_any(v, "x", &any, &error_abort));
        ck_assert_ptr_eq(any, json_object_get(input, "x"));
        visit_check_struct(v, &error_abort);
        visit_end_struct(v, NULL);
        json_decref(any);
    }
}
END_TEST

/* ---- Input: structure ---- */

START_TEST(test_in_missing)
{
    Error *err = NULL;
    int64_t i;
    char *s;
    bool present = true;
    Visitor *v = in("{\"a\": {}}");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(!visit_optional(v, "b", &present));
    ck_assert(!present);
    ck_assert(!visit_type_int(v, "b", &i, &err));
    check_error(&err, "Parameter 'b' is missing");
    visit_start_struct(v, "a", NULL, 0, &error_abort);
    ck_assert(!visit_type_str(v, "port", &s, &err));
    check_error(&err, "Parameter 'a.port' is missing");
    ck_assert(!visit_start_struct(v, "inner", NULL, 0, &err));
    check_error(&err, "Parameter 'a.inner' is missing");
    ck_assert(!visit_start_list(v, "l", NULL, 0, &err));
    check_error(&err, "Parameter 'a.l' is missing");
    visit_end_struct(v, NULL);
    visit_end_struct(v, NULL);
}
END_TEST

/* visit_optional() looks without consuming: the member still counts as
 * unvisited until it is actually read. */
START_TEST(test_in_optional)
{
    Error *err = NULL;
    bool present = false;
    Visitor *v = in("{\"a\": 1, \"n\": null}");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(visit_optional(v, "a", &present));
    ck_assert(present);
    /* A member that is there with value null is present. */
    ck_assert(visit_optional(v, "n", &present));
    ck_assert(!visit_check_struct(v, &err));
    check_error(&err, "Parameter 'a' is unexpected");
    visit_end_struct(v, NULL);
}
END_TEST

START_TEST(test_in_unexpected)
{
    Error *err = NULL;
    int64_t i;
    Visitor *v = in("{\"cfg\": {\"known\": 1, \"foo\": 2, \"bar\": 3}}");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_start_struct(v, "cfg", NULL, 0, &error_abort);
    visit_type_int(v, "known", &i, &error_abort);
    /* The first unknown member in document order is named, with path. */
    ck_assert(!visit_check_struct(v, &err));
    check_error(&err, "Parameter 'cfg.foo' is unexpected");
    visit_end_struct(v, NULL);
    visit_end_struct(v, NULL);

    v = in("{\"x\": 1}");
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(!visit_check_struct(v, &err));
    check_error(&err, "Parameter 'x' is unexpected");
    visit_end_struct(v, NULL);
}
END_TEST

START_TEST(test_in_struct_wrong_type)
{
    Error *err = NULL;
    void *obj = (void *)&err;     /* anything non-NULL */
    Visitor *v = in("{\"s\": [1], \"l\": {}}");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(!visit_start_struct(v, "s", &obj, 16, &err));
    check_error(&err, "Invalid parameter type for 's', expected: object");
    ck_assert_ptr_null(obj);    /* nothing allocated on failure */
    GenericList *list = (GenericList *)&err;
    ck_assert(!visit_start_list(v, "l", &list, sizeof(*list) + 8, &err));
    check_error(&err, "Invalid parameter type for 'l', expected: array");
    ck_assert_ptr_null(list);
    visit_end_struct(v, NULL);

    /* The root too. */
    v = in("[1]");
    ck_assert(!visit_start_struct(v, NULL, NULL, 0, &err));
    check_error(&err,
                "Invalid parameter type for '<anonymous>', expected: object");
    v = in("3");
    ck_assert(!visit_start_struct(v, "config", NULL, 0, &err));
    check_error(&err,
                "Invalid parameter type for 'config', expected: object");
}
END_TEST

/* The example of the task: the whole path, not just the member name. */
START_TEST(test_in_error_path)
{
    Error *err = NULL;
    int64_t i;
    Visitor *v = in("{\"config\": {\"multifd-channels\": \"four\"}}");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_start_struct(v, "config", NULL, 0, &error_abort);
    ck_assert(!visit_type_int(v, "multifd-channels", &i, &err));
    check_error(&err, "Invalid parameter type for 'config.multifd-channels',"
                " expected: integer");
    visit_end_struct(v, NULL);
    visit_end_struct(v, NULL);

    /* A named root is part of the path. */
    v = in("{\"addr\": {\"port\": true}}");
    visit_start_struct(v, "opts", NULL, 0, &error_abort);
    visit_start_struct(v, "addr", NULL, 0, &error_abort);
    ck_assert(!visit_type_uint16(v, "port", &(uint16_t){0}, &err));
    check_error(&err,
                "Invalid parameter type for 'opts.addr.port', expected: "
                "integer");
    visit_end_struct(v, NULL);
    visit_end_struct(v, NULL);
}
END_TEST

/* List elements are named by index, also inside nested structs. */
START_TEST(test_in_list)
{
    Error *err = NULL;
    int64_t i;
    GenericList *head = NULL;
    const size_t node = sizeof(GenericList) + sizeof(int64_t);
    Visitor *v = in("{\"l\": [1, 2, 3]}");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(visit_start_list(v, "l", &head, node, &error_abort));
    int n = 0;
    for (GenericList *tail = head; tail;
         tail = visit_next_list(v, tail, node)) {
        visit_type_int(v, NULL, (int64_t *)tail->padding, &error_abort);
        n++;
    }
    ck_assert_int_eq(n, 3);
    ck_assert(visit_check_list(v, &error_abort));
    visit_end_list(v, NULL);
    visit_check_struct(v, &error_abort);
    visit_end_struct(v, NULL);
    ck_assert_int_eq(*(int64_t *)head->next->next->padding, 3);
    while (head) {
        GenericList *next = head->next;
        g_free(head);
        head = next;
    }

    /* Empty list: no node at all. */
    v = in("[]");
    head = (GenericList *)&err;
    ck_assert(visit_start_list(v, NULL, &head, node, &error_abort));
    ck_assert_ptr_null(head);
    visit_end_list(v, NULL);

    /* An error in element 1 of a list inside a struct. */
    v = in("{\"chans\": [{\"port\": 1}, {\"port\": \"x\"}]}");
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_start_list(v, "chans", &head, node, &error_abort);
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_type_int(v, "port", &i, &error_abort);
    visit_end_struct(v, NULL);
    GenericList *second = visit_next_list(v, head, node);
    ck_assert_ptr_nonnull(second);
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(!visit_type_int(v, "port", &i, &err));
    check_error(&err, "Invalid parameter type for 'chans[1].port', "
                "expected: integer");
    ck_assert(!visit_type_int(v, "host", &i, &err));
    check_error(&err, "Parameter 'chans[1].host' is missing");
    visit_end_struct(v, NULL);
    visit_end_list(v, NULL);
    visit_end_struct(v, NULL);
    g_free(second);
    g_free(head);

    /* A scalar element of the wrong type. */
    v = in("[true, 2]");
    head = NULL;
    visit_start_list(v, "nums", &head, node, &error_abort);
    ck_assert(!visit_type_int(v, NULL, &i, &err));
    check_error(&err, "Invalid parameter type for 'nums[0]', "
                "expected: integer");
    visit_end_list(v, NULL);
    g_free(head);
}
END_TEST

/* check_list fails when the walk stopped before the end of the array. */
START_TEST(test_in_list_leftover)
{
    Error *err = NULL;
    int64_t i;
    Visitor *v = in("{\"l\": [1, 2, 3]}");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_start_list(v, "l", NULL, 0, &error_abort);
    visit_type_int(v, NULL, &i, &error_abort);
    ck_assert(!visit_check_list(v, &err));
    check_error(&err, "Parameter 'l' has 3 elements, only 1 expected");
    visit_end_list(v, NULL);
    visit_end_struct(v, NULL);
}
END_TEST

/* The alternate's branch is picked from the JSON kind. */
START_TEST(test_in_alternate_kind)
{
    static const struct {
        const char *json;
        QType type;
    } cases[] = {
        { "null", QTYPE_QNULL }, { "1", QTYPE_QNUM }, { "1.5", QTYPE_QNUM },
        { "\"s\"", QTYPE_QSTRING }, { "{}", QTYPE_QDICT },
        { "[]", QTYPE_QLIST }, { "false", QTYPE_QBOOL },
    };
    Error *err = NULL;

    for (size_t n = 0; n < G_N_ELEMENTS(cases); n++) {
        GenericAlternate *alt = NULL;
        g_autofree char *text = g_strdup_printf("{\"x\": %s}", cases[n].json);
        Visitor *v = in(text);
        visit_start_struct(v, NULL, NULL, 0, &error_abort);
        ck_assert(visit_start_alternate(v, "x", &alt, sizeof(*alt) + 8,
                                        &error_abort));
        ck_assert_int_eq(alt->type, cases[n].type);
        visit_end_alternate(v, (void **)&alt);
        /* Only looked at: the branch visit consumes it. */
        ck_assert(!visit_check_struct(v, &err));
        check_error(&err, "Parameter 'x' is unexpected");
        visit_end_struct(v, NULL);
        g_free(alt);
    }

    Visitor *v = in("{}");
    GenericAlternate *alt = NULL;
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(!visit_start_alternate(v, "x", &alt, sizeof(*alt), &err));
    check_error(&err, "Parameter 'x' is missing");
    ck_assert_ptr_null(alt);
    visit_end_struct(v, NULL);
}
END_TEST

/* ---- Input: enums and the deprecation policy ---- */

static const char *const color_names[] = { "red", "green", "blue" };
static const unsigned color_features[] = {
    0, QAPI_FEATURE_DEPRECATED, 0,
};
static const QEnumLookup color_lookup = {
    .array = color_names, .features = color_features, .size = 3,
};

START_TEST(test_in_enum)
{
    int val = -1;

    CHECK_MEMBER("\"blue\"",
                 visit_type_enum(v_, "x", &val, &color_lookup, &err_),
                 true, NULL);
    ck_assert_int_eq(val, 2);
    CHECK_MEMBER("\"xyz\"",
                 visit_type_enum(v_, "x", &val, &color_lookup, &err_), false,
                 "Invalid value 'xyz' for 'x', valid values: 'red', "
                 "'green', 'blue'");
    CHECK_MEMBER("\"RED\"",
                 visit_type_enum(v_, "x", &val, &color_lookup, &err_), false,
                 "Invalid value 'RED' for 'x', valid values: 'red', "
                 "'green', 'blue'");
    CHECK_MEMBER("0", visit_type_enum(v_, "x", &val, &color_lookup, &err_),
                 false, "Invalid parameter type for 'x', expected: string");
    ck_assert_int_eq(val, 2);
}
END_TEST

START_TEST(test_in_deprecated_policy)
{
    int val = -1;
    Error *err = NULL;

    /* Accept is the default. */
    CHECK_MEMBER("\"green\"",
                 visit_type_enum(v_, "x", &val, &color_lookup, &err_),
                 true, NULL);
    ck_assert_int_eq(val, 1);
    CHECK_MEMBER("1", visit_deprecated_accept(v_, "x", &err_) &&
                 visit_type_int(v_, "x", &(int64_t){0}, &err_), true, NULL);

    qapi_set_deprecated_input_policy(true);
    CHECK_MEMBER("\"green\"",
                 visit_type_enum(v_, "x", &val, &color_lookup, &err_),
                 false, "Deprecated value 'green' of parameter 'x' disabled "
                 "by policy");
    CHECK_MEMBER("\"red\"",
                 visit_type_enum(v_, "x", &val, &color_lookup, &err_),
                 true, NULL);

    Visitor *v = in("{\"a\": {\"old\": 1}}");
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_start_struct(v, "a", NULL, 0, &error_abort);
    ck_assert(!visit_deprecated_accept(v, "old", &err));
    check_error(&err, "Deprecated parameter 'a.old' disabled by policy");
    visit_end_struct(v, NULL);
    visit_end_struct(v, NULL);

    /* Output never refuses anything. */
    ck_assert(visit_deprecated_accept(out(), "old", &error_abort));
}
END_TEST

/* ---- Output ---- */

START_TEST(test_out_scalars)
{
    Visitor *v = out();
    int64_t i = -5;
    uint64_t u = 18;
    uint64_t big = UINT64_MAX;
    uint64_t sz = 1ull << 40;
    int8_t i8 = -128;
    uint32_t u32 = UINT32_MAX;
    bool b = true;
    char *s = (char *)"text";
    char *nul = NULL;
    double d = 0.5;
    int e = 2;
    json_t *any = parse("{\"deep\": [1]}");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_type_int(v, "i", &i, &error_abort);
    visit_type_uint64(v, "u", &u, &error_abort);
    visit_type_size(v, "sz", &sz, &error_abort);
    visit_type_int8(v, "i8", &i8, &error_abort);
    visit_type_uint32(v, "u32", &u32, &error_abort);
    visit_type_bool(v, "b", &b, &error_abort);
    visit_type_str(v, "s", &s, &error_abort);
    visit_type_str(v, "nul", &nul, &error_abort);
    visit_type_number(v, "d", &d, &error_abort);
    visit_type_enum(v, "e", &e, &color_lookup, &error_abort);
    visit_type_any(v, "any", &any, &error_abort);
    visit_type_null(v, "null", &error_abort);
    visit_check_struct(v, &error_abort);
    visit_end_struct(v, NULL);
    json_decref(any);
    check_output("{\"i\": -5, \"u\": 18, \"sz\": 1099511627776, \"i8\": -128,"
                 " \"u32\": 4294967295, \"b\": true, \"s\": \"text\","
                 " \"nul\": \"\", \"d\": 0.5, \"e\": \"blue\","
                 " \"any\": {\"deep\": [1]}, \"null\": null}");

    /* Beyond int64, uint64 becomes a real (documented limitation). */
    v = out();
    visit_type_uint64(v, NULL, &big, &error_abort);
    json_t *result = NULL;
    visit_complete(v, &result);
    ck_assert(json_is_real(result));
    ck_assert_double_eq(json_real_value(result), 18446744073709551616.0);
    json_decref(result);

    /* JSON has no inf/nan. */
    v = out();
    d = INFINITY;
    visit_type_number(v, NULL, &d, &error_abort);
    check_output("null");
}
END_TEST

START_TEST(test_out_enum_invalid)
{
    Error *err = NULL;
    int e = 3;

    ck_assert(!visit_type_enum(out(), "e", &e, &color_lookup, &err));
    check_error(&err, "Invalid enum value 3 for 'e'");
}
END_TEST

/* Absent optional members are left out: the caller says so through
 * visit_optional(), which the output visitor answers unchanged. */
START_TEST(test_out_optional_and_nesting)
{
    Visitor *v = out();
    bool present = false;
    int64_t i = 1;

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(!visit_optional(v, "absent", &present));
    present = true;
    ck_assert(visit_optional(v, "present", &present));
    visit_type_int(v, "present", &i, &error_abort);
    visit_start_list(v, "l", NULL, 0, &error_abort);
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_end_struct(v, NULL);
    visit_type_int(v, NULL, &i, &error_abort);
    visit_end_list(v, NULL);
    visit_end_struct(v, NULL);
    check_output("{\"present\": 1, \"l\": [{}, 1]}");
}
END_TEST

/* Serialises and parses @j again (consumed), as a QMP peer would. */
static json_t *through_text(json_t *j)
{
    char *text = json_dumps(j, JSON_ENCODE_ANY);
    json_t *back = parse(text);

    free(text);
    json_decref(j);
    return back;
}

/* Output then input gives back every value, at the edges of each kind. */
START_TEST(test_round_trip_scalars)
{
    int64_t ints[] = { INT64_MIN, -1, 0, 1, INT64_MAX };
    uint64_t uints[] = {
        0, 1, INT64_MAX, 1ull << 63, (1ull << 63) + 2048, UINT64_MAX - 2047,
    };
    double nums[] = { 0.0, -0.0, 1e-300, -2.5, 1e300, 0.1 };

    for (size_t n = 0; n < G_N_ELEMENTS(ints); n++) {
        int64_t back = 0;
        json_t *j = NULL;
        visit_type_int(out(), NULL, &ints[n], &error_abort);
        visit_complete(ov, &j);
        j = through_text(j);
        Visitor *v = json_input_visitor_new(j);
        visit_type_int(v, NULL, &back, &error_abort);
        visit_free(v);
        json_decref(j);
        ck_assert_int_eq(back, ints[n]);
    }
    for (size_t n = 0; n < G_N_ELEMENTS(uints); n++) {
        uint64_t back = 0;
        json_t *j = NULL;
        visit_type_size(out(), NULL, &uints[n], &error_abort);
        visit_complete(ov, &j);
        j = through_text(j);
        Visitor *v = json_input_visitor_new(j);
        visit_type_size(v, NULL, &back, &error_abort);
        visit_free(v);
        json_decref(j);
        ck_assert_uint_eq(back, uints[n]);
    }
    for (size_t n = 0; n < G_N_ELEMENTS(nums); n++) {
        double back = 1;
        json_t *j = NULL;
        visit_type_number(out(), NULL, &nums[n], &error_abort);
        visit_complete(ov, &j);
        j = through_text(j);
        Visitor *v = json_input_visitor_new(j);
        visit_type_number(v, NULL, &back, &error_abort);
        visit_free(v);
        json_decref(j);
        ck_assert_double_eq(back, nums[n]);
        ck_assert_int_eq(signbit(back), signbit(nums[n]));
    }
}
END_TEST

/* ---- Generated types: helpers ---- */

typedef void QAPIFreeFunc(void *obj);

/* Reads @text into a new object; NULL with @errp set on failure, in which
 * case the generated code must have freed everything it built. */
static void *from_json(QAPIVisitFunc *visit, const char *text, Error **errp)
{
    void *obj = (void *)&obj;       /* must be overwritten */
    bool ok = visit(in(text), NULL, &obj, errp);

    ck_assert_msg(ok == (obj != NULL), "%s: returned %d but obj %p", text,
                  ok, obj);
    return obj;
}

static json_t *to_json(QAPIVisitFunc *visit, void *obj)
{
    json_t *result = NULL;

    ck_assert(visit(out(), NULL, &obj, &error_abort));
    visit_complete(ov, &result);
    return result;
}

/* Input then output must reproduce @text exactly (as a JSON value). */
static void check_round_trip(QAPIVisitFunc *visit, QAPIFreeFunc *free_fn,
                             const char *text)
{
    void *obj = from_json(visit, text, &error_abort);
    json_t *result = to_json(visit, obj);
    json_t *want = parse(text);
    char *got = json_dumps(result, JSON_SORT_KEYS | JSON_ENCODE_ANY);

    ck_assert_msg(json_equal(result, want), "got %s\n  want %s", got, text);
    free(got);
    json_decref(want);
    json_decref(result);
    free_fn(obj);
}

/* Input of @text must fail with exactly @msg. */
static void check_in_error(QAPIVisitFunc *visit, const char *text,
                           const char *msg)
{
    Error *err = NULL;

    ck_assert_ptr_null(from_json(visit, text, &err));
    check_error(&err, msg);
}

#define FROM_JSON(type, text) \
    ((type *)from_json((QAPIVisitFunc *)visit_type_##type, (text), \
                       &error_abort))
#define ROUND_TRIP(type, text) \
    check_round_trip((QAPIVisitFunc *)visit_type_##type, \
                     (QAPIFreeFunc *)qapi_free_##type, (text))
#define IN_ERROR(type, text, msg) \
    check_in_error((QAPIVisitFunc *)visit_type_##type, (text), (msg))

static const char all_scalars_json[] =
    "{\"str\": \"s\", \"number\": -1.5, \"int\": -9223372036854775808,"
    " \"i8\": -128, \"i16\": 32767, \"i32\": -2147483648,"
    " \"i64\": 9223372036854775807, \"u8\": 255, \"u16\": 65535,"
    " \"u32\": 4294967295, \"u64\": 9223372036854775807,"
    " \"size\": 1073741824, \"bool\": true,"
    " \"any\": {\"nested\": [1, \"two\", null, {\"x\": false}]},"
    " \"enum\": \"value-b\"}";

/* ---- Generated types: round trips ---- */

START_TEST(test_gen_all_scalars)
{
    TestAllScalars *obj = FROM_JSON(TestAllScalars, all_scalars_json);

    ck_assert_str_eq(obj->str, "s");
    ck_assert_double_eq(obj->number, -1.5);
    ck_assert_int_eq(obj->q_int, INT64_MIN);
    ck_assert_int_eq(obj->i8, -128);
    ck_assert_int_eq(obj->i16, 32767);
    ck_assert_int_eq(obj->i32, INT32_MIN);
    ck_assert_int_eq(obj->i64, INT64_MAX);
    ck_assert_uint_eq(obj->u8, 255);
    ck_assert_uint_eq(obj->u16, 65535);
    ck_assert_uint_eq(obj->u32, UINT32_MAX);
    ck_assert_uint_eq(obj->u64, INT64_MAX);
    ck_assert_uint_eq(obj->size, 1u << 30);
    ck_assert(obj->q_bool);
    ck_assert(json_is_object(obj->any));
    ck_assert_int_eq(obj->q_enum, TEST_ENUM_VALUE_B);
    qapi_free_TestAllScalars(obj);

    ROUND_TRIP(TestAllScalars, all_scalars_json);
}
END_TEST

/* Absent optional members stay absent on output; present ones round trip
 * including zero values, which a has_ flag must not confuse with absent.*/
START_TEST(test_gen_optionals)
{
    TestOptionals *obj = FROM_JSON(TestOptionals, "{}");

    ck_assert(!obj->has_i && !obj->has_b && !obj->has_e && !obj->has_n);
    ck_assert_ptr_null(obj->s);
    ck_assert_ptr_null(obj->inner);
    ck_assert_ptr_null(obj->ints);
    ck_assert_ptr_null(obj->a);
    qapi_free_TestOptionals(obj);

    ROUND_TRIP(TestOptionals, "{}");
    ROUND_TRIP(TestOptionals,
               "{\"s\": \"\", \"i\": 0, \"i8\": 0, \"u16\": 0, \"u64\": 0,"
               " \"sz\": 0, \"b\": false, \"n\": 0.0, \"e\": \"value-a\","
               " \"a\": null, \"inner\": {\"value\": 0}, \"ints\": [0],"
               " \"alt\": 0}");
    ROUND_TRIP(TestOptionals, "{\"b\": true, \"alt\": \"text\"}");

    /* An empty list is a NULL pointer, so an optional one that is empty
     * cannot be told from an absent one (as in QEMU). */
    obj = FROM_JSON(TestOptionals, "{\"ints\": []}");
    ck_assert_ptr_null(obj->ints);
    json_t *result = to_json((QAPIVisitFunc *)visit_type_TestOptionals, obj);
    ck_assert_int_eq(json_object_size(result), 0);
    json_decref(result);
    qapi_free_TestOptionals(obj);
}
END_TEST

START_TEST(test_gen_nested_and_base)
{
    ROUND_TRIP(TestNested,
               "{\"name\": \"n\", \"inner\": {\"value\": 1},"
               " \"opt-inner\": {\"value\": 2},"
               " \"deep\": {\"inner\": {\"value\": 3}, \"label\": \"l\"}}");
    ROUND_TRIP(TestDerived, "{\"base-id\": 1, \"extra\": false}");
    ROUND_TRIP(TestDerived, "{\"base-id\": 1, \"base-name\": \"b\","
               " \"extra\": true, \"opt-extra\": 4294967295}");
    ROUND_TRIP(TestKeywords, "{\"default\": 1, \"case\": \"c\","
               " \"unix\": false, \"kw\": \"default\"}");
    ROUND_TRIP(TestEmpty, "{}");

    TestKeywords *kw = FROM_JSON(TestKeywords, "{\"default\": 7, \"case\":"
                                 " \"x\", \"kw\": \"unix\"}");
    ck_assert_int_eq(kw->q_default, 7);
    ck_assert_str_eq(kw->q_case, "x");
    ck_assert(!kw->has_q_unix);
    ck_assert_int_eq(kw->kw, TEST_KEYWORD_ENUM_UNIX);
    qapi_free_TestKeywords(kw);
}
END_TEST

START_TEST(test_gen_lists)
{
    ROUND_TRIP(TestLists, "{\"ints\": [], \"strs\": [], \"enums\": [],"
               " \"structs\": []}");
    ROUND_TRIP(TestLists,
               "{\"ints\": [1, -2, 3], \"strs\": [\"a\", \"\"],"
               " \"enums\": [\"value-a\", \"value-c\"],"
               " \"structs\": [{\"value\": 1}, {\"value\": 2}],"
               " \"u8s\": [0, 255], \"sizes\": [4096],"
               " \"numbers\": [0.5, -1.0], \"bools\": [true, false],"
               " \"anys\": [null, {\"a\": []}, 3],"
               " \"alts\": [\"s\", 5],"
               " \"unions\": [{\"kind\": \"gamma\"},"
               " {\"kind\": \"alpha\", \"a-value\": 1}]}");

    TestLists *obj = FROM_JSON(TestLists,
                               "{\"ints\": [10, 20, 30], \"strs\": [],"
                               " \"enums\": [], \"structs\": []}");
    int n = 0;
    for (intList *l = obj->ints; l; l = l->next) {
        ck_assert_int_eq(l->value, ++n * 10);
    }
    ck_assert_int_eq(n, 3);
    ck_assert_ptr_null(obj->strs);
    qapi_free_TestLists(obj);
}
END_TEST

START_TEST(test_gen_unions)
{
    ROUND_TRIP(TestUnion, "{\"kind\": \"alpha\", \"a-value\": 5}");
    ROUND_TRIP(TestUnion, "{\"kind\": \"alpha\", \"common\": 0,"
               " \"a-value\": 5, \"a-opt\": \"o\"}");
    ROUND_TRIP(TestUnion, "{\"kind\": \"beta\", \"b-list\": [\"x\"],"
               " \"b-inner\": {\"value\": 9}}");
    ROUND_TRIP(TestUnion, "{\"kind\": \"gamma\", \"common\": -1}");
    ROUND_TRIP(TestUnionNamedBase, "{\"id\": \"i\", \"type\": \"one\","
               " \"value\": 1}");
    ROUND_TRIP(TestUnionNamedBase, "{\"id\": \"i\", \"type\": \"two\","
               " \"base-id\": 2, \"extra\": true}");
    ROUND_TRIP(TestUnionNamedBase, "{\"id\": \"i\", \"type\": \"3rd\"}");
    ROUND_TRIP(TestUnionOfUnion, "{\"outer\": \"flat\", \"value\": 3}");
    ROUND_TRIP(TestUnionOfUnion, "{\"outer\": \"nested\", \"kind\":"
               " \"alpha\", \"a-value\": 5}");

    TestUnion *u = FROM_JSON(TestUnion, "{\"kind\": \"beta\", \"b-list\":"
                             " [\"p\", \"q\"], \"b-inner\": {\"value\": 9}}");
    ck_assert_int_eq(u->kind, TEST_UNION_KIND_BETA);
    ck_assert_str_eq(u->u.beta.b_list->next->value, "q");
    ck_assert_int_eq(u->u.beta.b_inner->value, 9);
    qapi_free_TestUnion(u);

    TestUnionOfUnion *uu = FROM_JSON(TestUnionOfUnion, "{\"outer\":"
                                     " \"nested\", \"kind\": \"beta\","
                                     " \"b-list\": [\"z\"],"
                                     " \"b-inner\": {\"value\": 1}}");
    ck_assert_int_eq(uu->outer, TEST_OUTER_KIND_NESTED);
    ck_assert_int_eq(uu->u.nested.kind, TEST_UNION_KIND_BETA);
    ck_assert_str_eq(uu->u.nested.u.beta.b_list->value, "z");
    qapi_free_TestUnionOfUnion(uu);
}
END_TEST

START_TEST(test_gen_alternates)
{
    ROUND_TRIP(TestAlternates, "{\"str-int\": \"s\"}");
    ROUND_TRIP(TestAlternates, "{\"str-int\": 7, \"num-bool-dict\": 2.5,"
               " \"enum-null\": \"value-a\", \"int-list\": 255}");
    ROUND_TRIP(TestAlternates, "{\"str-int\": 7, \"num-bool-dict\": true,"
               " \"enum-null\": null, \"int-list\": [1, 2]}");
    ROUND_TRIP(TestAlternates, "{\"str-int\": 7,"
               " \"num-bool-dict\": {\"value\": 3}}");

    TestAlternates *a = FROM_JSON(TestAlternates,
                                  "{\"str-int\": 7, \"num-bool-dict\": 4,"
                                  " \"enum-null\": null}");
    ck_assert_int_eq(a->str_int->type, QTYPE_QNUM);
    ck_assert_int_eq(a->str_int->u.i, 7);
    /* A JSON integer is a number too. */
    ck_assert_int_eq(a->num_bool_dict->type, QTYPE_QNUM);
    ck_assert_double_eq(a->num_bool_dict->u.n, 4.0);
    ck_assert_int_eq(a->enum_null->type, QTYPE_QNULL);
    ck_assert_ptr_null(a->int_list);
    qapi_free_TestAlternates(a);
}
END_TEST

/* 'any' takes any JSON value, and a top-level value of any type works. */
START_TEST(test_gen_builtin_lists_and_any)
{
    ROUND_TRIP(anyList, "[1, \"2\", [3], {\"4\": null}, true]");
    ROUND_TRIP(strList, "[\"a\", \"b\"]");
    ROUND_TRIP(sizeList, "[0, 9223372036854775807]");
    ROUND_TRIP(int8List, "[-128, 127]");
}
END_TEST

/* Output: values above INT64_MAX become reals, and read back. */
START_TEST(test_gen_out_big_uint64)
{
    TestOptionals obj = {
        .has_u64 = true, .u64 = UINT64_MAX,
        .has_sz = true, .sz = (1ull << 63) + 2048,
    };
    json_t *result = to_json((QAPIVisitFunc *)visit_type_TestOptionals,
                             &obj);

    ck_assert(json_is_real(json_object_get(result, "u64")));
    char *text = json_dumps(result, 0);
    TestOptionals *back = FROM_JSON(TestOptionals, text);
    free(text);
    json_decref(result);
    ck_assert_uint_eq(back->u64, UINT64_MAX);
    ck_assert_uint_eq(back->sz, (1ull << 63) + 2048);
    qapi_free_TestOptionals(back);
}
END_TEST

/* Output of strings that are not UTF-8: JSON must stay valid. */
START_TEST(test_gen_out_bad_utf8)
{
    TestInner inner = { .value = 1 };
    TestNested obj = { .name = (char *)"caf\xe9", .inner = &inner };
    json_t *result = to_json((QAPIVisitFunc *)visit_type_TestNested, &obj);

    ck_assert_str_eq(json_string_value(json_object_get(result, "name")),
                     "caf\xef\xbf\xbd");
    json_decref(result);
}
END_TEST

/* ---- Generated types: input errors name the full path ---- */

START_TEST(test_gen_err_missing)
{
    IN_ERROR(TestInner, "{}", "Parameter 'value' is missing");
    IN_ERROR(TestNested, "{\"name\": \"n\"}", "Parameter 'inner' is missing");
    IN_ERROR(TestNested, "{\"name\": \"n\", \"inner\": {\"value\": 1},"
             " \"deep\": {}}", "Parameter 'deep.inner' is missing");
    IN_ERROR(TestNested, "{\"name\": \"n\", \"inner\": {\"value\": 1},"
             " \"deep\": {\"inner\": {}}}",
             "Parameter 'deep.inner.value' is missing");
    IN_ERROR(TestDerived, "{\"extra\": true}",
             "Parameter 'base-id' is missing");
    IN_ERROR(TestLists, "{\"ints\": [], \"strs\": [], \"enums\": [],"
             " \"structs\": [{\"value\": 1}, {}]}",
             "Parameter 'structs[1].value' is missing");
}
END_TEST

START_TEST(test_gen_err_unexpected)
{
    IN_ERROR(TestInner, "{\"value\": 1, \"foo\": 2}",
             "Parameter 'foo' is unexpected");
    IN_ERROR(TestEmpty, "{\"x\": null}", "Parameter 'x' is unexpected");
    IN_ERROR(TestNested, "{\"name\": \"n\", \"inner\": {\"value\": 1},"
             " \"deep\": {\"inner\": {\"value\": 3, \"extra\": 1}}}",
             "Parameter 'deep.inner.extra' is unexpected");
    /* Members are matched exactly: no '_' for '-'. */
    IN_ERROR(TestDerived, "{\"base-id\": 1, \"extra\": true,"
             " \"opt_extra\": 1}", "Parameter 'opt_extra' is unexpected");
}
END_TEST

START_TEST(test_gen_err_types)
{
    IN_ERROR(TestInner, "[]",
             "Invalid parameter type for '<anonymous>', expected: object");
    IN_ERROR(TestNested, "{\"name\": 1, \"inner\": {\"value\": 1}}",
             "Invalid parameter type for 'name', expected: string");
    IN_ERROR(TestNested, "{\"name\": \"n\", \"inner\": 1}",
             "Invalid parameter type for 'inner', expected: object");
    IN_ERROR(TestNested, "{\"name\": \"n\", \"inner\": {\"value\": 1},"
             " \"deep\": {\"inner\": {\"value\": \"3\"}}}",
             "Invalid parameter type for 'deep.inner.value', expected: "
             "integer");
    IN_ERROR(TestDerived, "{\"base-id\": 1, \"extra\": \"yes\"}",
             "Invalid parameter type for 'extra', expected: boolean");
    IN_ERROR(TestDerived, "{\"base-id\": 1, \"extra\": true,"
             " \"opt-extra\": -1}",
             "Parameter 'opt-extra' expects uint64 (0..18446744073709551615),"
             " got -1");
    IN_ERROR(TestDerived, "{\"base-id\": 1, \"extra\": true,"
             " \"opt-extra\": 4294967296}",
             "Parameter 'opt-extra' expects uint32 (0..4294967295), got "
             "4294967296");
    IN_ERROR(TestOptionals, "{\"n\": \"1\"}",
             "Invalid parameter type for 'n', expected: number");
    IN_ERROR(TestOptionals, "{\"ints\": {}}",
             "Invalid parameter type for 'ints', expected: array");
    IN_ERROR(TestOptionals, "{\"s\": null}",
             "Invalid parameter type for 's', expected: string");
    IN_ERROR(TestOptionals, "{\"e\": \"value-d\"}",
             "Invalid value 'value-d' for 'e', valid values: 'value-a', "
             "'value-b', 'value-c'");
    IN_ERROR(TestAllScalars, "{\"str\": \"s\", \"number\": 1, \"int\": 1,"
             " \"i8\": 1, \"i16\": 1, \"i32\": 1, \"i64\": 1, \"u8\": 1,"
             " \"u16\": 65536}",
             "Parameter 'u16' expects uint16 (0..65535), got 65536");
}
END_TEST

START_TEST(test_gen_err_lists)
{
    static const char head[] = "{\"strs\": [], \"enums\": [], "
                               "\"structs\": [], ";
    struct {
        const char *tail;
        const char *msg;
    } cases[] = {
        { "\"ints\": [1, 2, \"3\"]}",
          "Invalid parameter type for 'ints[2]', expected: integer" },
        { "\"ints\": [], \"u8s\": [1, 256]}",
          "Parameter 'u8s[1]' expects uint8 (0..255), got 256" },
        { "\"ints\": [], \"unions\": [{\"kind\": \"alpha\", \"a-value\": 1},"
          " {\"kind\": \"beta\", \"b-list\": [\"a\", 2],"
          " \"b-inner\": {\"value\": 1}}]}",
          "Invalid parameter type for 'unions[1].b-list[1]', expected: "
          "string" },
        { "\"ints\": [], \"sizes\": [[1]]}",
          "Invalid parameter type for 'sizes[0]', expected: integer" },
        { "\"ints\": 1}",
          "Invalid parameter type for 'ints', expected: array" },
    };
    for (size_t n = 0; n < G_N_ELEMENTS(cases); n++) {
        g_autofree char *text = g_strconcat(head, cases[n].tail, NULL);
        IN_ERROR(TestLists, text, cases[n].msg);
    }
}
END_TEST

START_TEST(test_gen_err_unions)
{
    IN_ERROR(TestUnion, "{\"kind\": \"delta\"}",
             "Invalid value 'delta' for 'kind', valid values: 'alpha', "
             "'beta', 'gamma'");
    IN_ERROR(TestUnion, "{\"a-value\": 1}", "Parameter 'kind' is missing");
    IN_ERROR(TestUnion, "{\"kind\": 1}",
             "Invalid parameter type for 'kind', expected: string");
    IN_ERROR(TestUnion, "{\"kind\": \"alpha\"}",
             "Parameter 'a-value' is missing");
    /* A member of another branch is just unknown. */
    IN_ERROR(TestUnion, "{\"kind\": \"gamma\", \"a-value\": 1}",
             "Parameter 'a-value' is unexpected");
    IN_ERROR(TestUnion, "{\"kind\": \"beta\", \"b-list\": [],"
             " \"b-inner\": {\"value\": true}}",
             "Invalid parameter type for 'b-inner.value', expected: "
             "integer");
    IN_ERROR(TestUnionNamedBase, "{\"id\": \"i\", \"type\": \"two\","
             " \"base-id\": 2}", "Parameter 'extra' is missing");
}
END_TEST

/* The branch comes from the JSON kind; a kind no branch takes is refused
 * by the generated code. */
START_TEST(test_gen_err_alternates)
{
    IN_ERROR(TestAlternates, "{}", "Parameter 'str-int' is missing");
    IN_ERROR(TestAlternates, "{\"str-int\": true}",
             "Invalid parameter type for 'str-int', expected: TestAltStrInt");
    IN_ERROR(TestAlternates, "{\"str-int\": 1.5}",
             "Invalid parameter type for 'str-int', expected: integer");
    IN_ERROR(TestAlternates, "{\"str-int\": 1, \"num-bool-dict\": \"1\"}",
             "Invalid parameter type for 'num-bool-dict', expected: "
             "TestAltNumBoolDict");
    IN_ERROR(TestAlternates, "{\"str-int\": 1, \"num-bool-dict\": {}}",
             "Parameter 'num-bool-dict.value' is missing");
    IN_ERROR(TestAlternates, "{\"str-int\": 1, \"enum-null\": \"x\"}",
             "Invalid value 'x' for 'enum-null', valid values: 'value-a', "
             "'value-b', 'value-c'");
    IN_ERROR(TestAlternates, "{\"str-int\": 1, \"int-list\": 256}",
             "Parameter 'int-list' expects uint8 (0..255), got 256");
    IN_ERROR(TestAlternates, "{\"str-int\": 1, \"int-list\": [\"a\"]}",
             "Invalid parameter type for 'int-list[0]', expected: integer");
}
END_TEST

/* ---- Deprecation policy with generated types ---- */

START_TEST(test_gen_deprecated_policy)
{
    static const char features[] =
        "{\"plain\": 1, \"old\": 2, \"old-opt\": \"o\", \"fresh\": true}";

    /* Accepted by default. */
    ROUND_TRIP(TestFeatures, features);
    ROUND_TRIP(TestOptionals, "{\"e\": \"value-c\"}");

    qapi_set_deprecated_input_policy(true);
    IN_ERROR(TestFeatures, features,
             "Deprecated parameter 'old' disabled by policy");
    IN_ERROR(TestOptionals, "{\"e\": \"value-c\"}",
             "Deprecated value 'value-c' of parameter 'e' disabled by "
             "policy");
    IN_ERROR(TestLists, "{\"ints\": [], \"strs\": [], \"structs\": [],"
             " \"enums\": [\"value-a\", \"value-c\"]}",
             "Deprecated value 'value-c' of parameter 'enums[1]' disabled "
             "by policy");
    /* Non-deprecated members and values still work; output is
     * unaffected. */
    ROUND_TRIP(TestOptionals, "{\"e\": \"value-b\"}");
    TestOptionals obj = { .has_e = true, .e = TEST_ENUM_VALUE_C };
    json_t *result = to_json((QAPIVisitFunc *)visit_type_TestOptionals,
                             &obj);
    ck_assert_str_eq(json_string_value(json_object_get(result, "e")),
                     "value-c");
    json_decref(result);
}
END_TEST

/* ---- Dealloc ---- */

/* qapi_free_FOO() copes with NULL and with objects built by hand with
 * NULL pointers where members are mandatory (LeakSanitizer checks the
 * rest). */
START_TEST(test_gen_free)
{
    qapi_free_TestNested(NULL);
    qapi_free_TestLists(NULL);
    qapi_free_TestAltStrInt(NULL);

    TestNested *n = g_new0(TestNested, 1);
    n->name = g_strdup("x");
    qapi_free_TestNested(n);

    TestLists *l = g_new0(TestLists, 1);
    l->strs = g_new0(strList, 1);
    l->strs->value = g_strdup("a");
    l->strs->next = g_new0(strList, 1);
    l->strs->next->value = g_strdup("b");
    l->anys = g_new0(anyList, 1);
    l->anys->value = json_pack("{s:[i]}", "k", 1);
    qapi_free_TestLists(l);
}
END_TEST

/* ---- qapi_clone() ---- */

START_TEST(test_clone)
{
    TestAllScalars *orig = FROM_JSON(TestAllScalars, all_scalars_json);
    /* Values JSON cannot carry exactly. */
    orig->u64 = UINT64_MAX - 1;
    orig->size = (1ull << 63) + 1;
    orig->number = NAN;

    TestAllScalars *copy = QAPI_CLONE(TestAllScalars, orig);
    ck_assert_ptr_nonnull(copy);
    ck_assert_ptr_ne(copy, orig);
    ck_assert_str_eq(copy->str, orig->str);
    ck_assert_ptr_ne(copy->str, orig->str);
    ck_assert_uint_eq(copy->u64, UINT64_MAX - 1);
    ck_assert_uint_eq(copy->size, (1ull << 63) + 1);
    ck_assert(isnan(copy->number));
    ck_assert_int_eq(copy->q_int, INT64_MIN);
    ck_assert_int_eq(copy->q_enum, TEST_ENUM_VALUE_B);
    /* 'any' is copied, not shared. */
    ck_assert(json_equal(copy->any, orig->any));
    ck_assert_ptr_ne(copy->any, orig->any);
    json_array_clear(json_object_get(orig->any, "nested"));
    ck_assert_int_eq(json_array_size(json_object_get(copy->any, "nested")),
                     4);
    qapi_free_TestAllScalars(orig);
    qapi_free_TestAllScalars(copy);

    for (int sign = -1; sign <= 1; sign += 2) {
        TestOptionals opt = { .has_n = true, .n = sign * INFINITY };
        TestOptionals *c = QAPI_CLONE(TestOptionals, &opt);
        ck_assert(c->has_n && !c->has_i && !c->s);
        ck_assert_double_eq(c->n, sign * INFINITY);
        qapi_free_TestOptionals(c);
    }

    ck_assert_ptr_null(QAPI_CLONE(TestInner, NULL));
}
END_TEST

/* A clone is equal to its original, for every kind of type. */
START_TEST(test_clone_equal)
{
    static const struct {
        QAPIVisitFunc *visit;
        QAPIFreeFunc *free_fn;
        const char *json;
    } cases[] = {
#define CASE(type, text) \
        { (QAPIVisitFunc *)visit_type_##type, \
          (QAPIFreeFunc *)qapi_free_##type, text }
        CASE(TestUnion, "{\"kind\": \"beta\", \"common\": 1,"
             " \"b-list\": [\"x\", \"y\"], \"b-inner\": {\"value\": 9}}"),
        CASE(TestUnionNamedBase, "{\"id\": \"i\", \"type\": \"two\","
             " \"base-id\": 2, \"extra\": true, \"opt-extra\": 3}"),
        CASE(TestAlternates, "{\"str-int\": \"s\", \"num-bool-dict\": "
             "{\"value\": 1}, \"enum-null\": null, \"int-list\": [1]}"),
        CASE(TestLists, "{\"ints\": [1], \"strs\": [\"a\"], \"enums\":"
             " [\"value-c\"], \"structs\": [{\"value\": 1}], \"anys\":"
             " [{}], \"unions\": [{\"kind\": \"gamma\"}]}"),
        CASE(TestNested, "{\"name\": \"n\", \"inner\": {\"value\": 1},"
             " \"deep\": {\"inner\": {\"value\": 2}}}"),
        CASE(TestEmpty, "{}"),
#undef CASE
    };

    for (size_t n = 0; n < G_N_ELEMENTS(cases); n++) {
        void *orig = from_json(cases[n].visit, cases[n].json, &error_abort);
        void *copy = qapi_clone(orig, cases[n].visit);
        json_t *a = to_json(cases[n].visit, orig);
        json_t *b = to_json(cases[n].visit, copy);
        ck_assert_msg(json_equal(a, b), "clone differs: %s", cases[n].json);
        json_decref(a);
        json_decref(b);
        cases[n].free_fn(orig);
        cases[n].free_fn(copy);
    }
}
END_TEST

/* The original was accepted once; cloning must not re-apply the policy. */
START_TEST(test_clone_ignores_policy)
{
    TestFeatures orig = { .plain = 1, .old = 2, .old_opt = (char *)"o" };
    TestOptionals opt = { .has_e = true, .e = TEST_ENUM_VALUE_C };

    qapi_set_deprecated_input_policy(true);
    TestFeatures *copy = QAPI_CLONE(TestFeatures, &orig);
    ck_assert_int_eq(copy->old, 2);
    ck_assert_str_eq(copy->old_opt, "o");
    qapi_free_TestFeatures(copy);
    TestOptionals *c = QAPI_CLONE(TestOptionals, &opt);
    ck_assert_int_eq(c->e, TEST_ENUM_VALUE_C);
    qapi_free_TestOptionals(c);
}
END_TEST

/* ---- Registration ---- */

static Suite *manual_suite(void)
{
    Suite *s = suite_create("json-visitor");
    TCase *tc = tcase_create("manual");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_in_int);
    tcase_add_test(tc, test_in_int_ranges);
    tcase_add_test(tc, test_in_int_range_keeps_value);
    tcase_add_test(tc, test_in_uint64_big);
    tcase_add_test(tc, test_in_size);
    tcase_add_test(tc, test_in_bool);
    tcase_add_test(tc, test_in_number);
    tcase_add_test(tc, test_in_str);
    tcase_add_test(tc, test_in_null);
    tcase_add_test(tc, test_in_any);
    tcase_add_test(tc, test_in_missing);
    tcase_add_test(tc, test_in_optional);
    tcase_add_test(tc, test_in_unexpected);
    tcase_add_test(tc, test_in_struct_wrong_type);
    tcase_add_test(tc, test_in_error_path);
    tcase_add_test(tc, test_in_list);
    tcase_add_test(tc, test_in_list_leftover);
    tcase_add_test(tc, test_in_alternate_kind);
    tcase_add_test(tc, test_in_enum);
    tcase_add_test(tc, test_in_deprecated_policy);
    tcase_add_test(tc, test_out_scalars);
    tcase_add_test(tc, test_out_enum_invalid);
    tcase_add_test(tc, test_out_optional_and_nesting);
    tcase_add_test(tc, test_round_trip_scalars);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *generated_suite(void)
{
    Suite *s = suite_create("json-visitor-generated");
    TCase *tc = tcase_create("generated");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_gen_all_scalars);
    tcase_add_test(tc, test_gen_optionals);
    tcase_add_test(tc, test_gen_nested_and_base);
    tcase_add_test(tc, test_gen_lists);
    tcase_add_test(tc, test_gen_unions);
    tcase_add_test(tc, test_gen_alternates);
    tcase_add_test(tc, test_gen_builtin_lists_and_any);
    tcase_add_test(tc, test_gen_out_big_uint64);
    tcase_add_test(tc, test_gen_out_bad_utf8);
    tcase_add_test(tc, test_gen_err_missing);
    tcase_add_test(tc, test_gen_err_unexpected);
    tcase_add_test(tc, test_gen_err_types);
    tcase_add_test(tc, test_gen_err_lists);
    tcase_add_test(tc, test_gen_err_unions);
    tcase_add_test(tc, test_gen_err_alternates);
    tcase_add_test(tc, test_gen_deprecated_policy);
    tcase_add_test(tc, test_gen_free);
    tcase_add_test(tc, test_clone);
    tcase_add_test(tc, test_clone_equal);
    tcase_add_test(tc, test_clone_ignores_policy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(manual_suite());

    srunner_add_suite(sr, generated_suite());

    return vmig_check_run(sr);
}
