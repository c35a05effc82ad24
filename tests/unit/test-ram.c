/*
 * Unit tests for guest RAM (system/ram.c) and the memory backend objects
 * (system/memory-backend.c, system/object.c).
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qapi/keyval.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-visit.h"
#include "qapi/visitor.h"
#include "system/memory-backend.h"
#include "system/object.h"
#include "system/ram.h"

#define MiB (1024 * 1024)

static uint64_t page_size(void)
{
    return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A fresh temporary directory, removed with rm_tmpdir(). */
static char *make_tmpdir(void)
{
    char *dir = g_dir_make_tmp("test-ram-XXXXXX", NULL);
    ck_assert_ptr_nonnull(dir);
    return dir;
}

static unsigned count_dir_entries(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    unsigned n = 0;

    ck_assert_ptr_nonnull(dir);
    while (g_dir_read_name(dir)) {
        n++;
    }
    g_dir_close(dir);
    return n;
}

/* The first byte of @fd at @offset, as another process would see it. */
static uint8_t file_byte(int fd, off_t offset)
{
    uint8_t b = 0xee;
    ck_assert_int_eq(pread(fd, &b, 1, offset), 1);
    return b;
}

START_TEST(test_anon)
{
    g_autoptr(RAMBlock) b = ram_block_new_anon("pc.ram", 4 * MiB, false,
                                               &error_abort);

    ck_assert_str_eq(b->idstr, "pc.ram");
    ck_assert_uint_eq(b->size, 4 * MiB);
    ck_assert_uint_eq(b->page_size, page_size());
    ck_assert_int_eq(b->fd, -1);
    ck_assert_ptr_null(b->mem_path);
    ck_assert(!b->shared);
    ck_assert(!b->registered);
    ck_assert_uint_eq((uintptr_t)b->host % page_size(), 0);
    /* Zero-filled and writable end to end. */
    ck_assert_uint_eq(b->host[0], 0);
    ck_assert_uint_eq(b->host[b->size - 1], 0);
    b->host[0] = 1;
    b->host[b->size - 1] = 2;
    ck_assert_uint_eq(b->host[b->size - 1], 2);
}
END_TEST

START_TEST(test_file_in_directory)
{
    g_autofree char *dir = make_tmpdir();
    g_autoptr(RAMBlock) b = ram_block_new_file("mem0", dir, 2 * MiB, true,
                                               &error_abort);

    ck_assert_int_ge(b->fd, 0);
    ck_assert_str_eq(b->mem_path, dir);
    ck_assert(b->shared);
    ck_assert_uint_eq(b->fd_offset, 0);
    /* The temporary file is already unlinked. */
    ck_assert_uint_eq(count_dir_entries(dir), 0);
    /* Shared: writes reach the file. */
    b->host[4096] = 0x5a;
    ck_assert_uint_eq(file_byte(b->fd, 4096), 0x5a);
    g_rmdir(dir);
}
END_TEST

START_TEST(test_file_path)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "guest.ram", NULL);
    RAMBlock *b;
    GStatBuf st;

    /* A missing file is created with the requested size... */
    b = ram_block_new_file("mem0", path, 1 * MiB, false, &error_abort);
    ck_assert_int_eq(g_stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 1 * MiB);
    /* ...and private mappings do not write to it. */
    b->host[0] = 0x77;
    ck_assert_uint_eq(file_byte(b->fd, 0), 0);
    ram_block_free(b);

    /* An existing larger file is fine: the first @size bytes are used. */
    b = ram_block_new_file("mem0", path, 512 * 1024, true, &error_abort);
    ck_assert_uint_eq(b->size, 512 * 1024);
    ram_block_free(b);

    g_unlink(path);
    g_rmdir(dir);
}
END_TEST

