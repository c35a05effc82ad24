/*
 * The handshake's decisions: see include/migration/handshake.h.
 */
#include "migration/engine/handshake.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config-host.h"
#include "migration/config.h"
#include "migration/engine/engine.h"
#include "migration/config-validate.h"
#include "system/vmstate.h"
#include "migration/wire/wire.h"
#include "system/ram.h"
#include "util/cutils.h"
#include "util/main-thread.h"

const char *handshake_implementation(void)
{
    return "vmig " VMIG_VERSION;
}

/* ---- This machine ---- */

static int add_block(RAMBlock *block, void *opaque)
{
    WireHello *h = opaque;
    uint64_t dev, ino;

    wire_hello_add_ram_block(h, block->idstr, block->size,
                             block->page_size);
    if (ram_block_shared_file(block, &dev, &ino)) {
        /* The name as people know the file; the identity decides. */
        g_autofree char *path = realpath(block->mem_path, NULL);

        wire_hello_add_shared_block(h, h->ram_blocks->len - 1,
                                    path ? path : block->mem_path, dev, ino);
    }
    return 0;
}

/* What the registry allows, the wire carries. */
G_STATIC_ASSERT(VMSTATE_SHAPE_MAX <= WIRE_SHAPE_PROPS_MAX);
G_STATIC_ASSERT(VMSTATE_SHAPE_NAME_MAX <= WIRE_SHAPE_NAME_MAX);

static GPtrArray *shape_of(const VMStateShapeProp *props)
{
    GPtrArray *shape = wire_shape_new();

    for (size_t i = 0; props[i].name; i++) {
        wire_shape_add(shape, props[i].name, props[i].value);
    }
    return shape;
}

static bool add_device(const DeviceStateOps *ops, void *opaque,
                       Error **errp)
{
    WireDevice *d = wire_hello_add_device(opaque, ops->id, ops->version,
                                          ops->min_version);

    d->shape = shape_of(ops->shape);
    return true;
}

WireHello *handshake_local_layout(void)
{
    WireHello *h = wire_hello_new();

    assert_main_thread();
    ram_block_foreach(add_block, h);
    h->machine_shape = shape_of(vmstate_machine_shape());
    device_state_foreach(add_device, h, &error_abort);
    return h;
}

WireHello *handshake_hello_new(const MigrationConfig *cfg, uint32_t flags,
                               const uint8_t *vm_uuid, Error **errp)
{
    g_autoptr(WireHello) h = handshake_local_layout();

    assert_main_thread();
    if (!wire_session_id_generate(h->session_id, errp)) {
        return NULL;
    }
    /* A file is written in one version; a live peer may pick any. */
    if (flags & WIRE_HELLO_ONE_VERSION) {
        h->min_version = h->max_version = WIRE_VERSION_MAX;
    }
    h->flags = flags;
    if (vm_uuid) {
        memcpy(h->vm_uuid, vm_uuid, WIRE_UUID_LEN);
    }
    g_free(h->implementation);
    h->implementation = g_strdup(handshake_implementation());
    qapi_free_MigrationConfig(h->config);
    h->config = migration_config_clone(cfg);
    /* Without x-ignore-shared every block is sent. */
    if (!cfg->x_ignore_shared) {
        g_ptr_array_set_size(h->shared_blocks, 0);
    }
    return g_steal_pointer(&h);
}

/* ---- Layout ---- */

static int find_block(const WireHello *h, const char *id)
{
    for (guint i = 0; i < h->ram_blocks->len; i++) {
        const WireRamBlock *b = g_ptr_array_index(h->ram_blocks, i);

        if (!strcmp(b->id, id)) {
            return (int)i;
        }
    }
    return -1;
}

static const WireDevice *find_device(const WireHello *h, const char *id)
{
    for (guint i = 0; i < h->devices->len; i++) {
        const WireDevice *d = g_ptr_array_index(h->devices, i);

        if (!strcmp(d->id, id)) {
            return d;
        }
    }
    return NULL;
}

