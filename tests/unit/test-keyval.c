/* Unit tests for util/keyval.c: key=value,... option strings. */
#include <check.h>
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>

#include "qapi/keyval.h"

/* Parses @params and checks the result equals the JSON text @expect. */
static void parse_ok(const char *params, const char *implied,
                     const char *expect)
{
    Error *err = NULL;
    json_t *got = keyval_parse(params, implied, NULL, &err);
    json_t *want = json_loads(expect, 0, NULL);
    g_autofree char *got_str = NULL;

    ck_assert_msg(want, "bad expectation %s", expect);
    ck_assert_msg(got, "'%s' refused: %s", params,
                  err ? error_get_pretty(err) : "?");
    got_str = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(got, want), "'%s' gave %s, expected %s", params,
                  got_str, expect);
    json_decref(got);
    json_decref(want);
}

/* Parses @params and checks the error message is exactly @expect. */
static void parse_bad(const char *params, const char *implied,
                      const char *expect)
{
    Error *err = NULL;
    json_t *got = keyval_parse(params, implied, NULL, &err);

    ck_assert_msg(!got, "'%s' accepted", params);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(!strcmp(error_get_pretty(err), expect),
                  "'%s': error '%s', expected '%s'", params,
                  error_get_pretty(err), expect);
    error_free(err);
}

START_TEST(test_basic)
{
    parse_ok("", NULL, "{}");
    parse_ok("a=1", NULL, "{\"a\": \"1\"}");
    parse_ok("a=1,b=two", NULL, "{\"a\": \"1\", \"b\": \"two\"}");
    parse_ok("a=", NULL, "{\"a\": \"\"}");
    parse_ok("a=,b=", NULL, "{\"a\": \"\", \"b\": \"\"}");
    parse_ok("a=1,", NULL, "{\"a\": \"1\"}");
    parse_ok("a=x=y", NULL, "{\"a\": \"x=y\"}");
    parse_ok("A-b_c9=v", NULL, "{\"A-b_c9\": \"v\"}");
    parse_ok("a=ü é", NULL, "{\"a\": \"ü é\"}");
    /* Every leaf is a string, whatever it looks like. */
    parse_ok("n=1,b=on,f=1.5,z=null", NULL,
             "{\"n\": \"1\", \"b\": \"on\", \"f\": \"1.5\", "
             "\"z\": \"null\"}");
}
END_TEST

START_TEST(test_escaped_commas)
{
    parse_ok("a=,,", NULL, "{\"a\": \",\"}");
    parse_ok("a=1,,", NULL, "{\"a\": \"1,\"}");
    parse_ok("a=1,,,", NULL, "{\"a\": \"1,\"}");
    parse_ok("a=1,,,,", NULL, "{\"a\": \"1,,\"}");
    parse_ok("a=,,1", NULL, "{\"a\": \",1\"}");
    parse_ok("a=1,,2", NULL, "{\"a\": \"1,2\"}");
    parse_ok("a=1,,2,b=3", NULL, "{\"a\": \"1,2\", \"b\": \"3\"}");
    parse_ok("a=1,,,b=3", NULL, "{\"a\": \"1,\", \"b\": \"3\"}");
    parse_ok("a=,,,,,b=,,", NULL, "{\"a\": \",,\", \"b\": \",\"}");
    parse_ok("b=x,a=,,", NULL, "{\"a\": \",\", \"b\": \"x\"}");
}
END_TEST

/* A comma at every position of a value, escaped, comes back intact, in
 * an ordinary and in an implied value, followed by another key or not. */
START_TEST(test_escaped_commas_everywhere)
{
    static const char base[] = "tcp:host:1234";

    for (size_t i = 0; i <= strlen(base); i++) {
        g_autofree char *value = g_strdup_printf("%.*s,%s", (int)i, base,
                                                 base + i);
        g_auto(GStrv) parts = g_strsplit(value, ",", -1);
        g_autofree char *escaped = g_strjoinv(",,", parts);
        /* What goes before and after the value. */
        static const char *const forms[][2] = {
            { "k=", "" }, { "k=", "," }, { "k=", ",x=1" }, { "x=1,k=", "" },
            { "", "" }, { "", ",x=1" },
        };

        for (size_t f = 0; f < G_N_ELEMENTS(forms); f++) {
            g_autofree char *params = g_strconcat(forms[f][0], escaped,
                                                  forms[f][1], NULL);
            json_t *obj = keyval_parse(params, "k", NULL, &error_abort);

            ck_assert_msg(!strcmp(json_string_value(json_object_get(obj,
                                                                    "k")),
                                  value), "'%s' lost its commas", params);
            json_decref(obj);
        }
    }
}
END_TEST

