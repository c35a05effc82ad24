/*
 * Per-packet compression of multifd pages (protocol section 6.5,
 * RAM_PAGES with the COMPRESSED flag).
 *
 * A compressed RAM_PAGES record carries the bytes of its NORMAL pages, in
 * record order, as one stream of the effective multifd-compression
 * method: a zlib stream for zlib, one zstd frame for zstd.  The data is
 * non-empty exactly when there are NORMAL pages, and a writer may send an
 * incompressible batch raw by leaving the flag clear.
 *
 * Each multifd channel thread owns one MultifdCompressor (source) or one
 * MultifdDecompressor (destination) and reuses it for every packet: the
 * library state is set up once (zlib: deflateInit/inflateInit, zstd: one
 * context with the level set once) and only reset between packets.
 * Neither object may be used by two threads at once; the byte counters
 * may be read from any thread.
 *
 * Pages are given as an iovec, one entry per page (GUEST_PAGE_SIZE
 * normally, a whole huge page during postcopy); their concatenation is
 * what is compressed, and what decompression must produce exactly.
 *
 * Guest memory changing while it is compressed: the source compresses
 * pages the guest may be writing at the same time.  Both libraries copy
 * the input before looking at it (deflate into its sliding window, zstd's
 * buffered streaming mode, which multifd_compress() uses by feeding page
 * by page and ending the frame with no input, into its input buffer), and
 * the zstd frame checksum, which would read the input a second time, is
 * off.  So every byte is read once, the stream is always valid and
 * decompresses to exactly the input's length, and a byte changed during
 * the call arrives either old or new, which is fine: the page is dirty
 * again and is sent again.
 *
 * Errors name the method first ("zstd: ..."), from MultiFDCompression_str().
 *
 * Method "none": multifd_compressor_new() returns a pass-through whose
 * multifd_compress() always answers "send raw", so callers need no
 * special case; its decompressor refuses every compressed record, since
 * with "none" in effect a COMPRESSED record is a protocol error.  The
 * methods vmig does not implement (qatzip, qpl, uadk) fail in _new().
 */
#ifndef VMIG_MIGRATION_MULTIFD_COMPRESS_H
#define VMIG_MIGRATION_MULTIFD_COMPRESS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "qapi/error.h"
#include "qapi/qapi-types.h"

typedef struct MultifdCompressor MultifdCompressor;
typedef struct MultifdDecompressor MultifdDecompressor;

/*
 * A compressor for @method at @level: for zlib 0..9, for zstd
 * 0..ZSTD_maxCLevel() (0 is zstd's default level; the configuration
 * allows 0..20, checked by its own validator).  A level the library
 * cannot honour fails here rather than being clamped silently.  @level
 * is ignored for "none".  NULL with @errp set on failure.
 */
MultifdCompressor *multifd_compressor_new(MultiFDCompression method,
                                          int level, Error **errp);
void multifd_compressor_free(MultifdCompressor *c);

/*
 * Compresses the concatenation of the @n pages @pages into @out (its
 * previous contents are replaced).  When the result is smaller than the
 * input, *@compressed is true and @out holds the zlib stream / zstd
 * frame; otherwise (incompressible data, method "none", or @n == 0 or
 * all pages empty: a record without NORMAL pages carries no data)
 * *@compressed is false and @out is empty, and the caller sends the pages
 * raw with the flag clear.  Returns false only on a library failure
 * (out of memory...), with @errp set and @out empty.
 *
 * Compression stops as soon as the output reaches the input's size, so
 * an incompressible batch costs at most one pass over it.
 */
bool multifd_compress(MultifdCompressor *c, const struct iovec *pages,
                      size_t n, GByteArray *out, bool *compressed,
                      Error **errp);

/*
 * Byte counters for a compression ratio: bytes_in counts the page bytes
 * given to multifd_compress(), bytes_out what the caller sends for them
 * (the compressed size, or the raw size when the answer was "send raw").
 * Relaxed atomics: readable from any thread, each counter on its own.
 */
uint64_t multifd_compressor_bytes_in(const MultifdCompressor *c);
uint64_t multifd_compressor_bytes_out(const MultifdCompressor *c);

/* A decompressor for @method; NULL with @errp set on failure. */
MultifdDecompressor *multifd_decompressor_new(MultiFDCompression method,
                                              Error **errp);
void multifd_decompressor_free(MultifdDecompressor *d);

/*
 * Decompresses the @len bytes at @data straight into the @n pages
 * @pages (no intermediate copy).  The data must be exactly one complete
 * zlib stream / zstd frame that decompresses to exactly the pages' total
 * size; less, more, data after the end of the stream or frame, a
 * truncated or corrupt stream, and non-empty data for no page bytes (or
 * empty data for some) all fail with an error naming the method.  Never
 * writes outside the pages; on failure the pages may be partly written.
 */
bool multifd_decompress(MultifdDecompressor *d, const void *data,
                        size_t len, const struct iovec *pages, size_t n,
                        Error **errp);

/*
 * bytes_in counts the compressed bytes, bytes_out the page bytes they
 * became, of the successful multifd_decompress() calls.
 */
uint64_t multifd_decompressor_bytes_in(const MultifdDecompressor *d);
uint64_t multifd_decompressor_bytes_out(const MultifdDecompressor *d);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MultifdCompressor, multifd_compressor_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MultifdDecompressor, multifd_decompressor_free)

#endif
