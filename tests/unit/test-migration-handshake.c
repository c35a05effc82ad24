/*
 * Unit tests for the handshake's decisions (migration/engine/handshake.c): the
 * layout check and its messages, the effective configuration and the
 * option a REJECT names, UUIDs, the destination's checks in order, and
 * the source's checks of ACCEPT.
 */
#include <check.h>
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migration/config.h"
#include "migration/engine/handshake.h"
#include "migration/config-validate.h"
#include "system/vmstate.h"
#include "system/ram.h"

#define MiB (1024 * 1024)

static WireHello *layout(void)
{
    WireHello *h = wire_hello_new();

    wire_hello_add_ram_block(h, "pc.ram", 64 * MiB, 4096);
    wire_hello_add_ram_block(h, "extra", 2 * MiB, 4096);
    wire_hello_add_device(h, "counter", 1, 1);
    wire_hello_add_device(h, "log", 2, 1);
    return h;
}

static void check_reject(WireReject *rej, const char *cls,
                         const char *option, const char *message)
{
    ck_assert_ptr_nonnull(rej);
    ck_assert_str_eq(rej->error_class, cls);
    ck_assert_str_eq(rej->option, option);
    ck_assert_msg(strstr(rej->message, message),
                  "message '%s' does not contain '%s'", rej->message,
                  message);
    wire_reject_free(rej);
}

/* @h with shapes: the machine's vCPU count, each device's own. */
static WireHello *with_shapes(WireHello *h, uint64_t vcpus)
{
    WireDevice *counter = g_ptr_array_index(h->devices, 0);
    WireDevice *log = g_ptr_array_index(h->devices, 1);

    h->machine_shape = wire_shape_new();
    wire_shape_add(h->machine_shape, "vCPU count", vcpus);
    counter->shape = wire_shape_new();
    wire_shape_add(counter->shape, "vCPU count", vcpus);
    log->shape = wire_shape_new();
    wire_shape_add(log->shape, "record capacity", 64);
    return h;
}

/* What device state depends on: checked when the source describes it. */
START_TEST(test_shapes)
{
    g_autoptr(WireHello) local = with_shapes(layout(), 1);
    g_autoptr(WireHello) src = with_shapes(layout(), 1);
    g_autoptr(WireHello) old = layout();
    WireDevice *log = g_ptr_array_index(src->devices, 1);
    WireShapeProp *cap = g_ptr_array_index(log->shape, 0);

    ck_assert_ptr_null(handshake_check_layout(src, local));
    /* An older source describes no shape: the load checks, not this. */
    ck_assert_ptr_null(handshake_check_layout(old, local));

    g_clear_pointer(&src, wire_hello_free);
    src = with_shapes(layout(), 2);
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "vCPU count: source has 2, this machine has 1");
    /* The machine's is checked first; a device's names the device. */
    g_ptr_array_set_size(src->machine_shape, 0);
    wire_shape_add(src->machine_shape, "vCPU count", 1);
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "device 'counter': vCPU count: source has 2, this machine "
                 "has 1");
    g_clear_pointer(&src, wire_hello_free);

    src = with_shapes(layout(), 1);
    log = g_ptr_array_index(src->devices, 1);
    cap = g_ptr_array_index(log->shape, 0);
    cap->value = 32;
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "device 'log': record capacity: source has 32, this "
                 "machine has 64");
    cap->value = 64;
    wire_shape_add(log->shape, "text limit", 256);
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "device 'log': the source's state depends on 'text limit' "
                 "(256), which this vmig does not describe");
    g_ptr_array_set_size(log->shape, 0);
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "device 'log': the state here depends on 'record "
                 "capacity' (64), which the source does not describe");
    wire_shape_add(log->shape, "record capacity", 64);
    wire_shape_add(src->machine_shape, "NUMA nodes", 2);
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "the source's state depends on 'NUMA nodes' (2)");
}
END_TEST

