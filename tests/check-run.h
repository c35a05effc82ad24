/*
 * The end of every check-based test's main(): run the suites the way
 * meson reads them (TAP and verbosity come from the environment, see
 * check_env in meson.build) and turn the result into an exit status.
 *
 * Check has no skipped tests: vmig_skip() ends a test with a failure
 * that vmig_check_run() recognises, reports as TAP "ok N - ... # SKIP
 * why" and does not count as failed.
 */
#ifndef VMIG_TESTS_CHECK_RUN_H
#define VMIG_TESTS_CHECK_RUN_H

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VMIG_CHECK_SKIP "SKIP: "

/*
 * Ends the running test as skipped (printf-style reason, a literal
 * format).  Nothing after it runs, in fork mode not even the checked
 * teardown: undo first what the process's exit would not (files).
 */
#define vmig_skip(...) ck_abort_msg(VMIG_CHECK_SKIP __VA_ARGS__)

/* Copies check's TAP from @path to stdout, skips rewritten. */
static inline void vmig_check_pass_tap(const char *path)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return;     /* no TAP: meson judges by the exit status */
    }
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        /* "not ok N - FILE:TCASE:TEST: SKIP: why" */
        char *mark = strstr(*l, ": " VMIG_CHECK_SKIP);

        if (g_str_has_prefix(*l, "not ok ") && mark) {
            *mark = '\0';
            printf("ok %s # SKIP %s\n", *l + strlen("not ok "),
                   mark + strlen(": " VMIG_CHECK_SKIP));
        } else if (**l) {
            printf("%s\n", *l);
        }
    }
    fflush(stdout);
}

/* Runs and frees @sr; EXIT_SUCCESS when every test passed or skipped. */
static inline int vmig_check_run(SRunner *sr)
{
    const char *tap = getenv("CK_TAP_LOG_FILE_NAME");
    g_autofree char *tmp = NULL;
    TestResult **failures;
    int failed, skipped = 0;

    /* TAP for meson on stdout: written to a file first, to rewrite the
     * skips before meson sees them. */
    if (tap && strcmp(tap, "-") == 0) {
        int fd = g_file_open_tmp("vmig-check-XXXXXX.tap", &tmp, NULL);

        if (fd >= 0) {
            close(fd);
            srunner_set_tap(sr, tmp);
        }
    }
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    failures = srunner_failures(sr);
    for (int i = 0; i < failed; i++) {
        if (g_str_has_prefix(tr_msg(failures[i]), VMIG_CHECK_SKIP)) {
            skipped++;
        }
    }
    free(failures);
    srunner_free(sr);
    if (tmp) {
        vmig_check_pass_tap(tmp);
        g_unlink(tmp);
    }
    return failed > skipped ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