static WireReject *layout_mismatch(char *msg)
{
    WireReject *rej = wire_reject_new(WIRE_ERR_LAYOUT_MISMATCH, NULL, "%s",
                                      msg);

    g_free(msg);
    return rej;
}

static WireReject *check_blocks(const WireHello *src, const WireHello *local)
{
    for (guint i = 0; i < src->ram_blocks->len; i++) {
        const WireRamBlock *sb = g_ptr_array_index(src->ram_blocks, i);
        int j = find_block(local, sb->id);
        const WireRamBlock *lb;

        if (j < 0) {
            return layout_mismatch(g_strdup_printf(
                "RAM block '%s' of the source does not exist here",
                sb->id));
        }
        lb = g_ptr_array_index(local->ram_blocks, j);
        if (lb->size != sb->size) {
            g_autofree char *here = size_to_str(lb->size);
            g_autofree char *there = size_to_str(sb->size);

            return layout_mismatch(g_strdup_printf(
                "RAM block '%s' is %s here but %s on the source", sb->id,
                here, there));
        }
        if (lb->page_size != sb->page_size) {
            g_autofree char *here = size_to_str(lb->page_size);
            g_autofree char *there = size_to_str(sb->page_size);

            return layout_mismatch(g_strdup_printf(
                "RAM block '%s' has pages of %s here but of %s on the "
                "source", sb->id, here, there));
        }
        /* Later records name blocks by index, so the order matters. */
        if ((guint)j != i) {
            return layout_mismatch(g_strdup_printf(
                "RAM block '%s' is block %d here but block %u on the "
                "source", sb->id, j, i));
        }
    }
    for (guint i = 0; i < local->ram_blocks->len; i++) {
        const WireRamBlock *lb = g_ptr_array_index(local->ram_blocks, i);

        if (find_block(src, lb->id) < 0) {
            return layout_mismatch(g_strdup_printf(
                "RAM block '%s' exists here but not on the source",
                lb->id));
        }
    }
    return NULL;
}

/*
 * How shape @src (the source's) differs from @local, or NULL.  Equal
 * means the same names with the same values: a property one end does
 * not know is one whose state the other cannot check.
 */
static char *shape_mismatch(const GPtrArray *src, const GPtrArray *local)
{
    for (guint i = 0; src && i < src->len; i++) {
        const WireShapeProp *s = g_ptr_array_index(src, i);
        const WireShapeProp *l = wire_shape_find(local, s->name);

        if (!l) {
            return g_strdup_printf("the source's state depends on '%s' "
                                   "(%" PRIu64 "), which this vmig does "
                                   "not describe", s->name, s->value);
        }
        if (l->value != s->value) {
            return g_strdup_printf("%s: source has %" PRIu64 ", this "
                                   "machine has %" PRIu64, s->name,
                                   s->value, l->value);
        }
    }
    for (guint i = 0; local && i < local->len; i++) {
        const WireShapeProp *l = g_ptr_array_index(local, i);

        if (!wire_shape_find(src, l->name)) {
            return g_strdup_printf("the state here depends on '%s' "
                                   "(%" PRIu64 "), which the source does "
                                   "not describe", l->name, l->value);
        }
    }
    return NULL;
}

static WireReject *check_devices(const WireHello *src,
                                 const WireHello *local)
{
    for (guint i = 0; i < src->devices->len; i++) {
        const WireDevice *sd = g_ptr_array_index(src->devices, i);
        const WireDevice *ld = find_device(local, sd->id);

        if (!ld) {
            return layout_mismatch(g_strdup_printf(
                "device '%s' of the source does not exist here", sd->id));
        }
        if (sd->version < ld->min_version || sd->version > ld->version) {
            return layout_mismatch(g_strdup_printf(
                "device '%s': the source saves state version %u, this vmig "
                "loads versions %u to %u", sd->id, sd->version,
                ld->min_version, ld->version));
        }
        /* Without SHAPE (an older source) only the load will tell. */
        if (src->machine_shape) {
            g_autofree char *why = shape_mismatch(sd->shape, ld->shape);

            if (why) {
                return layout_mismatch(g_strdup_printf("device '%s': %s",
                                                       sd->id, why));
            }
        }
    }
    /* A device the stream leaves out would keep its fresh state. */
    for (guint i = 0; i < local->devices->len; i++) {
        const WireDevice *ld = g_ptr_array_index(local->devices, i);

        if (!find_device(src, ld->id)) {
            return layout_mismatch(g_strdup_printf(
                "device '%s' exists here but not on the source", ld->id));
        }
    }
    return NULL;
}

