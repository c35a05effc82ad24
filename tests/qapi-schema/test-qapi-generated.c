/*
 * What the QAPI generator emits, checked through the test schema
 * (qapi-schema-test.json, prefix 'test-'): C layout and names, visitors
 * for structs, unions, alternates and lists, command marshalling and
 * registration, event senders, introspection data and struct reflection.
 *
 * The visitors themselves are tested in tests/unit/test-json-visitor.c;
 * here the question is whether the generated code drives them right.
 */
#include <check.h>
#include "tests/check-run.h"
#include <stddef.h>
#include <string.h>

#include "qapi/compat-policy.h"
#include "qapi/qmp-registry.h"
#include "qapi/struct-info.h"
#include "qapi/visitor.h"
#include "test-qapi-commands.h"
#include "test-qapi-events.h"
#include "test-qapi-features.h"
#include "test-qapi-init-commands.h"
#include "test-qapi-introspect.h"
#include "test-qapi-types.h"
#include "test-qapi-visit.h"

/* ---- Helpers ---- */

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &jerr);

    ck_assert_msg(value, "bad JSON in test: %s: %s", text, jerr.text);
    return value;
}

static void assert_json_eq(json_t *got, const char *want_text)
{
    json_t *want = parse(want_text);
    char *dump = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);

    ck_assert_msg(json_equal(got, want), "got %s, want %s",
                  dump ? dump : "NULL", want_text);
    free(dump);
    json_decref(want);
}

/* The output visitor's JSON for @obj via @visit (a visit_type_FOO). */
#define TO_JSON(visit, obj)                                                  \
    ({                                                                       \
        Visitor *v_ = json_output_visitor_new();                             \
        json_t *r_ = NULL;                                                   \
        __typeof__(obj) o_ = (obj);                                          \
        ck_assert(visit(v_, NULL, &o_, &error_abort));                       \
        visit_complete(v_, &r_);                                             \
        visit_free(v_);                                                      \
        r_;                                                                  \
    })

/* Parses @text with @visit; NULL with *errp set on failure. */
#define FROM_JSON(visit, type, text, keyval, errp)                           \
    ({                                                                       \
        json_t *j_ = parse(text);                                            \
        Visitor *v_ = (keyval) ? json_input_visitor_new_keyval(j_)           \
                               : json_input_visitor_new(j_);                 \
        type *o_ = NULL;                                                     \
        bool ok_ = visit(v_, NULL, &o_, (errp));                             \
        ck_assert(ok_ == (o_ != NULL));                                      \
        visit_free(v_);                                                      \
        json_decref(j_);                                                     \
        o_;                                                                  \
    })

static void check_error(Error **err, const char *msg)
{
    ck_assert_msg(*err, "no error, expected \"%s\"", msg);
    ck_assert_str_eq(error_get_pretty(*err), msg);
    error_free_or_abort(err);
}

/* ---- Types: names and layout ---- */

START_TEST(test_enum_names)
{
    ck_assert_int_eq(TEST_ENUM_VALUE_A, 0);
    ck_assert_int_eq(TEST_ENUM__MAX, 3);
    ck_assert_str_eq(TestEnum_str(TEST_ENUM_VALUE_C), "value-c");
    /* 'prefix' and a value starting with a digit */
    ck_assert_int_eq(TEST_PFX_3RD, 2);
    ck_assert_str_eq(TestPrefixedEnum_str(TEST_PFX_3RD), "3rd");
    ck_assert_str_eq(TestKeywordEnum_str(TEST_KEYWORD_ENUM_UNIX), "unix");
    ck_assert_int_eq(TestEnum_lookup.size, TEST_ENUM__MAX);
    /* Per-value features: only the deprecated value has one. */
    ck_assert_ptr_nonnull(TestEnum_lookup.features);
    ck_assert_uint_eq(TestEnum_lookup.features[TEST_ENUM_VALUE_C],
                      QAPI_FEATURE_DEPRECATED);
    ck_assert_uint_eq(TestEnum_lookup.features[TEST_ENUM_VALUE_A], 0);
    ck_assert_ptr_null(TestPrefixedEnum_lookup.features);
    /* The event enum */
    ck_assert_str_eq(test_QAPIEvent_str(TEST_QAPI_EVENT_TEST_EVENT_ARGS),
                     "TEST_EVENT_ARGS");
}
END_TEST

START_TEST(test_features_bits)
{
    unsigned custom = QAPI_FEATURE_TEST_CUSTOM | QAPI_FEATURE_TEST_RUNTIME;

    ck_assert_uint_eq(QAPI_FEATURE_TEST_CUSTOM,
                      1u << QAPI_FEATURE_CUSTOM_FIRST_BIT);
    ck_assert_uint_ne(QAPI_FEATURE_TEST_CUSTOM, QAPI_FEATURE_TEST_RUNTIME);
    ck_assert_uint_eq(custom & (QAPI_FEATURE_DEPRECATED |
                                QAPI_FEATURE_UNSTABLE), 0);
}
END_TEST

START_TEST(test_struct_layout)
{
    /* Base members come first, in the same layout as the base. */
    ck_assert_uint_eq(offsetof(TestDerived, base_id),
                      offsetof(TestBase, base_id));
    ck_assert_uint_eq(offsetof(TestDerived, base_name),
                      offsetof(TestBase, base_name));
    ck_assert_uint_gt(offsetof(TestDerived, extra),
                      offsetof(TestDerived, base_name));

    /* Optional scalars have has_ flags; optional pointers don't. */
    TestOptionals o = { .has_i = true, .i = 1, .s = NULL };
    ck_assert(o.has_i && !o.has_u16);

    /* Keywords get 'q_' */
    TestKeywords k = { .q_default = 1, .q_case = NULL, .has_q_unix = true };
    ck_assert_int_eq(k.q_default, 1);
}
END_TEST

