/*
 * Record checksums: see the "Checksums" section of
 * docs/devel/migration-protocol.md.
 */
#include "migration/wire/wire.h"

#include <inttypes.h>
#include <string.h>

#include "util/crc32c.h"

bool wire_checksum_on(const MigrationConfig *cfg)
{
    return cfg->has_checksum && cfg->checksum == MIGRATION_CHECKSUM_CRC32C;
}

uint32_t wire_record_checksum(const uint8_t *rec, size_t len)
{
    return crc32c(0, rec, WIRE_RECORD_HEADER_SIZE + len);
}

bool wire_record_checksum_check(uint32_t type, uint64_t offset,
                                uint32_t stored, uint32_t computed,
                                Error **errp)
{
    const char *name = wire_record_type_name(type);

    if (stored == computed) {
        return true;
    }
    if (name) {
        error_setg(errp, "%s at offset %" PRIu64 ": checksum mismatch "
                   "(expected 0x%08x, got 0x%08x)", name, offset, stored,
                   computed);
    } else {
        error_setg(errp, "record type 0x%08x at offset %" PRIu64 ": "
                   "checksum mismatch (expected 0x%08x, got 0x%08x)", type,
                   offset, stored, computed);
    }
    return false;
}

void wire_records_add_checksum(GByteArray *out, size_t start)
{
    static const uint8_t zeroes[WIRE_ALIGN];
    g_autoptr(GByteArray) done = g_byte_array_new();
    size_t pos = start;

    while (pos < out->len) {
        WireRecord rec;
        size_t at = done->len;
        uint32_t len;

        g_assert(wire_record_decode(out->data + pos, out->len - pos, &rec,
                                    NULL) == WIRE_OK);
        len = rec.len + WIRE_CHECKSUM_LEN;
        wire_put_u32(done, rec.type);
        wire_put_u32(done, len);
        wire_put_bytes(done, rec.body, rec.len);
        wire_put_u32(done, wire_record_checksum(done->data + at, rec.len));
        wire_put_bytes(done, zeroes, wire_record_size(len) -
                       WIRE_RECORD_HEADER_SIZE - len);
        pos += rec.size;
    }
    g_byte_array_set_size(out, start);
    g_byte_array_append(out, done->data, done->len);
}
