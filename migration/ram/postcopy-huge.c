/*
 * Gathering huge pages for postcopy.  See postcopy-huge.h.
 */
#include "migration/ram/postcopy-huge.h"

#include <string.h>
#include <sys/mman.h>

#include "migration/wire/wire.h"
#include "system/ram.h"

typedef struct Assembly {
    uint8_t *buf;               /* the huge page, mmap()ed: zeroes first */
    uint64_t page_size;
    gulong *have;               /* bit per piece come */
    uint64_t n_have;
} Assembly;

struct HugeAssembler {
    GMutex lock;
    GHashTable *pages;          /* guest address -> Assembly * */
};

static void assembly_free(gpointer p)
{
    Assembly *a = p;

    if (a->buf) {
        huge_assembler_buffer_free(a->buf, a->page_size);
    }
    g_free(a->have);
    g_free(a);
}

HugeAssembler *huge_assembler_new(void)
{
    HugeAssembler *ha = g_new0(HugeAssembler, 1);

    g_mutex_init(&ha->lock);
    ha->pages = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                      assembly_free);
    return ha;
}

void huge_assembler_free(HugeAssembler *ha)
{
    if (!ha) {
        return;
    }
    g_hash_table_destroy(ha->pages);
    g_mutex_clear(&ha->lock);
    g_free(ha);
}

void huge_assembler_buffer_free(uint8_t *buf, uint64_t page_size)
{
    munmap(buf, page_size);
}

uint8_t *huge_assembler_add(HugeAssembler *ha, const uint8_t *page,
                            uint64_t page_size, uint64_t piece_off,
                            const uint8_t *data)
{
    uint64_t pieces = page_size / GUEST_PAGE_SIZE;
    uint64_t piece = piece_off / GUEST_PAGE_SIZE;
    unsigned w = 8 * sizeof(gulong);
    uint8_t *done = NULL;
    Assembly *a;

    g_assert(piece_off % GUEST_PAGE_SIZE == 0 && piece < pieces);
    g_mutex_lock(&ha->lock);
    a = g_hash_table_lookup(ha->pages, page);
    if (!a) {
        /* Fresh anonymous memory: the zero pieces need no writing. */
        void *buf = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

        if (buf == MAP_FAILED) {
            g_error("postcopy: cannot map a %" G_GUINT64_FORMAT "-byte "
                    "buffer for a huge page", page_size);
        }
        a = g_new0(Assembly, 1);
        a->buf = buf;
        a->page_size = page_size;
        a->have = g_new0(gulong, (pieces + w - 1) / w);
        g_hash_table_insert(ha->pages, (gpointer)page, a);
    }
    /* Copied under the lock: two channels may bring the same piece. */
    if (data) {
        memcpy(a->buf + piece_off, data, GUEST_PAGE_SIZE);
    } else if (a->have[piece / w] & (1ul << (piece % w))) {
        memset(a->buf + piece_off, 0, GUEST_PAGE_SIZE);
    }
    if (!(a->have[piece / w] & (1ul << (piece % w)))) {
        a->have[piece / w] |= 1ul << (piece % w);
        a->n_have++;
    }
    if (a->n_have == pieces) {
        done = g_steal_pointer(&a->buf);
        g_hash_table_remove(ha->pages, page);
    }
    g_mutex_unlock(&ha->lock);
    return done;
}

unsigned huge_assembler_in_flight(HugeAssembler *ha)
{
    unsigned n;

    g_mutex_lock(&ha->lock);
    n = g_hash_table_size(ha->pages);
    g_mutex_unlock(&ha->lock);
    return n;
}

uint64_t huge_page_first(uint64_t page, uint64_t page_size)
{
    uint64_t per = page_size / GUEST_PAGE_SIZE;

    return page / per * per;
}

bool huge_page_request(uint64_t first, uint64_t page_size, uint64_t i,
                       uint64_t *offset, uint64_t *length)
{
    uint64_t chunk = (uint64_t)WIRE_RAM_PAGES_MAX * GUEST_PAGE_SIZE;

    if (i * chunk >= page_size) {
        return false;
    }
    *offset = first * GUEST_PAGE_SIZE + i * chunk;
    *length = MIN(chunk, page_size - i * chunk);
    return true;
}
