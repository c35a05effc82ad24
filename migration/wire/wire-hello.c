/*
 * HELLO: the source's opening record on the main channel (and the header
 * of a file stream): versions, flags, session, configuration and the
 * machine's layout.
 */
#include "migration/wire/wire.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "migration/config.h"
#include "util/crc32c.h"

/* Smallest encoding of one element, to refuse a lying count before
 * looping over it: a one-byte id plus the fixed fields. */
#define RAM_BLOCK_MIN_SIZE (2 + 1 + 8 + 8)
#define DEVICE_MIN_SIZE (2 + 1 + 4 + 4)

static void ram_block_free(gpointer p)
{
    WireRamBlock *b = p;

    g_free(b->id);
    g_free(b);
}

static void device_free(gpointer p)
{
    WireDevice *d = p;

    g_free(d->id);
    if (d->shape) {
        g_ptr_array_unref(d->shape);
    }
    g_free(d);
}

static void shared_block_free(gpointer p)
{
    WireSharedBlock *s = p;

    g_free(s->path);
    g_free(s);
}

WireHello *wire_hello_new(void)
{
    WireHello *h = g_new0(WireHello, 1);

    h->min_version = WIRE_VERSION_MIN;
    h->max_version = WIRE_VERSION_MAX;
    h->implementation = g_strdup("");
    h->config = g_new0(MigrationConfig, 1);
    h->ram_blocks = g_ptr_array_new_with_free_func(ram_block_free);
    h->devices = g_ptr_array_new_with_free_func(device_free);
    h->shared_blocks = g_ptr_array_new_with_free_func(shared_block_free);
    h->ignored_options = g_ptr_array_new_with_free_func(g_free);
    return h;
}

void wire_hello_free(WireHello *h)
{
    if (h) {
        g_free(h->implementation);
        qapi_free_MigrationConfig(h->config);
        g_ptr_array_unref(h->ram_blocks);
        g_ptr_array_unref(h->devices);
        if (h->machine_shape) {
            g_ptr_array_unref(h->machine_shape);
        }
        g_ptr_array_unref(h->shared_blocks);
        g_ptr_array_unref(h->ignored_options);
        g_free(h);
    }
}

void wire_hello_add_ram_block(WireHello *h, const char *id, uint64_t size,
                              uint64_t page_size)
{
    WireRamBlock *b = g_new0(WireRamBlock, 1);

    b->id = g_strdup(id);
    b->size = size;
    b->page_size = page_size;
    g_ptr_array_add(h->ram_blocks, b);
}

WireDevice *wire_hello_add_device(WireHello *h, const char *id,
                                  uint32_t version, uint32_t min_version)
{
    WireDevice *d = g_new0(WireDevice, 1);

    d->id = g_strdup(id);
    d->version = version;
    d->min_version = min_version;
    g_ptr_array_add(h->devices, d);
    return d;
}

void wire_hello_add_shared_block(WireHello *h, uint32_t block,
                                 const char *path, uint64_t dev,
                                 uint64_t ino)
{
    WireSharedBlock *s = g_new0(WireSharedBlock, 1);

    s->block = block;
    s->path = g_strdup(path);
    s->dev = dev;
    s->ino = ino;
    g_ptr_array_add(h->shared_blocks, s);
}

bool wire_session_id_generate(uint8_t id[WIRE_SESSION_ID_LEN], Error **errp)
{
    size_t got = 0;

    while (got < WIRE_SESSION_ID_LEN) {
        ssize_t n = getrandom(id + got, WIRE_SESSION_ID_LEN - got, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error_setg_errno(errp, errno, "cannot make a session id");
            return false;
        }
        got += n;
    }
    return true;
}

