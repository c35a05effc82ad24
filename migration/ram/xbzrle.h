/*
 * XBZRLE (XOR-based zero run-length encoding): how a page changed since
 * the copy the destination already has, as runs.
 *
 * The format is QEMU's (docs/devel/migration-protocol.md, section 6.13):
 *
 *     delta  = pair pair ...
 *     pair   = zrun nzrun
 *     zrun   = ULEB128 length: bytes left as they are
 *     nzrun  = ULEB128 length, then that many bytes of the new page
 *
 * XOR of old and new is zero where the page did not change, hence the
 * name; the encoded non-zero runs carry the new bytes themselves, so
 * applying a delta is copying, not XORing.  Lengths are unsigned LEB128:
 * 7 bits a byte, least significant first, the high bit set on every byte
 * but the last.
 *
 * A delta this encoder writes, and the only form the decoder accepts:
 *   - only the first zero run may be empty; no non-zero run is;
 *   - an unchanged tail is left out: the delta ends with a non-zero run;
 *   - every length is minimally encoded (no trailing 0x80 0x00), at most
 *     5 bytes;
 *   - nothing follows the last run, and no run goes past the page.
 * The encoder may put an unchanged byte or two inside a non-zero run:
 * copying them costs less than the two lengths a separate zero run would
 * (QEMU's decoder, which copies what it is given, reads that as well).
 *
 * Pure functions, no allocation: the sender encodes into a buffer of its
 * own, the destination decodes a delta from the wire straight onto its
 * page.  Nothing in a delta is trusted.
 */
#ifndef VMIG_MIGRATION_XBZRLE_H
#define VMIG_MIGRATION_XBZRLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qapi/error.h"

/* xbzrle_encode()'s answer when the delta would not fit. */
#define XBZRLE_OVERFLOW SIZE_MAX
/* Largest page the codec handles: run lengths fit in 32 bits. */
#define XBZRLE_PAGE_MAX (1u << 30)

/*
 * Encodes how @new differs from @old (@len bytes each) into @out, at
 * most @out_max bytes.  Returns the delta's length, 0 when the pages are
 * equal (there is nothing to send), or XBZRLE_OVERFLOW when the delta
 * would be longer than @out_max: then the page is worth sending whole.
 * Writes nothing past @out + @out_max, whatever it returns.
 */
size_t xbzrle_encode(const uint8_t *old, const uint8_t *new, size_t len,
                     uint8_t *out, size_t out_max);

/*
 * Checks that the @len bytes at @delta are a well-formed delta for a page
 * of @page_len bytes.  The error says what is wrong and at which byte of
 * the delta, e.g. "zero run of 5000 bytes at byte 0 runs past the end of
 * the page (4096 bytes left)".
 */
bool xbzrle_check(const uint8_t *delta, size_t len, size_t page_len,
                  Error **errp);

/*
 * Applies the delta to @page (@page_len bytes: the copy the delta was
 * made against).  A delta xbzrle_check() refuses is refused here too,
 * before @page changes at all.
 */
bool xbzrle_decode(const uint8_t *delta, size_t len, uint8_t *page,
                   size_t page_len, Error **errp);

#endif