WireReject *handshake_check_layout(const WireHello *src,
                                   const WireHello *local)
{
    WireReject *rej;

    if (src->machine_shape) {
        char *why = shape_mismatch(src->machine_shape,
                                   local->machine_shape);

        if (why) {
            return layout_mismatch(why);
        }
    }
    rej = check_blocks(src, local);
    return rej ? rej : check_devices(src, local);
}

static const WireSharedBlock *find_shared(const WireHello *h, uint32_t block)
{
    for (guint i = 0; i < h->shared_blocks->len; i++) {
        const WireSharedBlock *s = g_ptr_array_index(h->shared_blocks, i);

        if (s->block == block) {
            return s;
        }
    }
    return NULL;
}

WireReject *handshake_check_shared(const WireHello *src,
                                   const WireHello *local,
                                   bool ignore_shared)
{
    if (src->shared_blocks->len && !ignore_shared) {
        return wire_reject_new(WIRE_ERR_INCOMPATIBLE_CONFIG,
                               "x-ignore-shared", "the source does not send "
                               "%u shared RAM block%s, but x-ignore-shared "
                               "is off", src->shared_blocks->len,
                               src->shared_blocks->len == 1 ? "" : "s");
    }
    for (guint i = 0; i < src->shared_blocks->len; i++) {
        const WireSharedBlock *s = g_ptr_array_index(src->shared_blocks, i);
        const WireSharedBlock *l = find_shared(local, s->block);
        /* The layouts are equal (checked before): same index, same id. */
        const WireRamBlock *b = g_ptr_array_index(local->ram_blocks,
                                                  s->block);
        g_autofree char *here = NULL;

        if (!l) {
            here = g_strdup("it is not mapped shared from a file");
        } else if (l->dev != s->dev || l->ino != s->ino) {
            here = g_strdup_printf("it maps '%s', which is another file "
                                   "(device %#" PRIx64 ", inode %" PRIu64
                                   "; the source's: device %#" PRIx64
                                   ", inode %" PRIu64 ")", l->path, l->dev,
                                   l->ino, s->dev, s->ino);
        } else {
            continue;
        }
        return wire_reject_new(WIRE_ERR_LAYOUT_MISMATCH, "x-ignore-shared",
                               "RAM block '%s' is not sent (x-ignore-shared):"
                               " the source maps it shared from '%s', but "
                               "here %s", b->id, s->path, here);
    }
    return NULL;
}

GPtrArray *handshake_blocks_sent(const WireHello *hello)
{
    GPtrArray *blocks = ram_guest_blocks();

    for (guint i = 0; i < hello->shared_blocks->len; i++) {
        const WireSharedBlock *s = g_ptr_array_index(hello->shared_blocks,
                                                     i);

        g_assert(s->block < blocks->len);
        g_ptr_array_index(blocks, s->block) = NULL;
    }
    return blocks;
}

/* ---- Configuration ---- */

/*
 * The option migration_config_validate() refused: its single checks, in
 * its order, until one fails.  NULL if none does (which would be a bug
 * in one of the two).
 */
