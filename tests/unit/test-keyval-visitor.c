/*
 * The input visitor in keyval mode: every scalar is a string, parsed
 * according to the type asked for.
 *
 * Inputs come from keyval_parse(), as on the command line, so these tests
 * also pin down how the two fit together (nesting, lists).  Messages from
 * the number parsers (util/cutils.c) are theirs; here we check that the
 * visitor names the full path and keeps the parser's explanation, which
 * quotes the offending value.
 */
#include <check.h>
#include "tests/check-run.h"
#include <stdlib.h>

#include "qapi/keyval.h"
#include "qapi/visitor.h"
#include "test-qapi-types.h"
#include "test-qapi-visit.h"

static json_t *input;
static Visitor *iv;

/* A keyval input visitor over "key=value,..." text. */
static Visitor *kv(const char *params)
{
    visit_free(iv);
    json_decref(input);
    input = keyval_parse(params, NULL, NULL, &error_abort);
    iv = json_input_visitor_new_keyval(input);
    return iv;
}

static void setup(void)
{
    input = NULL;
    iv = NULL;
}

static void teardown(void)
{
    visit_free(iv);
    json_decref(input);
}

static void check_error(Error **err, const char *msg)
{
    ck_assert_msg(*err, "no error, expected \"%s\"", msg);
    ck_assert_str_eq(error_get_pretty(*err), msg);
    error_free_or_abort(err);
}

/* The message starts with "Parameter 'PATH': " and quotes @value. */
static void check_parse_error(Error **err, const char *path,
                              const char *value)
{
    ck_assert_msg(*err, "no error for %s=%s", path, value);
    const char *msg = error_get_pretty(*err);
    g_autofree char *prefix = g_strdup_printf("Parameter '%s': ", path);
    g_autofree char *quoted = g_strdup_printf("'%s'", value);
    ck_assert_msg(g_str_has_prefix(msg, prefix), "\"%s\" lacks \"%s\"", msg,
                  prefix);
    ck_assert_msg(strstr(msg + strlen(prefix), quoted),
                  "\"%s\" does not quote %s", msg, quoted);
    error_free_or_abort(err);
}

/* Runs @visit_call on member "x" of "x=VALUE"; on failure expects a parse
 * error for that value. */
#define CHECK_X(value, visit_call, expect_ok)                                \
    do {                                                                     \
        Error *err_ = NULL;                                                  \
        Visitor *v_ = kv("x=" value);                                        \
        visit_start_struct(v_, NULL, NULL, 0, &error_abort);                 \
        bool ok_ = (visit_call);                                             \
        ck_assert_msg(ok_ == (expect_ok), "x=%s: visit returned %d",         \
                      value, ok_);                                           \
        if (ok_) {                                                           \
            visit_check_struct(v_, &error_abort);                            \
        } else {                                                             \
            check_parse_error(&err_, "x", value);                            \
        }                                                                    \
        visit_end_struct(v_, NULL);                                          \
    } while (0)

START_TEST(test_bool)
{
    static const char *const yes[] = { "on", "yes", "true" };
    static const char *const no[] = { "off", "no", "false" };
    static const char *const bad[] = { "", "1", "0", "ON", "maybe", "onn" };
    bool b;

    for (size_t n = 0; n < G_N_ELEMENTS(yes); n++) {
        g_autofree char *p = g_strdup_printf("x=%s", yes[n]);
        b = false;
        Visitor *v = kv(p);
        visit_start_struct(v, NULL, NULL, 0, &error_abort);
        ck_assert(visit_type_bool(v, "x", &b, &error_abort));
        ck_assert_msg(b, "%s", p);
        visit_end_struct(v, NULL);
    }
    for (size_t n = 0; n < G_N_ELEMENTS(no); n++) {
        g_autofree char *p = g_strdup_printf("x=%s", no[n]);
        b = true;
        Visitor *v = kv(p);
        visit_start_struct(v, NULL, NULL, 0, &error_abort);
        ck_assert(visit_type_bool(v, "x", &b, &error_abort));
        ck_assert_msg(!b, "%s", p);
        visit_end_struct(v, NULL);
    }
    for (size_t n = 0; n < G_N_ELEMENTS(bad); n++) {
        g_autofree char *p = g_strdup_printf("x=%s", bad[n]);
        Error *err = NULL;
        Visitor *v = kv(p);
        visit_start_struct(v, NULL, NULL, 0, &error_abort);
        ck_assert_msg(!visit_type_bool(v, "x", &b, &err), "%s", p);
        check_parse_error(&err, "x", bad[n]);
        visit_end_struct(v, NULL);
    }
}
END_TEST