/* ---- Decoding ---- */

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static bool decode_header(WireReader *r, WireHello *h, const char **cls,
                          Error **errp)
{
    const uint8_t *p;

    if (!wire_get_u32(r, "min version", &h->min_version, errp) ||
        !wire_get_u32(r, "max version", &h->max_version, errp) ||
        !wire_get_u32(r, "flags", &h->flags, errp)) {
        return false;
    }
    if (h->min_version < 2 || h->min_version > h->max_version) {
        error_setg(errp, "invalid version range %u..%u", h->min_version,
                   h->max_version);
        return false;
    }
    if (h->flags & WIRE_FLAGS_CRITICAL & ~WIRE_HELLO_KNOWN_FLAGS) {
        *cls = WIRE_ERR_UNSUPPORTED_FEATURE;
        error_setg(errp, "unknown critical flags 0x%08x",
                   h->flags & WIRE_FLAGS_CRITICAL & ~WIRE_HELLO_KNOWN_FLAGS);
        return false;
    }
    if ((h->flags & WIRE_HELLO_UNIDIRECTIONAL) &&
        (h->flags & WIRE_HELLO_REPLY_OPTIONAL)) {
        /* "Nothing comes back" and "an answer may come back". */
        error_setg(errp, "flags 0x%08x: UNIDIRECTIONAL and REPLY_OPTIONAL "
                   "contradict each other", h->flags);
        return false;
    }
    if (h->flags & WIRE_HELLO_ONE_VERSION) {
        bool uni = h->flags & WIRE_HELLO_UNIDIRECTIONAL;
        const char *what = uni ? "UNIDIRECTIONAL" : "REPLY_OPTIONAL";

        /* Both need an answer, which a one-way stream cannot carry. */
        if (h->flags & (WIRE_HELLO_DRY_RUN | WIRE_HELLO_RESUME)) {
            error_setg(errp, "flags 0x%08x: DRY_RUN and RESUME need a "
                       "reply, %s %s none", h->flags, what,
                       uni ? "has" : "may have");
            return false;
        }
        /* Nobody picks a version for a file: it is written in one. */
        if (h->min_version != h->max_version) {
            error_setg(errp, "a %s stream must offer one version, not "
                       "%u..%u", what, h->min_version, h->max_version);
            return false;
        }
    }
    if (!wire_get_bytes(r, "session id", WIRE_SESSION_ID_LEN, &p, errp)) {
        return false;
    }
    if (all_zero(p, WIRE_SESSION_ID_LEN)) {
        error_setg(errp, "session id is all zero");
        return false;
    }
    memcpy(h->session_id, p, WIRE_SESSION_ID_LEN);
    if (!wire_get_bytes(r, "VM UUID", WIRE_UUID_LEN, &p, errp)) {
        return false;
    }
    memcpy(h->vm_uuid, p, WIRE_UUID_LEN);
    g_free(h->implementation);
    h->implementation = NULL;
    return wire_get_str(r, "implementation", WIRE_IMPL_MAX, false,
                        &h->implementation, errp);
}

static bool decode_config(WireReader *r, WireHello *h, const char **cls,
                          char **option, Error **errp)
{
    const uint8_t *json;
    uint32_t len;
    MigrationConfig *cfg;

    if (!wire_get_blob(r, "config", WIRE_CONFIG_MAX, &json, &len, errp)) {
        return false;
    }
    if (!wire_config_from_json(json, len, &cfg, h->ignored_options, option,
                               errp)) {
        if (*option) {
            *cls = WIRE_ERR_INCOMPATIBLE_CONFIG;
        }
        return false;
    }
    qapi_free_MigrationConfig(h->config);
    h->config = cfg;
    return true;
}

static bool decode_ram_block(WireReader *r, WireHello *h, GHashTable *ids,
                             Error **errp)
{
    g_autofree char *id = NULL;
    uint64_t size, page_size;

    if (!wire_get_str(r, "id", WIRE_ID_MAX, true, &id, errp) ||
        !wire_get_u64(r, "size", &size, errp) ||
        !wire_get_u64(r, "page size", &page_size, errp)) {
        return false;
    }
    if (!is_pow2(page_size) || page_size < WIRE_PAGE_SIZE_MIN ||
        page_size > WIRE_BLOCK_PAGE_SIZE_MAX) {
        error_setg(errp, "page size %" G_GUINT64_FORMAT " is not a power "
                   "of two from %u to %llu", page_size, WIRE_PAGE_SIZE_MIN,
                   WIRE_BLOCK_PAGE_SIZE_MAX);
        return false;
    }
    if (size == 0 || size % page_size) {
        error_setg(errp, "size %" G_GUINT64_FORMAT " is not a positive "
                   "multiple of the page size %" G_GUINT64_FORMAT, size,
                   page_size);
        return false;
    }
    if (!g_hash_table_add(ids, g_strdup(id))) {
        error_setg(errp, "id '%s' is used twice", id);
        return false;
    }
    wire_hello_add_ram_block(h, id, size, page_size);
    return true;
}

