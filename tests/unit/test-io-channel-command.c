/*
 * Unit tests for command channels (io/channel-command.c): round trips
 * through cat, end of input, exit statuses as close errors, and the
 * environment the command starts in.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "io/channel-command.h"

/* Ends the command's input and reads all of its output. */
static char *finish(QIOChannel *ioc, size_t *len)
{
    GString *out = g_string_new(NULL);
    char buf[4096];
    ssize_t n;

    ck_assert(qio_channel_shutdown(ioc, QIO_CHANNEL_SHUTDOWN_WRITE,
                                   &error_abort));
    while ((n = qio_channel_read(ioc, buf, sizeof(buf), &error_abort)) > 0) {
        g_string_append_len(out, buf, n);
    }
    ck_assert_int_eq(n, 0);
    *len = out->len;
    return g_string_free(out, FALSE);
}

START_TEST(test_cat)
{
    const char *argv[] = { "cat", NULL };
    g_autoptr(QIOChannel) ioc = qio_channel_command_new(argv, NULL,
                                                        &error_abort);
    g_autofree char *out = NULL;
    char buf[5] = "";
    size_t len;

    ck_assert_str_eq(qio_channel_get_name(ioc), "exec:cat");
    ck_assert_str_eq(qio_channel_get_kind(ioc), "command");
    ck_assert(qio_channel_is_command(ioc));
    ck_assert_int_gt(qio_channel_command_get_pid(ioc), 0);

    /* Bidirectional: what goes in comes back while the command runs. */
    ck_assert(qio_channel_write_all(ioc, "hello", 5, &error_abort));
    ck_assert(qio_channel_read_all(ioc, buf, 5, &error_abort));
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);

    ck_assert(qio_channel_write_all(ioc, "last words", 10, &error_abort));
    out = finish(ioc, &len);
    ck_assert_uint_eq(len, 10);
    ck_assert_str_eq(out, "last words");
    ck_assert(qio_channel_close(ioc, &error_abort));
    ck_assert_int_eq(qio_channel_command_get_pid(ioc), -1);
}
END_TEST

typedef struct Feed {
    QIOChannel *ioc;
    const uint8_t *buf;
    size_t len;
} Feed;

static gpointer feed_thread(gpointer opaque)
{
    Feed *f = opaque;
    bool ok = qio_channel_write_all(f->ioc, f->buf, f->len, &error_abort);

    ok = ok && qio_channel_shutdown(f->ioc, QIO_CHANNEL_SHUTDOWN_WRITE,
                                    &error_abort);
    return GINT_TO_POINTER(ok);
}

/* More than the socket buffers hold, so cat blocks on its output while
 * we write: only reading at the same time avoids a deadlock. */
START_TEST(test_cat_large)
{
    size_t len = 3 * 1024 * 1024 + 1;
    g_autofree uint8_t *data = g_malloc(len);
    g_autofree uint8_t *back = g_malloc0(len);
    g_autoptr(QIOChannel) ioc = qio_channel_command_new_shell("cat",
                                                              &error_abort);
    Feed f = { .buf = data, .len = len };
    GThread *t;
    char c;

    for (size_t i = 0; i < len; i++) {
        data[i] = (uint8_t)(i * 7 + (i >> 10));
    }
    f.ioc = ioc;
    t = g_thread_new("feed", feed_thread, &f);
    ck_assert(qio_channel_read_all(ioc, back, len, &error_abort));
    ck_assert(g_thread_join(t));
    ck_assert_int_eq(memcmp(data, back, len), 0);
    ck_assert_int_eq(qio_channel_read(ioc, &c, 1, &error_abort), 0);
    ck_assert(qio_channel_close(ioc, &error_abort));
}
END_TEST

/* The command sees the end of its input when we shut down writing. */
START_TEST(test_end_of_input)
{
    g_autoptr(QIOChannel) ioc = qio_channel_command_new_shell("wc -c",
                                                              &error_abort);
    g_autofree char *out = NULL;
    g_autofree char *junk = g_malloc0(12345);
    size_t len;

    ck_assert_str_eq(qio_channel_get_name(ioc), "exec:wc -c");
    ck_assert(qio_channel_write_all(ioc, junk, 12345, &error_abort));
    out = finish(ioc, &len);
    g_strstrip(out);
    ck_assert_str_eq(out, "12345");
    ck_assert(qio_channel_close(ioc, &error_abort));
}
END_TEST

