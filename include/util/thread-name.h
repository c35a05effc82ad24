/*
 * Thread names that Linux keeps whole: it stores 15 bytes of a name
 * (TASK_COMM_LEN, 16 with the NUL) and cuts the rest, so "top -H",
 * gdb and /proc/PID/task/TID/comm would show a cut name.  Every name
 * given to g_thread_try_new() goes through one of these macros, which
 * check the longest name at compile time.
 */
#ifndef VMIG_UTIL_THREAD_NAME_H
#define VMIG_UTIL_THREAD_NAME_H

#include <glib.h>

#define VMIG_THREAD_NAME_MAX 15

/* Decimal digits of @n, a constant below 100000 (for compile-time
 * checks). */
#define VMIG_DIGITS(n) \
    ((n) < 10 ? 1 : (n) < 100 ? 2 : (n) < 1000 ? 3 : (n) < 10000 ? 4 : 5)

/* The string literal @name, checked. */
#define VMIG_THREAD_NAME(name) \
    (G_STATIC_ASSERT_EXPR(sizeof(name) - 1 <= VMIG_THREAD_NAME_MAX), \
     (name))

/* @prefix (a string literal) and @index, which is at most the constant
 * @max_index: a new string, checked for the longest index. */
#define vmig_thread_name_indexed(prefix, index, max_index) \
    (G_STATIC_ASSERT_EXPR(sizeof(prefix) - 1 + VMIG_DIGITS(max_index) <= \
                          VMIG_THREAD_NAME_MAX), \
     g_strdup_printf(prefix "%u", (unsigned)(index)))

#endif