static const char *refused_option(const MigrationConfig *cfg,
                                  const MigrationConfigEnv *env)
{
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        if (!migration_option_validate(i, cfg, env, NULL)) {
            return migration_config_option(i)->name;
        }
    }
    for (size_t i = 0; i < migration_n_rules; i++) {
        if (!migration_rule_validate(&migration_rules[i], cfg, NULL)) {
            return migration_rules[i].a;
        }
    }
    for (size_t i = 0; i < migration_n_limits; i++) {
        if (!migration_limit_validate(&migration_limits[i], cfg, env,
                                      NULL)) {
            return migration_limits[i].option;
        }
    }
    for (size_t i = 0; i < migration_n_host_needs; i++) {
        if (!migration_host_need_validate(&migration_host_needs[i], cfg, env,
                                          NULL)) {
            return migration_host_needs[i].option;
        }
    }
    return NULL;
}

WireReject *handshake_effective_config(const MigrationConfig *sent,
                                       const MigrationConfig *local,
                                       const char *uri,
                                       const MigrationHostSupport *host,
                                       MigrationConfig **effective)
{
    g_autoptr(MigrationConfig) eff = migration_config_new_default();
    g_autoptr(MigrationConfig) locals = g_new0(MigrationConfig, 1);
    MigrationConfigEnv env = {
        .context = MIGRATION_CONFIG_INCOMING,
        .uri = uri,
        .host = host,
        .page_size = GUEST_PAGE_SIZE,
    };
    Error *err = NULL;

    /* Absent options take this end's defaults, not its settings (5.3). */
    migration_config_merge(eff, sent);
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (wire_config_option_is_local(m->name) &&
            qapi_member_is_present(m, local)) {
            qapi_member_copy(m, locals, local);
        }
    }
    migration_config_merge(eff, locals);

    if (!migration_config_validate(eff, NULL, &env, &err)) {
        WireReject *rej = wire_reject_new(WIRE_ERR_INCOMPATIBLE_CONFIG,
                                          refused_option(eff, &env), "%s",
                                          error_get_pretty(err));

        error_free(err);
        return rej;
    }
    *effective = g_steal_pointer(&eff);
    return NULL;
}

MigrationConfigOverrideList *handshake_overrides(const MigrationConfig *local,
                                                const MigrationConfig *effective)
{
    MigrationConfigOverrideList *head = NULL, **tail = &head;

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);
        MigrationConfigOverride *o;

        /* An option left at its default was not asked for. */
        if (wire_config_option_is_local(m->name) ||
            migration_config_option_is_default(m, local) ||
            migration_config_option_equal(m, local, effective)) {
            continue;
        }
        o = g_new0(MigrationConfigOverride, 1);
        o->option = g_strdup(m->name);
        o->local = migration_config_option_value_str(m, local);
        o->source = migration_config_option_value_str(m, effective);
        *tail = g_new0(MigrationConfigOverrideList, 1);
        (*tail)->value = o;
        tail = &(*tail)->next;
    }
    return head;
}

/* ---- UUID ---- */

static bool uuid_is_zero(const uint8_t *u)
{
    for (size_t i = 0; i < WIRE_UUID_LEN; i++) {
        if (u[i]) {
            return false;
        }
    }
    return true;
}

char *handshake_uuid_str(const uint8_t *u)
{
    if (!u || uuid_is_zero(u)) {
        return g_strdup("none");
    }
    return g_strdup_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                           "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
                           u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
                           u[11], u[12], u[13], u[14], u[15]);
}

WireReject *handshake_check_uuid(const uint8_t *src, const uint8_t *local)
{
    static const uint8_t none[WIRE_UUID_LEN];
    g_autofree char *s = NULL, *l = NULL;

    if (!local) {
        local = none;
    }
    if (!memcmp(src, local, WIRE_UUID_LEN)) {
        return NULL;
    }
    s = handshake_uuid_str(src);
    l = handshake_uuid_str(local);
    return wire_reject_new(WIRE_ERR_UUID_MISMATCH, "validate-uuid",
                           "the source VM's UUID is %s, this VM's is %s",
                           s, l);
}

/* ---- The destination's checks, in order ---- */

static bool same_session(const uint8_t *a, const uint8_t *b);

