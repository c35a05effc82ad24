/* Error objects: see include/qapi/error.h for the ownership rules. */
#include "qapi/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Error {
    ErrorClass cls;
    char *msg;
};

/* Only its address matters: it marks "abort on error". */
static Error error_abort_marker;
Error *error_abort = &error_abort_marker;

static const char *const error_class_names[ERROR_CLASS__MAX] = {
    [ERROR_CLASS_GENERIC_ERROR] = "GenericError",
    [ERROR_CLASS_COMMAND_NOT_FOUND] = "CommandNotFound",
    [ERROR_CLASS_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
    [ERROR_CLASS_DEVICE_NOT_FOUND] = "DeviceNotFound",
};

static const char *progname = "vmig";

void error_set_progname(const char *name)
{
    progname = name;
}

static void error_setv(Error **errp, ErrorClass cls, int os_errno,
                       const char *fmt, va_list ap) G_GNUC_PRINTF(4, 0);

static void error_setv(Error **errp, ErrorClass cls, int os_errno,
                       const char *fmt, va_list ap)
{
    if (!errp) {
        return;
    }
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    if (errp == &error_abort) {
        fprintf(stderr, "%s: unexpected error: %s\n", progname, msg);
        abort();
    }
    /* Setting an error twice is a programming bug: the first one would leak
     * silently and the caller would report the wrong cause. */
    g_assert(*errp == NULL);
    Error *err = g_new0(Error, 1);
    err->cls = cls;
    if (os_errno) {
        err->msg = g_strdup_printf("%s: %s", msg, g_strerror(os_errno));
    } else {
        err->msg = g_steal_pointer(&msg);
    }
    *errp = err;
}

void error_set(Error **errp, ErrorClass cls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(errp, cls, 0, fmt, ap);
    va_end(ap);
}

void error_setg(Error **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(errp, ERROR_CLASS_GENERIC_ERROR, 0, fmt, ap);
    va_end(ap);
}

void error_setg_errno(Error **errp, int os_errno, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(errp, ERROR_CLASS_GENERIC_ERROR, os_errno, fmt, ap);
    va_end(ap);
}

void error_propagate(Error **dst, Error *local)
{
    if (!local) {
        return;
    }
    if (dst == &error_abort) {
        fprintf(stderr, "%s: unexpected error: %s\n", progname, local->msg);
        abort();
    }
    if (dst && !*dst) {
        *dst = local;
    } else {
        error_free(local);
    }
}

void error_prepend(Error **errp, const char *fmt, ...)
{
    if (!errp || !*errp || errp == &error_abort) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *prefix = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *msg = g_strconcat(prefix, (*errp)->msg, NULL);
    g_free((*errp)->msg);
    (*errp)->msg = msg;
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

ErrorClass error_get_class(const Error *err)
{
    return err->cls;
}

const char *error_class_name(ErrorClass cls)
{
    g_assert(cls >= 0 && cls < ERROR_CLASS__MAX);
    return error_class_names[cls];
}

Error *error_copy(const Error *err)
{
    Error *copy = g_new0(Error, 1);
    copy->cls = err->cls;
    copy->msg = g_strdup(err->msg);
    return copy;
}

void error_free(Error *err)
{
    if (err) {
        g_free(err->msg);
        g_free(err);
    }
}

void error_free_or_abort(Error **errp)
{
    g_assert(errp && *errp);
    error_free(*errp);
    *errp = NULL;
}

static void report(const char *kind, const char *fmt, va_list ap)
    G_GNUC_PRINTF(2, 0);

static void report(const char *kind, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    fprintf(stderr, "%s: %s%s\n", progname, kind, msg);
}

void error_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("", fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("warning: ", fmt, ap);
    va_end(ap);
}

void error_report_err(Error *err)
{
    error_report("%s", err->msg);
    error_free(err);
}