static bool decode_device(WireReader *r, WireHello *h, GHashTable *ids,
                          Error **errp)
{
    g_autofree char *id = NULL;
    uint32_t version, min_version;

    if (!wire_get_str(r, "id", WIRE_ID_MAX, true, &id, errp) ||
        !wire_get_u32(r, "version", &version, errp) ||
        !wire_get_u32(r, "min version", &min_version, errp)) {
        return false;
    }
    if (min_version < 1 || min_version > version) {
        error_setg(errp, "'%s': invalid versions: min version %u, "
                   "version %u", id, min_version, version);
        return false;
    }
    if (!g_hash_table_add(ids, g_strdup(id))) {
        error_setg(errp, "id '%s' is used twice", id);
        return false;
    }
    wire_hello_add_device(h, id, version, min_version);
    return true;
}

static bool decode_layout(WireReader *r, WireHello *h, Error **errp)
{
    g_autoptr(GHashTable) block_ids =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) dev_ids =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    uint32_t n;

    if (!wire_get_u32(r, "RAM block count", &n, errp) ||
        !wire_check_count(r, "RAM block", n, WIRE_RAM_BLOCKS_MAX,
                     RAM_BLOCK_MIN_SIZE, errp)) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!decode_ram_block(r, h, block_ids, errp)) {
            error_prepend(errp, "RAM block %u: ", i);
            return false;
        }
    }
    if (!wire_get_u32(r, "device count", &n, errp) ||
        !wire_check_count(r, "device", n, WIRE_DEVICES_MAX, DEVICE_MIN_SIZE,
                     errp)) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!decode_device(r, h, dev_ids, errp)) {
            error_prepend(errp, "device %u: ", i);
            return false;
        }
    }
    return true;
}

/* The smallest entry: block, a one-byte path, dev, ino. */
#define SHARED_BLOCK_MIN_SIZE (4 + 2 + 1 + 8 + 8)

/* SHARED_RAM: u32 count, then (u32 block, str path, u64 dev, u64 ino). */
static bool decode_shared_ram(WireReader *r, WireHello *h, Error **errp)
{
    uint32_t n;

    if (h->shared_blocks->len) {
        error_setg(errp, "SHARED_RAM appears twice");
        return false;
    }
    if (!wire_get_u32(r, "shared block count", &n, errp) ||
        !wire_check_count(r, "shared block", n, h->ram_blocks->len,
                     SHARED_BLOCK_MIN_SIZE, errp)) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        g_autofree char *path = NULL;
        uint32_t block;
        uint64_t dev, ino;

        if (!wire_get_u32(r, "block", &block, errp) ||
            !wire_get_str(r, "path", WIRE_PATH_MAX, true, &path, errp) ||
            !wire_get_u64(r, "device", &dev, errp) ||
            !wire_get_u64(r, "inode", &ino, errp)) {
            error_prepend(errp, "shared block %u: ", i);
            return false;
        }
        /* Increasing: each block at most once, and easy to check. */
        if (block >= h->ram_blocks->len ||
            (i && block <= ((WireSharedBlock *)g_ptr_array_index(
                                h->shared_blocks, i - 1))->block)) {
            error_setg(errp, "shared block %u: block %u is out of range or "
                       "out of order (%u RAM blocks)", i, block,
                       h->ram_blocks->len);
            return false;
        }
        wire_hello_add_shared_block(h, block, path, dev, ino);
    }
    if (!n) {
        error_setg(errp, "SHARED_RAM lists no block");
        return false;
    }
    return true;
}

