/*
 * Fuzz target: multifd's decompressors (migration/multifd/), which turn
 * a peer's compressed RAM_PAGES data into guest pages.  The first byte
 * picks the method (those this vmig has: every one whose decompressor
 * can be made) and how many 4 KiB pages the data must fill; the rest
 * is the data.  The same bytes, as pages, must also come back unchanged
 * through the method's compressor and decompressor.
 */
#include <stdlib.h>
#include <string.h>

#include "migration/multifd/compress.h"
#include "tests/fuzz/fuzz.h"

#define PAGE 4096
#define PAGES_MAX 16

static MultifdDecompressor *dec[MULTIFD_COMPRESSION__MAX];
static MultifdCompressor *enc[MULTIFD_COMPRESSION__MAX];
static MultiFDCompression methods[MULTIFD_COMPRESSION__MAX];
static unsigned n_methods;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Contexts are reused between packets, as a channel does. */
    for (int m = 0; m < MULTIFD_COMPRESSION__MAX; m++) {
        dec[m] = multifd_decompressor_new(m, NULL);
        enc[m] = multifd_compressor_new(m, 1, NULL);
        if (dec[m] && enc[m]) {
            methods[n_methods++] = m;
        }
    }
    return 0;
}

static void set_iov(struct iovec *iov, uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = buf + i * PAGE;
        iov[i].iov_len = PAGE;
    }
}

static void round_trip(MultiFDCompression m, const uint8_t *data,
                       size_t n)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    static uint8_t back[PAGES_MAX * PAGE];
    struct iovec in[PAGES_MAX], iov[PAGES_MAX];
    bool compressed;

    set_iov(in, (uint8_t *)data, n);
    if (!multifd_compress(enc[m], in, n, out, &compressed, NULL)) {
        abort();
    }
    if (!compressed) {
        return;     /* sent as plain pages */
    }
    set_iov(iov, back, n);
    if (!multifd_decompress(dec[m], out->data, out->len, iov, n, NULL) ||
        memcmp(back, data, n * PAGE)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pages[PAGES_MAX * PAGE];
    struct iovec iov[PAGES_MAX];
    MultiFDCompression m;
    size_t n;

    if (size < 1) {
        return 0;
    }
    m = methods[data[0] % n_methods];
    n = (data[0] >> 4) % PAGES_MAX + 1;
    set_iov(iov, pages, n);
    multifd_decompress(dec[m], data + 1, size - 1, iov, n, NULL);
    if (size - 1 >= n * PAGE) {
        round_trip(m, data + 1, n);
    }
    return 0;
}