WireReject *handshake_check_resume(const WireHello *hello,
                                   const WireHello *paused)
{
    if (!paused) {
        return wire_reject_new(WIRE_ERR_SESSION_MISMATCH, NULL,
                               "there is no paused postcopy session to "
                               "resume here");
    }
    /* Compared whole, in constant time: the id is the session's secret,
     * and a message never repeats it. */
    if (!same_session(hello->session_id, paused->session_id)) {
        return wire_reject_new(WIRE_ERR_SESSION_MISMATCH, NULL,
                               "the session id is not the paused postcopy "
                               "session's (a stale source, or another "
                               "one)");
    }
    if (!migration_config_equal(hello->config, paused->config)) {
        return wire_reject_new(WIRE_ERR_SESSION_MISMATCH, NULL,
                               "the configuration is not the paused "
                               "postcopy session's");
    }
    return NULL;
}

WireReject *handshake_check_hello(const WireHello *hello,
                                  const MigrationConfig *local,
                                  const char *uri, const uint8_t *vm_uuid,
                                  const WireHello *paused,
                                  uint32_t *version,
                                  MigrationConfig **effective)
{
    g_autoptr(MigrationConfig) eff = NULL;
    g_autoptr(WireHello) layout = NULL;
    Error *err = NULL;
    WireReject *rej;

    assert_main_thread();
    if (!wire_negotiate_version(hello->min_version, hello->max_version,
                                WIRE_VERSION_MIN, WIRE_VERSION_MAX, version,
                                &err)) {
        rej = wire_reject_new(WIRE_ERR_UNSUPPORTED_VERSION, NULL, "%s",
                              error_get_pretty(err));
        error_free(err);
        return rej;
    }
    rej = handshake_effective_config(hello->config, local, uri,
                                     migration_host_support(), &eff);
    if (rej) {
        return rej;
    }
    /* The source of such a stream cannot wait for an ack (section 7). */
    if ((hello->flags & WIRE_HELLO_REPLY_OPTIONAL) && eff->switchover_ack) {
        return wire_reject_new(WIRE_ERR_INCOMPATIBLE_CONFIG,
                               "switchover-ack", "switchover-ack needs an "
                               "answer, which a REPLY_OPTIONAL stream may "
                               "not get");
    }
    layout = handshake_local_layout();
    rej = handshake_check_layout(hello, layout);
    if (!rej) {
        rej = handshake_check_shared(hello, layout, eff->x_ignore_shared);
    }
    if (rej) {
        return rej;
    }
    if (eff->validate_uuid) {
        rej = handshake_check_uuid(hello->vm_uuid, vm_uuid);
        if (rej) {
            return rej;
        }
    }
    if (hello->flags & WIRE_HELLO_RESUME) {
        rej = handshake_check_resume(hello, paused);
        if (rej) {
            return rej;
        }
    }
    *effective = g_steal_pointer(&eff);
    return NULL;
}

WireAccept *handshake_accept_new(const WireHello *hello, uint32_t version,
                                 const MigrationConfig *effective)
{
    const MigrationHostSupport *host = migration_host_support();
    /* What the source may want to know this host has (6.2). */
    static const struct {
        MigrationHostFeature f;
        const char *name;
    } host_features[] = {
        { MIGRATION_HOST_ZLIB, "zlib" },
        { MIGRATION_HOST_ZSTD, "zstd" },
        { MIGRATION_HOST_USERFAULTFD, "userfaultfd" },
        { MIGRATION_HOST_USERFAULTFD_WP, "userfaultfd-wp" },
        { MIGRATION_HOST_DIRECT_IO, "direct-io" },
    };
    WireAccept *a = wire_accept_new();

    a->version = version;
    memcpy(a->session_id, hello->session_id, WIRE_SESSION_ID_LEN);
    g_free(a->implementation);
    a->implementation = g_strdup(handshake_implementation());
    qapi_free_MigrationConfig(a->config);
    a->config = migration_config_clone(effective);
    for (size_t i = 0; i < G_N_ELEMENTS(host_features); i++) {
        if (host->has[host_features[i].f]) {
            wire_accept_add_feature(a, host_features[i].name);
        }
    }
    /* Protocol features this engine implements. */
    wire_accept_add_feature(a, "switchover-ack");
    wire_accept_add_feature(a, "multifd");
    /* Its pages are postcopy's, which needs userfaultfd here. */
    if (host->has[MIGRATION_HOST_USERFAULTFD]) {
        wire_accept_add_feature(a, "postcopy-preempt");
    }
    /* Without it the source sends no RAM_XBZRLE: pages go whole. */
    wire_accept_add_feature(a, "xbzrle");
    return a;
}