/* What the extension decoder needs besides the HELLO it fills in. */
typedef struct HelloExt {
    WireHello *h;
    const uint8_t *body;
    size_t len;
    bool checksummed;
} HelloExt;

/* The CHECKSUM entry: type, length 4, CRC, ending the body. */
#define CHECKSUM_ENTRY_SIZE 12u

/*
 * Checked before anything is decoded, so a flipped bit anywhere before
 * it is reported as what it is rather than as whichever field it hit.
 * *@found: the body ends with a CHECKSUM entry (and it matches).
 */
static bool check_checksum_first(const uint8_t *body, size_t len,
                                 bool *found, Error **errp)
{
    const uint8_t *e = body + len - CHECKSUM_ENTRY_SIZE;
    uint32_t stored, computed;

    *found = len >= CHECKSUM_ENTRY_SIZE &&
             wire_load_u32(e) == WIRE_EXT_CHECKSUM &&
             wire_load_u32(e + 4) == WIRE_CHECKSUM_LEN;
    if (!*found) {
        return true;
    }
    stored = wire_load_u32(e + 8);
    computed = crc32c(0, body, len - CHECKSUM_ENTRY_SIZE);
    if (stored != computed) {
        error_setg(errp, "checksum mismatch (expected 0x%08x, got 0x%08x)",
                   stored, computed);
        return false;
    }
    return true;
}

/* CHECKSUM, checked up front: it must be the entry found there. */
static bool decode_checksum(HelloExt *x, WireReader *data, Error **errp)
{
    uint32_t crc;

    if (!wire_get_u32(data, "crc", &crc, errp)) {
        return false;
    }
    if (data->buf + data->len != x->body + x->len) {
        error_setg(errp, "CHECKSUM is not the last extension");
        return false;
    }
    x->checksummed = true;
    return true;
}

static bool decode_extension(void *opaque, uint32_t type, WireReader *data,
                             bool *handled, Error **errp)
{
    HelloExt *x = opaque;

    switch (type) {
    case WIRE_EXT_SHARED_RAM:
        *handled = true;
        return decode_shared_ram(data, x->h, errp);
    case WIRE_EXT_CHECKSUM:
        *handled = true;
        return decode_checksum(x, data, errp);
    case WIRE_EXT_SHAPE:
        *handled = true;
        return wire_hello_shape_decode(data, x->h, errp);
    default:
        return true;
    }
}

bool wire_hello_decode(const uint8_t *body, size_t len, WireHello **out,
                       WireReject **reject, Error **errp)
{
    g_autoptr(WireHello) h = wire_hello_new();
    const char *cls = WIRE_ERR_PROTOCOL;
    g_autofree char *option = NULL;
    Error *err = NULL;
    bool unsupported = false;
    HelloExt x = { .h = h, .body = body, .len = len };
    bool found;
    WireReader r;

    wire_reader_init(&r, body, len);
    if (!check_checksum_first(body, len, &found, &err)) {
        goto fail;
    }
    if (!decode_header(&r, h, &cls, &err) ||
        !decode_config(&r, h, &cls, &option, &err) ||
        !decode_layout(&r, h, &err)) {
        goto fail;
    }
    if (!wire_extensions_decode_with(&r, decode_extension, &x, &unsupported,
                                     &err)) {
        if (unsupported) {
            cls = WIRE_ERR_UNSUPPORTED_FEATURE;
        }
        goto fail;
    }
    /* Else a flipped bit in the entry's type would drop the check. */
    if (wire_checksum_on(h->config) && !x.checksummed) {
        error_setg(&err, "the configuration has checksum \"crc32c\", but "
                   "the CHECKSUM extension is missing");
        goto fail;
    }
    *out = g_steal_pointer(&h);
    return true;

fail:
    error_prepend(&err, "HELLO: ");
    if (reject) {
        *reject = wire_reject_new(cls, option, "%s", error_get_pretty(err));
    }
    error_propagate(errp, err);
    return false;
}

/* ---- Encoding ---- */