START_TEST(test_layout)
{
    g_autoptr(WireHello) local = layout();
    g_autoptr(WireHello) src = NULL;
    WireRamBlock *b;
    WireDevice *d;

    src = layout();
    ck_assert_ptr_null(handshake_check_layout(src, local));

    b = g_ptr_array_index(src->ram_blocks, 0);
    b->size = 128 * MiB;
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "RAM block 'pc.ram' is 64 MiB here but 128 MiB on the "
                 "source");
    b->size = 64 * MiB;
    b->page_size = 2 * MiB;
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "RAM block 'pc.ram' has pages of 4 KiB here but of 2 MiB "
                 "on the source");
    b->page_size = 4096;

    /* Same blocks, other order: indexes would name the wrong block. */
    g_ptr_array_add(src->ram_blocks, g_ptr_array_steal_index(
                        src->ram_blocks, 0));
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "RAM block 'extra' is block 1 here but block 0 on the "
                 "source");
    g_clear_pointer(&src, wire_hello_free);

    src = layout();
    g_ptr_array_remove_index(src->ram_blocks, 1);
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "RAM block 'extra' exists here but not on the source");
    wire_hello_add_ram_block(src, "other", 2 * MiB, 4096);
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "RAM block 'other' of the source does not exist here");
    g_clear_pointer(&src, wire_hello_free);

    src = layout();
    d = g_ptr_array_index(src->devices, 1);
    d->version = 3;
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "device 'log': the source saves state version 3, this vmig "
                 "loads versions 1 to 2");
    /* Devices may come in any order; versions within range load. */
    d->version = 1;
    g_ptr_array_add(src->devices, g_ptr_array_steal_index(src->devices,
                                                          0));
    ck_assert_ptr_null(handshake_check_layout(src, local));
    g_ptr_array_remove_index(src->devices, 0);
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "device 'log' exists here but not on the source");
    wire_hello_add_device(src, "log", 2, 1);
    wire_hello_add_device(src, "gpu", 1, 1);
    check_reject(handshake_check_layout(src, local), "LayoutMismatch", "",
                 "device 'gpu' of the source does not exist here");
}
END_TEST

static MigrationHostSupport all_host(void)
{
    MigrationHostSupport h;

    for (int i = 0; i < MIGRATION_HOST__MAX; i++) {
        h.has[i] = true;
    }
    return h;
}

/* x-ignore-shared: the blocks the source does not send must be the
 * destination's very files. */
START_TEST(test_shared_blocks)
{
    g_autoptr(WireHello) local = layout();
    g_autoptr(WireHello) src = layout();
    WireSharedBlock *s;

    /* Nothing left out: nothing to check, whatever the option says. */
    ck_assert_ptr_null(handshake_check_shared(src, local, false));
    ck_assert_ptr_null(handshake_check_shared(src, local, true));

    wire_hello_add_shared_block(src, 1, "/dev/shm/extra", 0x2d, 77);
    check_reject(handshake_check_shared(src, local, false),
                 "IncompatibleConfig", "x-ignore-shared",
                 "the source does not send 1 shared RAM block, but "
                 "x-ignore-shared is off");
    check_reject(handshake_check_shared(src, local, true),
                 "LayoutMismatch", "x-ignore-shared",
                 "RAM block 'extra' is not sent (x-ignore-shared): the "
                 "source maps it shared from '/dev/shm/extra', but here it "
                 "is not mapped shared from a file");
    wire_hello_add_shared_block(local, 1, "/dev/shm/other", 0x2d, 78);
    check_reject(handshake_check_shared(src, local, true),
                 "LayoutMismatch", "x-ignore-shared",
                 "RAM block 'extra' is not sent (x-ignore-shared): the "
                 "source maps it shared from '/dev/shm/extra', but here it "
                 "maps '/dev/shm/other', which is another file (device "
                 "0x2d, inode 78; the source's: device 0x2d, inode 77)");
    /* The identity decides, not the name (a link, another mount). */
    s = g_ptr_array_index(local->shared_blocks, 0);
    s->ino = 77;
    ck_assert_ptr_null(handshake_check_shared(src, local, true));
    /* A block shared here but sent anyway is simply loaded. */
    wire_hello_add_shared_block(local, 0, "/dev/shm/pc", 0x2d, 5);
    ck_assert_ptr_null(handshake_check_shared(src, local, true));
}
END_TEST