/* ---- The source's checks of ACCEPT ---- */

/* Session ids are secrets: no early exit on the first difference. */
static bool same_session(const uint8_t *a, const uint8_t *b)
{
    uint8_t diff = 0;

    for (size_t i = 0; i < WIRE_SESSION_ID_LEN; i++) {
        diff |= a[i] ^ b[i];
    }
    return diff == 0;
}

/* Values above 2^63 travel as JSON reals and may come back rounded. */
static bool values_equal(const char *a, const char *b)
{
    char *end_a, *end_b;
    double da, db;

    if (!strcmp(a, b)) {
        return true;
    }
    da = g_ascii_strtod(a, &end_a);
    db = g_ascii_strtod(b, &end_b);
    if (*end_a || *end_b || end_a == a || end_b == b) {
        return false;
    }
    return MAX(fabs(da), fabs(db)) >= 9.2e18 &&
           fabs(da - db) <= 1e-12 * MAX(fabs(da), fabs(db));
}

bool handshake_check_accept(const WireHello *hello, const WireAccept *acc,
                            const char **cls, Error **errp)
{
    g_autofree char *json = NULL;
    json_t *sent;
    const char *name;
    json_t *value;
    size_t len;
    bool ok = true;

    if (cls) {
        *cls = WIRE_ERR_PROTOCOL;
    }
    if (acc->version < hello->min_version ||
        acc->version > hello->max_version) {
        error_setg(errp, "ACCEPT: the destination chose protocol version "
                   "%u, but this source offered versions %u to %u",
                   acc->version, hello->min_version, hello->max_version);
        return false;
    }
    if (!same_session(acc->session_id, hello->session_id)) {
        error_setg(errp, "ACCEPT: the session id is not the one this "
                   "source sent");
        return false;
    }
    /* Exactly the options HELLO carried must come back unchanged. */
    json = wire_config_to_json(hello->config, &len);
    sent = json_loadb(json, len, 0, NULL);
    g_assert(sent);
    json_object_foreach(sent, name, value) {
        const QAPIMemberInfo *m = migration_config_find_option(name);
        g_autofree char *mine = migration_config_option_value_str(
            m, hello->config);
        g_autofree char *theirs = migration_config_option_value_str(
            m, acc->config);

        if (!values_equal(mine, theirs)) {
            error_setg(errp, "ACCEPT: the destination changed option '%s' "
                       "from %s to %s", name, mine, theirs);
            if (cls) {
                *cls = WIRE_ERR_INCOMPATIBLE_CONFIG;
            }
            ok = false;
            break;
        }
    }
    json_decref(sent);
    /* Its extra channel would go to a destination that binds none. */
    if (ok && hello->config->postcopy_preempt &&
        !wire_accept_has_feature(acc, "postcopy-preempt")) {
        error_setg(errp, "ACCEPT: option 'postcopy-preempt' is on, but the "
                   "destination does not list the feature "
                   "'postcopy-preempt'");
        if (cls) {
            *cls = WIRE_ERR_INCOMPATIBLE_CONFIG;
        }
        ok = false;
    }
    return ok;
}

char *handshake_reject_describe(const WireReject *rej)
{
    if (rej->option[0]) {
        return g_strdup_printf("The destination refused the migration (%s, "
                               "option '%s'): %s", rej->error_class,
                               rej->option, rej->message);
    }
    return g_strdup_printf("The destination refused the migration (%s): %s",
                           rej->error_class, rej->message);
}
