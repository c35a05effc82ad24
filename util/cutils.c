/*
 * Strict string-to-number parsing: see include/util/cutils.h.
 *
 * The C library's strto*() functions skip leading white space, accept a
 * sign on unsigned numbers (and negate!), treat a leading 0 as octal with
 * base 0 and stop silently at the first bad character.  Options typed by
 * people need the opposite: the whole string is the number or it is an
 * error that says why.  So the integer scanning here is done by hand.
 *
 * Rules shared by all the parsers:
 *   - no white space anywhere;
 *   - decimal integers have no leading zeros ("010" is refused rather
 *     than guessed as 8 or 10: QEMU reads it as octal);
 *   - hexadecimal integers start with 0x or 0X.
 */
#include "util/cutils.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <glib.h>

/* Sets the error every parser uses: it quotes the input and says why. */
static bool parse_fail(Error **errp, const char *what, const char *str,
                       const char *why)
{
    error_setg(errp, "Invalid %s '%s': %s", what, str, why);
    return false;
}

/*
 * Scans the digits of an unsigned integer at @s: "0", a decimal number
 * without leading zeros, or (if @allow_hex) 0x followed by hex digits.
 * Stores the value in *@val, where scanning stopped in *@end, and
 * whether the value exceeded UINT64_MAX in *@overflow (the digits are
 * still all consumed, so the caller can report trailing garbage first).
 * Returns NULL, or why @s does not start with a number.
 */
static const char *scan_uint(const char *s, bool allow_hex, uint64_t *val,
                             const char **end, bool *overflow)
{
    unsigned base = 10;
    uint64_t v = 0;

    *overflow = false;
    if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!g_ascii_isxdigit(*s)) {
            return "no digits after '0x'";
        }
    } else if (!g_ascii_isdigit(*s)) {
        return "not a number";
    } else if (s[0] == '0' && g_ascii_isdigit(s[1])) {
        return "leading zeros are not allowed";
    }

    for (;; s++) {
        unsigned digit;

        if (base == 16 && g_ascii_isxdigit(*s)) {
            digit = g_ascii_xdigit_value(*s);
        } else if (base == 10 && g_ascii_isdigit(*s)) {
            digit = g_ascii_digit_value(*s);
        } else {
            break;
        }
        if (v > (UINT64_MAX - digit) / base) {
            *overflow = true;
        }
        v = v * base + digit;
    }
    *val = v;
    *end = s;
    return NULL;
}

/*
 * The common part of parse_int64() and parse_uint64(): an optional sign
 * (only if @allow_sign) and a magnitude that must end the string.
 */
static bool parse_integer(const char *str, bool allow_sign, bool *negative,
                          uint64_t *magnitude, Error **errp)
{
    const char *p = str;
    const char *why;
    bool overflow;

    if (!*str) {
        return parse_fail(errp, "integer", str, "empty string");
    }
    *negative = false;
    if (*p == '-' || *p == '+') {
        if (!allow_sign) {
            return parse_fail(errp, "integer", str,
                              *p == '-' ? "negative values are not allowed"
                                        : "a sign is not allowed");
        }
        *negative = *p == '-';
        p++;
    }
    why = scan_uint(p, true, magnitude, &p, &overflow);
    if (why) {
        return parse_fail(errp, "integer", str, why);
    }
    if (*p) {
        return parse_fail(errp, "integer", str, "trailing characters");
    }
    if (overflow) {
        return parse_fail(errp, "integer", str, "out of range");
    }
    return true;
}

bool parse_int64(const char *str, int64_t *result, Error **errp)
{
    bool negative;
    uint64_t mag;

    if (!parse_integer(str, true, &negative, &mag, errp)) {
        return false;
    }
    /* INT64_MIN has a magnitude one larger than INT64_MAX. */
    if (mag > (uint64_t)INT64_MAX + negative) {
        return parse_fail(errp, "integer", str, "out of range");
    }
    /* Negate in unsigned arithmetic: -(int64_t)mag overflows for
     * INT64_MIN. */
    *result = negative ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

bool parse_uint64(const char *str, uint64_t *result, Error **errp)
{
    bool negative;
    uint64_t val;

    if (!parse_integer(str, false, &negative, &val, errp)) {
        return false;
    }
    *result = val;
    return true;
}

/* Binary size suffixes; the index is the power of 1024. */
static const char size_suffixes[] = "BKMGTPE";

bool parse_size(const char *str, uint64_t *result, Error **errp)
{
    const char *p = str;
    const char *frac;
    const char *why;
    uint64_t whole, frac_digits = 0, pow10 = 1, mult = 1;
    size_t nfrac = 0;
    bool overflow;
    unsigned __int128 bytes, frac_bytes;

    if (!*str) {
        return parse_fail(errp, "size", str, "empty string");
    }
    if (*p == '-' || *p == '+') {
        return parse_fail(errp, "size", str,
                          *p == '-' ? "negative values are not allowed"
                                    : "a sign is not allowed");
    }

    /* Hex: a plain number of bytes.  A suffix would be ambiguous, as B
     * and E are hex digits. */
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        why = scan_uint(p, true, &whole, &p, &overflow);
        if (why) {
            return parse_fail(errp, "size", str, why);
        }
        if (*p) {
            return parse_fail(errp, "size", str,
                              "a hexadecimal size takes no fraction or "
                              "suffix");
        }
        if (overflow) {
            return parse_fail(errp, "size", str, "out of range");
        }
        *result = whole;
        return true;
    }

    why = scan_uint(p, false, &whole, &p, &overflow);
    if (why) {
        return parse_fail(errp, "size", str, why);
    }
    if (*p == '.') {
        p++;
        if (!g_ascii_isdigit(*p)) {
            return parse_fail(errp, "size", str,
                              "no digits after the decimal point");
        }
        frac = p;
        while (g_ascii_isdigit(*p)) {
            p++;
        }
        /* Trailing zeros change nothing: "1.50k" is "1.5k". */
        nfrac = p - frac;
        while (nfrac && frac[nfrac - 1] == '0') {
            nfrac--;
        }
        /* 19 digits still fit a uint64_t; no sane size needs more. */
        if (nfrac > 19) {
            return parse_fail(errp, "size", str,
                              "too many digits after the decimal point");
        }
        for (size_t i = 0; i < nfrac; i++) {
            frac_digits = frac_digits * 10 + g_ascii_digit_value(frac[i]);
            pow10 *= 10;
        }
    }
    if (*p) {
        const char *suffix = strchr(size_suffixes, g_ascii_toupper(*p));

        if (!suffix || p[1]) {
            return parse_fail(errp, "size", str,
                              "expected a number with an optional suffix "
                              "B, K, M, G, T, P or E");
        }
        mult = UINT64_C(1) << (10 * (suffix - size_suffixes));
    }
    if (overflow) {
        return parse_fail(errp, "size", str, "out of range");
    }

    /* Exact arithmetic: floating point would round 1.1T to a multiple of
     * some power of two and accept fractions of bytes. */
    frac_bytes = (unsigned __int128)frac_digits * mult;
    if (frac_bytes % pow10) {
        return parse_fail(errp, "size", str, "not a whole number of bytes");
    }
    bytes = (unsigned __int128)whole * mult + frac_bytes / pow10;
    if (bytes > UINT64_MAX) {
        return parse_fail(errp, "size", str, "out of range");
    }
    *result = (uint64_t)bytes;
    return true;
}