START_TEST(test_file_errors)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *small = g_build_filename(dir, "small", NULL);
    g_autofree char *created = g_build_filename(dir, "created", NULL);
    Error *err = NULL;

    ck_assert_ptr_null(ram_block_new_file("m", "/nonexistent/dir/file",
                                          1 * MiB, false, &err));
    check_error(&err, "cannot open mem-path '/nonexistent/dir/file'");

    ck_assert_ptr_null(ram_block_new_file("m", "/dev/null", 1 * MiB, false,
                                          &err));
    check_error(&err, "mem-path '/dev/null' is neither a regular file");

    ck_assert(g_file_set_contents(small, "x", 1, NULL));
    ck_assert_ptr_null(ram_block_new_file("m", small, 1 * MiB, false,
                                          &err));
    check_error(&err, "is 1 bytes long, less than size 1048576");

    /* A file created for a block that then fails is removed again. */
    ck_assert_ptr_null(ram_block_new_file("m", created, 1000, false, &err));
    check_error(&err, "not a multiple of the page size");
    ck_assert(!g_file_test(created, G_FILE_TEST_EXISTS));

    g_unlink(small);
    g_rmdir(dir);
}
END_TEST

START_TEST(test_memfd)
{
    g_autoptr(RAMBlock) sealed = ram_block_new_memfd("m0", 2 * MiB, true,
                                                     true, &error_abort);
    g_autoptr(RAMBlock) unsealed = ram_block_new_memfd("m1", 2 * MiB, true,
                                                   false, &error_abort);
    int seals;

    ck_assert_int_ge(sealed->fd, 0);
    ck_assert(sealed->shared);
    seals = fcntl(sealed->fd, F_GET_SEALS);
    ck_assert_int_eq(seals & (F_SEAL_GROW | F_SEAL_SHRINK),
                     F_SEAL_GROW | F_SEAL_SHRINK);
    ck_assert_int_ne(ftruncate(sealed->fd, 4 * MiB), 0);

    /* Unsealed: it can still be resized. */
    ck_assert_int_eq(fcntl(unsealed->fd, F_GET_SEALS) &
                     (F_SEAL_GROW | F_SEAL_SHRINK), 0);
    ck_assert_int_eq(ftruncate(unsealed->fd, 2 * MiB), 0);

    /* Shared: writes are visible through the fd. */
    sealed->host[123] = 0x42;
    ck_assert_uint_eq(file_byte(sealed->fd, 123), 0x42);
}
END_TEST

START_TEST(test_size_errors)
{
    Error *err = NULL;

    ck_assert_ptr_null(ram_block_new_anon("m", 0, false, &err));
    check_error(&err, "size must not be zero");
    ck_assert_ptr_null(ram_block_new_anon("m", 1000, false, &err));
    check_error(&err, "size 1000 is not a multiple of the page size");
    ck_assert_ptr_null(ram_block_new_memfd("m", page_size() + 1, true, true,
                                           &err));
    check_error(&err, "is not a multiple of the page size");
    /* More address space than any host has. */
    ck_assert_ptr_null(ram_block_new_anon("m", 1ull << 62, false, &err));
    check_error(&err, "cannot map 4 EiB of memory");
}
END_TEST

static int collect_ids(RAMBlock *block, void *opaque)
{
    GString *s = opaque;

    g_string_append_printf(s, "%s@%" G_GUINT64_FORMAT " ", block->idstr,
                           block->offset);
    return 0;
}

static int stop_at_b(RAMBlock *block, void *opaque)
{
    (*(int *)opaque)++;
    return strcmp(block->idstr, "b") == 0 ? 7 : 0;
}