/* ---- Visitors ---- */

START_TEST(test_visit_all_scalars)
{
    static const char text[] =
        "{\"str\": \"s\", \"number\": 1.5, \"int\": -1, \"i8\": -128,"
        " \"i16\": 32767, \"i32\": -5, \"i64\": 9007199254740993,"
        " \"u8\": 255, \"u16\": 65535, \"u32\": 4294967295,"
        " \"u64\": 12, \"size\": 4096, \"bool\": true,"
        " \"any\": {\"x\": [1, null]}, \"enum\": \"value-b\"}";
    g_autoptr(TestAllScalars) obj =
        FROM_JSON(visit_type_TestAllScalars, TestAllScalars, text, false,
                  &error_abort);

    ck_assert_str_eq(obj->str, "s");
    ck_assert_int_eq(obj->i8, -128);
    ck_assert_uint_eq(obj->u32, 4294967295u);
    ck_assert_int_eq(obj->q_enum, TEST_ENUM_VALUE_B);
    json_t *back = TO_JSON(visit_type_TestAllScalars, obj);
    assert_json_eq(back, text);
    json_decref(back);
}
END_TEST

START_TEST(test_visit_optionals)
{
    Error *err = NULL;
    g_autoptr(TestOptionals) none =
        FROM_JSON(visit_type_TestOptionals, TestOptionals, "{}", false,
                  &error_abort);

    ck_assert(!none->has_i && !none->has_e && !none->has_sz);
    ck_assert_ptr_null(none->s);
    ck_assert_ptr_null(none->inner);
    json_t *back = TO_JSON(visit_type_TestOptionals, none);
    assert_json_eq(back, "{}");
    json_decref(back);

    static const char all[] =
        "{\"s\": \"x\", \"i\": 1, \"i8\": 2, \"u16\": 3, \"u64\": 4,"
        " \"sz\": 5, \"b\": false, \"n\": 0.5, \"e\": \"value-a\","
        " \"a\": \"any\", \"inner\": {\"value\": 6}, \"ints\": [7, 8],"
        " \"alt\": 9}";
    g_autoptr(TestOptionals) some =
        FROM_JSON(visit_type_TestOptionals, TestOptionals, all, false,
                  &error_abort);
    ck_assert(some->has_b && !some->b);
    ck_assert(some->has_e && some->e == TEST_ENUM_VALUE_A);
    ck_assert_int_eq(some->inner->value, 6);
    ck_assert_int_eq(some->ints->next->value, 8);
    ck_assert_int_eq(some->alt->type, QTYPE_QNUM);
    ck_assert_int_eq(some->alt->u.i, 9);
    back = TO_JSON(visit_type_TestOptionals, some);
    assert_json_eq(back, all);
    json_decref(back);

    /* A failure deep inside frees everything built so far (ASan). */
    TestOptionals *bad = FROM_JSON(visit_type_TestOptionals, TestOptionals,
                                   "{\"s\": \"x\", \"ints\": [1, \"two\"]}",
                                   false, &err);
    ck_assert_ptr_null(bad);
    ck_assert_ptr_nonnull(err);
    error_free(err);
}
END_TEST

START_TEST(test_visit_nested_and_base)
{
    Error *err = NULL;
    g_autoptr(TestNested) n =
        FROM_JSON(visit_type_TestNested, TestNested,
                  "{\"name\": \"n\", \"inner\": {\"value\": 1},"
                  " \"deep\": {\"inner\": {\"value\": 2}}}", false,
                  &error_abort);

    ck_assert_int_eq(n->deep->inner->value, 2);
    ck_assert_ptr_null(n->opt_inner);

    g_autoptr(TestDerived) d =
        FROM_JSON(visit_type_TestDerived, TestDerived,
                  "{\"base-id\": 3, \"extra\": true}", false, &error_abort);
    ck_assert_int_eq(d->base_id, 3);
    ck_assert(d->extra && !d->has_opt_extra);

    /* Members of the base are checked like the struct's own. */
    TestDerived *bad = FROM_JSON(visit_type_TestDerived, TestDerived,
                                 "{\"extra\": true}", false, &err);
    ck_assert_ptr_null(bad);
    check_error(&err, "Parameter 'base-id' is missing");

    bad = FROM_JSON(visit_type_TestDerived, TestDerived,
                    "{\"base-id\": 1, \"extra\": true, \"bogus\": 1}", false,
                    &err);
    ck_assert_ptr_null(bad);
    check_error(&err, "Parameter 'bogus' is unexpected");
}
END_TEST

START_TEST(test_visit_union)
{
    Error *err = NULL;
    static const char beta[] =
        "{\"kind\": \"beta\", \"common\": 1, \"b-list\": [\"x\", \"y\"],"
        " \"b-inner\": {\"value\": 2}}";
    g_autoptr(TestUnion) u = FROM_JSON(visit_type_TestUnion, TestUnion, beta,
                                       false, &error_abort);

    ck_assert_int_eq(u->kind, TEST_UNION_KIND_BETA);
    ck_assert(u->has_common);
    ck_assert_str_eq(u->u.beta.b_list->next->value, "y");
    ck_assert_int_eq(u->u.beta.b_inner->value, 2);
    json_t *back = TO_JSON(visit_type_TestUnion, u);
    assert_json_eq(back, beta);
    json_decref(back);

    /* An empty branch */
    g_autoptr(TestUnion) g = FROM_JSON(visit_type_TestUnion, TestUnion,
                                       "{\"kind\": \"gamma\"}", false,
                                       &error_abort);
    ck_assert_int_eq(g->kind, TEST_UNION_KIND_GAMMA);

    /* Branch members belong to their branch only. */
    TestUnion *bad = FROM_JSON(visit_type_TestUnion, TestUnion,
                               "{\"kind\": \"alpha\", \"a-value\": 1,"
                               " \"b-list\": []}", false, &err);
    ck_assert_ptr_null(bad);
    check_error(&err, "Parameter 'b-list' is unexpected");

    bad = FROM_JSON(visit_type_TestUnion, TestUnion,
                    "{\"kind\": \"delta\"}", false, &err);
    ck_assert_ptr_null(bad);
    ck_assert_ptr_nonnull(err);
    error_free(err);

    /* Named base; a branch with a base of its own */
    g_autoptr(TestUnionNamedBase) nb =
        FROM_JSON(visit_type_TestUnionNamedBase, TestUnionNamedBase,
                  "{\"id\": \"i\", \"type\": \"two\", \"base-id\": 1,"
                  " \"extra\": false}", false, &error_abort);
    ck_assert_int_eq(nb->type, TEST_PFX_TWO);
    ck_assert_int_eq(nb->u.two.base_id, 1);
}
END_TEST

