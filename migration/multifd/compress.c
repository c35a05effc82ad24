/*
 * Per-packet compression of multifd pages: see compress.h.
 *
 * The method-independent front: both directions have one driver that
 * knows the record's rules (what counts as incompressible, exactly the
 * pages' size, nothing after the stream) and calls the method's
 * MultifdCompressOps (zlib.c, zstd.c) for one library step at a time.
 * The pages are given to the library one at a time, so nothing is copied
 * into a batch-sized buffer first; the libraries keep their own window
 * (zlib 32 KiB, zstd at most the frame's window), allocated once per
 * object and reused.
 */
#include "migration/multifd/compress.h"

#include <string.h>

#include "migration/multifd/compress-ops.h"
#include "util/atomic.h"

/* Input for the steps that only finish a stream: never NULL, as NULL + 0
 * is undefined. */
static const uint8_t no_input;

/* The implemented methods; NULL for "none" and the others. */
static const MultifdCompressOps *const methods[MULTIFD_COMPRESSION__MAX] = {
    [MULTIFD_COMPRESSION_ZLIB] = &multifd_zlib_ops,
    [MULTIFD_COMPRESSION_ZSTD] = &multifd_zstd_ops,
};

struct MultifdCompressor {
    MultiFDCompression method;
    const MultifdCompressOps *ops;      /* NULL for "none" */
    void *state;
    guint64 bytes_in, bytes_out;
};

struct MultifdDecompressor {
    MultiFDCompression method;
    const MultifdCompressOps *ops;      /* NULL for "none" */
    void *state;
    guint64 bytes_in, bytes_out;
};

static const char *method_name(MultiFDCompression method)
{
    return MultiFDCompression_str(method);
}

