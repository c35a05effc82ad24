/*
 * Per-packet compression of multifd pages: see
 * include/migration/multifd-compress.h.
 *
 * Both directions have one driver that knows the record's rules (what
 * counts as incompressible, exactly the pages' size, nothing after the
 * stream) and a small per-method "step": one library call that consumes
 * some input and produces some output.  The pages are given to the
 * library one at a time, so nothing is copied into a batch-sized buffer
 * first; the libraries keep their own window (zlib 32 KiB, zstd at most
 * the frame's window), allocated once per object and reused.
 */
#define ZLIB_CONST
#include "migration/multifd-compress.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "util/atomic.h"

/* The part of a buffer one step may use: [pos, size) of p. */
typedef struct InBuf {
    const uint8_t *p;
    size_t size, pos;
} InBuf;

typedef struct OutBuf {
    uint8_t *p;
    size_t size, pos;
} OutBuf;

/* Input for the steps that only finish a stream: never NULL, as NULL + 0
 * is undefined. */
static const uint8_t no_input;

struct MultifdCompressor {
    MultiFDCompression method;
    z_stream zs;                /* zlib: deflateInit()ed */
    bool zs_live;
    ZSTD_CCtx *zcctx;           /* zstd: the level set once */
    /* Starts a stream of @total bytes. */
    bool (*reset)(MultifdCompressor *c, size_t total, Error **errp);
    /* One library call; @finish ends the stream and sets *ended once
     * it is complete.  NULL for "none". */
    bool (*step)(MultifdCompressor *c, InBuf *in, OutBuf *out, bool finish,
                 bool *ended, Error **errp);
    guint64 bytes_in, bytes_out;
};

