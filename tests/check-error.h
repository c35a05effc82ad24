/*
 * The usual assertion on an Error in the check-based tests: there is one,
 * and its message contains @needle.  It is freed and *@err cleared, so
 * the next call can use the same variable.
 */
#ifndef VMIG_TESTS_CHECK_ERROR_H
#define VMIG_TESTS_CHECK_ERROR_H

#include <check.h>
#include <string.h>

#include "qapi/error.h"

static inline void check_error(Error **err, const char *needle)
{
    ck_assert_ptr_nonnull(*err);
    ck_assert_msg(strstr(error_get_pretty(*err), needle),
                  "error '%s' does not contain '%s'",
                  error_get_pretty(*err), needle);
    error_free_or_abort(err);
}

#endif