static size_t iov_total(const struct iovec *iov, size_t n)
{
    size_t total = 0;

    for (size_t i = 0; i < n; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

static void count(guint64 *counter, size_t n)
{
    qatomic_add(counter, (guint64)n);
}

/* ---- Compression ------------------------------------------------------ */

/* Only what the library can do; the configuration's ranges are
 * narrower and checked by its validator. */
static bool check_level(MultiFDCompression method,
                        const MultifdCompressOps *ops, int level,
                        Error **errp)
{
    int max = ops->max_level();

    if (level < 0 || level > max) {
        error_setg(errp, "%s: compression level %d is out of range 0..%d",
                   method_name(method), level, max);
        return false;
    }
    return true;
}

/* "none" is valid and needs no ops; the other methods without ops are
 * not implemented. */
static bool method_ops(MultiFDCompression method,
                       const MultifdCompressOps **ops, Error **errp)
{
    *ops = method < MULTIFD_COMPRESSION__MAX ? methods[method] : NULL;
    if (!*ops && method != MULTIFD_COMPRESSION_NONE) {
        error_setg(errp, "multifd-compression '%s' is not implemented by "
                   "vmig", method_name(method));
        return false;
    }
    return true;
}

MultifdCompressor *multifd_compressor_new(MultiFDCompression method,
                                          int level, Error **errp)
{
    g_autoptr(MultifdCompressor) c = g_new0(MultifdCompressor, 1);

    c->method = method;
    if (!method_ops(method, &c->ops, errp)) {
        return NULL;
    }
    if (c->ops) {
        if (!check_level(method, c->ops, level, errp)) {
            return NULL;
        }
        c->state = c->ops->compressor_new(level, errp);
        if (!c->state) {
            return NULL;
        }
    }
    return g_steal_pointer(&c);
}

void multifd_compressor_free(MultifdCompressor *c)
{
    if (!c) {
        return;
    }
    if (c->state) {
        c->ops->compressor_free(c->state);
    }
    g_free(c);
}

/*
 * One step of @c, and a check that it did something: with room for
 * output the libraries always make progress, so no progress would be a
 * bug that must not become an endless loop.
 */
static bool compress_step(MultifdCompressor *c, MultifdInBuf *in,
                          MultifdOutBuf *out, bool finish, bool *ended,
                          Error **errp)
{
    size_t in_pos = in->pos, out_pos = out->pos;

    if (!c->ops->compress_step(c->state, in, out, finish, ended, errp)) {
        return false;
    }
    if (!*ended && in->pos == in_pos && out->pos == out_pos) {
        error_setg(errp, "%s: the compressor made no progress",
                   method_name(c->method));
        return false;
    }
    return true;
}

bool multifd_compress(MultifdCompressor *c, const struct iovec *pages,
                      size_t n, GByteArray *out, bool *compressed,
                      Error **errp)
{
    size_t total = iov_total(pages, n);
    MultifdInBuf finish = { &no_input, 0, 0 };
    MultifdOutBuf o;
    bool ended = false;

    *compressed = false;
    g_byte_array_set_size(out, 0);
    count(&c->bytes_in, total);
    if (!c->ops || total == 0) {
        count(&c->bytes_out, total);
        return true;
    }
    if (!c->ops->compress_reset(c->state, total, errp)) {
        return false;
    }
    /*
     * Room for less than the input only (and what a GByteArray can
     * hold): a stream that fills it is not worth sending, and stopping
     * there saves compressing the rest.
     */
    g_byte_array_set_size(out, (guint)MIN(total, (size_t)G_MAXUINT));
    o = (MultifdOutBuf){ out->data, out->len, 0 };
    for (size_t i = 0; i < n && o.pos < o.size; i++) {
        MultifdInBuf in = { pages[i].iov_base, pages[i].iov_len, 0 };

        while (in.pos < in.size && o.pos < o.size) {
            if (!compress_step(c, &in, &o, false, &ended, errp)) {
                goto fail;
            }
        }
    }
    while (!ended && o.pos < o.size) {
        if (!compress_step(c, &finish, &o, true, &ended, errp)) {
            goto fail;
        }
    }
    if (!ended || o.pos == o.size) {
        g_byte_array_set_size(out, 0);
        count(&c->bytes_out, total);
        return true;
    }
    g_byte_array_set_size(out, (guint)o.pos);
    count(&c->bytes_out, o.pos);
    *compressed = true;
    return true;

fail:
    g_byte_array_set_size(out, 0);
    return false;
}

uint64_t multifd_compressor_bytes_in(const MultifdCompressor *c)
{
    return qatomic_read(&c->bytes_in);
}

uint64_t multifd_compressor_bytes_out(const MultifdCompressor *c)
{
    return qatomic_read(&c->bytes_out);
}

/* ---- Decompression ---------------------------------------------------- */

MultifdDecompressor *multifd_decompressor_new(MultiFDCompression method,
                                              Error **errp)
{
    g_autoptr(MultifdDecompressor) d = g_new0(MultifdDecompressor, 1);

    d->method = method;
    if (!method_ops(method, &d->ops, errp)) {
        return NULL;
    }
    if (d->ops) {
        d->state = d->ops->decompressor_new(errp);
        if (!d->state) {
            return NULL;
        }
    }
    return g_steal_pointer(&d);
}

void multifd_decompressor_free(MultifdDecompressor *d)
{
    if (!d) {
        return;
    }
    if (d->state) {
        d->ops->decompressor_free(d->state);
    }
    g_free(d);
}

/*
 * One step of @d.  False with @errp set on corrupt data, and when the
 * step could do nothing: with room for output, that means the input
 * ended inside the stream.
 */
static bool decompress_step(MultifdDecompressor *d, MultifdInBuf *in,
                            MultifdOutBuf *out, bool *ended, Error **errp)
{
    size_t in_pos = in->pos, out_pos = out->pos;

    if (!d->ops->decompress_step(d->state, in, out, ended, errp)) {
        return false;
    }
    if (!*ended && in->pos == in_pos && out->pos == out_pos) {
        error_setg(errp, "%s: the data is truncated: it ends inside the "
                   "%s, after %zu byte%s", method_name(d->method),
                   d->ops->unit, in->size, in->size == 1 ? "" : "s");
        return false;
    }
    return true;
}

bool multifd_decompress(MultifdDecompressor *d, const void *data,
                        size_t len, const struct iovec *pages, size_t n,
                        Error **errp)
{
    const char *name = method_name(d->method);
    size_t total = iov_total(pages, n);
    MultifdInBuf in = { len ? data : &no_input, len, 0 };
    size_t produced = 0;
    bool ended = false;
    uint8_t extra;

    if (!d->ops) {
        error_setg(errp, "%s: the data is compressed, but the effective "
                   "multifd-compression is '%s'", name, name);
        return false;
    }
    /* Protocol 6.5: non-empty exactly when there are NORMAL pages. */
    if (total == 0 || len == 0) {
        if (total == 0 && len == 0) {
            return true;
        }
        error_setg(errp, "%s: %zu bytes of data for %zu page%s (%zu bytes): "
                   "the data must be empty exactly when there are no "
                   "pages", name, len, n, n == 1 ? "" : "s", total);
        return false;
    }
    if (!d->ops->decompress_reset(d->state, errp)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        MultifdOutBuf out = { pages[i].iov_base, pages[i].iov_len, 0 };

        while (out.pos < out.size) {
            if (ended) {
                error_setg(errp, "%s: the data decompresses to %zu bytes, "
                           "less than the %zu page%s (%zu bytes) of the "
                           "record", name, produced + out.pos, n,
                           n == 1 ? "" : "s", total);
                return false;
            }
            if (!decompress_step(d, &in, &out, &ended, errp)) {
                return false;
            }
        }
        produced += out.size;
    }
    /*
     * Every page is full; the stream must end here without producing
     * more.  A one-byte buffer of our own tells more from the end.
     */
    while (!ended) {
        MultifdOutBuf out = { &extra, 1, 0 };

        if (!decompress_step(d, &in, &out, &ended, errp)) {
            return false;
        }
        if (out.pos) {
            error_setg(errp, "%s: the data decompresses to more than the "
                       "%zu page%s (%zu bytes) of the record", name, n,
                       n == 1 ? "" : "s", total);
            return false;
        }
    }
    if (in.pos < in.size) {
        error_setg(errp, "%s: %zu bytes of trailing data after the end of "
                   "the %s", name, in.size - in.pos, d->ops->unit);
        return false;
    }
    count(&d->bytes_in, len);
    count(&d->bytes_out, total);
    return true;
}

uint64_t multifd_decompressor_bytes_in(const MultifdDecompressor *d)
{
    return qatomic_read(&d->bytes_in);
}

uint64_t multifd_decompressor_bytes_out(const MultifdDecompressor *d)
{
    return qatomic_read(&d->bytes_out);
}