START_TEST(test_implied)
{
    parse_ok("tcp:host:1234", "uri", "{\"uri\": \"tcp:host:1234\"}");
    parse_ok("tcp:host:1234,x=1", "uri",
             "{\"uri\": \"tcp:host:1234\", \"x\": \"1\"}");
    parse_ok("tcp:host:1234,", "uri", "{\"uri\": \"tcp:host:1234\"}");
    parse_ok("uri=tcp:host:1234", "uri", "{\"uri\": \"tcp:host:1234\"}");
    parse_ok("x=1", "uri", "{\"x\": \"1\"}");
    parse_ok("", "uri", "{}");
    /* ",," is a comma inside the implied value too. */
    parse_ok("file:/a,,b,x=1", "uri",
             "{\"uri\": \"file:/a,b\", \"x\": \"1\"}");
    parse_ok(",,x", "uri", "{\"uri\": \",x\"}");
    /* A dotted implied key nests like any other. */
    parse_ok("inet", "addr.type", "{\"addr\": {\"type\": \"inet\"}}");
    /* '=' in the first element: it is a key=value after all. */
    parse_bad("file:/a=b", "uri",
              "Invalid parameter 'file:/a': only letters, digits, '-' and "
              "'_' are allowed in a name");
    /* Only the first element can be implied. */
    parse_bad("x=1,tcp:host:1234", "uri",
              "Invalid parameter 'tcp:host:1234': only letters, digits, "
              "'-' and '_' are allowed in a name");
    parse_bad("a=1,b", "uri", "Expected '=' after parameter 'b'");
    parse_bad("tcp:x,uri=y", "uri", "Duplicate parameter 'uri'");
    parse_bad(",x=1", "uri", "Missing parameter name at offset 0 of ',x=1'");
    /* Without an implied key a bare first element is an error. */
    parse_bad("a", NULL, "Expected '=' after parameter 'a'");
    parse_bad("a,b=1", NULL, "Expected '=' after parameter 'a'");
    parse_bad("a.b", NULL, "Expected '=' after parameter 'a.b'");
    parse_bad("a..b", NULL, "Invalid parameter 'a..b': empty key component");
}
END_TEST

START_TEST(test_malformed)
{
    parse_bad(",", NULL, "Missing parameter name at offset 0 of ','");
    parse_bad(",a=1", NULL, "Missing parameter name at offset 0 of ',a=1'");
    parse_bad("=x", NULL, "Missing parameter name at offset 0 of '=x'");
    parse_bad("a=1,=x", NULL,
              "Missing parameter name at offset 4 of 'a=1,=x'");
    parse_bad("=", NULL, "Missing parameter name at offset 0 of '='");
    /* ",," is a comma in the value, so this is a single element... */
    parse_ok("a=1,,=x", NULL, "{\"a\": \"1,=x\"}");
    /* ...and this is two. */
    parse_bad("a=1,,,=x", NULL,
              "Missing parameter name at offset 6 of 'a=1,,,=x'");
}
END_TEST