START_TEST(test_int)
{
    int64_t i;
    int8_t i8;
    uint8_t u8;
    uint32_t u32;
    uint64_t u64;

    CHECK_X("-42", visit_type_int(v_, "x", &i, &err_), true);
    ck_assert_int_eq(i, -42);
    CHECK_X("0x10", visit_type_int(v_, "x", &i, &err_), true);
    ck_assert_int_eq(i, 16);
    CHECK_X("-9223372036854775808", visit_type_int(v_, "x", &i, &err_),
            true);
    ck_assert_int_eq(i, INT64_MIN);
    CHECK_X("18446744073709551615", visit_type_uint64(v_, "x", &u64, &err_),
            true);
    ck_assert_uint_eq(u64, UINT64_MAX);

    CHECK_X("", visit_type_int(v_, "x", &i, &err_), false);
    CHECK_X("abc", visit_type_int(v_, "x", &i, &err_), false);
    CHECK_X("12abc", visit_type_int(v_, "x", &i, &err_), false);
    CHECK_X("1.5", visit_type_int(v_, "x", &i, &err_), false);
    CHECK_X("9223372036854775808", visit_type_int(v_, "x", &i, &err_),
            false);
    CHECK_X("-1", visit_type_uint64(v_, "x", &u64, &err_), false);
    CHECK_X("1k", visit_type_uint32(v_, "x", &u32, &err_), false);

    /* Narrow types: the front-end's range check, same words as JSON. */
    Error *err = NULL;
    Visitor *v = kv("a=127,b=128,c=256");
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(visit_type_int8(v, "a", &i8, &error_abort));
    ck_assert_int_eq(i8, 127);
    ck_assert(!visit_type_int8(v, "b", &i8, &err));
    check_error(&err, "Parameter 'b' expects int8 (-128..127), got 128");
    ck_assert(!visit_type_uint8(v, "c", &u8, &err));
    check_error(&err, "Parameter 'c' expects uint8 (0..255), got 256");
    visit_end_struct(v, NULL);
}
END_TEST

START_TEST(test_size)
{
    static const struct {
        const char *text;
        uint64_t value;
    } good[] = {
        { "0", 0 }, { "4096", 4096 }, { "1k", 1024 }, { "64M", 64ull << 20 },
        { "2G", 2ull << 30 }, { "1T", 1ull << 40 }, { "1.5G", 3ull << 29 },
    };
    static const char *const bad[] = {
        "", "M", "-1", "1Q", "12 M", "0.3", "20E",
    };
    uint64_t sz;

    for (size_t n = 0; n < G_N_ELEMENTS(good); n++) {
        g_autofree char *p = g_strdup_printf("x=%s", good[n].text);
        Visitor *v = kv(p);
        visit_start_struct(v, NULL, NULL, 0, &error_abort);
        ck_assert(visit_type_size(v, "x", &sz, &error_abort));
        ck_assert_msg(sz == good[n].value, "%s gave %" G_GUINT64_FORMAT, p,
                      sz);
        visit_end_struct(v, NULL);
    }
    for (size_t n = 0; n < G_N_ELEMENTS(bad); n++) {
        g_autofree char *p = g_strdup_printf("x=%s", bad[n]);
        Error *err = NULL;
        Visitor *v = kv(p);
        visit_start_struct(v, NULL, NULL, 0, &error_abort);
        ck_assert_msg(!visit_type_size(v, "x", &sz, &err), "%s", p);
        check_parse_error(&err, "x", bad[n]);
        visit_end_struct(v, NULL);
    }
}
END_TEST