START_TEST(test_visit_alternates)
{
    Error *err = NULL;
    g_autoptr(TestAlternates) a =
        FROM_JSON(visit_type_TestAlternates, TestAlternates,
                  "{\"str-int\": \"s\", \"num-bool-dict\": {\"value\": 1},"
                  " \"enum-null\": null, \"int-list\": [1, 2]}", false,
                  &error_abort);

    ck_assert_int_eq(a->str_int->type, QTYPE_QSTRING);
    ck_assert_str_eq(a->str_int->u.s, "s");
    ck_assert_int_eq(a->num_bool_dict->type, QTYPE_QDICT);
    ck_assert_int_eq(a->num_bool_dict->u.d->value, 1);
    ck_assert_int_eq(a->enum_null->type, QTYPE_QNULL);
    ck_assert_int_eq(a->int_list->type, QTYPE_QLIST);
    json_t *back = TO_JSON(visit_type_TestAlternates, a);
    assert_json_eq(back, "{\"str-int\": \"s\", \"num-bool-dict\":"
                   " {\"value\": 1}, \"enum-null\": null,"
                   " \"int-list\": [1, 2]}");
    json_decref(back);

    g_autoptr(TestAltEnumNull) e =
        FROM_JSON(visit_type_TestAltEnumNull, TestAltEnumNull, "\"value-b\"",
                  false, &error_abort);
    ck_assert_int_eq(e->u.e, TEST_ENUM_VALUE_B);

    /* A JSON kind with no branch */
    TestAltStrInt *bad = FROM_JSON(visit_type_TestAltStrInt, TestAltStrInt,
                                   "true", false, &err);
    ck_assert_ptr_null(bad);
    check_error(&err, "Invalid parameter type for 'null', expected: "
                "TestAltStrInt");
    /* A failing branch frees the alternate (ASan). */
    TestAltIntArray *bad2 = FROM_JSON(visit_type_TestAltIntArray,
                                      TestAltIntArray, "[1, \"x\"]", false,
                                      &err);
    ck_assert_ptr_null(bad2);
    ck_assert_ptr_nonnull(err);
    error_free(err);
}
END_TEST

/* Keyval input has strings only: see genvisit.py for the rule. */
START_TEST(test_visit_alternates_keyval)
{
    Error *err = NULL;
    g_autoptr(TestAltStrInt) s = FROM_JSON(visit_type_TestAltStrInt,
                                           TestAltStrInt, "\"42\"", true,
                                           &error_abort);

    /* A string branch takes every string */
    ck_assert_int_eq(s->type, QTYPE_QSTRING);
    ck_assert_str_eq(s->u.s, "42");

    g_autoptr(TestAltNumBoolDict) b =
        FROM_JSON(visit_type_TestAltNumBoolDict, TestAltNumBoolDict,
                  "\"on\"", true, &error_abort);
    ck_assert_int_eq(b->type, QTYPE_QBOOL);
    ck_assert(b->u.b);

    g_autoptr(TestAltNumBoolDict) n =
        FROM_JSON(visit_type_TestAltNumBoolDict, TestAltNumBoolDict,
                  "\"2.5\"", true, &error_abort);
    ck_assert_int_eq(n->type, QTYPE_QNUM);
    ck_assert(n->u.n == 2.5);

    g_autoptr(TestAltNumBoolDict) d =
        FROM_JSON(visit_type_TestAltNumBoolDict, TestAltNumBoolDict,
                  "{\"value\": \"7\"}", true, &error_abort);
    ck_assert_int_eq(d->type, QTYPE_QDICT);
    ck_assert_int_eq(d->u.d->value, 7);

    TestAltNumBoolDict *bad =
        FROM_JSON(visit_type_TestAltNumBoolDict, TestAltNumBoolDict,
                  "\"maybe\"", true, &err);
    ck_assert_ptr_null(bad);
    check_error(&err, "Invalid parameter type for 'null', expected: "
                "TestAltNumBoolDict");

    /* Also inside a list, where values are consumed by position */
    g_autoptr(TestAlternates) l =
        FROM_JSON(visit_type_TestAlternates, TestAlternates,
                  "{\"str-int\": \"1\", \"num-bool-dict\": \"off\"}", true,
                  &error_abort);
    ck_assert_int_eq(l->num_bool_dict->type, QTYPE_QBOOL);
    ck_assert(!l->num_bool_dict->u.b);
}
END_TEST

