/*
 * Fuzz target: XBZRLE deltas (migration/ram/xbzrle.c), which a
 * destination applies from the wire straight onto guest pages.  The
 * first two bytes give the page size (1 to 4096); the rest is a delta,
 * checked and applied to a page.  The same bytes are also split into an
 * old and a new page: encoding their difference and applying it to the
 * old page must give the new one.
 */
#include <stdlib.h>
#include <string.h>

#include "migration/ram/xbzrle.h"
#include "tests/fuzz/fuzz.h"

#define PAGE_MAX 4096

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

/* The encoder and decoder agree on @old -> @new (@len bytes each). */
static void round_trip(const uint8_t *old, const uint8_t *new, size_t len)
{
    uint8_t delta[PAGE_MAX * 2];
    uint8_t page[PAGE_MAX];
    size_t n = xbzrle_encode(old, new, len, delta, sizeof(delta));

    if (n == XBZRLE_OVERFLOW) {
        return;
    }
    memcpy(page, old, len);
    if ((n && !xbzrle_decode(delta, n, page, len, NULL)) ||
        memcmp(page, new, len)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t page[PAGE_MAX];
    size_t page_len;

    if (size < 2) {
        return 0;
    }
    page_len = (((size_t)data[0] << 8) | data[1]) % PAGE_MAX + 1;
    data += 2;
    size -= 2;
    memset(page, 0xa5, sizeof(page));
    /* A delta that passes the check must apply, and the other way. */
    if (xbzrle_check(data, size, page_len, NULL) !=
        xbzrle_decode(data, size, page, page_len, NULL)) {
        abort();
    }
    if (size / 2 <= PAGE_MAX && size / 2 > 0) {
        round_trip(data, data + size / 2, size / 2);
    }
    return 0;
}