START_TEST(test_number)
{
    double d;

    CHECK_X("2.5", visit_type_number(v_, "x", &d, &err_), true);
    ck_assert_double_eq(d, 2.5);
    CHECK_X("-3", visit_type_number(v_, "x", &d, &err_), true);
    ck_assert_double_eq(d, -3.0);
    CHECK_X("", visit_type_number(v_, "x", &d, &err_), false);
    CHECK_X("two", visit_type_number(v_, "x", &d, &err_), false);
    CHECK_X("1.5x", visit_type_number(v_, "x", &d, &err_), false);
}
END_TEST

/* Strings are taken verbatim, including what looks like other types. */
START_TEST(test_str)
{
    char *s = NULL;
    Visitor *v = kv("a=on,b=12,c=,d=x,,y");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    static const char *const want[][2] = {
        { "a", "on" }, { "b", "12" }, { "c", "" }, { "d", "x,y" },
    };
    for (size_t n = 0; n < G_N_ELEMENTS(want); n++) {
        ck_assert(visit_type_str(v, want[n][0], &s, &error_abort));
        ck_assert_str_eq(s, want[n][1]);
        g_free(s);
    }
    visit_check_struct(v, &error_abort);
    visit_end_struct(v, NULL);
}
END_TEST

static const char *const mode_names[] = { "normal", "postcopy" };
static const QEnumLookup mode_lookup = {
    .array = mode_names, .size = 2,
};

START_TEST(test_enum)
{
    Error *err = NULL;
    int mode = -1;
    Visitor *v = kv("mode=postcopy,bad=xyz");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(visit_type_enum(v, "mode", &mode, &mode_lookup, &error_abort));
    ck_assert_int_eq(mode, 1);
    ck_assert(!visit_type_enum(v, "bad", &mode, &mode_lookup, &err));
    check_error(&err, "Invalid value 'xyz' for 'bad', valid values: "
                "'normal', 'postcopy'");
    visit_end_struct(v, NULL);
}
END_TEST

/* "null" is spelt as an empty value. */
START_TEST(test_null)
{
    Error *err = NULL;
    Visitor *v = kv("a=,b=null");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(visit_type_null(v, "a", &error_abort));
    ck_assert(!visit_type_null(v, "b", &err));
    check_error(&err, "Invalid parameter type for 'b', expected: null");
    visit_end_struct(v, NULL);
}
END_TEST

/* Dotted keys are nested structs; the path in errors is the dotted key. */
START_TEST(test_nested)
{
    Error *err = NULL;
    uint16_t port;
    char *host = NULL;
    bool present;
    Visitor *v = kv("addr.host=localhost,addr.port=99999,id=m0");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_start_struct(v, "addr", NULL, 0, &error_abort);
    visit_type_str(v, "host", &host, &error_abort);
    ck_assert_str_eq(host, "localhost");
    g_free(host);
    ck_assert(!visit_type_uint16(v, "port", &port, &err));
    check_error(&err,
                "Parameter 'addr.port' expects uint16 (0..65535), got 99999");
    ck_assert(!visit_optional(v, "family", &present));
    visit_check_struct(v, &error_abort);
    visit_end_struct(v, NULL);
    /* "id" was not visited. */
    ck_assert(!visit_check_struct(v, &err));
    check_error(&err, "Parameter 'id' is unexpected");
    visit_end_struct(v, NULL);

    /* A key used as a struct where a scalar is wanted, and vice versa. */
    v = kv("a.b=1,c=2");
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(!visit_type_size(v, "a", &(uint64_t){0}, &err));
    check_error(&err, "Invalid parameter type for 'a', expected: size");
    ck_assert(!visit_start_struct(v, "c", NULL, 0, &err));
    check_error(&err, "Invalid parameter type for 'c', expected: object");
    visit_end_struct(v, NULL);

    v = kv("a.b.c=x");
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_start_struct(v, "a", NULL, 0, &error_abort);
    visit_start_struct(v, "b", NULL, 0, &error_abort);
    ck_assert(!visit_type_bool(v, "c", &(bool){0}, &err));
    check_parse_error(&err, "a.b.c", "x");
    ck_assert(!visit_type_int(v, "d", &(int64_t){0}, &err));
    check_error(&err, "Parameter 'a.b.d' is missing");
    visit_end_struct(v, NULL);
    visit_end_struct(v, NULL);
    visit_end_struct(v, NULL);
}
END_TEST

