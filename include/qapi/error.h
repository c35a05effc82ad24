/*
 * Error reporting with an error class, as QMP needs.
 *
 * Functions that can fail take "Error **errp" last and return false/NULL/-1
 * on failure.  Passing errp == NULL means the caller does not care;
 * passing &error_abort aborts on error (for "cannot fail" call sites).
 * An Error is owned by whoever holds the pointer; free it with error_free()
 * or hand it on with error_propagate().
 */
#ifndef VMIG_QAPI_ERROR_H
#define VMIG_QAPI_ERROR_H

#include <glib.h>
#include <stdbool.h>

/* QMP error classes; names are what goes on the wire as "class". */
typedef enum ErrorClass {
    ERROR_CLASS_GENERIC_ERROR,
    ERROR_CLASS_COMMAND_NOT_FOUND,
    ERROR_CLASS_DEVICE_NOT_ACTIVE,
    ERROR_CLASS_DEVICE_NOT_FOUND,
    ERROR_CLASS__MAX,
} ErrorClass;

typedef struct Error Error;

/* Sentinel: an error set through &error_abort aborts the process. */
extern Error *error_abort;

void error_set(Error **errp, ErrorClass cls, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
void error_setg(Error **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Like error_setg() and appends ": strerror(os_errno)". */
void error_setg_errno(Error **errp, int os_errno, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

/* Moves @local into *@dst (or frees it when @dst is NULL or already set). */
void error_propagate(Error **dst, Error *local);
/* Prefixes the message of *@errp, if any. */
void error_prepend(Error **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

const char *error_get_pretty(const Error *err);
ErrorClass error_get_class(const Error *err);
const char *error_class_name(ErrorClass cls);
Error *error_copy(const Error *err);
void error_free(Error *err);
/* Frees *errp and sets it to NULL. */
void error_free_or_abort(Error **errp);

/* Print to stderr as "vmig: msg" (program name set by error_set_progname). */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void error_report_err(Error *err);
void error_set_progname(const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Error, error_free)

#endif