START_TEST(test_effective_config)
{
    MigrationHostSupport host = all_host();
    g_autoptr(MigrationConfig) local = migration_config_new_default();
    g_autoptr(MigrationConfig) sent = g_new0(MigrationConfig, 1);
    g_autoptr(MigrationConfig) eff = NULL;

    /* Options come from the source, or this end's defaults, never its
     * settings (local options aside: below). */
    local->downtime_limit = 999;
    sent->has_max_bandwidth = true;
    sent->max_bandwidth = 12345;
    sent->has_events = true;
    sent->events = true;
    ck_assert_ptr_null(handshake_effective_config(sent, local,
                                                  "tcp:127.0.0.1:1", &host,
                                                  &eff));
    ck_assert_uint_eq(eff->max_bandwidth, 12345);
    ck_assert(eff->events);
    ck_assert_uint_eq(eff->downtime_limit, 300);
    ck_assert(migration_config_option_is_on(
        migration_config_find_option("max-bandwidth"), eff));
    qapi_free_MigrationConfig(g_steal_pointer(&eff));

    /* A local option comes from here, never from the source, and is
     * validated here. */
    g_free(local->tls_creds);
    local->tls_creds = g_strdup("tls0");
    g_free(sent->tls_creds);
    sent->tls_creds = g_strdup("the-source-s");
    ck_assert_ptr_null(handshake_effective_config(sent, local,
                                                  "tcp:127.0.0.1:1", &host,
                                                  &eff));
    ck_assert_str_eq(eff->tls_creds, "tls0");
    qapi_free_MigrationConfig(g_steal_pointer(&eff));
    check_reject(handshake_effective_config(sent, local, "file:/x", &host,
                                            &eff),
                 "IncompatibleConfig", "tls-creds",
                 "Option 'tls-creds' (value 'tls0') cannot be used with URI "
                 "'file:/x'");
    ck_assert_ptr_null(eff);
}
END_TEST

/* What the destination had set and the migration does otherwise. */
START_TEST(test_overrides)
{
    g_autoptr(MigrationConfig) local = migration_config_new_default();
    g_autoptr(MigrationConfig) eff = migration_config_new_default();
    g_autoptr(MigrationConfigOverrideList) list = NULL;

    ck_assert_ptr_null(handshake_overrides(local, eff));
    local->downtime_limit = 500;            /* overridden */
    local->multifd = true;                  /* overridden */
    local->multifd_channels = 4;            /* the same there: kept */
    eff->multifd_channels = 4;
    eff->max_bandwidth = 1;                 /* not set here: no override */
    g_free(local->tls_hostname);            /* local: never overridden */
    local->tls_hostname = g_strdup("dst.example");
    list = handshake_overrides(local, eff);
    ck_assert_ptr_nonnull(list);
    ck_assert_str_eq(list->value->option, "multifd");
    ck_assert_str_eq(list->value->local, "true");
    ck_assert_str_eq(list->value->source, "false");
    ck_assert_ptr_nonnull(list->next);
    ck_assert_str_eq(list->next->value->option, "downtime-limit");
    ck_assert_str_eq(list->next->value->local, "500");
    ck_assert_str_eq(list->next->value->source, "300");
    ck_assert_ptr_null(list->next->next);
}
END_TEST

START_TEST(test_effective_config_refused)
{
    MigrationHostSupport host = all_host();
    g_autoptr(MigrationConfig) local = migration_config_new_default();
    g_autoptr(MigrationConfig) eff = NULL;
    MigrationConfig sent = { 0 };

    /* The host lacks what an option needs. */
    host.has[MIGRATION_HOST_ZSTD] = false;
    sent.has_multifd = sent.multifd = true;
    sent.has_multifd_compression = true;
    sent.multifd_compression = MULTIFD_COMPRESSION_ZSTD;
    check_reject(handshake_effective_config(&sent, local, "tcp:h:1", &host,
                                            &eff),
                 "IncompatibleConfig", "multifd-compression",
                 "Option 'multifd-compression' value 'zstd' cannot be used: "
                 "this host does not support zstd");
    ck_assert_ptr_null(eff);
    host = all_host();
    sent.has_multifd = sent.has_multifd_compression = false;

    /* A rule between options names the first of them. */
    sent.has_switchover_ack = true;
    sent.switchover_ack = true;
    check_reject(handshake_effective_config(&sent, local, "tcp:h:1", &host,
                                            &eff),
                 "IncompatibleConfig", "switchover-ack",
                 "requires 'return-path'");
    sent.has_switchover_ack = false;

    /* A transport's limit. */
    sent.has_return_path = true;
    sent.return_path = true;
    check_reject(handshake_effective_config(&sent, local, "file:/x", &host,
                                            &eff),
                 "IncompatibleConfig", "return-path",
                 "Option 'return-path' cannot be used with URI 'file:/x'");
    sent.has_return_path = false;

    /* A rule between two sent options. */
    sent.has_postcopy_preempt = true;
    sent.postcopy_preempt = true;
    check_reject(handshake_effective_config(&sent, local, "tcp:h:1", &host,
                                            &eff),
                 "IncompatibleConfig", "postcopy-preempt",
                 "Option 'postcopy-preempt' requires 'postcopy-ram'");
    sent.has_postcopy_preempt = false;
    sent.has_mapped_ram = sent.mapped_ram = true;
    sent.has_multifd = sent.multifd = true;
    sent.has_direct_io = sent.direct_io = true;
    check_reject(handshake_effective_config(&sent, local, "file:/x", &host,
                                            &eff),
                 "IncompatibleConfig", "direct-io",
                 "Option 'direct-io' is not supported by this vmig yet");
    sent.has_mapped_ram = sent.has_multifd = sent.has_direct_io = false;

    /* A local option set here counts too. */
    g_free(local->tls_creds);
    local->tls_creds = g_strdup("tls0");
    sent.has_zero_copy_send = sent.zero_copy_send = true;
    sent.has_multifd = sent.multifd = true;
    sent.has_checksum = true;
    sent.checksum = MIGRATION_CHECKSUM_NONE;     /* as zero copy needs */
    check_reject(handshake_effective_config(&sent, local, "tcp:h:1", &host,
                                            &eff),
                 "IncompatibleConfig", "zero-copy-send", "tls-creds");
    sent.has_zero_copy_send = sent.has_multifd = sent.has_checksum = false;
}
END_TEST