START_TEST(test_visit_lists)
{
    static const char text[] =
        "{\"ints\": [1, 2, 3], \"strs\": [], \"enums\": [\"value-b\"],"
        " \"structs\": [{\"value\": 1}, {\"value\": 2}],"
        " \"u8s\": [255], \"sizes\": [0], \"numbers\": [0.25],"
        " \"bools\": [true], \"anys\": [{}, 1],"
        " \"alts\": [1, \"x\"],"
        " \"unions\": [{\"kind\": \"alpha\", \"a-value\": 1}]}";
    Error *err = NULL;
    g_autoptr(TestLists) l = FROM_JSON(visit_type_TestLists, TestLists, text,
                                       false, &error_abort);

    ck_assert_int_eq(l->ints->next->next->value, 3);
    ck_assert_ptr_null(l->strs);
    ck_assert_int_eq(l->enums->value, TEST_ENUM_VALUE_B);
    ck_assert_int_eq(l->structs->next->value->value, 2);
    ck_assert_int_eq(l->unions->value->u.alpha.a_value, 1);
    json_t *back = TO_JSON(visit_type_TestLists, l);
    assert_json_eq(back, text);
    json_decref(back);

    TestLists *bad = FROM_JSON(visit_type_TestLists, TestLists,
                               "{\"ints\": [], \"strs\": [], \"enums\": [],"
                               " \"structs\": [{\"value\": 1}, {}]}", false,
                               &err);
    ck_assert_ptr_null(bad);
    check_error(&err, "Parameter 'structs[1].value' is missing");
}
END_TEST

START_TEST(test_visit_deprecated)
{
    Error *err = NULL;
    g_autoptr(TestFeatures) ok =
        FROM_JSON(visit_type_TestFeatures, TestFeatures,
                  "{\"plain\": 1, \"old\": 2, \"old-opt\": \"x\"}", false,
                  &error_abort);

    ck_assert_int_eq(ok->old, 2);

    qapi_set_deprecated_input_policy(true);
    TestFeatures *bad = FROM_JSON(visit_type_TestFeatures, TestFeatures,
                                  "{\"plain\": 1, \"old\": 2}", false, &err);
    ck_assert_ptr_null(bad);
    check_error(&err, "Deprecated parameter 'old' disabled by policy");
    TestEnum e = TEST_ENUM_VALUE_A;
    json_t *j = parse("\"value-c\"");
    Visitor *v = json_input_visitor_new(j);
    ck_assert(!visit_type_TestEnum(v, "e", &e, &err));
    ck_assert_ptr_nonnull(err);
    error_free(err);
    visit_free(v);
    json_decref(j);
    qapi_set_deprecated_input_policy(false);
}
END_TEST

/* ---- Commands ---- */

/* Handlers of the test schema's commands. */

static int cmd_none_calls;

void qmp_test_cmd_none(Error **errp)
{
    cmd_none_calls++;
}

TestInner *qmp_test_cmd_args(int64_t a, const char *b, bool has_c, bool c,
                             TestEnum e, strList *l, Error **errp)
{
    TestInner *ret;

    if (a < 0) {
        error_setg(errp, "a is negative");
        return NULL;
    }
    ret = g_new0(TestInner, 1);
    /* Echo what arrived, so the test sees the marshalling. */
    ret->value = a * 1000 + (b ? (int64_t)strlen(b) * 100 : 0) +
        (has_c ? (c ? 20 : 10) : 0) + e;
    for (; l; l = l->next) {
        ret->value += 10000;
    }
    return ret;
}

TestDerived *qmp_test_cmd_named_args(int64_t base_id, const char *base_name,
                                     bool extra, bool has_opt_extra,
                                     uint32_t opt_extra, Error **errp)
{
    TestDerived *ret = g_new0(TestDerived, 1);

    ret->base_id = base_id + 1;
    ret->base_name = g_strdup(base_name ? base_name : "none");
    ret->extra = !extra;
    ret->has_opt_extra = has_opt_extra;
    ret->opt_extra = opt_extra;
    return ret;
}

TestInnerList *qmp_test_cmd_boxed(TestUnion *arg, Error **errp)
{
    TestInnerList *list = g_new0(TestInnerList, 1);

    list->value = g_new0(TestInner, 1);
    list->value->value = arg->kind;
    return list;
}

int64_t qmp_test_cmd_ret_int(int8_t x, Error **errp)
{
    return -(int64_t)x;
}

strList *qmp_test_cmd_ret_str_list(Error **errp)
{
    strList *l = g_new0(strList, 1);

    l->value = g_strdup("only");
    return l;
}

TestEnum qmp_test_cmd_ret_enum(Error **errp)
{
    return TEST_ENUM_VALUE_B;
}

TestAltStrInt *qmp_test_cmd_ret_alt(bool str, Error **errp)
{
    TestAltStrInt *alt = g_new0(TestAltStrInt, 1);

    if (str) {
        alt->type = QTYPE_QSTRING;
        alt->u.s = g_strdup("text");
    } else {
        alt->type = QTYPE_QNUM;
        alt->u.i = 7;
    }
    return alt;
}

json_t *qmp_test_cmd_ret_any(Error **errp)
{
    return parse("{\"any\": [true]}");
}

void qmp_test_cmd_deprecated(Error **errp)
{
}

void qmp_test_cmd_options(Error **errp)
{
}

void qmp_marshal_test_cmd_gen_false(json_t *args, json_t **ret, Error **errp)
{
    *ret = json_string("hand-written");
}

/* Calls a marshaller; returns the result (NULL with *errp on error). */
static json_t *marshal(QmpCommandFunc *fn, const char *args, Error **errp)
{
    json_t *jargs = parse(args);
    json_t *ret = NULL;

    fn(jargs, &ret, errp);
    json_decref(jargs);
    if (errp != &error_abort) {
        ck_assert((ret == NULL) == (*errp != NULL));
    }
    return ret;
}

