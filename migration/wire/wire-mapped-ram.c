/*
 * MAPPED_RAM_BLOCK: where a mapped-ram file keeps one RAM block's page
 * bitmap and pages (docs/devel/migration-protocol.md, 6.10).
 */
#include "migration/wire/wire.h"

#include <inttypes.h>

static bool check(const WireMappedRamBlock *mb, Error **errp)
{
    uint64_t pages;

    if (!mb->page_size || (mb->page_size & (mb->page_size - 1)) ||
        mb->page_size < WIRE_PAGE_SIZE_MIN ||
        mb->page_size > WIRE_PAGE_SIZE_MAX) {
        error_setg(errp, "page size %u is not a power of two from %u to %u",
                   mb->page_size, WIRE_PAGE_SIZE_MIN, WIRE_PAGE_SIZE_MAX);
        return false;
    }
    if (!mb->pages_len || mb->pages_len % mb->page_size) {
        error_setg(errp, "pages length %" PRIu64 " is not a positive "
                   "multiple of the page size %u", mb->pages_len,
                   mb->page_size);
        return false;
    }
    pages = mb->pages_len / mb->page_size;
    if (mb->bitmap_len != (pages + 7) / 8) {
        error_setg(errp, "bitmap length %" PRIu64 " for %" PRIu64 " pages "
                   "(%" PRIu64 " expected)", mb->bitmap_len, pages,
                   (pages + 7) / 8);
        return false;
    }
    if (mb->bitmap_offset % WIRE_MAPPED_RAM_ALIGN ||
        mb->pages_offset % WIRE_MAPPED_RAM_ALIGN) {
        error_setg(errp, "bitmap offset 0x%" PRIx64 " or pages offset 0x%"
                   PRIx64 " is not a multiple of %u", mb->bitmap_offset,
                   mb->pages_offset, WIRE_MAPPED_RAM_ALIGN);
        return false;
    }
    /* Record, bitmap, pages, next record: in that order, no overlap. */
    if (mb->bitmap_offset > UINT64_MAX - mb->bitmap_len ||
        mb->bitmap_offset + mb->bitmap_len > mb->pages_offset ||
        mb->pages_offset > UINT64_MAX - mb->pages_len ||
        mb->pages_offset + mb->pages_len > mb->next_offset ||
        mb->next_offset % WIRE_ALIGN) {
        error_setg(errp, "regions out of order or overlapping: bitmap 0x%"
                   PRIx64 "+%" PRIu64 ", pages 0x%" PRIx64 "+%" PRIu64
                   ", next record at 0x%" PRIx64, mb->bitmap_offset,
                   mb->bitmap_len, mb->pages_offset, mb->pages_len,
                   mb->next_offset);
        return false;
    }
    return true;
}

bool wire_mapped_ram_block_encode(const WireMappedRamBlock *mb,
                                  GByteArray *out, Error **errp)
{
    size_t start;

    if (!check(mb, errp)) {
        error_prepend(errp, "MAPPED_RAM_BLOCK: ");
        return false;
    }
    start = wire_record_begin(out, WIRE_REC_MAPPED_RAM_BLOCK);
    wire_put_u32(out, mb->block);
    wire_put_u32(out, mb->page_size);
    wire_put_u64(out, mb->bitmap_offset);
    wire_put_u64(out, mb->bitmap_len);
    wire_put_u64(out, mb->pages_offset);
    wire_put_u64(out, mb->pages_len);
    wire_put_u64(out, mb->next_offset);
    return wire_record_end(out, start, errp);
}

bool wire_mapped_ram_block_decode(const uint8_t *body, size_t len,
                                  WireMappedRamBlock *out, Error **errp)
{
    WireMappedRamBlock mb;
    WireReader r;

    wire_reader_init(&r, body, len);
    if (!wire_get_u32(&r, "block", &mb.block, errp) ||
        !wire_get_u32(&r, "page size", &mb.page_size, errp) ||
        !wire_get_u64(&r, "bitmap offset", &mb.bitmap_offset, errp) ||
        !wire_get_u64(&r, "bitmap length", &mb.bitmap_len, errp) ||
        !wire_get_u64(&r, "pages offset", &mb.pages_offset, errp) ||
        !wire_get_u64(&r, "pages length", &mb.pages_len, errp) ||
        !wire_get_u64(&r, "next offset", &mb.next_offset, errp) ||
        !wire_reader_finish(&r, errp) || !check(&mb, errp)) {
        error_prepend(errp, "MAPPED_RAM_BLOCK: ");
        return false;
    }
    *out = mb;
    return true;
}

bool wire_mapped_ram_checksums_encode(GByteArray *out, const uint32_t *crcs,
                                      uint32_t n, Error **errp)
{
    size_t start = wire_record_begin(out, WIRE_REC_MAPPED_RAM_CHECKSUMS);

    wire_put_u32(out, n);
    for (uint32_t i = 0; i < n; i++) {
        wire_put_u32(out, crcs[i]);
    }
    return wire_record_end(out, start, errp);
}

bool wire_mapped_ram_checksums_decode(const uint8_t *body, size_t len,
                                      uint32_t n_blocks, uint32_t *crcs,
                                      Error **errp)
{
    WireReader r;
    uint32_t n;

    wire_reader_init(&r, body, len);
    if (!wire_get_u32(&r, "count", &n, errp)) {
        goto fail;
    }
    if (n != n_blocks) {
        error_setg(errp, "%u checksums for %u RAM blocks", n, n_blocks);
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!wire_get_u32(&r, "crc", &crcs[i], errp)) {
            goto fail;
        }
    }
    if (wire_reader_finish(&r, errp)) {
        return true;
    }
fail:
    error_prepend(errp, "MAPPED_RAM_CHECKSUMS: ");
    return false;
}