START_TEST(test_uuid)
{
    uint8_t a[16] = { 0x6f, 0x1c, 0x3a, 0x1e, 0x8d, 0x0b, 0x4d, 0x59,
                      0x9a, 0x4e, 0x2f, 0x8a, 0x7c, 0x1d, 0x0b, 0x01 };
    uint8_t zero[16] = { 0 };
    g_autofree char *s = handshake_uuid_str(a);

    ck_assert_str_eq(s, "6f1c3a1e-8d0b-4d59-9a4e-2f8a7c1d0b01");
    ck_assert_ptr_null(handshake_check_uuid(a, a));
    ck_assert_ptr_null(handshake_check_uuid(zero, NULL));
    check_reject(handshake_check_uuid(zero, a), "UuidMismatch",
                 "validate-uuid", "the source VM's UUID is none, this VM's "
                 "is 6f1c3a1e-8d0b-4d59-9a4e-2f8a7c1d0b01");
    check_reject(handshake_check_uuid(a, NULL), "UuidMismatch",
                 "validate-uuid", "this VM's is none");
}
END_TEST

/* This process as a machine: one RAM block and the two devices. */
static RAMBlock *ram;
static DeviceStateOps dev_ops[2];
static const VMStateShapeProp one_vcpu[] = { { "vCPU count", 1 }, { NULL } };

static bool dummy_save(void *opaque, GByteArray *out, Error **errp)
{
    return true;
}

static bool dummy_load(void *opaque, const uint8_t *buf, size_t len,
                       uint32_t version, Error **errp)
{
    return true;
}

static void machine_setup(void)
{
    ram = ram_block_new_anon("pc.ram", 64 * MiB, false, &error_abort);
    ck_assert(ram_block_register(ram, &error_abort));
    ck_assert(vmstate_set_machine_shape(one_vcpu, &error_abort));
    dev_ops[0] = (DeviceStateOps){ .id = "counter", .version = 1,
                                   .min_version = 1,
                                   .shape = one_vcpu,
                                   .save = dummy_save,
                                   .load = dummy_load };
    dev_ops[1] = (DeviceStateOps){ .id = "log", .version = 2,
                                   .min_version = 1,
                                   .shape = vmstate_shape_none,
                                   .save = dummy_save,
                                   .load = dummy_load };
    ck_assert(device_state_register(&dev_ops[0], &error_abort));
    ck_assert(device_state_register(&dev_ops[1], &error_abort));
}

static void machine_teardown(void)
{
    device_state_unregister(&dev_ops[1]);
    device_state_unregister(&dev_ops[0]);
    vmstate_set_machine_shape(NULL, &error_abort);
    ram_block_unregister(ram);
    ram_block_free(ram);
}

/* This machine's blocks mapped shared from a named file are what
 * x-ignore-shared leaves out. */
