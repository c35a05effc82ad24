/*
 * Fixed-width integers in bytes: see include/util/byte-cursor.h.
 */
#include "util/byte-cursor.h"

/* @n (1..8) bytes at @p as an integer, most significant byte first. */
static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void put_be(GByteArray *out, uint64_t v, size_t n)
{
    uint8_t b[8];

    for (size_t i = 0; i < n; i++) {
        b[i] = v >> (8 * (n - 1 - i));
    }
    g_byte_array_append(out, b, n);
}

static void put_le(GByteArray *out, uint64_t v, size_t n)
{
    uint8_t b[8];

    for (size_t i = 0; i < n; i++) {
        b[i] = v >> (8 * i);
    }
    g_byte_array_append(out, b, n);
}

void byte_cursor_init(ByteCursor *c, const void *buf, size_t len)
{
    *c = (ByteCursor){ .buf = buf, .len = len, .pos = 0 };
}

/* Every read goes through here: the one bounds check. */
bool byte_cursor_get_bytes(ByteCursor *c, size_t n, const uint8_t **p)
{
    if (n > byte_cursor_remaining(c)) {
        return false;
    }
    *p = c->buf + c->pos;
    c->pos += n;
    return true;
}

/* The getter and the appender of one width and byte order. */
#define BYTE_CODEC(name, type, order)                               \
    bool byte_cursor_get_##name(ByteCursor *c, type *v)             \
    {                                                               \
        const uint8_t *p;                                           \
                                                                    \
        if (!byte_cursor_get_bytes(c, sizeof(*v), &p)) {            \
            return false;                                           \
        }                                                           \
        *v = (type)load_##order(p, sizeof(*v));                     \
        return true;                                                \
    }                                                               \
                                                                    \
    void byte_put_##name(GByteArray *out, type v)                   \
    {                                                               \
        put_##order(out, v, sizeof(v));                             \
    }

BYTE_CODEC(u8, uint8_t, be)
BYTE_CODEC(be16, uint16_t, be)
BYTE_CODEC(be32, uint32_t, be)
BYTE_CODEC(be64, uint64_t, be)
BYTE_CODEC(le16, uint16_t, le)
BYTE_CODEC(le32, uint32_t, le)
BYTE_CODEC(le64, uint64_t, le)

uint32_t byte_load_be32(const uint8_t *p)
{
    return (uint32_t)load_be(p, 4);
}

uint64_t byte_load_be64(const uint8_t *p)
{
    return load_be(p, 8);
}

void byte_put_bytes(GByteArray *out, const void *data, size_t len)
{
    /* g_byte_array_append() takes a guint length. */
    g_assert(len <= G_MAXUINT);
    if (len) {
        g_byte_array_append(out, data, len);
    }
}
