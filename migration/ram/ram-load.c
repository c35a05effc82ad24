/*
 * The destination's side of guest RAM: RAM_PAGES records into guest
 * memory, every index and offset checked first.  See
 * include/migration/ram-transfer.h.
 */
#include "migration/ram/ram.h"

#include <inttypes.h>
#include <string.h>

#include "util/atomic.h"
#include "util/cutils.h"

void ram_loader_init(RamLoader *rl, GPtrArray *blocks)
{
    memset(rl, 0, sizeof(*rl));
    rl->blocks = g_ptr_array_ref(blocks);
}

void ram_loader_init_guest(RamLoader *rl)
{
    g_autoptr(GPtrArray) blocks = ram_guest_blocks();

    ram_loader_init(rl, blocks);
}

void ram_loader_destroy(RamLoader *rl)
{
    g_clear_pointer(&rl->blocks, g_ptr_array_unref);
}

static bool range_is_zero(const uint8_t *p, size_t len)
{
    return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

RAMBlock *ram_loader_check_pages(RamLoader *rl, const WireRamPages *p,
                                 Error **errp)
{
    RAMBlock *b;

    if ((p->h.flags & WIRE_RAM_PAGES_COMPRESSED) && !rl->decompress) {
        error_setg(errp, "RAM_PAGES: the pages are compressed, but the "
                   "effective multifd-compression is 'none'");
        return NULL;
    }
    if (p->h.block >= rl->blocks->len) {
        error_setg(errp, "RAM_PAGES: block %u does not exist: HELLO listed "
                   "%u RAM block%s", p->h.block, rl->blocks->len,
                   rl->blocks->len == 1 ? "" : "s");
        return NULL;
    }
    b = g_ptr_array_index(rl->blocks, p->h.block);
    if (!b) {
        error_setg(errp, "RAM_PAGES: block %u is shared and not sent "
                   "(x-ignore-shared), but pages of it came", p->h.block);
        return NULL;
    }
    /* All of them before any: a bad record changes nothing. */
    for (uint32_t i = 0; i < p->h.count; i++) {
        uint64_t off = wire_ram_pages_offset(p, i);

        if (off > b->size || b->size - off < p->h.page_size) {
            g_autofree char *size = size_to_str(b->size);

            error_setg(errp, "RAM_PAGES: page %u: %u bytes at offset 0x%"
                       PRIx64 " are beyond the end of RAM block '%s' (%s)",
                       i, p->h.page_size, off, b->idstr, size);
            return NULL;
        }
    }
    if (p->h.packet != rl->next_packet) {
        error_setg(errp, "RAM_PAGES: packet %" PRIu64 " where packet %"
                   PRIu64 " was due: a batch of pages was lost or sent "
                   "twice", p->h.packet, rl->next_packet);
        return NULL;
    }
    /* Read by other threads for statistics (multifd-recv.c). */
    qatomic_set(&rl->next_packet, rl->next_packet + 1);
    return b;
}

/* The normal pages of @p, in @b's memory, as @iov (room for count);
 * pages adjacent in memory share an entry. */
static size_t normal_pages_iov(const WireRamPages *p, RAMBlock *b,
                               struct iovec *iov)
{
    size_t n = 0;

    for (uint32_t i = 0; i < p->h.count; i++) {
        if (p->kinds[i] == WIRE_PAGE_NORMAL) {
            n = ram_iov_append(iov, n, b->host + wire_ram_pages_offset(p, i),
                               p->h.page_size);
        }
    }
    return n;
}

static void load_zero_page(RamLoader *rl, uint8_t *host, uint32_t page_size)
{
    /* Reading a never-touched page maps the shared zero page; writing
     * would allocate memory for nothing. */
    if (!range_is_zero(host, page_size)) {
        memset(host, 0, page_size);
    }
    qatomic_inc(&rl->zero_pages);
}

/* The ZERO pages of @p; its NORMAL pages are loaded already. */
static void load_zero_pages(RamLoader *rl, const WireRamPages *p,
                            RAMBlock *b)
{
    for (uint32_t i = 0; i < p->h.count; i++) {
        if (p->kinds[i] != WIRE_PAGE_NORMAL) {
            load_zero_page(rl, b->host + wire_ram_pages_offset(p, i),
                           p->h.page_size);
        }
    }
}

static bool decompress_pages(RamLoader *rl, const WireRamPages *p,
                             const struct iovec *iov, size_t n,
                             Error **errp)
{
    if (!rl->decompress(rl->decompress_opaque, p->data, p->data_len,
                        iov, n, errp)) {
        error_prepend(errp, "RAM_PAGES: ");
        return false;
    }
    return true;
}

bool ram_loader_load(RamLoader *rl, const uint8_t *body, size_t len,
                     Error **errp)
{
    struct iovec iov[WIRE_RAM_PAGES_MAX];
    WireRamPages p;
    RAMBlock *b;
    size_t n;

    if (!wire_ram_pages_decode(body, len, &p, errp)) {
        return false;
    }
    b = ram_loader_check_pages(rl, &p, errp);
    if (!b) {
        return false;
    }
    n = normal_pages_iov(&p, b, iov);
    if (p.h.flags & WIRE_RAM_PAGES_COMPRESSED) {
        if (!decompress_pages(rl, &p, iov, n, errp)) {
            return false;
        }
    } else {
        const uint8_t *data = p.data;

        for (size_t i = 0; i < n; i++) {
            memcpy(iov[i].iov_base, data, iov[i].iov_len);
            data += iov[i].iov_len;
        }
    }
    qatomic_add(&rl->normal_pages, p.n_normal);
    load_zero_pages(rl, &p, b);
    return true;
}

/*
 * Reads RAM_PAGES' fixed header, then everything before its data, and
 * decodes them into @p, which points into the stream's buffer.  *@head:
 * the bytes read.
 */
static RamLoadResult read_pages_head(MigStream *s, WireRecord *rec,
                                     gint64 deadline, WireRamPages *p,
                                     size_t *head, Error **errp)
{
    size_t len = MIN(rec->len, wire_ram_pages_head_size(NULL, 0));
    Error *bad = NULL;

    if (mig_stream_read_record_prefix(s, rec, len, deadline, errp) !=
        MIG_STREAM_OK) {
        return RAM_LOAD_IO_ERROR;
    }
    len = MIN(rec->len, wire_ram_pages_head_size(rec->body, len));
    if (mig_stream_read_record_prefix(s, rec, len, deadline, errp) !=
        MIG_STREAM_OK) {
        return RAM_LOAD_IO_ERROR;
    }
    if (!wire_ram_pages_decode_head(rec->body, len, rec->len, p, &bad)) {
        Error *whole = NULL;

        /* With checksums, a corrupt record says so rather than which
         * field the corruption hit: the whole record (bounded) is read
         * and its CRC checked. */
        if (mig_stream_read_record(s, rec, deadline, &whole) !=
            MIG_STREAM_OK) {
            error_free(bad);
            error_propagate(errp, whole);
        } else {
            error_propagate(errp, bad);
        }
        return RAM_LOAD_INVALID;
    }
    *head = len;
    return RAM_LOAD_OK;
}

/*
 * Compressed: the whole (bounded) body, then decompressed into place.
 * @p, checked, is decoded again from the whole body (the read may move
 * the buffer it points into).
 */
static RamLoadResult load_compressed_from(RamLoader *rl, MigStream *s,
                                          WireRecord *rec, gint64 deadline,
                                          RAMBlock *b, WireRamPages *p,
                                          Error **errp)
{
    struct iovec iov[WIRE_RAM_PAGES_MAX];
    size_t n = normal_pages_iov(p, b, iov);

    if (mig_stream_read_record_prefix(s, rec, rec->len, deadline,
                                      errp) != MIG_STREAM_OK) {
        return RAM_LOAD_IO_ERROR;
    }
    if (!wire_ram_pages_decode(rec->body, rec->len, p, errp)) {
        return RAM_LOAD_INVALID;
    }
    if (!decompress_pages(rl, p, iov, n, errp)) {
        return RAM_LOAD_INVALID;
    }
    qatomic_add(&rl->normal_pages, p->n_normal);
    load_zero_pages(rl, p, b);
    /* Only the padding is left (@p is stale after this read). */
    if (mig_stream_read_record_into(s, rec, rec->len, NULL, 0, deadline,
                                    errp) != MIG_STREAM_OK) {
        return RAM_LOAD_IO_ERROR;
    }
    return RAM_LOAD_OK;
}

/*
 * Uncompressed, so the rest of the body after @head is exactly the
 * normal pages: read them into place.  @p's offsets and kinds point into
 * the stream's buffer, which the read may move: what the zero pages need
 * is kept first.
 */
static RamLoadResult load_raw_from(RamLoader *rl, MigStream *s,
                                   WireRecord *rec, size_t head,
                                   gint64 deadline, RAMBlock *b,
                                   const WireRamPages *p, Error **errp)
{
    struct iovec iov[WIRE_RAM_PAGES_MAX];
    uint64_t zero_off[WIRE_RAM_PAGES_MAX];
    size_t n = normal_pages_iov(p, b, iov);
    size_t n_zero = 0;
    uint32_t page_size = p->h.page_size;
    uint32_t n_normal = p->n_normal;

    for (uint32_t i = 0; i < p->h.count; i++) {
        if (p->kinds[i] != WIRE_PAGE_NORMAL) {
            zero_off[n_zero++] = wire_ram_pages_offset(p, i);
        }
    }
    if (mig_stream_read_record_into(s, rec, head, iov, n, deadline,
                                    errp) != MIG_STREAM_OK) {
        return RAM_LOAD_IO_ERROR;
    }
    qatomic_add(&rl->normal_pages, n_normal);
    for (size_t i = 0; i < n_zero; i++) {
        load_zero_page(rl, b->host + zero_off[i], page_size);
    }
    return RAM_LOAD_OK;
}

RamLoadResult ram_loader_load_from(RamLoader *rl, MigStream *s,
                                   WireRecord *rec, gint64 deadline,
                                   Error **errp)
{
    WireRamPages p;
    RamLoadResult ret;
    size_t head;
    RAMBlock *b;

    ret = read_pages_head(s, rec, deadline, &p, &head, errp);
    if (ret != RAM_LOAD_OK) {
        return ret;
    }
    /*
     * Memory someone else may write (a file the source maps too) could
     * change between landing and its checksum: such pages land from the
     * stream's buffer, where the record is checked whole.
     */
    b = p.h.block < rl->blocks->len ? g_ptr_array_index(rl->blocks,
                                                        p.h.block) : NULL;
    if (b && b->shared) {
        if (mig_stream_read_record(s, rec, deadline, errp) !=
            MIG_STREAM_OK) {
            return RAM_LOAD_IO_ERROR;
        }
        return ram_loader_load(rl, rec->body, rec->len, errp)
               ? RAM_LOAD_OK : RAM_LOAD_INVALID;
    }
    b = ram_loader_check_pages(rl, &p, errp);
    if (!b) {
        return RAM_LOAD_INVALID;
    }
    if (p.h.flags & WIRE_RAM_PAGES_COMPRESSED) {
        return load_compressed_from(rl, s, rec, deadline, b, &p, errp);
    }
    return load_raw_from(rl, s, rec, head, deadline, b, &p, errp);
}
