/*
 * What a multifd compression method provides to the method-independent
 * front (compress.c): one library's state and one library call per step,
 * in each direction.  zlib.c and zstd.c each define one table; the front
 * knows the record's rules (what is incompressible, exactly the pages'
 * size, nothing after the end) and never names a library.
 *
 * A step consumes some of @in and produces some of @out, moving their
 * pos; it may do neither (a full output, or a truncated input), which the
 * front turns into an error rather than an endless loop.  Errors name the
 * method first ("zstd: ...").
 */
#ifndef VMIG_MIGRATION_MULTIFD_COMPRESS_OPS_H
#define VMIG_MIGRATION_MULTIFD_COMPRESS_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qapi/error.h"

/* The part of a buffer one step may use: [pos, size) of p. */
typedef struct MultifdInBuf {
    const uint8_t *p;
    size_t size, pos;
} MultifdInBuf;

typedef struct MultifdOutBuf {
    uint8_t *p;
    size_t size, pos;
} MultifdOutBuf;

typedef struct MultifdCompressOps {
    /* What one record's data is, for messages: "zlib stream". */
    const char *unit;
    /* The highest level the library takes (the lowest is 0). */
    int (*max_level)(void);

    /* Source: the library state at @level (checked already). */
    void *(*compressor_new)(int level, Error **errp);
    void (*compressor_free)(void *state);
    /* Starts a stream of @total bytes. */
    bool (*compress_reset)(void *state, size_t total, Error **errp);
    /* @finish ends the stream; *@ended is set once it is complete. */
    bool (*compress_step)(void *state, MultifdInBuf *in, MultifdOutBuf *out,
                          bool finish, bool *ended, Error **errp);

    /* Destination. */
    void *(*decompressor_new)(Error **errp);
    void (*decompressor_free)(void *state);
    bool (*decompress_reset)(void *state, Error **errp);
    /* *@ended is set once the stream is complete; input after it is
     * left unread. */
    bool (*decompress_step)(void *state, MultifdInBuf *in,
                            MultifdOutBuf *out, bool *ended, Error **errp);
} MultifdCompressOps;

extern const MultifdCompressOps multifd_zlib_ops;
extern const MultifdCompressOps multifd_zstd_ops;

#endif
