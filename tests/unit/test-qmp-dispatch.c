/*
 * qmp_dispatch(): request validation, command lookup, responses.
 *
 * The first registry is hand-written: a handful of commands with the
 * QmpCommandFunc shape that exercise each way a command can end.  The
 * second is the test schema's generated one (test_qmp_init_marshal()),
 * with the handlers below, to check marshalling end to end: argument
 * errors and return values as the client sees them.
 */
#include <check.h>
#include "tests/check-run.h"
#include <stdlib.h>

#include "qapi/compat-policy.h"
#include "qapi/qmp-dispatch.h"
#include "qapi/qmp-registry.h"
#include "qapi/util.h"
#include "test-qapi-commands.h"
#include "test-qapi-events.h"
#include "test-qapi-init-commands.h"

static QmpCommandList *cmds;
static int quiet_calls;

/* Returns its arguments. */
static void qmp_echo(json_t *args, json_t **ret, Error **errp)
{
    *ret = json_deep_copy(args);
}

/* A command without 'returns': leaves *ret NULL. */
static void qmp_nothing(json_t *args, json_t **ret, Error **errp)
{
}

/* Returns a non-object, as commands returning a list or scalar do. */
static void qmp_count(json_t *args, json_t **ret, Error **errp)
{
    *ret = json_pack("[i,i,i]", 1, 2, 3);
}

static void qmp_fail(json_t *args, json_t **ret, Error **errp)
{
    error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "Device 'xyz' not found");
}

static void qmp_quiet(json_t *args, json_t **ret, Error **errp)
{
    quiet_calls++;
}

static void qmp_quiet_fail(json_t *args, json_t **ret, Error **errp)
{
    error_setg(errp, "quiet failure");
}

static void setup(void)
{
    cmds = qmp_command_list_new();
    qmp_register_command(cmds, "echo", qmp_echo, QCO_NO_OPTIONS, 0);
    qmp_register_command(cmds, "nothing", qmp_nothing, QCO_NO_OPTIONS, 0);
    qmp_register_command(cmds, "count", qmp_count, QCO_NO_OPTIONS, 0);
    qmp_register_command(cmds, "fail", qmp_fail, QCO_NO_OPTIONS, 0);
    qmp_register_command(cmds, "quiet", qmp_quiet, QCO_NO_SUCCESS_RESP, 0);
    qmp_register_command(cmds, "quiet-fail", qmp_quiet_fail,
                         QCO_NO_SUCCESS_RESP, 0);
    qmp_register_command(cmds, "old", qmp_nothing, QCO_NO_OPTIONS,
                         QAPI_FEATURE_DEPRECATED);
    qmp_register_command(cmds, "off", qmp_nothing, QCO_NO_OPTIONS, 0);
    qmp_command_set_enabled(cmds, "off", false);
    quiet_calls = 0;
}

static void teardown(void)
{
    qmp_command_list_free(cmds);
    cmds = NULL;
    qapi_set_deprecated_input_policy(false);
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &jerr);

    ck_assert_msg(value, "bad JSON in test: %s: %s", text, jerr.text);
    return value;
}

