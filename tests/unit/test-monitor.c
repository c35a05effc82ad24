/*
 * Unit tests for the monitor: HMP argument parsing, and QMP events
 * emitted from other threads (delivered completely and in order).
 *
 * The event tests run a real QMP monitor on a unix socket in a temporary
 * directory and drive the GLib main context by hand.
 */
#include <check.h>
#include "tests/check-run.h"
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qapi/qapi-events.h"

/* ---- HMP arguments ---- */

static json_t *parse_ok(const char *args_type, const char *line)
{
    Error *err = NULL;
    json_t *args = hmp_parse_args(args_type, "cmd", line, &err);

    ck_assert_msg(args, "'%s' with '%s' failed: %s", line, args_type,
                  err ? error_get_pretty(err) : "?");
    return args;
}

static void parse_fails(const char *args_type, const char *line,
                        const char *needle)
{
    Error *err = NULL;
    json_t *args = hmp_parse_args(args_type, "cmd", line, &err);

    ck_assert_msg(!args, "'%s' with '%s' should fail", line, args_type);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(error_get_pretty(err), needle),
                  "error '%s' does not contain '%s'", error_get_pretty(err),
                  needle);
    error_free(err);
}

START_TEST(test_hmp_args_types)
{
    json_t *args = parse_ok("name:s,count:i,size:o,flag:b,opts:O,rest:S",
                            "  disk0 -12  64M on a=1,b.c=x  the rest  ");

    ck_assert_str_eq(hmp_arg_str(args, "name"), "disk0");
    ck_assert_int_eq(hmp_arg_int(args, "count", 0), -12);
    ck_assert_int_eq(hmp_arg_int(args, "size", 0), 64 * 1024 * 1024);
    ck_assert(hmp_arg_bool(args, "flag", false));
    json_t *opts = hmp_arg_obj(args, "opts");
    ck_assert_ptr_nonnull(opts);
    ck_assert_str_eq(json_string_value(json_object_get(opts, "a")), "1");
    ck_assert_str_eq(json_string_value(
        json_object_get(json_object_get(opts, "b"), "c")), "x");
    ck_assert_str_eq(hmp_arg_str(args, "rest"), "the rest");
    json_decref(args);

    args = parse_ok("flag:b", "off");
    ck_assert(!hmp_arg_bool(args, "flag", true));
    json_decref(args);
    args = parse_ok("n:i", "0x10");
    ck_assert_int_eq(hmp_arg_int(args, "n", 0), 16);
    json_decref(args);
}
END_TEST

START_TEST(test_hmp_args_optional)
{
    json_t *args = parse_ok("name:s,value:i?,rest:S?", "x");

    ck_assert_str_eq(hmp_arg_str(args, "name"), "x");
    ck_assert(!hmp_arg_has(args, "value"));
    ck_assert(!hmp_arg_has(args, "rest"));
    ck_assert_int_eq(hmp_arg_int(args, "value", 7), 7);
    ck_assert_ptr_null(hmp_arg_str(args, "rest"));
    json_decref(args);

    args = parse_ok(NULL, "   ");
    ck_assert_int_eq(json_object_size(args), 0);
    json_decref(args);
}
END_TEST

START_TEST(test_hmp_args_quoting)
{
    json_t *args = parse_ok("a:s,b:s", "\"two words\" \"q\\\"\\\\\\n\"");

    ck_assert_str_eq(hmp_arg_str(args, "a"), "two words");
    ck_assert_str_eq(hmp_arg_str(args, "b"), "q\"\\\n");
    json_decref(args);

    parse_fails("a:s", "\"open", "unterminated");
    parse_fails("a:s", "\"bad\\x\"", "invalid escape");
    parse_fails("a:s", "\"glued\"word", "closing");
}
END_TEST

START_TEST(test_hmp_args_errors)
{
    parse_fails("name:s", "", "missing argument 'name'");
    parse_fails("name:s", "a b", "too many arguments");
    parse_fails("", "x", "too many arguments");
    parse_fails("n:i", "12abc", "n");
    parse_fails("n:i", "99999999999999999999", "n");
    parse_fails("size:o", "12Q", "size");
    parse_fails("flag:b", "maybe", "flag");
    parse_fails("opts:O", "a=1,a=2", "opts");
}
END_TEST

/* ---- events from other threads ---- */

typedef struct Client {
    char *dir;
    int fd;
    GString *in;        /* everything received */
} Client;

