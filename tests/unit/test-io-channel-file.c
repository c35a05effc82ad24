/*
 * Unit tests for file channels (io/channel-file.c): writing at an
 * offset keeps what comes before it, reading from an offset, and the
 * errors of bad offsets and paths.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "io/channel-file.h"

/* A path in a fresh temporary directory; removed with the directory by
 * cleanup(). */
static char *tmp_path(const char *name)
{
    g_autofree char *dir = g_dir_make_tmp("test-io-file-XXXXXX", NULL);

    ck_assert_ptr_nonnull(dir);
    return g_build_filename(dir, name, NULL);
}

static void cleanup(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);

    g_unlink(path);
    g_rmdir(dir);
}

static char *contents(const char *path, gsize *len)
{
    char *data = NULL;

    ck_assert(g_file_get_contents(path, &data, len, NULL));
    return data;
}

static void save(const char *path, uint64_t offset, const char *data)
{
    g_autoptr(QIOChannel) f = qio_channel_file_open_write(path, offset,
                                                          &error_abort);

    ck_assert(qio_channel_write_all(f, data, strlen(data), &error_abort));
    ck_assert(qio_channel_close(f, &error_abort));
}

START_TEST(test_write_read)
{
    g_autofree char *path = tmp_path("state");
    g_autofree char *name = g_strdup_printf("file:%s", path);
    g_autofree char *data = NULL;
    g_autoptr(QIOChannel) f = NULL;
    char a[5] = "", b[6] = "";
    struct iovec iov[] = { { a, sizeof(a) }, { b, sizeof(b) } };
    struct stat st;
    gsize len;

    f = qio_channel_file_open_write(path, 0, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(f), name);
    ck_assert_str_eq(qio_channel_get_kind(f), "file");
    ck_assert(qio_channel_write_all(f, "hello world", 11, &error_abort));
    ck_assert(qio_channel_close(f, &error_abort));
    g_clear_pointer(&f, qio_channel_unref);

    data = contents(path, &len);
    ck_assert_uint_eq(len, 11);
    ck_assert_str_eq(data, "hello world");
    /* The stream holds guest memory: only the owner may read it. */
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);

    f = qio_channel_file_open_read(path, 0, &error_abort);
    ck_assert(qio_channel_readv_all(f, iov, 2, &error_abort));
    ck_assert_int_eq(memcmp(a, "hello", 5), 0);
    ck_assert_int_eq(memcmp(b, " world", 6), 0);
    ck_assert_int_eq(qio_channel_read(f, a, 1, &error_abort), 0);

    /* Saving again at offset 0 replaces the whole file. */
    save(path, 0, "bye");
    g_free(data);
    data = contents(path, &len);
    ck_assert_str_eq(data, "bye");
    cleanup(path);
}
END_TEST

START_TEST(test_offset)
{
    g_autofree char *path = tmp_path("state");
    g_autofree char *name = g_strdup_printf("file:%s,offset=7", path);
    g_autofree char *data = NULL;
    g_autoptr(QIOChannel) f = NULL;
    char buf[16] = "";
    gsize len;

    ck_assert(g_file_set_contents(path, "HEADER:old stream, long", -1,
                                  NULL));
    save(path, 7, "new");
    data = contents(path, &len);
    /* The header stays; the old stream's tail does not. */
    ck_assert_uint_eq(len, 10);
    ck_assert_str_eq(data, "HEADER:new");

    f = qio_channel_file_open_read(path, 7, &error_abort);
    ck_assert_str_eq(qio_channel_get_name(f), name);
    ck_assert(qio_channel_read_all(f, buf, 3, &error_abort));
    ck_assert_str_eq(buf, "new");
    ck_assert_int_eq(qio_channel_read(f, buf, 1, &error_abort), 0);
    g_clear_pointer(&f, qio_channel_unref);

    /* Exactly at the end: an empty stream, not an error. */
    f = qio_channel_file_open_read(path, 10, &error_abort);
    ck_assert_int_eq(qio_channel_read(f, buf, 1, &error_abort), 0);
    cleanup(path);
}
END_TEST

/* An offset past the end of a new (or short) file leaves a hole of
 * zeros before the stream. */