bool parse_bool(const char *str, bool *result, Error **errp)
{
    static const char *const yes[] = { "on", "yes", "true" };
    static const char *const no[] = { "off", "no", "false" };

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (!strcmp(str, yes[i])) {
            *result = true;
            return true;
        }
        if (!strcmp(str, no[i])) {
            *result = false;
            return true;
        }
    }
    return parse_fail(errp, "boolean", str,
                      "expected on/off, yes/no or true/false");
}

/*
 * Decimal floating point only: [sign] digits [. digits] [e [sign] digits],
 * with at least one digit before or after the point.  This keeps out what
 * strtod() would also take: "inf", "nan", hex floats, white space.
 */
static bool is_decimal_float(const char *s)
{
    size_t digits = 0;

    if (*s == '-' || *s == '+') {
        s++;
    }
    for (; g_ascii_isdigit(*s); s++) {
        digits++;
    }
    if (*s == '.') {
        for (s++; g_ascii_isdigit(*s); s++) {
            digits++;
        }
    }
    if (!digits) {
        return false;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+') {
            s++;
        }
        if (!g_ascii_isdigit(*s)) {
            return false;
        }
        while (g_ascii_isdigit(*s)) {
            s++;
        }
    }
    return *s == '\0';
}

bool parse_double(const char *str, double *result, Error **errp)
{
    double d;

    if (!*str) {
        return parse_fail(errp, "number", str, "empty string");
    }
    if (!is_decimal_float(str)) {
        return parse_fail(errp, "number", str, "not a decimal number");
    }
    /* g_ascii_strtod: the decimal point is '.' whatever the locale.
     * Overflow gives infinity and is refused; underflow gives 0 or a
     * denormal, the nearest value there is, and is accepted. */
    d = g_ascii_strtod(str, NULL);
    if (!isfinite(d)) {
        return parse_fail(errp, "number", str, "out of range");
    }
    *result = d;
    return true;
}

char *size_to_str(uint64_t bytes)
{
    static const char *const units[] = {
        "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
    };
    unsigned i = 0;
    uint64_t unit, hundredths;

    while (i + 1 < G_N_ELEMENTS(units) &&
           bytes >= UINT64_C(1) << (10 * (i + 1))) {
        i++;
    }
    unit = UINT64_C(1) << (10 * i);
    if (bytes % unit == 0) {
        return g_strdup_printf("%" PRIu64 " %s", bytes / unit, units[i]);
    }
    /* Truncate rather than round, so 1 MiB - 1 is not shown as 1024 KiB. */
    hundredths = (uint64_t)((unsigned __int128)bytes * 100 / unit);
    return g_strdup_printf("%" PRIu64 ".%02" PRIu64 " %s",
                           hundredths / 100, hundredths % 100, units[i]);
}

char *str_abbrev(const char *str)
{
    size_t len = strlen(str);
    size_t keep = STR_ABBREV_MAX - 32;   /* room for the suffix */

    if (len <= STR_ABBREV_MAX) {
        return g_strdup(str);
    }
    /* Back to the start of a UTF-8 character. */
    while (keep && ((unsigned char)str[keep] & 0xc0) == 0x80) {
        keep--;
    }
    return g_strdup_printf("%.*s... (%zu bytes)", (int)keep, str, len);
}

int poll_ms_until(int64_t deadline)
{
    gint64 left;

    if (!deadline) {
        return -1;
    }
    left = deadline - g_get_monotonic_time();
    if (left <= 0) {
        return 0;
    }
    return (int)MIN((left + 999) / 1000, G_MAXINT);
}