START_TEST(test_guest_list)
{
    g_autoptr(RAMBlock) a = ram_block_new_anon("a", 1 * MiB, false,
                                               &error_abort);
    g_autoptr(RAMBlock) b = ram_block_new_anon("b", 2 * MiB, false,
                                               &error_abort);
    g_autoptr(RAMBlock) c = ram_block_new_memfd("c", 1 * MiB, true, true,
                                                &error_abort);
    g_autoptr(RAMBlock) dup = ram_block_new_anon("b", 1 * MiB, false,
                                                 &error_abort);
    g_autoptr(GString) ids = g_string_new("");
    Error *err = NULL;
    int calls = 0;

    ck_assert_uint_eq(ram_guest_size(), 0);
    ck_assert_ptr_null(ram_guest_ptr(0, 1));

    ck_assert(ram_block_register(a, &error_abort));
    ck_assert(ram_block_register(b, &error_abort));
    ck_assert(ram_block_register(c, &error_abort));
    ck_assert(!ram_block_register(b, &err));
    check_error(&err, "RAM block 'b' is already guest RAM");
    ck_assert(!ram_block_register(dup, &err));
    check_error(&err, "a RAM block named 'b' already exists");

    ck_assert_uint_eq(ram_guest_size(), 4 * MiB);
    ram_block_foreach(collect_ids, ids);
    ck_assert_str_eq(ids->str, "a@0 b@1048576 c@3145728 ");
    ck_assert_int_eq(ram_block_foreach(stop_at_b, &calls), 7);
    ck_assert_int_eq(calls, 2);
    ck_assert_ptr_eq(ram_block_find("c"), c);
    ck_assert_ptr_null(ram_block_find("d"));

    /* Guest offsets map into the right block; ranges may not straddle. */
    ck_assert_ptr_eq(ram_guest_ptr(0, 4096), a->host);
    ck_assert_ptr_eq(ram_guest_ptr(1 * MiB - 4096, 4096),
                     a->host + 1 * MiB - 4096);
    ck_assert_ptr_eq(ram_guest_ptr(1 * MiB, 1), b->host);
    ck_assert_ptr_null(ram_guest_ptr(1 * MiB - 1, 2));
    ck_assert_ptr_eq(ram_guest_ptr(4 * MiB - 1, 1), c->host + 1 * MiB - 1);
    ck_assert_ptr_null(ram_guest_ptr(4 * MiB, 1));

    /* Removing a block moves the later ones down. */
    ram_block_unregister(b);
    ck_assert(!b->registered);
    g_string_truncate(ids, 0);
    ram_block_foreach(collect_ids, ids);
    ck_assert_str_eq(ids->str, "a@0 c@1048576 ");
    ck_assert_uint_eq(ram_guest_size(), 2 * MiB);

    ram_block_unregister(a);
    ram_block_unregister(c);
    ck_assert_uint_eq(ram_guest_size(), 0);
}
END_TEST

/* -object style parsing, as the command line does it. */
static ObjectOptions *object_opts(const char *str)
{
    json_t *tree = keyval_parse(str, "qom-type", NULL, &error_abort);
    Visitor *v = json_input_visitor_new_keyval(tree);
    ObjectOptions *opts = NULL;

    ck_assert(visit_type_ObjectOptions(v, NULL, &opts, &error_abort));
    visit_free(v);
    json_decref(tree);
    return opts;
}

static bool add(const char *str, Error **errp)
{
    g_autoptr(ObjectOptions) opts = object_opts(str);
    return object_add(opts, errp);
}

