/*
 * The end of every check-based test's main(): run the suites the way
 * meson reads them (TAP and verbosity come from the environment, see
 * check_env in meson.build) and turn the result into an exit status.
 */
#ifndef VMIG_TESTS_CHECK_RUN_H
#define VMIG_TESTS_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/* Runs and frees @sr; EXIT_SUCCESS when every test passed. */
static inline int vmig_check_run(SRunner *sr)
{
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