struct MultifdDecompressor {
    MultiFDCompression method;
    const char *unit;           /* "zlib stream", "zstd frame" */
    z_stream zs;                /* zlib: inflateInit()ed */
    bool zs_live;
    ZSTD_DCtx *zdctx;
    bool (*reset)(MultifdDecompressor *d, Error **errp);
    /* One library call; sets *ended once the stream is complete.  NULL
     * for "none". */
    bool (*step)(MultifdDecompressor *d, InBuf *in, OutBuf *out,
                 bool *ended, Error **errp);
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

/* zlib counts in uInt; a step passes at most that much, the drivers loop. */
static uInt zlib_len(size_t size, size_t pos)
{
    return (uInt)MIN(size - pos, (size_t)UINT_MAX);
}

/* Errors zlib reports outside of bad input. */
static void zlib_error(Error **errp, const char *what, int ret,
                       const z_stream *zs)
{
    error_setg(errp, "zlib: %s failed: %s", what,
               zs->msg ? zs->msg : zError(ret));
}

/* ---- Compression ------------------------------------------------------ */

static bool zlib_compress_reset(MultifdCompressor *c, size_t total,
                                Error **errp)
{
    int ret = deflateReset(&c->zs);

    if (ret != Z_OK) {
        zlib_error(errp, "deflateReset", ret, &c->zs);
        return false;
    }
    return true;
}

static bool zlib_compress_step(MultifdCompressor *c, InBuf *in, OutBuf *out,
                               bool finish, bool *ended, Error **errp)
{
    z_stream *zs = &c->zs;
    int ret;

    zs->next_in = in->p + in->pos;
    zs->avail_in = zlib_len(in->size, in->pos);
    zs->next_out = out->p + out->pos;
    zs->avail_out = zlib_len(out->size, out->pos);
    ret = deflate(zs, finish ? Z_FINISH : Z_NO_FLUSH);
    in->pos = zs->next_in - in->p;
    out->pos = zs->next_out - out->p;
    switch (ret) {
    case Z_STREAM_END:
        *ended = true;
        return true;
    case Z_OK:
    case Z_BUF_ERROR:           /* no progress: the driver notices */
        return true;
    default:
        zlib_error(errp, "deflate", ret, zs);
        return false;
    }
}

static bool zstd_compress_reset(MultifdCompressor *c, size_t total,
                                Error **errp)
{
    size_t ret = ZSTD_CCtx_reset(c->zcctx, ZSTD_reset_session_only);

    /* The frame header then states the size, which the reader checks. */
    if (!ZSTD_isError(ret)) {
        ret = ZSTD_CCtx_setPledgedSrcSize(c->zcctx, total);
    }
    if (ZSTD_isError(ret)) {
        error_setg(errp, "zstd: starting a frame failed: %s",
                   ZSTD_getErrorName(ret));
        return false;
    }
    return true;
}

static bool zstd_compress_step(MultifdCompressor *c, InBuf *in, OutBuf *out,
                               bool finish, bool *ended, Error **errp)
{
    ZSTD_inBuffer zin = { in->p, in->size, in->pos };
    ZSTD_outBuffer zout = { out->p, out->size, out->pos };
    size_t ret;

    ret = ZSTD_compressStream2(c->zcctx, &zout, &zin,
                               finish ? ZSTD_e_end : ZSTD_e_continue);
    in->pos = zin.pos;
    out->pos = zout.pos;
    if (ZSTD_isError(ret)) {
        error_setg(errp, "zstd: compression failed: %s",
                   ZSTD_getErrorName(ret));
        return false;
    }
    /* With ZSTD_e_end, 0 means the frame is complete and flushed. */
    *ended = finish && ret == 0;
    return true;
}

/* Only what the library can do; the configuration's ranges are
 * narrower and checked by its validator. */
static bool check_level(MultiFDCompression method, int level, Error **errp)
{
    int max = method == MULTIFD_COMPRESSION_ZLIB ? Z_BEST_COMPRESSION
                                                  : ZSTD_maxCLevel();

    if (level < 0 || level > max) {
        error_setg(errp, "%s: compression level %d is out of range 0..%d",
                   method_name(method), level, max);
        return false;
    }
    return true;
}

MultifdCompressor *multifd_compressor_new(MultiFDCompression method,
                                          int level, Error **errp)
{
    g_autoptr(MultifdCompressor) c = g_new0(MultifdCompressor, 1);
    int ret;
    size_t zret;

    c->method = method;
    switch (method) {
    case MULTIFD_COMPRESSION_NONE:
        return g_steal_pointer(&c);
    case MULTIFD_COMPRESSION_ZLIB:
        if (!check_level(method, level, errp)) {
            return NULL;
        }
        ret = deflateInit(&c->zs, level);
        if (ret != Z_OK) {
            zlib_error(errp, "deflateInit", ret, &c->zs);
            return NULL;
        }
        c->zs_live = true;
        c->reset = zlib_compress_reset;
        c->step = zlib_compress_step;
        return g_steal_pointer(&c);
    case MULTIFD_COMPRESSION_ZSTD:
        if (!check_level(method, level, errp)) {
            return NULL;
        }
        c->zcctx = ZSTD_createCCtx();
        if (!c->zcctx) {
            error_setg(errp, "zstd: cannot create a compression context");
            return NULL;
        }
        /* The frame checksum stays off (the default): it would read the
         * guest's pages a second time (see the header). */
        zret = ZSTD_CCtx_setParameter(c->zcctx, ZSTD_c_compressionLevel,
                                      level);
        if (ZSTD_isError(zret)) {
            error_setg(errp, "zstd: cannot set compression level %d: %s",
                       level, ZSTD_getErrorName(zret));
            return NULL;
        }
        c->reset = zstd_compress_reset;
        c->step = zstd_compress_step;
        return g_steal_pointer(&c);
    default:
        break;
    }
    error_setg(errp, "multifd-compression '%s' is not implemented by vmig",
               method_name(method));
    return NULL;
}

void multifd_compressor_free(MultifdCompressor *c)
{
    if (!c) {
        return;
    }
    if (c->zs_live) {
        deflateEnd(&c->zs);
    }
    ZSTD_freeCCtx(c->zcctx);
    g_free(c);
}

/*
 * One step of @c, and a check that it did something: with room for
 * output the libraries always make progress, so no progress would be a
 * bug that must not become an endless loop.
 */
static bool compress_step(MultifdCompressor *c, InBuf *in, OutBuf *out,
                          bool finish, bool *ended, Error **errp)
{
    size_t in_pos = in->pos, out_pos = out->pos;

    if (!c->step(c, in, out, finish, ended, errp)) {
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
    InBuf finish = { &no_input, 0, 0 };
    OutBuf o;
    bool ended = false;

    *compressed = false;
    g_byte_array_set_size(out, 0);
    count(&c->bytes_in, total);
    if (!c->step || total == 0) {
        count(&c->bytes_out, total);
        return true;
    }
    if (!c->reset(c, total, errp)) {
        return false;
    }
    /*
     * Room for less than the input only (and what a GByteArray can
     * hold): a stream that fills it is not worth sending, and stopping
     * there saves compressing the rest.
     */
    g_byte_array_set_size(out, (guint)MIN(total, (size_t)G_MAXUINT));
    o = (OutBuf){ out->data, out->len, 0 };
    for (size_t i = 0; i < n && o.pos < o.size; i++) {
        InBuf in = { pages[i].iov_base, pages[i].iov_len, 0 };

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

static bool zlib_decompress_reset(MultifdDecompressor *d, Error **errp)
{
    int ret = inflateReset(&d->zs);

    if (ret != Z_OK) {
        zlib_error(errp, "inflateReset", ret, &d->zs);
        return false;
    }
    return true;
}

static bool zlib_decompress_step(MultifdDecompressor *d, InBuf *in,
                                 OutBuf *out, bool *ended, Error **errp)
{
    z_stream *zs = &d->zs;
    int ret;

    zs->next_in = in->p + in->pos;
    zs->avail_in = zlib_len(in->size, in->pos);
    zs->next_out = out->p + out->pos;
    zs->avail_out = zlib_len(out->size, out->pos);
    ret = inflate(zs, Z_NO_FLUSH);
    in->pos = zs->next_in - in->p;
    out->pos = zs->next_out - out->p;
    switch (ret) {
    case Z_STREAM_END:
        *ended = true;
        return true;
    case Z_OK:
    case Z_BUF_ERROR:           /* no progress: the driver notices */
        return true;
    case Z_NEED_DICT:
        error_setg(errp, "zlib: corrupt data: the stream needs a preset "
                   "dictionary");
        return false;
    case Z_DATA_ERROR:
        error_setg(errp, "zlib: corrupt data: %s",
                   zs->msg ? zs->msg : "invalid stream");
        return false;
    default:
        zlib_error(errp, "inflate", ret, zs);
        return false;
    }
}

static bool zstd_decompress_reset(MultifdDecompressor *d, Error **errp)
{
    size_t ret = ZSTD_DCtx_reset(d->zdctx, ZSTD_reset_session_only);

    if (ZSTD_isError(ret)) {
        error_setg(errp, "zstd: resetting the decompressor failed: %s",
                   ZSTD_getErrorName(ret));
        return false;
    }
    return true;
}

static bool zstd_decompress_step(MultifdDecompressor *d, InBuf *in,
                                 OutBuf *out, bool *ended, Error **errp)
{
    ZSTD_inBuffer zin = { in->p, in->size, in->pos };
    ZSTD_outBuffer zout = { out->p, out->size, out->pos };
    size_t ret = ZSTD_decompressStream(d->zdctx, &zout, &zin);

    in->pos = zin.pos;
    out->pos = zout.pos;
    if (ZSTD_isError(ret)) {
        error_setg(errp, "zstd: corrupt data: %s", ZSTD_getErrorName(ret));
        return false;
    }
    /* 0: the frame is complete and all of it flushed; input after it is
     * left unread. */
    *ended = ret == 0;
    return true;
}

MultifdDecompressor *multifd_decompressor_new(MultiFDCompression method,
                                              Error **errp)
{
    g_autoptr(MultifdDecompressor) d = g_new0(MultifdDecompressor, 1);
    int ret;

    d->method = method;
    switch (method) {
    case MULTIFD_COMPRESSION_NONE:
        return g_steal_pointer(&d);
    case MULTIFD_COMPRESSION_ZLIB:
        ret = inflateInit(&d->zs);
        if (ret != Z_OK) {
            zlib_error(errp, "inflateInit", ret, &d->zs);
            return NULL;
        }
        d->zs_live = true;
        d->unit = "zlib stream";
        d->reset = zlib_decompress_reset;
        d->step = zlib_decompress_step;
        return g_steal_pointer(&d);
    case MULTIFD_COMPRESSION_ZSTD:
        d->zdctx = ZSTD_createDCtx();
        if (!d->zdctx) {
            error_setg(errp, "zstd: cannot create a decompression context");
            return NULL;
        }
        d->unit = "zstd frame";
        d->reset = zstd_decompress_reset;
        d->step = zstd_decompress_step;
        return g_steal_pointer(&d);
    default:
        break;
    }
    error_setg(errp, "multifd-compression '%s' is not implemented by vmig",
               method_name(method));
    return NULL;
}

void multifd_decompressor_free(MultifdDecompressor *d)
{
    if (!d) {
        return;
    }
    if (d->zs_live) {
        inflateEnd(&d->zs);
    }
    ZSTD_freeDCtx(d->zdctx);
    g_free(d);
}

/*
 * One step of @d.  False with @errp set on corrupt data, and when the
 * step could do nothing: with room for output, that means the input
 * ended inside the stream.
 */
static bool decompress_step(MultifdDecompressor *d, InBuf *in, OutBuf *out,
                            bool *ended, Error **errp)
{
    size_t in_pos = in->pos, out_pos = out->pos;

    if (!d->step(d, in, out, ended, errp)) {
        return false;
    }
    if (!*ended && in->pos == in_pos && out->pos == out_pos) {
        error_setg(errp, "%s: the data is truncated: it ends inside the "
                   "%s, after %zu byte%s", method_name(d->method), d->unit,
                   in->size, in->size == 1 ? "" : "s");
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
    InBuf in = { len ? data : &no_input, len, 0 };
    size_t produced = 0;
    bool ended = false;
    uint8_t extra;

    if (!d->step) {
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
    if (!d->reset(d, errp)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        OutBuf out = { pages[i].iov_base, pages[i].iov_len, 0 };

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
        OutBuf out = { &extra, 1, 0 };

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
                   "the %s", name, in.size - in.pos, d->unit);
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