START_TEST(test_shared_blocks_of_this_machine)
{
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    g_autoptr(WireHello) h = NULL;
    g_autoptr(MigrationConfig) eff = NULL;
    g_autoptr(GPtrArray) sent = NULL;
    g_autofree char *path = NULL;
    g_autofree char *dir = g_dir_make_tmp("vmig-shared-XXXXXX", NULL);
    RAMBlock *shm, *priv, *unnamed;
    const WireSharedBlock *s;
    uint32_t version;
    struct stat st;
    int fd = g_file_open_tmp("vmig-shared-XXXXXX", &path, NULL);

    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_ptr_nonnull(dir);
    shm = ram_block_new_file("shm", path, 2 * MiB, true, &error_abort);
    /* The same file, but private: not shared with anyone. */
    priv = ram_block_new_file("priv", path, 2 * MiB, false, &error_abort);
    /* A directory: an unlinked file of its own, nobody else can map. */
    unnamed = ram_block_new_file("unnamed", dir, 2 * MiB, true,
                                 &error_abort);
    ck_assert(ram_block_register(shm, &error_abort));
    ck_assert(ram_block_register(priv, &error_abort));
    ck_assert(ram_block_register(unnamed, &error_abort));

    h = handshake_hello_new(cfg, 0, NULL, &error_abort);
    ck_assert_uint_eq(h->shared_blocks->len, 0);
    g_clear_pointer(&h, wire_hello_free);

    cfg->x_ignore_shared = true;
    h = handshake_hello_new(cfg, 0, NULL, &error_abort);
    ck_assert_uint_eq(h->shared_blocks->len, 1);
    s = g_ptr_array_index(h->shared_blocks, 0);
    ck_assert_uint_eq(s->block, 1);         /* after pc.ram */
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(s->dev, st.st_dev);
    ck_assert_uint_eq(s->ino, st.st_ino);
    ck_assert(g_str_has_suffix(s->path, strrchr(path, '/')));

    /* This machine maps the same file: it accepts its own HELLO, and
     * loads into every block but that one. */
    ck_assert_ptr_null(handshake_check_hello(h, cfg, "tcp:h:1", NULL, NULL,
                                             &version, &eff));
    sent = handshake_blocks_sent(h);
    ck_assert_uint_eq(sent->len, 4);
    ck_assert_ptr_eq(g_ptr_array_index(sent, 0), ram);
    ck_assert_ptr_null(g_ptr_array_index(sent, 1));
    ck_assert_ptr_eq(g_ptr_array_index(sent, 2), priv);
    ck_assert_ptr_eq(g_ptr_array_index(sent, 3), unnamed);

    ram_block_unregister(unnamed);
    ram_block_unregister(priv);
    ram_block_unregister(shm);
    ram_block_free(unnamed);
    ram_block_free(priv);
    ram_block_free(shm);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_hello_and_destination_checks)
{
    const uint8_t uuid[16] = { 1, 2, 3 };
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    g_autoptr(WireHello) h = NULL;
    g_autoptr(WireHello) file = NULL;
    g_autoptr(MigrationConfig) eff = NULL;
    g_autoptr(WireAccept) acc = NULL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint32_t version = 0;
    const WireRamBlock *blk;
    bool all_zero = true;

    h = handshake_hello_new(cfg, WIRE_HELLO_DRY_RUN, uuid, &error_abort);
    ck_assert_uint_eq(h->flags, WIRE_HELLO_DRY_RUN);
    ck_assert_uint_eq(h->min_version, WIRE_VERSION_MIN);
    ck_assert_uint_eq(h->max_version, WIRE_VERSION_MAX);
    ck_assert_int_eq(memcmp(h->vm_uuid, uuid, 16), 0);
    ck_assert_str_eq(h->implementation, handshake_implementation());
    ck_assert(g_str_has_prefix(h->implementation, "vmig "));
    for (int i = 0; i < 16; i++) {
        all_zero &= !h->session_id[i];
    }
    ck_assert(!all_zero);
    ck_assert_uint_eq(h->ram_blocks->len, 1);
    blk = g_ptr_array_index(h->ram_blocks, 0);
    ck_assert_str_eq(blk->id, "pc.ram");
    ck_assert_uint_eq(blk->size, 64 * MiB);
    ck_assert_uint_eq(h->devices->len, 2);
    /* The shapes: the machine's and each device's, none for "log". */
    ck_assert_uint_eq(h->machine_shape->len, 1);
    ck_assert_uint_eq(wire_shape_find(h->machine_shape,
                                      "vCPU count")->value, 1);
    ck_assert_uint_eq(((WireDevice *)g_ptr_array_index(
                           h->devices, 0))->shape->len, 1);
    ck_assert_uint_eq(((WireDevice *)g_ptr_array_index(
                           h->devices, 1))->shape->len, 0);
    ck_assert(wire_hello_encode(h, b, &error_abort));

    /* A file offers the one version it is written in. */
    file = handshake_hello_new(cfg, WIRE_HELLO_UNIDIRECTIONAL, NULL,
                               &error_abort);
    ck_assert_uint_eq(file->min_version, file->max_version);

    /* This machine takes its own HELLO; the UUID is checked only with
     * validate-uuid. */
    ck_assert_ptr_null(handshake_check_hello(h, cfg, "tcp:h:1", NULL, NULL,
                                             &version, &eff));
    ck_assert_uint_eq(version, WIRE_VERSION_MAX);
    acc = handshake_accept_new(h, version, eff);
    ck_assert(wire_accept_has_feature(acc, "switchover-ack"));
    /* With userfaultfd here (as the validator probes it), preempt. */
    ck_assert(wire_accept_has_feature(acc, "postcopy-preempt") ==
              migration_host_support()->has[MIGRATION_HOST_USERFAULTFD]);
    ck_assert(handshake_check_accept(h, acc, NULL, &error_abort));
    g_clear_pointer(&eff, qapi_free_MigrationConfig);

    /* A machine of another shape is refused before anything loads. */
    ((WireShapeProp *)g_ptr_array_index(h->machine_shape, 0))->value = 2;
    check_reject(handshake_check_hello(h, cfg, "tcp:h:1", NULL, NULL,
                                       &version, &eff), "LayoutMismatch", "",
                 "vCPU count: source has 2, this machine has 1");
    ((WireShapeProp *)g_ptr_array_index(h->machine_shape, 0))->value = 1;

    h->config->validate_uuid = true;
    check_reject(handshake_check_hello(h, cfg, "tcp:h:1", NULL, NULL,
                                       &version, &eff), "UuidMismatch",
                 "validate-uuid", "this VM's is none");
    ck_assert_ptr_null(handshake_check_hello(h, cfg, "tcp:h:1", uuid,
                                             NULL, &version, &eff));
    g_clear_pointer(&eff, qapi_free_MigrationConfig);

    /* The order: a version mismatch hides everything after it. */
    h->min_version = 3;
    h->max_version = 5;
    check_reject(handshake_check_hello(h, cfg, "tcp:h:1", NULL, NULL,
                                       &version, &eff), "UnsupportedVersion", "",
                 "no common protocol version: the source speaks versions 3 "
                 "to 5, the destination 2 to 2");
    h->min_version = h->max_version = 2;
    h->config->validate_uuid = false;
    h->flags = WIRE_HELLO_RESUME;
    check_reject(handshake_check_hello(h, cfg, "tcp:h:1", NULL, NULL,
                                       &version, &eff), "SessionMismatch", "",
                 "no paused postcopy session");
    ck_assert_ptr_null(eff);
}
END_TEST