START_TEST(test_keys)
{
    static const struct {
        const char *params;
        const char *error;
    } bad[] = {
        { "a..b=1", "Invalid parameter 'a..b': empty key component" },
        { ".a=1", "Invalid parameter '.a': empty key component" },
        { "a.=1", "Invalid parameter 'a.': empty key component" },
        { "0=1", "Invalid parameter '0': a key must start with a name, "
                 "not a list index" },
        { "0.a=1", "Invalid parameter '0.a': a key must start with a name, "
                   "not a list index" },
        { "_a=1", "Invalid parameter '_a': a name must start with a letter" },
        { "-a=1", "Invalid parameter '-a': a name must start with a letter" },
        { "a b=1", "Invalid parameter 'a b': only letters, digits, '-' and "
                   "'_' are allowed in a name" },
        { "a:b=1", "Invalid parameter 'a:b': only letters, digits, '-' and "
                   "'_' are allowed in a name" },
        { "a.0b=1", "Invalid parameter 'a.0b': a key component is either a "
                    "name starting with a letter or a list index" },
        { "a.01=1", "Invalid parameter 'a.01': leading zero in list index" },
        { "a,,b=1", "Invalid parameter 'a,,b': only letters, digits, '-' and "
                    "'_' are allowed in a name" },
        { "é=1", "Invalid parameter 'é': a name must start with a letter" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        parse_bad(bad[i].params, NULL, bad[i].error);
    }
    parse_ok("a.b-c.d_e=1", NULL, "{\"a\": {\"b-c\": {\"d_e\": \"1\"}}}");
}
END_TEST

START_TEST(test_long_key)
{
    char key[300];
    g_autofree char *params = NULL;
    g_autofree char *expect = NULL;
    g_autofree char *error = NULL;

    /* 127 characters is the longest component. */
    memset(key, 'k', 127);
    key[127] = '\0';
    params = g_strdup_printf("%s=v", key);
    expect = g_strdup_printf("{\"%s\": \"v\"}", key);
    parse_ok(params, NULL, expect);

    g_free(params);
    g_free(expect);
    params = g_strdup_printf("a.%s=v", key);
    expect = g_strdup_printf("{\"a\": {\"%s\": \"v\"}}", key);
    parse_ok(params, NULL, expect);

    memset(key, 'k', 128);
    key[128] = '\0';
    g_free(params);
    params = g_strdup_printf("a.%s=v", key);
    error = g_strdup_printf("Invalid parameter 'a.%s': key component longer "
                            "than 127 characters", key);
    parse_bad(params, NULL, error);

    /* Many short components are fine, however long the key. */
    g_free(params);
    g_free(expect);
    params = g_strdup_printf("%s.%s.%s=v", key + 1, key + 1, key + 1);
    expect = g_strdup_printf("{\"%s\": {\"%s\": {\"%s\": \"v\"}}}", key + 1,
                             key + 1, key + 1);
    parse_ok(params, NULL, expect);
}
END_TEST

START_TEST(test_nesting)
{
    parse_ok("a.b=1,a.c=2", NULL, "{\"a\": {\"b\": \"1\", \"c\": \"2\"}}");
    parse_ok("a.b=1,x=0,a.c=2", NULL,
             "{\"a\": {\"b\": \"1\", \"c\": \"2\"}, \"x\": \"0\"}");
    parse_ok("addr.type=inet,addr.port=1", NULL,
             "{\"addr\": {\"type\": \"inet\", \"port\": \"1\"}}");
    parse_ok("a.b.c.d.e.f.g.h=deep", NULL,
             "{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": {\"g\": "
             "{\"h\": \"deep\"}}}}}}}}");

    parse_bad("a=1,a.b=2", NULL, "Parameters 'a.*' used inconsistently");
    parse_bad("a.b=2,a=1", NULL, "Parameters 'a.*' used inconsistently");
    parse_bad("a.b.c=1,a.b=2", NULL,
              "Parameters 'a.b.*' used inconsistently");
    parse_bad("a.b=2,a.b.c=1", NULL,
              "Parameters 'a.b.*' used inconsistently");
}
END_TEST

START_TEST(test_duplicates)
{
    parse_bad("a=1,a=2", NULL, "Duplicate parameter 'a'");
    parse_bad("a=1,a=1", NULL, "Duplicate parameter 'a'");
    parse_bad("a.b=1,a.c=1,a.b=2", NULL, "Duplicate parameter 'a.b'");
    parse_bad("l.0=1,l.0=2", NULL, "Duplicate parameter 'l.0'");
}
END_TEST

START_TEST(test_lists)
{
    parse_ok("l.0=a", NULL, "{\"l\": [\"a\"]}");
    parse_ok("l.0=a,l.1=b", NULL, "{\"l\": [\"a\", \"b\"]}");
    /* Order of the indexes does not matter. */
    parse_ok("l.2=c,l.0=a,l.1=b", NULL, "{\"l\": [\"a\", \"b\", \"c\"]}");
    parse_ok("l.0.x=1,l.0.y=2,l.1.x=3", NULL,
             "{\"l\": [{\"x\": \"1\", \"y\": \"2\"}, {\"x\": \"3\"}]}");
    parse_ok("l.0.0=a,l.0.1=b,l.1.0=c", NULL,
             "{\"l\": [[\"a\", \"b\"], [\"c\"]]}");
    parse_ok("a.l.0=x,a.n=y", NULL, "{\"a\": {\"l\": [\"x\"], \"n\": \"y\"}}");
    parse_ok("l.10=k,l.9=j,l.8=i,l.7=h,l.6=g,l.5=f,l.4=e,l.3=d,l.2=c,"
             "l.1=b,l.0=a", NULL,
             "{\"l\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\","
             "\"i\",\"j\",\"k\"]}");

    parse_bad("l.1=b", NULL, "Parameter 'l.0' missing");
    parse_bad("l.0=a,l.2=c", NULL, "Parameter 'l.1' missing");
    parse_bad("l.0=a,l.99999999999999999999999=c", NULL,
              "Parameter 'l.1' missing");
    parse_bad("a.l.0.x=1,a.l.2.x=1", NULL, "Parameter 'a.l.1' missing");
    parse_bad("l.0=a,l.x=b", NULL, "Parameters 'l.*' used inconsistently");
    parse_bad("a.l.x=b,a.l.0=a", NULL,
              "Parameters 'a.l.*' used inconsistently");
    parse_bad("l.0=a,l=b", NULL, "Parameters 'l.*' used inconsistently");
}
END_TEST

START_TEST(test_help)
{
    bool help = false;
    Error *err = NULL;
    json_t *obj;

    obj = keyval_parse("help", NULL, &help, &error_abort);
    ck_assert(help);
    ck_assert_uint_eq(json_object_size(obj), 0);
    json_decref(obj);

    /* "help" wins over the implied key. */
    help = false;
    obj = keyval_parse("?", "uri", &help, &error_abort);
    ck_assert(help);
    ck_assert_uint_eq(json_object_size(obj), 0);
    json_decref(obj);

    help = false;
    obj = keyval_parse("a=1,help,b=2", NULL, &help, &error_abort);
    ck_assert(help);
    ck_assert_str_eq(json_string_value(json_object_get(obj, "b")), "2");
    json_decref(obj);

    help = true;
    obj = keyval_parse("a=help", NULL, &help, &error_abort);
    ck_assert(!help);
    ck_assert_str_eq(json_string_value(json_object_get(obj, "a")), "help");
    json_decref(obj);

    help = true;
    obj = keyval_parse("helpme", "x", &help, &error_abort);
    ck_assert(!help);
    ck_assert_str_eq(json_string_value(json_object_get(obj, "x")), "helpme");
    json_decref(obj);

    /* A caller that cannot give help gets an error. */
    parse_bad("help", NULL, "Help is not available for this option");
    parse_bad("a=1,?", "uri", "Help is not available for this option");

    /* A syntax error still wins over a help request. */
    ck_assert_ptr_null(keyval_parse("help,a", NULL, &help, &err));
    ck_assert_str_eq(error_get_pretty(err),
                     "Expected '=' after parameter 'a'");
    error_free(err);
}
END_TEST

START_TEST(test_parse_into)
{
    json_t *into = json_object();
    Error *err = NULL;
    g_autofree char *dump = NULL;
    json_t *want;

    ck_assert(keyval_parse_into(into, "d.p=1,d.q=2", NULL, &error_abort));
    /* Later wins, across and inside strings. */
    ck_assert(keyval_parse_into(into, "d.p=3,x=1,x=2", NULL, &error_abort));
    ck_assert(keyval_parse_into(into, "l.0=a", NULL, &error_abort));
    ck_assert(keyval_parse_into(into, "l.1=b", NULL, &error_abort));
    ck_assert(keyval_parse_into(into, "l.0=A", NULL, &error_abort));
    ck_assert(keyval_parse_into(into, "v", "impl", &error_abort));

    want = json_pack("{s:{s:s,s:s},s:s,s:[s,s],s:s}", "d", "p", "3", "q",
                     "2", "x", "2", "l", "A", "b", "impl", "v");
    dump = json_dumps(into, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(into, want), "got %s", dump);

    /* Errors leave @into alone. */
    ck_assert(!keyval_parse_into(into, "y=1,d=2", NULL, &err));
    ck_assert_str_eq(error_get_pretty(err),
                     "Parameters 'd.*' used inconsistently");
    error_free_or_abort(&err);
    ck_assert(!keyval_parse_into(into, "y=1,l.3=x", NULL, &err));
    ck_assert_str_eq(error_get_pretty(err), "Parameter 'l.2' missing");
    error_free_or_abort(&err);
    ck_assert(!keyval_parse_into(into, "y=1,l.x=x", NULL, &err));
    ck_assert_str_eq(error_get_pretty(err),
                     "Parameters 'l.*' used inconsistently");
    error_free_or_abort(&err);
    ck_assert(!keyval_parse_into(into, "help", NULL, &err));
    ck_assert_str_eq(error_get_pretty(err),
                     "Help is not available for this option");
    error_free_or_abort(&err);
    ck_assert(!keyval_parse_into(into, "y=1,,,=", NULL, &err));
    error_free_or_abort(&err);
    ck_assert_msg(json_equal(into, want), "changed on error");

    json_decref(want);
    json_decref(into);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keyval");
    TCase *tc = tcase_create("parse");
    SRunner *sr;

    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_escaped_commas);
    tcase_add_test(tc, test_escaped_commas_everywhere);
    tcase_add_test(tc, test_implied);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_long_key);
    tcase_add_test(tc, test_nesting);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_lists);
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_parse_into);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
