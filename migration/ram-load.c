/*
 * The destination's side of guest RAM: RAM_PAGES records into guest
 * memory, every index and offset checked first.  See
 * include/migration/ram-transfer.h.
 */
#include "migration/ram-transfer.h"

#include <inttypes.h>
#include <string.h>

#include "util/cutils.h"

static int add_block(RAMBlock *block, void *opaque)
{
    g_ptr_array_add(opaque, block);
    return 0;
}

void ram_loader_init(RamLoader *rl, GPtrArray *blocks)
{
    memset(rl, 0, sizeof(*rl));
    rl->blocks = g_ptr_array_ref(blocks);
}

void ram_loader_init_guest(RamLoader *rl)
{
    g_autoptr(GPtrArray) blocks = g_ptr_array_new();

    ram_block_foreach(add_block, blocks);
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

bool ram_loader_load(RamLoader *rl, const uint8_t *body, size_t len,
                     Error **errp)
{
    WireRamPages p;
    const uint8_t *data;
    RAMBlock *b;

    if (!wire_ram_pages_decode(body, len, &p, errp)) {
        return false;
    }
    if (p.h.flags & WIRE_RAM_PAGES_COMPRESSED) {
        error_setg(errp, "RAM_PAGES: the pages are compressed, but the "
                   "effective multifd-compression is 'none'");
        return false;
    }
    if (p.h.block >= rl->blocks->len) {
        error_setg(errp, "RAM_PAGES: block %u does not exist: HELLO listed "
                   "%u RAM block%s", p.h.block, rl->blocks->len,
                   rl->blocks->len == 1 ? "" : "s");
        return false;
    }
    b = g_ptr_array_index(rl->blocks, p.h.block);
    /* All of them before any: a bad record changes nothing. */
    for (uint32_t i = 0; i < p.h.count; i++) {
        uint64_t off = wire_ram_pages_offset(&p, i);

        if (off > b->size || b->size - off < p.h.page_size) {
            g_autofree char *size = size_to_str(b->size);

            error_setg(errp, "RAM_PAGES: page %u: %u bytes at offset 0x%"
                       PRIx64 " are beyond the end of RAM block '%s' (%s)",
                       i, p.h.page_size, off, b->idstr, size);
            return false;
        }
    }
    data = p.data;
    for (uint32_t i = 0; i < p.h.count; i++) {
        uint8_t *host = b->host + wire_ram_pages_offset(&p, i);

        if (p.kinds[i] == WIRE_PAGE_NORMAL) {
            memcpy(host, data, p.h.page_size);
            data += p.h.page_size;
            rl->normal_pages++;
        } else {
            /* Reading a never-touched page maps the shared zero page;
             * writing would allocate memory for nothing. */
            if (!range_is_zero(host, p.h.page_size)) {
                memset(host, 0, p.h.page_size);
            }
            rl->zero_pages++;
        }
    }
    return true;
}