/* Dispatches @request and checks the response is exactly @expected. */
static void check_dispatch(const char *request, const char *expected)
{
    json_t *req = parse(request);
    json_t *want = parse(expected);
    json_t *resp = qmp_dispatch(cmds, req);

    ck_assert_msg(resp, "no response to %s", request);
    char *got = json_dumps(resp, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    ck_assert_msg(json_equal(resp, want), "request %s\n  got  %s\n  want %s",
                  request, got, expected);
    free(got);
    json_decref(resp);
    json_decref(want);
    json_decref(req);
}

/* ---- Malformed requests ---- */

START_TEST(test_not_an_object)
{
    static const char *const requests[] = {
        "[]", "\"echo\"", "42", "null", "true", "[{\"execute\": \"echo\"}]",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(requests); i++) {
        check_dispatch(requests[i],
                       "{\"error\": {\"class\": \"GenericError\","
                       " \"desc\": \"QMP input must be a JSON object\"}}");
    }
}
END_TEST

START_TEST(test_lacks_execute)
{
    check_dispatch("{}",
                   "{\"error\": {\"class\": \"GenericError\","
                   " \"desc\": \"QMP input lacks member 'execute'\"}}");
    /* The id is echoed even when the request is malformed. */
    check_dispatch("{\"id\": 7, \"arguments\": {}}",
                   "{\"error\": {\"class\": \"GenericError\","
                   " \"desc\": \"QMP input lacks member 'execute'\"},"
                   " \"id\": 7}");
}
END_TEST

START_TEST(test_execute_not_string)
{
    static const char *const values[] = {
        "1", "null", "true", "[\"echo\"]", "{\"name\": \"echo\"}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
        g_autofree char *req = g_strdup_printf("{\"execute\": %s}",
                                               values[i]);
        check_dispatch(req,
                       "{\"error\": {\"class\": \"GenericError\","
                       " \"desc\": \"QMP input member 'execute' must be a"
                       " string\"}}");
    }
}
END_TEST

START_TEST(test_unexpected_member)
{
    check_dispatch("{\"execute\": \"echo\", \"foo\": 1}",
                   "{\"error\": {\"class\": \"GenericError\","
                   " \"desc\": \"QMP input member 'foo' is unexpected\"}}");
    /* Without OOB support, exec-oob is just another unknown member. */
    check_dispatch("{\"exec-oob\": \"echo\", \"id\": \"x\"}",
                   "{\"error\": {\"class\": \"GenericError\","
                   " \"desc\": \"QMP input member 'exec-oob' is"
                   " unexpected\"}, \"id\": \"x\"}");
}
END_TEST

START_TEST(test_arguments_not_object)
{
    static const char *const values[] = {
        "[]", "[1]", "\"a=1\"", "0", "null", "false",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
        g_autofree char *req = g_strdup_printf(
            "{\"execute\": \"echo\", \"arguments\": %s}", values[i]);
        check_dispatch(req,
                       "{\"error\": {\"class\": \"GenericError\","
                       " \"desc\": \"QMP input member 'arguments' must be"
                       " an object\"}}");
    }
}
END_TEST

/* The first problem in the order the client wrote the members wins. */
START_TEST(test_first_problem_reported)
{
    check_dispatch("{\"bogus\": 1, \"execute\": 2}",
                   "{\"error\": {\"class\": \"GenericError\","
                   " \"desc\": \"QMP input member 'bogus' is unexpected\"}}");
    check_dispatch("{\"execute\": 2, \"bogus\": 1}",
                   "{\"error\": {\"class\": \"GenericError\","
                   " \"desc\": \"QMP input member 'execute' must be a"
                   " string\"}}");
}
END_TEST

/* ---- Command lookup ---- */

START_TEST(test_command_not_found)
{
    check_dispatch("{\"execute\": \"foo\", \"id\": \"a1\"}",
                   "{\"error\": {\"class\": \"CommandNotFound\","
                   " \"desc\": \"The command foo has not been found\"},"
                   " \"id\": \"a1\"}");
    /* Lookup is exact: no case folding, no '_' for '-'. */
    check_dispatch("{\"execute\": \"ECHO\"}",
                   "{\"error\": {\"class\": \"CommandNotFound\","
                   " \"desc\": \"The command ECHO has not been found\"}}");
}
END_TEST

START_TEST(test_command_disabled)
{
    check_dispatch("{\"execute\": \"off\"}",
                   "{\"error\": {\"class\": \"CommandNotFound\","
                   " \"desc\": \"Command off has been disabled\"}}");
    qmp_command_set_enabled(cmds, "off", true);
    check_dispatch("{\"execute\": \"off\"}", "{\"return\": {}}");
}
END_TEST

START_TEST(test_deprecated_command_policy)
{
    check_dispatch("{\"execute\": \"old\"}", "{\"return\": {}}");
    qapi_set_deprecated_input_policy(true);
    check_dispatch("{\"execute\": \"old\", \"id\": 1}",
                   "{\"error\": {\"class\": \"CommandNotFound\","
                   " \"desc\": \"Deprecated command old disabled by"
                   " policy\"}, \"id\": 1}");
    /* Commands without the feature are unaffected. */
    check_dispatch("{\"execute\": \"nothing\"}", "{\"return\": {}}");
}
END_TEST

/* ---- Responses ---- */

START_TEST(test_success_with_return)
{
    check_dispatch("{\"execute\": \"echo\", \"arguments\": {\"a\": [1, 2]}}",
                   "{\"return\": {\"a\": [1, 2]}}");
    check_dispatch("{\"execute\": \"count\"}", "{\"return\": [1, 2, 3]}");
}
END_TEST

START_TEST(test_success_without_return)
{
    check_dispatch("{\"execute\": \"nothing\"}", "{\"return\": {}}");
}
END_TEST

/* Marshallers always receive an object, even when none was sent. */
START_TEST(test_missing_arguments_are_empty)
{
    check_dispatch("{\"execute\": \"echo\"}", "{\"return\": {}}");
}
END_TEST

START_TEST(test_error_response)
{
    check_dispatch("{\"execute\": \"fail\", \"id\": {\"seq\": 3}}",
                   "{\"error\": {\"class\": \"DeviceNotFound\","
                   " \"desc\": \"Device 'xyz' not found\"},"
                   " \"id\": {\"seq\": 3}}");
}
END_TEST

/* The id is opaque: whatever JSON the client sent comes back unchanged. */
START_TEST(test_id_echo)
{
    static const char *const ids[] = {
        "\"abc\"", "0", "-12", "3.5", "true", "false", "null", "[1, \"x\"]",
        "{\"a\": {\"b\": []}}", "\"\"",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        g_autofree char *req = g_strdup_printf(
            "{\"id\": %s, \"execute\": \"nothing\"}", ids[i]);
        g_autofree char *want = g_strdup_printf(
            "{\"return\": {}, \"id\": %s}", ids[i]);
        check_dispatch(req, want);
    }
}
END_TEST

/* Without an id, the response has none: not even "id": null. */
START_TEST(test_no_id)
{
    json_t *req = parse("{\"execute\": \"nothing\"}");
    json_t *resp = qmp_dispatch(cmds, req);

    ck_assert_ptr_nonnull(resp);
    ck_assert_ptr_null(json_object_get(resp, "id"));
    ck_assert_int_eq(json_object_size(resp), 1);
    json_decref(resp);
    json_decref(req);
}
END_TEST

START_TEST(test_no_success_response)
{
    json_t *req = parse("{\"execute\": \"quiet\", \"id\": 5}");

    ck_assert_ptr_null(qmp_dispatch(cmds, req));
    ck_assert_int_eq(quiet_calls, 1);
    json_decref(req);

    /* Errors are still answered. */
    check_dispatch("{\"execute\": \"quiet-fail\", \"id\": 6}",
                   "{\"error\": {\"class\": \"GenericError\","
                   " \"desc\": \"quiet failure\"}, \"id\": 6}");
}
END_TEST

/* The request is borrowed: dispatch must neither free nor change it. */
START_TEST(test_request_untouched)
{
    json_t *req = parse("{\"execute\": \"echo\", \"id\": [1],"
                        " \"arguments\": {\"k\": \"v\"}}");
    json_t *copy = json_deep_copy(req);
    json_t *resp = qmp_dispatch(cmds, req);

    ck_assert(json_equal(req, copy));
    ck_assert_int_eq(req->refcount, 1);
    json_decref(resp);
    json_decref(copy);
    json_decref(req);
}
END_TEST

START_TEST(test_qmp_error_response)
{
    Error *err = NULL;
    error_setg(&err, "JSON parse error, invalid token");
    json_t *id = json_integer(9);
    json_t *resp = qmp_error_response(err, id);  /* consumes err */
    json_t *want = parse("{\"error\": {\"class\": \"GenericError\","
                         " \"desc\": \"JSON parse error, invalid token\"},"
                         " \"id\": 9}");

    ck_assert(json_equal(resp, want));
    json_decref(want);
    json_decref(resp);
    json_decref(id);

    err = NULL;
    error_setg(&err, "too big");
    resp = qmp_error_response(err, NULL);
    ck_assert_ptr_null(json_object_get(resp, "id"));
    json_decref(resp);
}
END_TEST

/* ---- Registry ---- */

static void collect_name(const QmpCommand *cmd, void *opaque)
{
    g_string_append_printf(opaque, "%s,", cmd->name);
}

START_TEST(test_registry)
{
    const QmpCommand *cmd = qmp_find_command(cmds, "quiet");

    ck_assert_ptr_nonnull(cmd);
    ck_assert_str_eq(cmd->name, "quiet");
    ck_assert(cmd->fn == qmp_quiet);
    ck_assert_uint_eq(cmd->options, QCO_NO_SUCCESS_RESP);
    ck_assert(cmd->enabled);
    ck_assert_uint_eq(qmp_find_command(cmds, "old")->features,
                      QAPI_FEATURE_DEPRECATED);
    ck_assert(!qmp_find_command(cmds, "off")->enabled);
    ck_assert_ptr_null(qmp_find_command(cmds, "quie"));

    /* Iteration is in name order, whatever the registration order. */
    g_autoptr(GString) names = g_string_new(NULL);
    qmp_for_each_command(cmds, collect_name, names);
    ck_assert_str_eq(names->str,
                     "count,echo,fail,nothing,off,old,quiet,quiet-fail,");
}
END_TEST

/* ---- Generated marshallers ---- */

void qmp_test_cmd_none(Error **errp)
{
}

TestInner *qmp_test_cmd_args(int64_t a, const char *b, bool has_c, bool c,
                             TestEnum e, strList *l, Error **errp)
{
    if (a < 0) {
        error_setg(errp, "'a' must not be negative");
        return NULL;
    }
    /* Encode what arrived so the test can see every argument. */
    TestInner *ret = g_new0(TestInner, 1);
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
    ret->base_name = g_strdup(base_name);
    ret->extra = !extra;
    ret->has_opt_extra = has_opt_extra;
    ret->opt_extra = opt_extra;
    return ret;
}

TestInnerList *qmp_test_cmd_boxed(TestUnion *arg, Error **errp)
{
    TestInnerList *ret = g_new0(TestInnerList, 1);

    ret->value = g_new0(TestInner, 1);
    ret->value->value = arg->kind;
    return ret;
}

int64_t qmp_test_cmd_ret_int(int8_t x, Error **errp)
{
    return x * 2;
}

strList *qmp_test_cmd_ret_str_list(Error **errp)
{
    strList *ret = g_new0(strList, 1);

    ret->value = g_strdup("a");
    ret->next = g_new0(strList, 1);
    ret->next->value = g_strdup("b");
    return ret;
}

TestEnum qmp_test_cmd_ret_enum(Error **errp)
{
    return TEST_ENUM_VALUE_B;
}

TestAltStrInt *qmp_test_cmd_ret_alt(bool str, Error **errp)
{
    TestAltStrInt *ret = g_new0(TestAltStrInt, 1);

    if (str) {
        ret->type = QTYPE_QSTRING;
        ret->u.s = g_strdup("s");
    } else {
        ret->type = QTYPE_QNUM;
        ret->u.i = 1;
    }
    return ret;
}

json_t *qmp_test_cmd_ret_any(Error **errp)
{
    return json_pack("{s:[n,b]}", "x", true);
}

void qmp_test_cmd_deprecated(Error **errp)
{
}

void qmp_test_cmd_options(Error **errp)
{
    quiet_calls++;
}

void qmp_marshal_test_cmd_gen_false(json_t *args, json_t **ret, Error **errp)
{
    json_t *arg = json_object_get(args, "arg");

    if (!json_is_string(arg)) {
        error_setg(errp, "hand-written marshaller wants 'arg'");
        return;
    }
    *ret = json_incref(arg);
}

/* Linked in with the generated event senders; no event is sent here. */
void test_qapi_event_emit(test_QAPIEvent event, json_t *data)
{
    ck_abort_msg("unexpected event %s", test_QAPIEvent_str(event));
}

static void setup_generated(void)
{
    cmds = qmp_command_list_new();
    test_qmp_init_marshal(cmds);
    quiet_calls = 0;
}

#define GENERIC_ERROR(desc) \
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" desc "\"}}"

START_TEST(test_gen_arguments)
{
    check_dispatch("{\"execute\": \"test-cmd-none\"}", "{\"return\": {}}");
    check_dispatch("{\"execute\": \"test-cmd-none\", \"arguments\": {}}",
                   "{\"return\": {}}");
    check_dispatch("{\"execute\": \"test-cmd-args\", \"arguments\":"
                   " {\"a\": 1, \"e\": \"value-b\"}}",
                   "{\"return\": {\"value\": 1001}}");
    check_dispatch("{\"execute\": \"test-cmd-args\", \"arguments\":"
                   " {\"a\": 2, \"b\": \"xyz\", \"c\": false,"
                   " \"e\": \"value-c\", \"l\": [\"p\", \"q\"]}}",
                   "{\"return\": {\"value\": 22312}}");
    check_dispatch("{\"execute\": \"test-cmd-named-args\", \"arguments\":"
                   " {\"base-id\": 1, \"extra\": false, \"opt-extra\": 7}}",
                   "{\"return\": {\"base-id\": 2, \"extra\": true,"
                   " \"opt-extra\": 7}}");
    check_dispatch("{\"execute\": \"test-cmd-boxed\", \"arguments\":"
                   " {\"kind\": \"gamma\"}}",
                   "{\"return\": [{\"value\": 2}]}");
    check_dispatch("{\"execute\": \"test-cmd-gen-false\", \"arguments\":"
                   " {\"arg\": \"hi\"}, \"id\": 1}",
                   "{\"return\": \"hi\", \"id\": 1}");
}
END_TEST

/* Argument errors from the input visitor reach the client verbatim. */
START_TEST(test_gen_argument_errors)
{
    check_dispatch("{\"execute\": \"test-cmd-args\"}",
                   GENERIC_ERROR("Parameter 'a' is missing"));
    check_dispatch("{\"execute\": \"test-cmd-args\", \"arguments\":"
                   " {\"a\": \"1\", \"e\": \"value-a\"}}",
                   GENERIC_ERROR("Invalid parameter type for 'a', expected:"
                                 " integer"));
    check_dispatch("{\"execute\": \"test-cmd-args\", \"arguments\":"
                   " {\"a\": 1, \"e\": \"value-a\", \"zzz\": 0}}",
                   GENERIC_ERROR("Parameter 'zzz' is unexpected"));
    check_dispatch("{\"execute\": \"test-cmd-args\", \"arguments\":"
                   " {\"a\": 1, \"e\": \"nope\"}}",
                   GENERIC_ERROR("Invalid value 'nope' for 'e', valid values:"
                                 " 'value-a', 'value-b', 'value-c'"));
    check_dispatch("{\"execute\": \"test-cmd-args\", \"arguments\":"
                   " {\"a\": 1, \"e\": \"value-a\", \"l\": [\"x\", 1]}}",
                   GENERIC_ERROR("Invalid parameter type for 'l[1]',"
                                 " expected: string"));
    check_dispatch("{\"execute\": \"test-cmd-ret-int\", \"arguments\":"
                   " {\"x\": 128}}",
                   GENERIC_ERROR("Parameter 'x' expects int8 (-128..127),"
                                 " got 128"));
    check_dispatch("{\"execute\": \"test-cmd-boxed\", \"arguments\":"
                   " {\"kind\": \"alpha\"}}",
                   GENERIC_ERROR("Parameter 'a-value' is missing"));
    check_dispatch("{\"execute\": \"test-cmd-none\", \"arguments\":"
                   " {\"x\": 1}}",
                   GENERIC_ERROR("Parameter 'x' is unexpected"));
    /* The handler's own error. */
    check_dispatch("{\"execute\": \"test-cmd-args\", \"arguments\":"
                   " {\"a\": -1, \"e\": \"value-a\"}, \"id\": \"neg\"}",
                   "{\"error\": {\"class\": \"GenericError\","
                   " \"desc\": \"'a' must not be negative\"}, \"id\": \"neg\"}");
}
END_TEST

START_TEST(test_gen_returns)
{
    check_dispatch("{\"execute\": \"test-cmd-ret-int\", \"arguments\":"
                   " {\"x\": -64}}", "{\"return\": -128}");
    check_dispatch("{\"execute\": \"test-cmd-ret-str-list\"}",
                   "{\"return\": [\"a\", \"b\"]}");
    check_dispatch("{\"execute\": \"test-cmd-ret-enum\"}",
                   "{\"return\": \"value-b\"}");
    check_dispatch("{\"execute\": \"test-cmd-ret-alt\", \"arguments\":"
                   " {\"str\": true}}", "{\"return\": \"s\"}");
    check_dispatch("{\"execute\": \"test-cmd-ret-alt\", \"arguments\":"
                   " {\"str\": false}}", "{\"return\": 1}");
    check_dispatch("{\"execute\": \"test-cmd-ret-any\"}",
                   "{\"return\": {\"x\": [null, true]}}");
}
END_TEST

START_TEST(test_gen_options_and_policy)
{
    json_t *req = parse("{\"execute\": \"test-cmd-options\"}");

    /* 'success-response': false */
    ck_assert_ptr_null(qmp_dispatch(cmds, req));
    ck_assert_int_eq(quiet_calls, 1);
    json_decref(req);

    check_dispatch("{\"execute\": \"test-cmd-deprecated\"}",
                   "{\"return\": {}}");
    qapi_set_deprecated_input_policy(true);
    check_dispatch("{\"execute\": \"test-cmd-deprecated\"}",
                   "{\"error\": {\"class\": \"CommandNotFound\", \"desc\":"
                   " \"Deprecated command test-cmd-deprecated disabled by"
                   " policy\"}}");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qmp-dispatch");
    TCase *tc = tcase_create("dispatch");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_not_an_object);
    tcase_add_test(tc, test_lacks_execute);
    tcase_add_test(tc, test_execute_not_string);
    tcase_add_test(tc, test_unexpected_member);
    tcase_add_test(tc, test_arguments_not_object);
    tcase_add_test(tc, test_first_problem_reported);
    tcase_add_test(tc, test_command_not_found);
    tcase_add_test(tc, test_command_disabled);
    tcase_add_test(tc, test_deprecated_command_policy);
    tcase_add_test(tc, test_success_with_return);
    tcase_add_test(tc, test_success_without_return);
    tcase_add_test(tc, test_missing_arguments_are_empty);
    tcase_add_test(tc, test_error_response);
    tcase_add_test(tc, test_id_echo);
    tcase_add_test(tc, test_no_id);
    tcase_add_test(tc, test_no_success_response);
    tcase_add_test(tc, test_request_untouched);
    tcase_add_test(tc, test_qmp_error_response);
    tcase_add_test(tc, test_registry);
    suite_add_tcase(s, tc);

    tc = tcase_create("generated");
    tcase_add_checked_fixture(tc, setup_generated, teardown);
    tcase_add_test(tc, test_gen_arguments);
    tcase_add_test(tc, test_gen_argument_errors);
    tcase_add_test(tc, test_gen_returns);
    tcase_add_test(tc, test_gen_options_and_policy);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    return vmig_check_run(sr);
}
