/*
 * multifd-compression "zstd": one zstd frame per record's data, with one
 * context per channel (the level set once) reset between packets.  See
 * compress-ops.h.
 */
#include "migration/multifd/compress-ops.h"

#include <zstd.h>

#include <glib.h>

static int zstd_max_level(void)
{
    return ZSTD_maxCLevel();
}

/* False, with @errp set to "zstd: WHAT: why", if @ret is an error. */
static bool zstd_ok(size_t ret, const char *what, Error **errp)
{
    if (ZSTD_isError(ret)) {
        error_setg(errp, "zstd: %s: %s", what, ZSTD_getErrorName(ret));
        return false;
    }
    return true;
}

/* ---- Compression ------------------------------------------------------ */

static void *zstd_compressor_new(int level, Error **errp)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    size_t ret;

    if (!cctx) {
        error_setg(errp, "zstd: cannot create a compression context");
        return NULL;
    }
    /* The frame checksum stays off (the default): it would read the
     * guest's pages a second time (see compress.h). */
    ret = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    if (ZSTD_isError(ret)) {
        error_setg(errp, "zstd: cannot set compression level %d: %s",
                   level, ZSTD_getErrorName(ret));
        ZSTD_freeCCtx(cctx);
        return NULL;
    }
    return cctx;
}

static void zstd_compressor_free(void *state)
{
    ZSTD_freeCCtx(state);
}

static bool zstd_compress_reset(void *state, size_t total, Error **errp)
{
    size_t ret = ZSTD_CCtx_reset(state, ZSTD_reset_session_only);

    /* The frame header then states the size, which the reader checks. */
    if (!ZSTD_isError(ret)) {
        ret = ZSTD_CCtx_setPledgedSrcSize(state, total);
    }
    return zstd_ok(ret, "starting a frame failed", errp);
}

static bool zstd_compress_step(void *state, MultifdInBuf *in,
                               MultifdOutBuf *out, bool finish, bool *ended,
                               Error **errp)
{
    ZSTD_inBuffer zin = { in->p, in->size, in->pos };
    ZSTD_outBuffer zout = { out->p, out->size, out->pos };
    size_t ret;

    ret = ZSTD_compressStream2(state, &zout, &zin,
                               finish ? ZSTD_e_end : ZSTD_e_continue);
    in->pos = zin.pos;
    out->pos = zout.pos;
    if (!zstd_ok(ret, "compression failed", errp)) {
        return false;
    }
    /* With ZSTD_e_end, 0 means the frame is complete and flushed. */
    *ended = finish && ret == 0;
    return true;
}

/* ---- Decompression ---------------------------------------------------- */

static void *zstd_decompressor_new(Error **errp)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();

    if (!dctx) {
        error_setg(errp, "zstd: cannot create a decompression context");
    }
    return dctx;
}

static void zstd_decompressor_free(void *state)
{
    ZSTD_freeDCtx(state);
}

static bool zstd_decompress_reset(void *state, Error **errp)
{
    return zstd_ok(ZSTD_DCtx_reset(state, ZSTD_reset_session_only),
                   "resetting the decompressor failed", errp);
}

static bool zstd_decompress_step(void *state, MultifdInBuf *in,
                                 MultifdOutBuf *out, bool *ended,
                                 Error **errp)
{
    ZSTD_inBuffer zin = { in->p, in->size, in->pos };
    ZSTD_outBuffer zout = { out->p, out->size, out->pos };
    size_t ret = ZSTD_decompressStream(state, &zout, &zin);

    in->pos = zin.pos;
    out->pos = zout.pos;
    if (!zstd_ok(ret, "corrupt data", errp)) {
        return false;
    }
    /* 0: the frame is complete and all of it flushed. */
    *ended = ret == 0;
    return true;
}

const MultifdCompressOps multifd_zstd_ops = {
    .unit = "zstd frame",
    .max_level = zstd_max_level,
    .compressor_new = zstd_compressor_new,
    .compressor_free = zstd_compressor_free,
    .compress_reset = zstd_compress_reset,
    .compress_step = zstd_compress_step,
    .decompressor_new = zstd_decompressor_new,
    .decompressor_free = zstd_decompressor_free,
    .decompress_reset = zstd_decompress_reset,
    .decompress_step = zstd_decompress_step,
};