static bool encode_layout(const WireHello *h, GByteArray *out, Error **errp)
{
    if (h->ram_blocks->len > WIRE_RAM_BLOCKS_MAX ||
        h->devices->len > WIRE_DEVICES_MAX) {
        error_setg(errp, "%u RAM blocks and %u devices exceed the limits "
                   "(%u, %u)", h->ram_blocks->len, h->devices->len,
                   WIRE_RAM_BLOCKS_MAX, WIRE_DEVICES_MAX);
        return false;
    }
    wire_put_u32(out, h->ram_blocks->len);
    for (guint i = 0; i < h->ram_blocks->len; i++) {
        const WireRamBlock *b = g_ptr_array_index(h->ram_blocks, i);

        if (!wire_put_str(out, "id", b->id, WIRE_ID_MAX, errp)) {
            error_prepend(errp, "RAM block %u: ", i);
            return false;
        }
        wire_put_u64(out, b->size);
        wire_put_u64(out, b->page_size);
    }
    wire_put_u32(out, h->devices->len);
    for (guint i = 0; i < h->devices->len; i++) {
        const WireDevice *d = g_ptr_array_index(h->devices, i);

        if (!wire_put_str(out, "id", d->id, WIRE_ID_MAX, errp)) {
            error_prepend(errp, "device %u: ", i);
            return false;
        }
        wire_put_u32(out, d->version);
        wire_put_u32(out, d->min_version);
    }
    return true;
}

static bool encode_shared_ram(const WireHello *h, GByteArray *out,
                              Error **errp)
{
    g_autoptr(GByteArray) data = g_byte_array_new();

    if (!h->shared_blocks->len) {
        return true;            /* no extension: every block is sent */
    }
    wire_put_u32(data, h->shared_blocks->len);
    for (guint i = 0; i < h->shared_blocks->len; i++) {
        const WireSharedBlock *s = g_ptr_array_index(h->shared_blocks, i);

        wire_put_u32(data, s->block);
        if (!wire_put_str(data, "path", s->path, WIRE_PATH_MAX, errp)) {
            error_prepend(errp, "shared block %u: ", i);
            return false;
        }
        wire_put_u64(data, s->dev);
        wire_put_u64(data, s->ino);
    }
    wire_put_extension(out, WIRE_EXT_SHARED_RAM, data);
    return true;
}

bool wire_hello_encode(const WireHello *h, GByteArray *out, Error **errp)
{
    size_t start = wire_record_begin(out, WIRE_REC_HELLO);
    g_autofree char *json = NULL;
    g_autoptr(WireHello) check = NULL;
    size_t json_len;

    wire_put_u32(out, h->min_version);
    wire_put_u32(out, h->max_version);
    wire_put_u32(out, h->flags);
    wire_put_bytes(out, h->session_id, WIRE_SESSION_ID_LEN);
    wire_put_bytes(out, h->vm_uuid, WIRE_UUID_LEN);
    json = wire_config_to_json(h->config, &json_len);
    if (!wire_put_str(out, "implementation", h->implementation,
                      WIRE_IMPL_MAX, errp) ||
        !wire_put_blob(out, "config", json, json_len, WIRE_CONFIG_MAX,
                       errp) ||
        !encode_layout(h, out, errp) || !encode_shared_ram(h, out, errp) ||
        !wire_hello_shape_encode(h, out, errp)) {
        error_prepend(errp, "HELLO: ");
        goto fail;
    }
    if (wire_checksum_on(h->config)) {
        g_autoptr(GByteArray) crc = g_byte_array_new();
        size_t body = start + WIRE_RECORD_HEADER_SIZE;

        wire_put_u32(crc, crc32c(0, out->data + body, out->len - body));
        wire_put_extension(out, WIRE_EXT_CHECKSUM, crc);
    }
    if (!wire_hello_decode(out->data + start + WIRE_RECORD_HEADER_SIZE,
                           out->len - start - WIRE_RECORD_HEADER_SIZE,
                           &check, NULL, errp)) {
        goto fail;
    }
    return wire_record_end(out, start, errp);

fail:
    g_byte_array_set_size(out, start);
    return false;
}