static void iterate(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

/* Reads what is available, driving the monitor, until @needle has been
 * seen @count times (or 5 s have passed). */
/* How long nothing may arrive before read_until() gives up: only a hang
 * ends it, never a slow (sanitized, loaded) run. */
#define READ_STALL_US (20 * G_USEC_PER_SEC)

/* Reads until @needle has been seen @count times in whole lines (each
 * line scanned once), or until nothing arrives for READ_STALL_US. */
static unsigned read_until(Client *c, const char *needle, unsigned count)
{
    gint64 stall_deadline = g_get_monotonic_time() + READ_STALL_US;
    unsigned seen = 0;
    size_t scanned = 0;

    while (seen < count && g_get_monotonic_time() < stall_deadline) {
        char buf[65536];
        ssize_t n;
        bool got = false;
        char *last_nl;

        iterate();
        while ((n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
            g_string_append_len(c->in, buf, n);
            got = true;
        }
        last_nl = strrchr(c->in->str + scanned, '\n');
        if (last_nl) {
            char keep = last_nl[1];

            last_nl[1] = '\0';
            for (const char *p = c->in->str + scanned;
                 (p = strstr(p, needle)); p++) {
                seen++;
            }
            last_nl[1] = keep;
            scanned = last_nl + 1 - c->in->str;
        }
        if (got) {
            stall_deadline = g_get_monotonic_time() + READ_STALL_US;
        } else {
            g_usleep(1000);
        }
    }
    return seen;
}

static void client_open(Client *c)
{
    Error *err = NULL;
    struct sockaddr_un un = { .sun_family = AF_UNIX };

    c->dir = g_dir_make_tmp("test-monitor-XXXXXX", NULL);
    ck_assert_ptr_nonnull(c->dir);
    g_autofree char *path = g_build_filename(c->dir, "qmp.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off",
                                            path);
    monitor_init_globals();
    ck_assert_msg(monitor_init_qmp(spec, &err), "%s",
                  err ? error_get_pretty(err) : "");

    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(un.sun_path, path, sizeof(un.sun_path));
    ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&un, sizeof(un)), 0);
    c->in = g_string_new(NULL);
    const char *caps = "{\"execute\": \"qmp_capabilities\"}";
    ck_assert_int_eq(send(c->fd, caps, strlen(caps), 0), strlen(caps));
    ck_assert_uint_eq(read_until(c, "\"return\"", 1), 1);
    g_string_truncate(c->in, 0);
}

static void client_close(Client *c)
{
    close(c->fd);
    monitor_cleanup();
    g_rmdir(c->dir);
    g_free(c->dir);
    g_string_free(c->in, true);
}

#define EVENTS_PER_THREAD 2000

static gpointer emit_stops(gpointer opaque)
{
    for (int i = 0; i < EVENTS_PER_THREAD; i++) {
        qapi_event_send_stop();
    }
    return NULL;
}

START_TEST(test_events_from_threads_all_arrive)
{
    Client c;
    GThread *threads[4];

    client_open(&c);
    for (int i = 0; i < 4; i++) {
        threads[i] = g_thread_new("emitter", emit_stops, NULL);
    }
    /* The main thread emits meanwhile, interleaving with the queue. */
    for (int i = 0; i < EVENTS_PER_THREAD; i++) {
        qapi_event_send_resume();
    }
    for (int i = 0; i < 4; i++) {
        g_thread_join(threads[i]);
    }
    ck_assert_uint_eq(read_until(&c, "\"event\"", 5 * EVENTS_PER_THREAD),
                      5 * EVENTS_PER_THREAD);
    unsigned stops = 0;
    for (const char *p = c.in->str; (p = strstr(p, "\"STOP\"")); p++) {
        stops++;
    }
    ck_assert_uint_eq(stops, 4 * EVENTS_PER_THREAD);
    client_close(&c);
}
END_TEST

START_TEST(test_events_keep_order)
{
    Client c;

    client_open(&c);
    /* Queued by another thread first, so sent first, even though the
     * main thread's RESUME needs no queue. */
    g_thread_join(g_thread_new("emitter", emit_stops, NULL));
    qapi_event_send_resume();
    ck_assert_uint_eq(read_until(&c, "\"RESUME\"", 1), 1);
    const char *resume = strstr(c.in->str, "\"RESUME\"");
    unsigned stops_before = 0;
    for (const char *p = c.in->str; (p = strstr(p, "\"STOP\"")) &&
         p < resume; p++) {
        stops_before++;
    }
    ck_assert_uint_eq(stops_before, EVENTS_PER_THREAD);
    client_close(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("monitor");
    TCase *tc = tcase_create("hmp-args");
    tcase_add_test(tc, test_hmp_args_types);
    tcase_add_test(tc, test_hmp_args_optional);
    tcase_add_test(tc, test_hmp_args_quoting);
    tcase_add_test(tc, test_hmp_args_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("events");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_events_from_threads_all_arrive);
    tcase_add_test(tc, test_events_keep_order);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