/* A HELLO with RESUME names the paused session by id, with its very
 * configuration; anything else is SessionMismatch, and the message
 * never repeats the id. */
START_TEST(test_check_resume)
{
    g_autoptr(WireHello) h = wire_hello_new();
    g_autoptr(WireHello) paused = wire_hello_new();
    g_autoptr(WireReject) ok = NULL;

    ck_assert(wire_session_id_generate(h->session_id, &error_abort));
    memcpy(paused->session_id, h->session_id, WIRE_SESSION_ID_LEN);
    /* wire_hello_new() gives both an empty configuration (defaults). */
    h->flags = WIRE_HELLO_RESUME;
    ok = handshake_check_resume(h, paused);
    ck_assert_ptr_null(ok);
    check_reject(handshake_check_resume(h, NULL), "SessionMismatch", "",
                 "no paused postcopy session to resume here");
    paused->session_id[15] ^= 1;
    check_reject(handshake_check_resume(h, paused), "SessionMismatch", "",
                 "the session id is not the paused postcopy session's");
    paused->session_id[15] ^= 1;
    paused->config->has_max_postcopy_bandwidth = true;
    paused->config->max_postcopy_bandwidth = 12345;
    check_reject(handshake_check_resume(h, paused), "SessionMismatch", "",
                 "the configuration is not the paused postcopy session's");
}
END_TEST