START_TEST(test_marshal)
{
    Error *err = NULL;
    json_t *ret;

    ret = marshal(qmp_marshal_test_cmd_none, "{}", &error_abort);
    assert_json_eq(ret, "{}");
    json_decref(ret);
    ck_assert_int_eq(cmd_none_calls, 1);
    ck_assert_ptr_null(marshal(qmp_marshal_test_cmd_none, "{\"x\": 1}",
                               &err));
    check_error(&err, "Parameter 'x' is unexpected");
    ck_assert_int_eq(cmd_none_calls, 1);

    ret = marshal(qmp_marshal_test_cmd_args,
                  "{\"a\": 1, \"b\": \"xy\", \"c\": true, \"e\": \"value-b\","
                  " \"l\": [\"1\", \"2\"]}", &error_abort);
    assert_json_eq(ret, "{\"value\": 21221}");
    json_decref(ret);
    ret = marshal(qmp_marshal_test_cmd_args, "{\"a\": 2, \"e\": \"value-a\"}",
                  &error_abort);
    assert_json_eq(ret, "{\"value\": 2000}");
    json_decref(ret);
    /* Argument errors, then a handler error */
    ck_assert_ptr_null(marshal(qmp_marshal_test_cmd_args, "{\"a\": 2}", &err));
    check_error(&err, "Parameter 'e' is missing");
    ck_assert_ptr_null(marshal(qmp_marshal_test_cmd_args,
                               "{\"a\": -1, \"e\": \"value-a\"}", &err));
    check_error(&err, "a is negative");

    ret = marshal(qmp_marshal_test_cmd_named_args,
                  "{\"base-id\": 1, \"extra\": false, \"opt-extra\": 5}",
                  &error_abort);
    assert_json_eq(ret, "{\"base-id\": 2, \"base-name\": \"none\","
                   " \"extra\": true, \"opt-extra\": 5}");
    json_decref(ret);

    ret = marshal(qmp_marshal_test_cmd_boxed,
                  "{\"kind\": \"gamma\"}", &error_abort);
    assert_json_eq(ret, "[{\"value\": 2}]");
    json_decref(ret);

    ret = marshal(qmp_marshal_test_cmd_ret_int, "{\"x\": -128}",
                  &error_abort);
    assert_json_eq(ret, "128");
    json_decref(ret);
    ck_assert_ptr_null(marshal(qmp_marshal_test_cmd_ret_int, "{\"x\": 128}",
                               &err));
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err), "'x'"));
    error_free_or_abort(&err);

    ret = marshal(qmp_marshal_test_cmd_ret_str_list, "{}", &error_abort);
    assert_json_eq(ret, "[\"only\"]");
    json_decref(ret);
    ret = marshal(qmp_marshal_test_cmd_ret_enum, "{}", &error_abort);
    assert_json_eq(ret, "\"value-b\"");
    json_decref(ret);
    ret = marshal(qmp_marshal_test_cmd_ret_alt, "{\"str\": false}",
                  &error_abort);
    assert_json_eq(ret, "7");
    json_decref(ret);
    ret = marshal(qmp_marshal_test_cmd_ret_alt, "{\"str\": true}",
                  &error_abort);
    assert_json_eq(ret, "\"text\"");
    json_decref(ret);
    ret = marshal(qmp_marshal_test_cmd_ret_any, "{}", &error_abort);
    assert_json_eq(ret, "{\"any\": [true]}");
    json_decref(ret);
}
END_TEST

START_TEST(test_registration)
{
    g_autoptr(QmpCommandList) cmds = qmp_command_list_new();
    const QmpCommand *cmd;

    test_qmp_init_marshal(cmds);
    cmd = qmp_find_command(cmds, "test-cmd-args");
    ck_assert_ptr_nonnull(cmd);
    ck_assert(cmd->fn == qmp_marshal_test_cmd_args);
    ck_assert_uint_eq(cmd->options, QCO_NO_OPTIONS);
    ck_assert_uint_eq(cmd->features, 0);

    cmd = qmp_find_command(cmds, "test-cmd-options");
    ck_assert_uint_eq(cmd->options,
                      QCO_NO_SUCCESS_RESP | QCO_ALLOW_PRECONFIG);
    ck_assert_uint_eq(cmd->features,
                      QAPI_FEATURE_UNSTABLE | QAPI_FEATURE_TEST_CUSTOM);
    cmd = qmp_find_command(cmds, "test-cmd-deprecated");
    ck_assert_uint_eq(cmd->features, QAPI_FEATURE_DEPRECATED);
    /* 'gen': false commands are registered with the hand-written one. */
    cmd = qmp_find_command(cmds, "test-cmd-gen-false");
    ck_assert(cmd->fn == qmp_marshal_test_cmd_gen_false);

    /* Through the dispatcher */
    json_t *req = parse("{\"execute\": \"test-cmd-ret-int\","
                        " \"arguments\": {\"x\": 3}, \"id\": 1}");
    json_t *resp = qmp_dispatch(cmds, req);
    assert_json_eq(resp, "{\"return\": -3, \"id\": 1}");
    json_decref(resp);
    json_decref(req);
}
END_TEST

/* ---- Events ---- */

static test_QAPIEvent last_event = TEST_QAPI_EVENT__MAX;
static json_t *last_data;

void test_qapi_event_emit(test_QAPIEvent event, json_t *data)
{
    last_event = event;
    json_decref(last_data);
    /* Borrowed: keep a reference of our own. */
    last_data = data ? json_incref(data) : NULL;
}

START_TEST(test_events)
{
    qapi_event_send_test_event_none();
    ck_assert_int_eq(last_event, TEST_QAPI_EVENT_TEST_EVENT_NONE);
    ck_assert_ptr_null(last_data);

    qapi_event_send_test_event_args(5, "str", true, false, TEST_ENUM_VALUE_B);
    ck_assert_int_eq(last_event, TEST_QAPI_EVENT_TEST_EVENT_ARGS);
    assert_json_eq(last_data, "{\"a\": 5, \"b\": \"str\", \"flag\": false,"
                   " \"e\": \"value-b\"}");
    qapi_event_send_test_event_args(6, NULL, false, true, TEST_ENUM_VALUE_A);
    assert_json_eq(last_data, "{\"a\": 6, \"e\": \"value-a\"}");

    TestInner inner = { .value = 9 };
    qapi_event_send_test_event_boxed(&inner);
    assert_json_eq(last_data, "{\"value\": 9}");

    qapi_event_send_test_event_named("n", &inner, NULL, NULL);
    ck_assert_int_eq(last_event, TEST_QAPI_EVENT_TEST_EVENT_NAMED);
    assert_json_eq(last_data, "{\"name\": \"n\", \"inner\": {\"value\": 9}}");
    json_decref(last_data);
    last_data = NULL;
}
END_TEST

