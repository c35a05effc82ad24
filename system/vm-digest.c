/*
 * Digests of guest RAM and device state; the x-query-vm-digest command.
 * See include/migration/vm-digest.h.
 */
#include "system/vm-digest.h"

#include <glib.h>

#include "system/vmstate.h"
#include "qapi/qapi-commands.h"
#include "system/ram.h"
#include "util/main-thread.h"

/* GChecksum takes a gssize; big blocks go in pieces. */
#define DIGEST_CHUNK (1024 * 1024)

static void digest_bytes(GChecksum *ck, const uint8_t *data, uint64_t len)
{
    while (len) {
        uint64_t n = MIN(len, DIGEST_CHUNK);

        g_checksum_update(ck, data, n);
        data += n;
        len -= n;
    }
}

/* The encoded field boundaries, so "ab"+"c" and "a"+"bc" differ. */
static void digest_header(GChecksum *ck, GByteArray *hdr)
{
    g_checksum_update(ck, hdr->data, hdr->len);
    g_byte_array_set_size(hdr, 0);
}

typedef struct DigestState {
    GChecksum *ck;
    GByteArray *hdr;
} DigestState;

static int digest_block(RAMBlock *block, void *opaque)
{
    DigestState *s = opaque;

    vmstate_put_str(s->hdr, block->idstr);
    vmstate_put_u64(s->hdr, block->size);
    digest_header(s->ck, s->hdr);
    digest_bytes(s->ck, block->host, block->size);
    return 0;
}

char *vm_digest_ram(void)
{
    DigestState s = {
        .ck = g_checksum_new(G_CHECKSUM_SHA256),
        .hdr = g_byte_array_new(),
    };
    char *hex;

    assert_main_thread();
    ram_block_foreach(digest_block, &s);
    hex = g_strdup(g_checksum_get_string(s.ck));
    g_checksum_free(s.ck);
    g_byte_array_unref(s.hdr);
    return hex;
}

static bool digest_device(const DeviceStateOps *ops, void *opaque,
                          Error **errp)
{
    DigestState *s = opaque;
    g_autoptr(GByteArray) state = g_byte_array_new();

    if (!device_state_save(ops, state, errp)) {
        return false;
    }
    vmstate_put_str(s->hdr, ops->id);
    vmstate_put_u32(s->hdr, ops->version);
    vmstate_put_u64(s->hdr, state->len);
    digest_header(s->ck, s->hdr);
    digest_bytes(s->ck, state->data, state->len);
    return true;
}

char *vm_digest_devices(Error **errp)
{
    DigestState s = {
        .ck = g_checksum_new(G_CHECKSUM_SHA256),
        .hdr = g_byte_array_new(),
    };
    char *hex = NULL;

    assert_main_thread();
    if (device_state_foreach(digest_device, &s, errp)) {
        hex = g_strdup(g_checksum_get_string(s.ck));
    }
    g_checksum_free(s.ck);
    g_byte_array_unref(s.hdr);
    return hex;
}

/* QMP */

VmDigest *qmp_x_query_vm_digest(Error **errp)
{
    g_autofree char *devices = vm_digest_devices(errp);
    VmDigest *d;

    if (!devices) {
        return NULL;
    }
    d = g_new0(VmDigest, 1);
    d->ram = vm_digest_ram();
    d->devices = g_steal_pointer(&devices);
    return d;
}