/* Lists are "key.N=..."; errors name elements the same way. */
START_TEST(test_list)
{
    Error *err = NULL;
    GenericList *head = NULL;
    const size_t node = sizeof(GenericList) + sizeof(uint64_t);
    Visitor *v = kv("sizes.0=1k,sizes.1=2M,sizes.2=oops");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(visit_start_list(v, "sizes", &head, node, &error_abort));
    GenericList *tail = head;
    ck_assert(visit_type_size(v, NULL, (uint64_t *)tail->padding,
                              &error_abort));
    ck_assert_uint_eq(*(uint64_t *)tail->padding, 1024);
    tail = visit_next_list(v, tail, node);
    ck_assert(visit_type_size(v, NULL, (uint64_t *)tail->padding,
                              &error_abort));
    ck_assert_uint_eq(*(uint64_t *)tail->padding, 2ull << 20);
    tail = visit_next_list(v, tail, node);
    ck_assert(!visit_type_size(v, NULL, (uint64_t *)tail->padding, &err));
    check_parse_error(&err, "sizes.2", "oops");
    ck_assert_ptr_null(visit_next_list(v, tail, node));
    visit_end_list(v, NULL);
    visit_end_struct(v, NULL);
    while (head) {
        GenericList *next = head->next;
        g_free(head);
        head = next;
    }

    /* Structs in a list. */
    v = kv("chans.0.port=1,chans.1.port=x");
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_start_list(v, "chans", &head, node, &error_abort);
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_type_int(v, "port", &(int64_t){0}, &error_abort);
    visit_end_struct(v, NULL);
    tail = visit_next_list(v, head, node);
    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    ck_assert(!visit_type_int(v, "port", &(int64_t){0}, &err));
    check_parse_error(&err, "chans.1.port", "x");
    visit_end_struct(v, NULL);
    visit_end_list(v, NULL);
    visit_end_struct(v, NULL);
    g_free(tail);
    g_free(head);
}
END_TEST

/* Alternates cannot tell scalar kinds apart in keyval: always a string. */
START_TEST(test_alternate)
{
    GenericAlternate *alt = NULL;
    Visitor *v = kv("a=1,b.c=2");

    visit_start_struct(v, NULL, NULL, 0, &error_abort);
    visit_start_alternate(v, "a", &alt, sizeof(*alt) + 8, &error_abort);
    ck_assert_int_eq(alt->type, QTYPE_QSTRING);
    visit_end_alternate(v, (void **)&alt);
    g_free(alt);
    visit_start_alternate(v, "b", &alt, sizeof(*alt) + 8, &error_abort);
    ck_assert_int_eq(alt->type, QTYPE_QDICT);
    visit_end_alternate(v, (void **)&alt);
    g_free(alt);
    visit_end_struct(v, NULL);
}
END_TEST

/* ---- Generated types from keyval text ---- */

typedef bool VisitFunc(Visitor *v, const char *name, void **obj,
                       Error **errp);

static void *from_kv(VisitFunc *visit, const char *params, Error **errp)
{
    void *obj = (void *)&obj;       /* must be overwritten */
    bool ok = visit(kv(params), NULL, &obj, errp);

    ck_assert_msg(ok == (obj != NULL), "%s: returned %d", params, ok);
    return obj;
}