START_TEST(test_check_accept)
{
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    g_autoptr(WireHello) h = NULL;
    g_autoptr(WireAccept) a = wire_accept_new();
    const char *cls = NULL;
    Error *err = NULL;

    cfg->vcpu_dirty_limit = UINT64_MAX;
    h = handshake_hello_new(cfg, 0, NULL, &error_abort);
    memcpy(a->session_id, h->session_id, 16);
    qapi_free_MigrationConfig(a->config);
    a->config = migration_config_clone(cfg);
    a->version = 2;
    ck_assert(handshake_check_accept(h, a, NULL, &error_abort));

    /* Values above 2^63 travel as reals and come back rounded. */
    a->config->vcpu_dirty_limit = UINT64_MAX - 2047;
    ck_assert(handshake_check_accept(h, a, NULL, &error_abort));
    a->config->vcpu_dirty_limit = UINT64_MAX;

    a->config->downtime_limit = 301;
    ck_assert(!handshake_check_accept(h, a, &cls, &err));
    ck_assert_str_eq(cls, "IncompatibleConfig");
    ck_assert_str_eq(error_get_pretty(err), "ACCEPT: the destination "
                     "changed option 'downtime-limit' from 300 to 301");
    error_free_or_abort(&err);
    a->config->downtime_limit = 300;
    /* Leaving out an option it was sent is changing it too. */
    a->config->has_downtime_limit = false;
    ck_assert(!handshake_check_accept(h, a, NULL, &err));
    ck_assert(strstr(error_get_pretty(err), "from 300 to absent"));
    error_free_or_abort(&err);
    a->config->has_downtime_limit = true;

    a->version = 3;
    ck_assert(!handshake_check_accept(h, a, &cls, &err));
    ck_assert_str_eq(cls, "ProtocolError");
    ck_assert(strstr(error_get_pretty(err), "chose protocol version 3, but "
                     "this source offered versions 2 to 2"));
    error_free_or_abort(&err);
    a->version = 2;
    a->session_id[15] ^= 1;
    ck_assert(!handshake_check_accept(h, a, NULL, &err));
    ck_assert(strstr(error_get_pretty(err), "session id"));
    error_free_or_abort(&err);
    a->session_id[15] ^= 1;

    /* postcopy-preempt: only to a destination that lists it (6.2). */
    h->config->postcopy_ram = a->config->postcopy_ram = true;
    h->config->postcopy_preempt = a->config->postcopy_preempt = true;
    ck_assert(!handshake_check_accept(h, a, &cls, &err));
    ck_assert_str_eq(cls, "IncompatibleConfig");
    ck_assert_str_eq(error_get_pretty(err), "ACCEPT: option "
                     "'postcopy-preempt' is on, but the destination does "
                     "not list the feature 'postcopy-preempt'");
    error_free_or_abort(&err);
    wire_accept_add_feature(a, "postcopy-preempt");
    ck_assert(handshake_check_accept(h, a, NULL, &error_abort));
}
END_TEST

START_TEST(test_reject_describe)
{
    g_autoptr(WireReject) a = wire_reject_new("IncompatibleConfig",
                                              "postcopy-ram", "no uffd");
    g_autoptr(WireReject) b = wire_reject_new("LayoutMismatch", NULL,
                                              "RAM differs");
    g_autofree char *da = handshake_reject_describe(a);
    g_autofree char *db = handshake_reject_describe(b);

    ck_assert_str_eq(da, "The destination refused the migration "
                     "(IncompatibleConfig, option 'postcopy-ram'): no uffd");
    ck_assert_str_eq(db, "The destination refused the migration "
                     "(LayoutMismatch): RAM differs");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-handshake");
    TCase *tc = tcase_create("pure");
    TCase *tm = tcase_create("machine");
    SRunner *sr;

    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_shapes);
    tcase_add_test(tc, test_shared_blocks);
    tcase_add_test(tc, test_effective_config);
    tcase_add_test(tc, test_effective_config_refused);
    tcase_add_test(tc, test_overrides);
    tcase_add_test(tc, test_uuid);
    tcase_add_test(tc, test_reject_describe);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(tm, machine_setup, machine_teardown);
    tcase_add_test(tm, test_hello_and_destination_checks);
    tcase_add_test(tm, test_shared_blocks_of_this_machine);
    tcase_add_test(tc, test_check_resume);
    tcase_add_test(tm, test_check_accept);
    suite_add_tcase(s, tm);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