START_TEST(test_backends)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *file_opt =
        g_strdup_printf("memory-backend-file,id=f0,size=2M,share=on,"
                        "mem-path=%s", dir);
    HostMemoryBackend *ram, *file, *memfd;

    ck_assert(add("memory-backend-ram,id=r0,size=1M", &error_abort));
    ck_assert(add(file_opt, &error_abort));
    ck_assert(add("memory-backend-memfd,id=m0,size=4M", &error_abort));
    ck_assert(add("memory-backend-memfd,id=m1,size=1M,share=off,seal=off",
                  &error_abort));

    ram = memory_backend_find("r0", &error_abort);
    ck_assert_int_eq(ram->type, OBJECT_TYPE_MEMORY_BACKEND_RAM);
    ck_assert_int_eq(ram->block->fd, -1);
    ck_assert(!ram->block->shared);
    ck_assert_str_eq(ram->block->idstr, "r0");
    file = memory_backend_find("f0", &error_abort);
    ck_assert(file->block->shared);
    ck_assert_str_eq(file->block->mem_path, dir);
    memfd = memory_backend_find("m0", &error_abort);
    ck_assert(memfd->block->shared);    /* memfd shares by default */
    ck_assert_uint_eq(memfd->block->size, 4 * MiB);
    ck_assert(!memory_backend_find("m1", &error_abort)->block->shared);

    /* query-memdev lists them in creation order. */
    g_autoptr(MemdevList) list = qmp_query_memdev(&error_abort);
    const char *expect[] = { "r0", "f0", "m0", "m1" };
    MemdevList *e = list;
    for (size_t i = 0; i < G_N_ELEMENTS(expect); i++, e = e->next) {
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e->value->id, expect[i]);
        ck_assert(!e->value->guest_ram);
    }
    ck_assert_ptr_null(e);
    ck_assert_str_eq(list->next->value->mem_path, dir);
    ck_assert_ptr_null(list->value->mem_path);

    /* A backend providing guest RAM cannot be deleted. */
    Error *err = NULL;
    ck_assert(ram_block_register(memfd->block, &error_abort));
    ck_assert(!object_del("m0", &err));
    check_error(&err, "object 'm0' is in use");
    ram_block_unregister(memfd->block);
    ck_assert(object_del("m0", &error_abort));
    ck_assert_ptr_null(memory_backend_find("m0", &err));
    check_error(&err, "memory backend 'm0' not found");

    object_del_all();
    ck_assert_ptr_null(memory_backend_find("r0", &err));
    check_error(&err, "memory backend 'r0' not found");
    g_rmdir(dir);
}
END_TEST

START_TEST(test_object_errors)
{
    Error *err = NULL;

    ck_assert(add("memory-backend-ram,id=r0,size=1M", &error_abort));
    ck_assert(!add("memory-backend-memfd,id=r0,size=1M", &err));
    check_error(&err, "an object with id 'r0' already exists");
    ck_assert(!add("memory-backend-ram,id=0bad,size=1M", &err));
    check_error(&err, "invalid object id '0bad'");
    ck_assert(!add("memory-backend-ram,id=a/b,size=1M", &err));
    check_error(&err, "invalid object id 'a/b'");
    ck_assert(!add("memory-backend-ram,id=r1,size=0", &err));
    check_error(&err, "memory-backend-ram 'r1': size must not be zero");
    ck_assert(!add("memory-backend-file,id=f1,size=1M,"
                   "mem-path=/nonexistent/x", &err));
    check_error(&err, "memory-backend-file 'f1': cannot open mem-path "
                "'/nonexistent/x'");
    ck_assert(!add("memory-backend-memfd,id=m1,size=5000", &err));
    check_error(&err, "memory-backend-memfd 'm1': size 5000 is not a "
                "multiple of the page size");
    ck_assert(!object_del("nope", &err));
    check_error(&err, "object 'nope' not found");
    /* Failed creations leave nothing behind. */
    g_autoptr(MemdevList) list = qmp_query_memdev(&error_abort);
    ck_assert_ptr_nonnull(list);
    ck_assert_ptr_null(list->next);
    object_del_all();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ram");
    TCase *blocks = tcase_create("blocks");
    TCase *backends = tcase_create("backends");
    SRunner *sr;

    tcase_add_test(blocks, test_anon);
    tcase_add_test(blocks, test_file_in_directory);
    tcase_add_test(blocks, test_file_path);
    tcase_add_test(blocks, test_file_errors);
    tcase_add_test(blocks, test_memfd);
    tcase_add_test(blocks, test_size_errors);
    tcase_add_test(blocks, test_guest_list);
    suite_add_tcase(s, blocks);
    tcase_add_test(backends, test_backends);
    tcase_add_test(backends, test_object_errors);
    suite_add_tcase(s, backends);

    sr = srunner_create(s);
    /* Every test starts from a fresh process: the machine is global. */
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