#define FROM_KV(type, params) \
    ((type *)from_kv((VisitFunc *)visit_type_##type, (params), \
                     &error_abort))

static void kv_error(VisitFunc *visit, const char *params, const char *msg)
{
    Error *err = NULL;

    ck_assert_ptr_null(from_kv(visit, params, &err));
    check_error(&err, msg);
}

#define KV_ERROR(type, params, msg) \
    kv_error((VisitFunc *)visit_type_##type, (params), (msg))

START_TEST(test_gen_struct)
{
    TestAllScalars *all = FROM_KV(TestAllScalars,
        "str=hello,number=1e3,int=-0x10,i8=-128,i16=0,i32=7,i64=1,u8=255,"
        "u16=1,u32=2,u64=18446744073709551615,size=1.5k,bool=yes,any=raw,"
        "enum=value-b");

    ck_assert_str_eq(all->str, "hello");
    ck_assert_double_eq(all->number, 1000.0);
    ck_assert_int_eq(all->q_int, -16);
    ck_assert_int_eq(all->i8, -128);
    ck_assert_uint_eq(all->u64, UINT64_MAX);
    ck_assert_uint_eq(all->size, 1536);
    ck_assert(all->q_bool);
    /* 'any' gets the keyval tree as is: a string. */
    ck_assert_str_eq(json_string_value(all->any), "raw");
    ck_assert_int_eq(all->q_enum, TEST_ENUM_VALUE_B);
    qapi_free_TestAllScalars(all);

    TestNested *n = FROM_KV(TestNested, "name=n,inner.value=1,"
                            "deep.inner.value=0x20,deep.label=x");
    ck_assert_int_eq(n->inner->value, 1);
    ck_assert_ptr_null(n->opt_inner);
    ck_assert_int_eq(n->deep->inner->value, 32);
    ck_assert_str_eq(n->deep->label, "x");
    qapi_free_TestNested(n);

    TestOptionals *o = FROM_KV(TestOptionals, "b=off,sz=64M");
    ck_assert(o->has_b && !o->b);
    ck_assert(o->has_sz);
    ck_assert_uint_eq(o->sz, 64ull << 20);
    ck_assert(!o->has_i && !o->has_n);
    qapi_free_TestOptionals(o);
}
END_TEST

START_TEST(test_gen_lists)
{
    TestLists *l = FROM_KV(TestLists,
                           "ints.0=1,ints.1=-2,strs.0=a,enums.0=value-a,"
                           "structs.0.value=5,structs.1.value=6,"
                           "sizes.0=4k,bools.0=on,bools.1=off");

    ck_assert_int_eq(l->ints->next->value, -2);
    ck_assert_ptr_null(l->ints->next->next);
    ck_assert_str_eq(l->strs->value, "a");
    ck_assert_int_eq(l->structs->next->value->value, 6);
    ck_assert_uint_eq(l->sizes->value, 4096);
    ck_assert(l->bools->value && !l->bools->next->value);
    qapi_free_TestLists(l);
}
END_TEST

START_TEST(test_gen_union)
{
    TestUnion *u = FROM_KV(TestUnion, "kind=beta,b-list.0=x,b-inner.value=2,"
                           "common=3");

    ck_assert_int_eq(u->kind, TEST_UNION_KIND_BETA);
    ck_assert(u->has_common);
    ck_assert_int_eq(u->common, 3);
    ck_assert_str_eq(u->u.beta.b_list->value, "x");
    qapi_free_TestUnion(u);

    KV_ERROR(TestUnion, "kind=delta",
             "Invalid value 'delta' for 'kind', valid values: 'alpha', "
             "'beta', 'gamma'");
    KV_ERROR(TestUnion, "kind=alpha,a-value=1,b-list.0=x",
             "Parameter 'b-list' is unexpected");
}
END_TEST

/* Keyval cannot tell scalar kinds apart: with a string branch the string
 * wins; without one, bool then number are tried. */
START_TEST(test_gen_alternates)
{
    TestAlternates *a = FROM_KV(TestAlternates, "str-int=5,num-bool-dict=on,"
                                "enum-null=value-b");

    ck_assert_int_eq(a->str_int->type, QTYPE_QSTRING);
    ck_assert_str_eq(a->str_int->u.s, "5");
    ck_assert_int_eq(a->num_bool_dict->type, QTYPE_QBOOL);
    ck_assert(a->num_bool_dict->u.b);
    ck_assert_int_eq(a->enum_null->type, QTYPE_QSTRING);
    ck_assert_int_eq(a->enum_null->u.e, TEST_ENUM_VALUE_B);
    qapi_free_TestAlternates(a);

    a = FROM_KV(TestAlternates, "str-int=x,num-bool-dict=2.5");
    ck_assert_int_eq(a->num_bool_dict->type, QTYPE_QNUM);
    ck_assert_double_eq(a->num_bool_dict->u.n, 2.5);
    qapi_free_TestAlternates(a);

    a = FROM_KV(TestAlternates, "str-int=x,num-bool-dict.value=7");
    ck_assert_int_eq(a->num_bool_dict->type, QTYPE_QDICT);
    ck_assert_int_eq(a->num_bool_dict->u.d->value, 7);
    qapi_free_TestAlternates(a);

    KV_ERROR(TestAlternates, "str-int=x,num-bool-dict=maybe",
             "Invalid parameter type for 'num-bool-dict', expected: "
             "TestAltNumBoolDict");
}
END_TEST

/* Errors in generated walks carry the dotted path of the key. */
START_TEST(test_gen_errors)
{
    KV_ERROR(TestNested, "name=n", "Parameter 'inner' is missing");
    KV_ERROR(TestNested, "name=n,inner.value=1,inner.junk=2",
             "Parameter 'inner.junk' is unexpected");
    KV_ERROR(TestNested, "name=n,inner=1",
             "Invalid parameter type for 'inner', expected: object");
    KV_ERROR(TestNested, "name.x=n,inner.value=1",
             "Invalid parameter type for 'name', expected: string");
    KV_ERROR(TestLists, "ints.0=1,strs.0=a,enums.0=value-a,"
             "structs.0.value=1,u8s.0=1,u8s.1=300",
             "Parameter 'u8s.1' expects uint8 (0..255), got 300");
    KV_ERROR(TestLists, "ints=1,strs.0=a,enums.0=value-a,structs.0.value=1",
             "Invalid parameter type for 'ints', expected: array");

    Error *err = NULL;
    ck_assert_ptr_null(from_kv((VisitFunc *)visit_type_TestNested,
                               "name=n,inner.value=1,"
                               "deep.inner.value=1x", &err));
    check_parse_error(&err, "deep.inner.value", "1x");
    ck_assert_ptr_null(from_kv((VisitFunc *)visit_type_TestLists,
                               "ints.0=1,strs.0=a,enums.0=value-a,"
                               "structs.0.value=1,bools.0=on,bools.1=2",
                               &err));
    check_parse_error(&err, "bools.1", "2");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keyval-visitor");
    TCase *tc = tcase_create("keyval");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bool);
    tcase_add_test(tc, test_int);
    tcase_add_test(tc, test_size);
    tcase_add_test(tc, test_number);
    tcase_add_test(tc, test_str);
    tcase_add_test(tc, test_enum);
    tcase_add_test(tc, test_null);
    tcase_add_test(tc, test_nested);
    tcase_add_test(tc, test_list);
    tcase_add_test(tc, test_alternate);
    tcase_add_test(tc, test_gen_struct);
    tcase_add_test(tc, test_gen_lists);
    tcase_add_test(tc, test_gen_union);
    tcase_add_test(tc, test_gen_alternates);
    tcase_add_test(tc, test_gen_errors);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    return vmig_check_run(sr);
}