START_TEST(test_offset_new_file)
{
    g_autofree char *path = tmp_path("state");
    g_autofree char *data = NULL;
    gsize len;

    save(path, 4, "abc");
    data = contents(path, &len);
    ck_assert_uint_eq(len, 7);
    ck_assert_int_eq(memcmp(data, "\0\0\0\0abc", 7), 0);
    cleanup(path);
}
END_TEST

START_TEST(test_offset_beyond_eof)
{
    g_autofree char *path = tmp_path("state");
    g_autofree char *expect = NULL;
    Error *err = NULL;

    ck_assert(g_file_set_contents(path, "0123456789", -1, NULL));
    expect = g_strdup_printf("Offset 11 is beyond the end of 'file:%s,"
                             "offset=11' (10 bytes)", path);
    ck_assert_ptr_null(qio_channel_file_open_read(path, 11, &err));
    check_error(&err, expect);

    ck_assert_ptr_null(qio_channel_file_open_read(path, UINT64_MAX, &err));
    check_error(&err, "is too large");
    ck_assert_ptr_null(qio_channel_file_open_write(path, UINT64_MAX, &err));
    check_error(&err, "is too large");
    cleanup(path);
}
END_TEST

START_TEST(test_open_errors)
{
    g_autofree char *path = tmp_path("missing");
    g_autofree char *expect = g_strdup_printf("Failed to open 'file:%s' "
                                              "for reading: No such file "
                                              "or directory", path);
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *nodir = g_build_filename(dir, "no", "such", NULL);
    Error *err = NULL;

    ck_assert_ptr_null(qio_channel_file_open_read(path, 0, &err));
    check_error(&err, expect);
    ck_assert_ptr_null(qio_channel_file_open_write(nodir, 0, &err));
    check_error(&err, "for writing: No such file or directory");
    cleanup(path);
}
END_TEST

START_TEST(test_direction)
{
    g_autofree char *path = tmp_path("state");
    g_autoptr(QIOChannel) w = NULL;
    g_autoptr(QIOChannel) r = NULL;
    Error *err = NULL;
    char c;

    w = qio_channel_file_open_write(path, 0, &error_abort);
    ck_assert_int_eq(qio_channel_read(w, &c, 1, &err), -1);
    check_error(&err, "is open for writing only");
    r = qio_channel_file_open_read(path, 0, &error_abort);
    ck_assert(!qio_channel_write_all(r, "x", 1, &err));
    check_error(&err, "is open for reading only");
    cleanup(path);
}
END_TEST

/* Saving to a character device that cannot be truncated. */
START_TEST(test_dev_null)
{
    g_autoptr(QIOChannel) f = qio_channel_file_open_write("/dev/null", 0,
                                                          &error_abort);

    ck_assert(qio_channel_write_all(f, "discarded", 9, &error_abort));
    ck_assert(qio_channel_close(f, &error_abort));
}
END_TEST

/* A pipe passed as a descriptor: the non-seekable case. */
START_TEST(test_pipe_fd)
{
    g_autoptr(QIOChannel) r = NULL;
    g_autoptr(QIOChannel) w = NULL;
    char buf[4] = "";
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    r = qio_channel_file_new_fd(p[0], NULL);
    w = qio_channel_file_new_fd(p[1], "pipe");
    ck_assert_str_eq(qio_channel_get_name(r), "file");
    ck_assert(qio_channel_set_blocking(r, false, &error_abort));
    ck_assert_int_eq(qio_channel_read(r, buf, 1, &error_abort),
                     QIO_CHANNEL_ERR_BLOCK);
    ck_assert(qio_channel_write_all(w, "abc", 3, &error_abort));
    ck_assert(qio_channel_read_all(r, buf, 3, &error_abort));
    ck_assert_str_eq(buf, "abc");
    ck_assert(qio_channel_close(w, &error_abort));
    ck_assert(qio_channel_set_blocking(r, true, &error_abort));
    ck_assert_int_eq(qio_channel_read(r, buf, 1, &error_abort), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io-channel-file");
    TCase *tc = tcase_create("io-channel-file");
    SRunner *sr;

    tcase_add_test(tc, test_write_read);
    tcase_add_test(tc, test_offset);
    tcase_add_test(tc, test_offset_new_file);
    tcase_add_test(tc, test_offset_beyond_eof);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_direction);
    tcase_add_test(tc, test_dev_null);
    tcase_add_test(tc, test_pipe_fd);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