START_TEST(test_exit_status)
{
    const char *argv[] = { "false", NULL };
    g_autoptr(QIOChannel) shell = qio_channel_command_new_shell(
        "exit 3", &error_abort);
    g_autoptr(QIOChannel) prog = qio_channel_command_new(argv, "exec:f",
                                                         &error_abort);
    Error *err = NULL;

    ck_assert(!qio_channel_close(shell, &err));
    check_error(&err, "Command 'exit 3' exited with status 3");
    /* Reported once: the channel is closed now. */
    ck_assert(qio_channel_close(shell, &error_abort));

    ck_assert_str_eq(qio_channel_get_name(prog), "exec:f");
    ck_assert(!qio_channel_close(prog, &err));
    check_error(&err, "Command 'false' exited with status 1");
}
END_TEST

START_TEST(test_killed)
{
    g_autoptr(QIOChannel) ioc = qio_channel_command_new_shell(
        "kill -KILL $$", &error_abort);
    Error *err = NULL;

    ck_assert(!qio_channel_close(ioc, &err));
    check_error(&err, "Command 'kill -KILL $$' was killed by signal 9");
}
END_TEST

/* A command that ignores the end of its input is killed, not waited
 * for forever. */
START_TEST(test_exit_timeout)
{
    g_autoptr(QIOChannel) ioc = qio_channel_command_new_shell(
        "exec sleep 30", &error_abort);
    pid_t pid = qio_channel_command_get_pid(ioc);
    gint64 start = g_get_monotonic_time();
    Error *err = NULL;

    qio_channel_command_set_exit_timeout(ioc, 100);
    ck_assert(!qio_channel_close(ioc, &err));
    check_error(&err, "Command 'exec sleep 30' did not exit within 100 ms");
    ck_assert_int_lt(g_get_monotonic_time() - start, 5 * G_USEC_PER_SEC);
    /* Reaped: no zombie left. */
    ck_assert_int_lt(kill(pid, 0), 0);
}
END_TEST

START_TEST(test_no_such_program)
{
    const char *argv[] = { "/nonexistent/program", "arg", NULL };
    const char *empty[] = { NULL };
    Error *err = NULL;

    ck_assert_ptr_null(qio_channel_command_new(argv, NULL, &err));
    check_error(&err, "Failed to run command '/nonexistent/program arg': "
                "No such file or directory");
    ck_assert_ptr_null(qio_channel_command_new(empty, NULL, &err));
    check_error(&err, "Empty command");
    ck_assert_ptr_null(qio_channel_command_new_shell("", &err));
    check_error(&err, "Empty command for 'exec:'");
}
END_TEST

/* The mask in a "NAME:\tHEX" line of /proc/PID/status. */
static guint64 status_mask(const char *status, const char *name)
{
    g_autofree char *key = g_strdup_printf("\n%s:\t", name);
    g_autofree char *text = g_strdup_printf("\n%s", status);
    const char *line = strstr(text, key);

    ck_assert_msg(line, "no %s in '%s'", name, status);
    return g_ascii_strtoull(line + strlen(key), NULL, 16);
}

/* vmig ignores SIGPIPE and its threads block signals; the command must
 * inherit neither. */
START_TEST(test_signals_reset)
{
    /* Signals 1 to 31: glibc keeps its internal real-time signals
     * ignored in children of posix_spawn(), which exec does not undo. */
    const guint64 standard = 0x7fffffff;
    g_autoptr(QIOChannel) ioc = NULL;
    g_autofree char *out = NULL;
    sigset_t block;
    size_t len;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    ioc = qio_channel_command_new_shell(
        "exec grep -E '^Sig(Ign|Blk):' /proc/self/status", &error_abort);
    out = finish(ioc, &len);
    ck_assert(qio_channel_close(ioc, &error_abort));
    ck_assert_msg(!(status_mask(out, "SigIgn") & standard), "%s", out);
    ck_assert_msg(!(status_mask(out, "SigBlk") & standard), "%s", out);
}
END_TEST

/* Dropping the last reference without close still reaps. */
START_TEST(test_unref_reaps)
{
    QIOChannel *ioc = qio_channel_command_new_shell("cat", &error_abort);
    pid_t pid = qio_channel_command_get_pid(ioc);

    qio_channel_unref(ioc);
    ck_assert_int_lt(waitpid(pid, NULL, WNOHANG), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io-channel-command");
    TCase *tc = tcase_create("io-channel-command");
    SRunner *sr;

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_cat);
    tcase_add_test(tc, test_cat_large);
    tcase_add_test(tc, test_end_of_input);
    tcase_add_test(tc, test_exit_status);
    tcase_add_test(tc, test_killed);
    tcase_add_test(tc, test_exit_timeout);
    tcase_add_test(tc, test_no_such_program);
    tcase_add_test(tc, test_signals_reset);
    tcase_add_test(tc, test_unref_reaps);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