/* ---- Introspection ---- */

static json_t *find_info(json_t *schema, const char *name)
{
    size_t i;
    json_t *info;

    json_array_foreach(schema, i, info) {
        if (!strcmp(json_string_value(json_object_get(info, "name")), name)) {
            return info;
        }
    }
    ck_abort_msg("'%s' not in the introspection data", name);
    return NULL;
}

START_TEST(test_introspect)
{
    json_t *schema = parse(test_qapi_introspect_json);

    ck_assert(json_is_array(schema));
    assert_json_eq(find_info(schema, "test-cmd-args"),
                   "{\"name\": \"test-cmd-args\", \"meta-type\": \"command\","
                   " \"arg-type\": \"q_obj_test-cmd-args-arg\","
                   " \"ret-type\": \"TestInner\"}");
    assert_json_eq(find_info(schema, "q_obj_test-cmd-args-arg"),
                   "{\"name\": \"q_obj_test-cmd-args-arg\","
                   " \"meta-type\": \"object\", \"members\": ["
                   " {\"name\": \"a\", \"type\": \"int\"},"
                   " {\"name\": \"b\", \"type\": \"str\"},"
                   " {\"name\": \"c\", \"type\": \"bool\"},"
                   " {\"name\": \"e\", \"type\": \"TestEnum\"},"
                   " {\"name\": \"l\", \"type\": \"[str]\"}]}");
    assert_json_eq(find_info(schema, "TestEnum"),
                   "{\"name\": \"TestEnum\", \"meta-type\": \"enum\","
                   " \"members\": [{\"name\": \"value-a\"},"
                   " {\"name\": \"value-b\"}, {\"name\": \"value-c\","
                   " \"features\": [\"deprecated\"]}],"
                   " \"values\": [\"value-a\", \"value-b\", \"value-c\"]}");
    assert_json_eq(find_info(schema, "test-cmd-deprecated"),
                   "{\"name\": \"test-cmd-deprecated\","
                   " \"meta-type\": \"command\", \"arg-type\": \"q_empty\","
                   " \"ret-type\": \"q_empty\","
                   " \"features\": [\"deprecated\"]}");
    /* Narrow integers are "int" on the wire. */
    json_t *ret_int = find_info(schema, "q_obj_test-cmd-ret-int-arg");
    assert_json_eq(json_object_get(ret_int, "members"),
                   "[{\"name\": \"x\", \"type\": \"int\"}]");
    json_t *u = find_info(schema, "TestUnion");
    ck_assert_str_eq(json_string_value(json_object_get(u, "tag")), "kind");
    ck_assert_int_eq(json_array_size(json_object_get(u, "variants")), 3);
    assert_json_eq(find_info(schema, "TestAltStrInt"),
                   "{\"name\": \"TestAltStrInt\", \"meta-type\": \"alternate\","
                   " \"members\": [{\"type\": \"str\"}, {\"type\": \"int\"}]}");
    assert_json_eq(find_info(schema, "TEST_EVENT_BOXED"),
                   "{\"name\": \"TEST_EVENT_BOXED\", \"meta-type\": \"event\","
                   " \"arg-type\": \"TestInner\"}");
    find_info(schema, "[TestInner]");
    assert_json_eq(find_info(schema, "int"),
                   "{\"name\": \"int\", \"meta-type\": \"builtin\","
                   " \"json-type\": \"int\"}");
    json_decref(schema);
}
END_TEST

/* ---- Struct reflection ---- */

START_TEST(test_struct_info_table)
{
    const QAPIMemberInfo *m;

    ck_assert_str_eq(TestOptionals_info.name, "TestOptionals");
    ck_assert_uint_eq(TestOptionals_info.size, sizeof(TestOptionals));
    ck_assert_uint_eq(TestOptionals_info.n_members, 13);

    m = qapi_struct_find_member(&TestOptionals_info, "u16");
    ck_assert_int_eq(m->kind, QAPI_MEMBER_KIND_UINT);
    ck_assert_uint_eq(m->size, 2);
    ck_assert(m->optional && !m->is_signed);
    ck_assert_uint_eq(m->offset, offsetof(TestOptionals, u16));
    ck_assert_int_eq(m->has_offset, offsetof(TestOptionals, has_u16));
    m = qapi_struct_find_member(&TestOptionals_info, "i8");
    ck_assert(m->is_signed);
    ck_assert_uint_eq(m->size, 1);
    m = qapi_struct_find_member(&TestOptionals_info, "s");
    ck_assert_int_eq(m->kind, QAPI_MEMBER_KIND_STR);
    ck_assert_int_eq(m->has_offset, -1);
    m = qapi_struct_find_member(&TestOptionals_info, "e");
    ck_assert_ptr_eq(m->enum_lookup, &TestEnum_lookup);
    m = qapi_struct_find_member(&TestOptionals_info, "inner");
    ck_assert_int_eq(m->kind, QAPI_MEMBER_KIND_STRUCT);
    ck_assert_ptr_eq(m->struct_info, &TestInner_info);
    m = qapi_struct_find_member(&TestOptionals_info, "ints");
    ck_assert_int_eq(m->kind, QAPI_MEMBER_KIND_LIST);
    ck_assert_str_eq(m->type_name, "[int]");
    m = qapi_struct_find_member(&TestOptionals_info, "sz");
    ck_assert_int_eq(m->kind, QAPI_MEMBER_KIND_SIZE);
    ck_assert_ptr_null(qapi_struct_find_member(&TestOptionals_info, "nope"));

    /* Base members first */
    ck_assert_uint_eq(TestDerived_info.n_members, 4);
    ck_assert_str_eq(TestDerived_info.members[0].name, "base-id");
    ck_assert_str_eq(TestDerived_info.members[2].name, "extra");
    /* A union's table describes its base */
    ck_assert_uint_eq(TestUnion_info.n_members, 2);

    /* Features per member */
    m = qapi_struct_find_member(&TestFeatures_info, "old");
    ck_assert_uint_eq(m->features, QAPI_FEATURE_DEPRECATED);
    m = qapi_struct_find_member(&TestFeatures_info, "tunable");
    ck_assert_uint_eq(m->features, QAPI_FEATURE_TEST_RUNTIME);
    m = qapi_struct_find_member(&TestFeatures_info, "plain");
    ck_assert_uint_eq(m->features, 0);
}
END_TEST

