/*
 * Replays inputs through a harness without libFuzzer: every build (gcc
 * too) runs each fuzz target's committed crashers this way, so a fixed
 * crash stays fixed, and its seeds, so a harness that no longer fits
 * the code it fuzzes is noticed there too.  Arguments are files or directories of files; a
 * directory that does not exist is empty (git keeps no empty ones).
 * Prints TAP, one line per input; with none, the test is skipped.
 */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"

static void collect(const char *path, GPtrArray *files)
{
    g_autoptr(GDir) dir = NULL;
    const char *name;

    if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
        if (g_file_test(path, G_FILE_TEST_EXISTS)) {
            g_ptr_array_add(files, g_strdup(path));
        }
        return;
    }
    dir = g_dir_open(path, 0, NULL);
    while (dir && (name = g_dir_read_name(dir))) {
        g_ptr_array_add(files, g_build_filename(path, name, NULL));
    }
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);

    for (int i = 1; i < argc; i++) {
        collect(argv[i], files);
    }
    g_ptr_array_sort(files, by_name);
    if (!files->len) {
        printf("1..0 # SKIP no input: no crasher kept, no seeds\n");
        return EXIT_SUCCESS;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    printf("1..%u\n", files->len);
    for (guint i = 0; i < files->len; i++) {
        const char *path = g_ptr_array_index(files, i);
        g_autofree char *data = NULL;
        g_autoptr(GError) gerr = NULL;
        gsize len;

        if (!g_file_get_contents(path, &data, &len, &gerr)) {
            printf("not ok %u - %s: %s\n", i + 1, path, gerr->message);
            continue;
        }
        /* A crash ends the process: the test fails with it. */
        LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        printf("ok %u - %s\n", i + 1, path);
        fflush(stdout);
    }
    return EXIT_SUCCESS;
}
