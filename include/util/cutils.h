/*
 * Strict string-to-number parsing shared by the keyval visitor, the command
 * line and HMP.  All return false (setting errp with a message that quotes
 * the input) on empty input, trailing garbage, overflow or a sign where
 * none is allowed; they never accept partial numbers.
 */
#ifndef VMIG_UTIL_CUTILS_H
#define VMIG_UTIL_CUTILS_H

#include <stdbool.h>
#include <stdint.h>
#include "qapi/error.h"

/* Decimal, or hex with 0x. */
bool parse_int64(const char *str, int64_t *result, Error **errp);
bool parse_uint64(const char *str, uint64_t *result, Error **errp);
/* Byte sizes: a number with an optional binary suffix B, k/K, M, G, T, P,
 * E (case-insensitive, powers of 1024); fractions such as "1.5G" allowed
 * when the result is a whole number of bytes. No suffix means bytes. */
bool parse_size(const char *str, uint64_t *result, Error **errp);
/* on/off, yes/no, true/false (the keyval and HMP spellings). */
bool parse_bool(const char *str, bool *result, Error **errp);
bool parse_double(const char *str, double *result, Error **errp);
/* Human-readable size ("64 MiB") for messages; caller frees. */
char *size_to_str(uint64_t bytes);

/* Messages echo what they were given; a value longer than this is
 * shortened by str_abbrev(). */
#define STR_ABBREV_MAX 256
/*
 * @str as a message should quote it: itself if at most STR_ABBREV_MAX
 * bytes, else its start and "... (N bytes)", so that a huge value is not
 * echoed whole (never cutting a UTF-8 character).  Caller frees.
 */
char *str_abbrev(const char *str);

/* Milliseconds from now to @deadline (g_get_monotonic_time() µs) for
 * poll(): -1 for none (0), at least 0, rounded up so that a wait never
 * ends just before the deadline. */
int poll_ms_until(int64_t deadline);

#endif