START_TEST(test_struct_info_access)
{
    Error *err = NULL;
    g_autoptr(TestOptionals) o = g_new0(TestOptionals, 1);
    const QAPIMemberInfo *u16 =
        qapi_struct_find_member(&TestOptionals_info, "u16");
    const QAPIMemberInfo *s = qapi_struct_find_member(&TestOptionals_info, "s");
    const QAPIMemberInfo *sz =
        qapi_struct_find_member(&TestOptionals_info, "sz");
    const QAPIMemberInfo *inner =
        qapi_struct_find_member(&TestOptionals_info, "inner");
    json_t *j;

    ck_assert(!qapi_member_is_present(u16, o));
    ck_assert_ptr_null(qapi_member_to_json(u16, o));

    j = parse("65535");
    ck_assert(qapi_member_from_json(u16, o, j, false, &error_abort));
    json_decref(j);
    ck_assert(o->has_u16 && o->u16 == 65535);
    ck_assert_uint_eq(qapi_member_get_uint(u16, o), 65535);

    /* Out of range: refused, old value kept */
    j = parse("65536");
    ck_assert(!qapi_member_from_json(u16, o, j, false, &err));
    json_decref(j);
    ck_assert_ptr_nonnull(err);
    error_free_or_abort(&err);
    ck_assert_uint_eq(o->u16, 65535);

    /* keyval strings are parsed per type */
    j = json_string("2k");
    ck_assert(qapi_member_from_json(sz, o, j, true, &error_abort));
    json_decref(j);
    ck_assert_uint_eq(o->sz, 2048);

    j = json_string("one");
    ck_assert(qapi_member_from_json(s, o, j, false, &error_abort));
    json_decref(j);
    j = json_string("two");     /* replaces (and frees) the old string */
    ck_assert(qapi_member_from_json(s, o, j, false, &error_abort));
    json_decref(j);
    ck_assert_str_eq(o->s, "two");
    j = qapi_member_to_json(s, o);
    assert_json_eq(j, "\"two\"");
    json_decref(j);

    j = parse("{\"value\": 3}");
    ck_assert(qapi_member_from_json(inner, o, j, false, &error_abort));
    json_decref(j);
    ck_assert_int_eq(o->inner->value, 3);

    qapi_member_clear(inner, o);
    ck_assert_ptr_null(o->inner);
    qapi_member_clear(u16, o);
    ck_assert(!o->has_u16);

    const QAPIMemberInfo *i8 =
        qapi_struct_find_member(&TestOptionals_info, "i8");
    o->has_i8 = true;
    o->i8 = -7;
    ck_assert_int_eq(qapi_member_get_int(i8, o), -7);

    /* Deprecated members go through the policy. */
    g_autoptr(TestFeatures) f = g_new0(TestFeatures, 1);
    const QAPIMemberInfo *old = qapi_struct_find_member(&TestFeatures_info,
                                                        "old");
    qapi_set_deprecated_input_policy(true);
    j = parse("1");
    ck_assert(!qapi_member_from_json(old, f, j, false, &err));
    json_decref(j);
    check_error(&err, "Deprecated parameter 'old' disabled by policy");
    qapi_set_deprecated_input_policy(false);
}
END_TEST

