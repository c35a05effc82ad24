/*
 * XBZRLE deltas: see migration/xbzrle.h.
 */
#include "migration/ram/xbzrle.h"

#include <glib.h>
#include <string.h>

/*
 * An unchanged gap this short inside changed bytes stays in the
 * non-zero run: splitting there would cost two length bytes to save at
 * most two data bytes.
 */
#define MERGE_GAP 2

/* Longest ULEB128 of a 32-bit value. */
#define ULEB128_MAX 5

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

/* How many bytes from @i on, up to @end, are equal in @a and @b. */
static size_t equal_run(const uint8_t *a, const uint8_t *b, size_t i,
                        size_t end)
{
    size_t start = i;

    /* A word at a time through long unchanged stretches. */
    while (end - i >= 8 && load64(a + i) == load64(b + i)) {
        i += 8;
    }
    while (i < end && a[i] == b[i]) {
        i++;
    }
    return i - start;
}

/* How many bytes from @i on, up to @end, differ in @a and @b. */
static size_t differ_run(const uint8_t *a, const uint8_t *b, size_t i,
                         size_t end)
{
    size_t start = i;

    /* A word at a time while their XOR has no zero byte. */
    while (end - i >= 8) {
        uint64_t x = load64(a + i) ^ load64(b + i);

        if ((x - ONES) & ~x & HIGHS) {
            break;
        }
        i += 8;
    }
    while (i < end && a[i] != b[i]) {
        i++;
    }
    return i - start;
}

static size_t uleb128_len(uint32_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t put_uleb128(uint8_t *p, uint32_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t xbzrle_encode(const uint8_t *old, const uint8_t *new, size_t len,
                     uint8_t *out, size_t out_max)
{
    size_t i = 0, d = 0;

    g_assert(len <= XBZRLE_PAGE_MAX);
    while (i < len) {
        size_t zrun = equal_run(old, new, i, len);
        size_t start, nzrun, need;

        i += zrun;
        if (i == len) {
            break;      /* an unchanged tail is implied */
        }
        start = i;
        for (;;) {
            size_t gap;

            i += differ_run(old, new, i, len);
            if (i == len) {
                break;
            }
            gap = equal_run(old, new, i, MIN(len, i + MERGE_GAP + 1));
            if (gap > MERGE_GAP || i + gap == len) {
                break;
            }
            i += gap;
        }
        nzrun = i - start;
        need = uleb128_len(zrun) + uleb128_len(nzrun) + nzrun;
        if (need > out_max - d) {
            return XBZRLE_OVERFLOW;
        }
        d += put_uleb128(out + d, zrun);
        d += put_uleb128(out + d, nzrun);
        memcpy(out + d, new + start, nzrun);
        d += nzrun;
    }
    return d;
}

/* One run length at *@pos of the @len-byte delta. */
static bool get_uleb128(const uint8_t *p, size_t len, size_t *pos,
                        const char *what, uint32_t *v, Error **errp)
{
    size_t at = *pos;
    uint64_t val = 0;

    for (unsigned n = 0;; n++) {
        uint8_t b;

        if (n == ULEB128_MAX) {
            error_setg(errp, "%s length at byte %zu is longer than %u "
                       "bytes", what, at, ULEB128_MAX);
            return false;
        }
        if (*pos == len) {
            error_setg(errp, "%s length at byte %zu is truncated: the "
                       "delta ends after %u of its bytes", what, at, n);
            return false;
        }
        b = p[(*pos)++];
        val |= (uint64_t)(b & 0x7f) << (7 * n);
        if (!(b & 0x80)) {
            /* One spelling per value: a reader that lost its place
             * cannot read padding as lengths. */
            if (b == 0 && n > 0) {
                error_setg(errp, "%s length at byte %zu is not minimally "
                           "encoded", what, at);
                return false;
            }
            break;
        }
    }
    if (val > UINT32_MAX) {
        error_setg(errp, "%s length %" G_GUINT64_FORMAT " at byte %zu "
                   "exceeds %u", what, val, at, UINT32_MAX);
        return false;
    }
    *v = (uint32_t)val;
    return true;
}

/* Checks, and with @page applies, the delta. */
static bool walk(const uint8_t *delta, size_t len, uint8_t *page,
                 size_t page_len, Error **errp)
{
    size_t i = 0, d = 0;

    if (len == 0) {
        error_setg(errp, "empty delta (an unchanged page is not sent)");
        return false;
    }
    while (i < len) {
        uint32_t zrun, nzrun;
        size_t at = i;

        if (d == page_len) {
            error_setg(errp, "%zu bytes at byte %zu follow the run that "
                       "ends the page", len - i, i);
            return false;
        }
        if (!get_uleb128(delta, len, &i, "zero run", &zrun, errp)) {
            return false;
        }
        if (zrun == 0 && at > 0) {
            error_setg(errp, "empty zero run at byte %zu (only the first "
                       "may be empty)", at);
            return false;
        }
        if (zrun > page_len - d) {
            error_setg(errp, "zero run of %u bytes at byte %zu runs past "
                       "the end of the page (%zu bytes left)", zrun, at,
                       page_len - d);
            return false;
        }
        d += zrun;
        if (i == len) {
            /* An encoder leaves an unchanged tail out: a lone zero run
             * at the end is a cut-off delta. */
            error_setg(errp, "zero run at byte %zu is not followed by a "
                       "non-zero run: the delta is truncated", at);
            return false;
        }
        at = i;
        if (!get_uleb128(delta, len, &i, "non-zero run", &nzrun, errp)) {
            return false;
        }
        if (nzrun == 0) {
            error_setg(errp, "empty non-zero run at byte %zu", at);
            return false;
        }
        if (nzrun > page_len - d) {
            error_setg(errp, "non-zero run of %u bytes at byte %zu runs "
                       "past the end of the page (%zu bytes left)", nzrun,
                       at, page_len - d);
            return false;
        }
        if (nzrun > len - i) {
            error_setg(errp, "non-zero run of %u bytes at byte %zu is "
                       "truncated: %zu bytes of data left", nzrun, at,
                       len - i);
            return false;
        }
        if (page) {
            memcpy(page + d, delta + i, nzrun);
        }
        i += nzrun;
        d += nzrun;
    }
    return true;
}

bool xbzrle_check(const uint8_t *delta, size_t len, size_t page_len,
                  Error **errp)
{
    return walk(delta, len, NULL, page_len, errp);
}

bool xbzrle_decode(const uint8_t *delta, size_t len, uint8_t *page,
                   size_t page_len, Error **errp)
{
    /* Checked whole first, so a bad delta leaves the page alone. */
    return walk(delta, len, NULL, page_len, errp) &&
           walk(delta, len, page, page_len, errp);
}
