/*
 * Adding CRC32C trailers to records on their way out: see
 * stream-checksum.h.
 */
#include "migration/transport/stream-checksum.h"

#include <string.h>

#include "migration/wire/wire.h"
#include "util/crc32c.h"


/* The header is whole: it goes out with the grown length. */
static void start_record(ChecksumWriter *w, GByteArray *out)
{
    uint32_t len = wire_load_u32(w->header + 4);
    size_t at = out->len;

    wire_put_bytes(out, w->header, 4);
    wire_put_u32(out, len + WIRE_CHECKSUM_LEN);
    w->crc = crc32c(0, out->data + at, WIRE_RECORD_HEADER_SIZE);
    w->body_left = len;
    w->pad_left = wire_record_size(len) - WIRE_RECORD_HEADER_SIZE - len;
    w->header_have = 0;
}

/* The body is done: its CRC, then the new padding. */
static void end_record(ChecksumWriter *w, GByteArray *out)
{
    static const uint8_t zeroes[WIRE_ALIGN];
    uint32_t grown = wire_load_u32(w->header + 4) + WIRE_CHECKSUM_LEN;

    wire_put_u32(out, w->crc);
    wire_put_bytes(out, zeroes, wire_record_size(grown) -
                   WIRE_RECORD_HEADER_SIZE - grown);
}

void checksum_writer_feed(ChecksumWriter *w, const struct iovec *iov,
                          size_t niov, GByteArray *out)
{
    for (size_t i = 0; i < niov; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t n = iov[i].iov_len;

        while (n) {
            size_t k;

            if (w->body_left) {
                size_t at = out->len;

                k = MIN(n, w->body_left);
                g_byte_array_set_size(out, at + k);
                w->crc = crc32c_copy(w->crc, out->data + at, p, k);
                w->body_left -= k;
                if (!w->body_left) {
                    end_record(w, out);
                }
            } else if (w->pad_left) {
                k = MIN(n, w->pad_left);
                w->pad_left -= k;
            } else {
                k = MIN(n, WIRE_RECORD_HEADER_SIZE - w->header_have);
                memcpy(w->header + w->header_have, p, k);
                w->header_have += k;
                if (w->header_have == WIRE_RECORD_HEADER_SIZE) {
                    start_record(w, out);
                    if (!w->body_left) {
                        end_record(w, out);
                    }
                }
            }
            p += k;
            n -= k;
        }
    }
}