START_TEST(test_struct_info_set)
{
    g_autoptr(TestOptionals) o = g_new0(TestOptionals, 1);
    const QAPIMemberInfo *i8 =
        qapi_struct_find_member(&TestOptionals_info, "i8");
    const QAPIMemberInfo *i = qapi_struct_find_member(&TestOptionals_info, "i");
    const QAPIMemberInfo *u16 =
        qapi_struct_find_member(&TestOptionals_info, "u16");
    const QAPIMemberInfo *u64 =
        qapi_struct_find_member(&TestOptionals_info, "u64");
    const QAPIMemberInfo *sz =
        qapi_struct_find_member(&TestOptionals_info, "sz");
    const QAPIMemberInfo *b = qapi_struct_find_member(&TestOptionals_info, "b");
    const QAPIMemberInfo *n = qapi_struct_find_member(&TestOptionals_info, "n");
    const QAPIMemberInfo *e = qapi_struct_find_member(&TestOptionals_info, "e");
    const QAPIMemberInfo *s = qapi_struct_find_member(&TestOptionals_info, "s");

    /* Each width's ends fit and mark the member present. */
    ck_assert(qapi_member_set_int(i8, o, INT8_MIN));
    ck_assert(o->has_i8 && o->i8 == INT8_MIN);
    ck_assert(qapi_member_set_int(i8, o, INT8_MAX));
    ck_assert_int_eq(qapi_member_get_int(i8, o), INT8_MAX);
    ck_assert(qapi_member_set_int(i, o, INT64_MIN));
    ck_assert(o->has_i && o->i == INT64_MIN);
    ck_assert(qapi_member_set_uint(u16, o, UINT16_MAX));
    ck_assert(o->has_u16 && o->u16 == UINT16_MAX);
    ck_assert(qapi_member_set_uint(u64, o, UINT64_MAX));
    ck_assert_uint_eq(qapi_member_get_uint(u64, o), UINT64_MAX);
    ck_assert(qapi_member_set_uint(sz, o, 4096));
    ck_assert(o->has_sz && o->sz == 4096);

    /* Too wide for the member: refused, old value and presence kept. */
    ck_assert(!qapi_member_set_int(i8, o, INT8_MAX + 1));
    ck_assert(!qapi_member_set_int(i8, o, INT8_MIN - 1));
    ck_assert(o->has_i8 && o->i8 == INT8_MAX);
    ck_assert(!qapi_member_set_uint(u16, o, UINT16_MAX + 1));
    ck_assert(o->has_u16 && o->u16 == UINT16_MAX);
    o->has_u16 = false;
    ck_assert(!qapi_member_set_uint(u16, o, 1u << 20));
    ck_assert(!o->has_u16);

    qapi_member_set_bool(b, o, true);
    ck_assert(o->has_b && qapi_member_get_bool(b, o));
    qapi_member_set_number(n, o, 0.25);
    ck_assert(o->has_n && o->n == 0.25);
    qapi_member_set_enum(e, o, TEST_ENUM_VALUE_B);
    ck_assert(o->has_e && qapi_member_get_enum(e, o) == TEST_ENUM_VALUE_B);

    /* Strings are copied; a new one replaces (and frees) the old. */
    qapi_member_set_str(s, o, "one");
    qapi_member_set_str(s, o, "two");
    ck_assert(qapi_member_is_present(s, o));
    ck_assert_str_eq(o->s, "two");

    ck_assert(qapi_member_is_pointer(s));
    ck_assert(!qapi_member_is_pointer(u16));
}
END_TEST

START_TEST(test_struct_info_copy)
{
    g_autoptr(TestOptionals) src = NULL;
    g_autoptr(TestOptionals) dst = NULL;
    g_autoptr(TestOptionals) clone = NULL;
    Error *err = NULL;

    src = FROM_JSON(visit_type_TestOptionals, TestOptionals,
                    "{\"s\": \"src\", \"i\": 1, \"inner\": {\"value\": 2},"
                    " \"ints\": [3], \"a\": {\"k\": [4]}, \"alt\": \"x\"}",
                    false, &error_abort);
    dst = FROM_JSON(visit_type_TestOptionals, TestOptionals,
                    "{\"s\": \"dst\", \"b\": true, \"inner\": {\"value\": 9}}",
                    false, &err);
    ck_assert_ptr_null(err);

    /* Members present in src win; the others stay. */
    qapi_struct_merge(&TestOptionals_info, dst, src);
    json_t *j = TO_JSON(visit_type_TestOptionals, dst);
    assert_json_eq(j, "{\"s\": \"src\", \"i\": 1, \"b\": true,"
                   " \"inner\": {\"value\": 2}, \"ints\": [3],"
                   " \"a\": {\"k\": [4]}, \"alt\": \"x\"}");
    json_decref(j);
    /* Deep copies: nothing shared */
    ck_assert_ptr_ne(dst->s, src->s);
    ck_assert_ptr_ne(dst->inner, src->inner);
    ck_assert_ptr_ne(dst->a, src->a);

    /* Copying an absent member clears it. */
    const QAPIMemberInfo *b = qapi_struct_find_member(&TestOptionals_info,
                                                      "b");
    qapi_member_copy(b, dst, src);
    ck_assert(!dst->has_b);

    clone = qapi_struct_clone(&TestOptionals_info, src);
    j = TO_JSON(visit_type_TestOptionals, clone);
    json_t *k = TO_JSON(visit_type_TestOptionals, src);
    ck_assert(json_equal(j, k));
    json_decref(j);
    json_decref(k);
    ck_assert_ptr_ne(clone->ints, src->ints);

    qapi_struct_free(&TestOptionals_info, qapi_struct_clone(
                         &TestOptionals_info, clone));
    ck_assert_ptr_null(qapi_struct_clone(&TestOptionals_info, NULL));
}
END_TEST

static Suite *generated_suite(void)
{
    Suite *s = suite_create("qapi-generated");
    TCase *tc = tcase_create("types");

    tcase_add_test(tc, test_enum_names);
    tcase_add_test(tc, test_features_bits);
    tcase_add_test(tc, test_struct_layout);
    suite_add_tcase(s, tc);

    tc = tcase_create("visit");
    tcase_add_test(tc, test_visit_all_scalars);
    tcase_add_test(tc, test_visit_optionals);
    tcase_add_test(tc, test_visit_nested_and_base);
    tcase_add_test(tc, test_visit_union);
    tcase_add_test(tc, test_visit_alternates);
    tcase_add_test(tc, test_visit_alternates_keyval);
    tcase_add_test(tc, test_visit_lists);
    tcase_add_test(tc, test_visit_deprecated);
    suite_add_tcase(s, tc);

    tc = tcase_create("commands-events");
    tcase_add_test(tc, test_marshal);
    tcase_add_test(tc, test_registration);
    tcase_add_test(tc, test_events);
    tcase_add_test(tc, test_introspect);
    suite_add_tcase(s, tc);

    tc = tcase_create("struct-info");
    tcase_add_test(tc, test_struct_info_table);
    tcase_add_test(tc, test_struct_info_access);
    tcase_add_test(tc, test_struct_info_set);
    tcase_add_test(tc, test_struct_info_copy);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(generated_suite());

    return vmig_check_run(sr);
}
