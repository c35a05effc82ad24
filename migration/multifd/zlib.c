/*
 * multifd-compression "zlib": one zlib stream per record's data, with a
 * z_stream set up once per channel (deflateInit/inflateInit) and reset
 * between packets.  See compress-ops.h.
 */
#define ZLIB_CONST
#include "migration/multifd/compress-ops.h"

#include <limits.h>
#include <zlib.h>

#include <glib.h>

/* zlib counts in uInt; a step passes at most that much, the front loops. */
static uInt zlib_len(size_t size, size_t pos)
{
    return (uInt)MIN(size - pos, (size_t)UINT_MAX);
}

/* Points @zs at what is left of @in and @out for one call. */
static void zlib_bind(z_stream *zs, const MultifdInBuf *in,
                      const MultifdOutBuf *out)
{
    zs->next_in = in->p + in->pos;
    zs->avail_in = zlib_len(in->size, in->pos);
    zs->next_out = out->p + out->pos;
    zs->avail_out = zlib_len(out->size, out->pos);
}

/* Takes back what the call consumed and produced. */
static void zlib_unbind(const z_stream *zs, MultifdInBuf *in,
                        MultifdOutBuf *out)
{
    in->pos = zs->next_in - in->p;
    out->pos = zs->next_out - out->p;
}

/* Errors zlib reports outside of bad input. */
static void zlib_error(Error **errp, const char *what, int ret,
                       const z_stream *zs)
{
    error_setg(errp, "zlib: %s failed: %s", what,
               zs->msg ? zs->msg : zError(ret));
}

static int zlib_max_level(void)
{
    return Z_BEST_COMPRESSION;
}

/* deflateInit() and inflateInit() are macros of different arities, hence
 * the flag rather than a function pointer. */
static void *zlib_stream_new(bool deflating, int level, Error **errp)
{
    g_autofree z_stream *zs = g_new0(z_stream, 1);
    int ret = deflating ? deflateInit(zs, level) : inflateInit(zs);

    if (ret != Z_OK) {
        zlib_error(errp, deflating ? "deflateInit" : "inflateInit", ret, zs);
        return NULL;
    }
    return g_steal_pointer(&zs);
}

static bool zlib_stream_reset(void *state, int (*reset)(z_streamp),
                              const char *what, Error **errp)
{
    int ret = reset(state);

    if (ret != Z_OK) {
        zlib_error(errp, what, ret, state);
        return false;
    }
    return true;
}

/* What deflate() and inflate() answer alike. */
static bool zlib_step_result(int ret, const z_stream *zs, const char *what,
                             bool *ended, Error **errp)
{
    switch (ret) {
    case Z_STREAM_END:
        *ended = true;
        return true;
    case Z_OK:
    case Z_BUF_ERROR:           /* no progress: the front notices */
        return true;
    default:
        zlib_error(errp, what, ret, zs);
        return false;
    }
}

/* ---- Compression ------------------------------------------------------ */

static void *zlib_compressor_new(int level, Error **errp)
{
    return zlib_stream_new(true, level, errp);
}

static void zlib_compressor_free(void *state)
{
    deflateEnd(state);
    g_free(state);
}

static bool zlib_compress_reset(void *state, size_t total, Error **errp)
{
    return zlib_stream_reset(state, deflateReset, "deflateReset", errp);
}

static bool zlib_compress_step(void *state, MultifdInBuf *in,
                               MultifdOutBuf *out, bool finish, bool *ended,
                               Error **errp)
{
    z_stream *zs = state;
    int ret;

    zlib_bind(zs, in, out);
    ret = deflate(zs, finish ? Z_FINISH : Z_NO_FLUSH);
    zlib_unbind(zs, in, out);
    return zlib_step_result(ret, zs, "deflate", ended, errp);
}

/* ---- Decompression ---------------------------------------------------- */

static void *zlib_decompressor_new(Error **errp)
{
    return zlib_stream_new(false, 0, errp);
}

static void zlib_decompressor_free(void *state)
{
    inflateEnd(state);
    g_free(state);
}

static bool zlib_decompress_reset(void *state, Error **errp)
{
    return zlib_stream_reset(state, inflateReset, "inflateReset", errp);
}

static bool zlib_decompress_step(void *state, MultifdInBuf *in,
                                 MultifdOutBuf *out, bool *ended,
                                 Error **errp)
{
    z_stream *zs = state;
    int ret;

    zlib_bind(zs, in, out);
    ret = inflate(zs, Z_NO_FLUSH);
    zlib_unbind(zs, in, out);
    /* Bad input, as opposed to zlib failing. */
    switch (ret) {
    case Z_NEED_DICT:
        error_setg(errp, "zlib: corrupt data: the stream needs a preset "
                   "dictionary");
        return false;
    case Z_DATA_ERROR:
        error_setg(errp, "zlib: corrupt data: %s",
                   zs->msg ? zs->msg : "invalid stream");
        return false;
    default:
        return zlib_step_result(ret, zs, "inflate", ended, errp);
    }
}

const MultifdCompressOps multifd_zlib_ops = {
    .unit = "zlib stream",
    .max_level = zlib_max_level,
    .compressor_new = zlib_compressor_new,
    .compressor_free = zlib_compressor_free,
    .compress_reset = zlib_compress_reset,
    .compress_step = zlib_compress_step,
    .decompressor_new = zlib_decompressor_new,
    .decompressor_free = zlib_decompressor_free,
    .decompress_reset = zlib_decompress_reset,
    .decompress_step = zlib_decompress_step,
};
