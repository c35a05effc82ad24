/*
 * Fixed-width integers in bytes: a bounds-checked cursor reading them
 * from a buffer, and appenders writing them to a GByteArray.  The
 * migration stream's codec (migration/wire/, big-endian, see
 * docs/devel/migration-protocol.md) and device state (system/vmstate.c,
 * little-endian) both read their fields through it, each in its own byte
 * order, so the bounds of a field are checked in one place.
 *
 * A getter that needs more bytes than remain fails: it returns false,
 * consumes nothing and leaves its output alone.  There are no messages
 * here: the callers know which field of which record or device they were
 * reading, and say so in their own terms.
 */
#ifndef VMIG_UTIL_BYTE_CURSOR_H
#define VMIG_UTIL_BYTE_CURSOR_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ByteCursor {
    const uint8_t *buf;
    size_t len;
    size_t pos;             /* 0..len: what has been consumed */
} ByteCursor;

void byte_cursor_init(ByteCursor *c, const void *buf, size_t len);

static inline size_t byte_cursor_remaining(const ByteCursor *c)
{
    return c->len - c->pos;
}

bool byte_cursor_get_u8(ByteCursor *c, uint8_t *v);
bool byte_cursor_get_be16(ByteCursor *c, uint16_t *v);
bool byte_cursor_get_be32(ByteCursor *c, uint32_t *v);
bool byte_cursor_get_be64(ByteCursor *c, uint64_t *v);
bool byte_cursor_get_le16(ByteCursor *c, uint16_t *v);
bool byte_cursor_get_le32(ByteCursor *c, uint32_t *v);
bool byte_cursor_get_le64(ByteCursor *c, uint64_t *v);
/* The next @n bytes, in place: *@p points into the buffer. */
bool byte_cursor_get_bytes(ByteCursor *c, size_t n, const uint8_t **p);

/* Loads from bytes the caller has bounds-checked itself (unaligned). */
uint32_t byte_load_be32(const uint8_t *p);
uint64_t byte_load_be64(const uint8_t *p);

/* Appenders. */
void byte_put_u8(GByteArray *out, uint8_t v);
void byte_put_be16(GByteArray *out, uint16_t v);
void byte_put_be32(GByteArray *out, uint32_t v);
void byte_put_be64(GByteArray *out, uint64_t v);
void byte_put_le16(GByteArray *out, uint16_t v);
void byte_put_le32(GByteArray *out, uint32_t v);
void byte_put_le64(GByteArray *out, uint64_t v);
/* @len may be 0 (and @data then NULL); at most G_MAXUINT. */
void byte_put_bytes(GByteArray *out, const void *data, size_t len);

#endif
