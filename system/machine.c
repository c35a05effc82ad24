/*
 * Machine set-up and tear-down, and the commands that reach its devices.
 * See include/system/machine.h.
 */
#include "system/machine.h"

#include <inttypes.h>
#include <string.h>

#include "system/vmstate.h"
#include "qapi/qapi-commands.h"
#include "system/cpus.h"
#include "system/dev-counter.h"
#include "system/dev-log.h"
#include "system/dirty-log.h"
#include "system/memory-backend.h"
#include "system/object.h"
#include "system/workload.h"
#include "util/cutils.h"

/* QEMU's limit on NUMA nodes. */
#define MAX_NODES 128

MachineState *current_machine;

static void option_arg_free(gpointer p)
{
    OptionArg *o = p;

    if (o) {
        g_free(o->arg);
        if (o->value) {
            o->free_value(o->value);
        }
        g_free(o);
    }
}

MachineConfig *machine_config_new(void)
{
    MachineConfig *cfg = g_new0(MachineConfig, 1);

    cfg->smp_cpus = MACHINE_DEFAULT_CPUS;
    cfg->qmp = g_ptr_array_new_with_free_func(g_free);
    cfg->hmp = g_ptr_array_new_with_free_func(g_free);
    cfg->objects = g_ptr_array_new_with_free_func(option_arg_free);
    cfg->numa = g_ptr_array_new_with_free_func(option_arg_free);
    cfg->workload = g_ptr_array_new_with_free_func(option_arg_free);
    cfg->globals = g_ptr_array_new_with_free_func(g_free);
    return cfg;
}

void machine_config_free(MachineConfig *cfg)
{
    if (!cfg) {
        return;
    }
    g_free(cfg->name);
    g_free(cfg->ram_size_arg);
    g_ptr_array_unref(cfg->qmp);
    g_ptr_array_unref(cfg->hmp);
    g_ptr_array_unref(cfg->objects);
    g_ptr_array_unref(cfg->numa);
    option_arg_free(cfg->machine);
    g_ptr_array_unref(cfg->workload);
    g_free(cfg->incoming);
    g_ptr_array_unref(cfg->globals);
    g_free(cfg);
}

static bool add_guest_ram(MachineState *ms, RAMBlock *block, Error **errp)
{
    if (!ram_block_register(block, errp)) {
        return false;
    }
    g_ptr_array_add(ms->ram_blocks, block);
    ms->ram_size += block->size;
    return true;
}

/* Guest RAM from the backend @id, for option "-OPTION ARG". */
static bool add_backend_ram(MachineState *ms, const char *id,
                            const char *option, const char *arg,
                            Error **errp)
{
    HostMemoryBackend *backend = memory_backend_find(id, errp);

    if (!backend) {
        error_prepend(errp, "-%s %s: ", option, arg);
        return false;
    }
    if (backend->block->registered) {
        error_setg(errp, "-%s %s: memory backend '%s' is already used as "
                   "guest RAM", option, arg, id);
        return false;
    }
    return add_guest_ram(ms, backend->block, errp);
}

static bool numa_init(MachineState *ms, const MachineConfig *cfg,
                      Error **errp)
{
    bool used[MAX_NODES] = { false };

    for (guint i = 0; i < cfg->numa->len; i++) {
        const OptionArg *o = g_ptr_array_index(cfg->numa, i);
        const NumaOptions *numa = o->value;
        const NumaNodeOptions *node = &numa->u.node;
        unsigned nodeid = 0;

        g_assert(numa->type == NUMA_OPTIONS_TYPE_NODE);
        if (node->has_nodeid) {
            nodeid = node->nodeid;
            if (nodeid >= MAX_NODES) {
                error_setg(errp, "-numa %s: nodeid %u is out of range (0 to "
                           "%u)", o->arg, nodeid, MAX_NODES - 1);
                return false;
            }
            if (used[nodeid]) {
                error_setg(errp, "-numa %s: NUMA node %u is defined twice",
                           o->arg, nodeid);
                return false;
            }
        } else {
            while (nodeid < MAX_NODES && used[nodeid]) {
                nodeid++;
            }
            if (nodeid == MAX_NODES) {
                error_setg(errp, "-numa %s: more than %u NUMA nodes",
                           o->arg, MAX_NODES);
                return false;
            }
        }
        used[nodeid] = true;
        if (!add_backend_ram(ms, node->memdev, "numa", o->arg, errp)) {
            return false;
        }
    }
    return true;
}

static bool ram_init(MachineState *ms, const MachineConfig *cfg,
                     Error **errp)
{
    const MachineOptions *mopts = cfg->machine ? cfg->machine->value : NULL;
    const char *source;

    if (cfg->numa->len && mopts && mopts->memory_backend) {
        error_setg(errp, "-machine %s: memory-backend cannot be combined "
                   "with -numa", cfg->machine->arg);
        return false;
    }

    if (cfg->numa->len) {
        if (!numa_init(ms, cfg, errp)) {
            return false;
        }
        source = "the NUMA nodes have";
    } else if (mopts && mopts->memory_backend) {
        if (!add_backend_ram(ms, mopts->memory_backend, "machine",
                             cfg->machine->arg, errp)) {
            return false;
        }
        source = "the memory backend has";
    } else {
        uint64_t size = cfg->ram_size ? cfg->ram_size
                                      : MACHINE_DEFAULT_RAM_SIZE;
        Error *local_err = NULL;

        ms->default_ram = ram_block_new_anon(MACHINE_DEFAULT_RAM_ID, size,
                                             false, &local_err);
        if (ms->default_ram && cfg->mem_prealloc &&
            !ram_block_prealloc(ms->default_ram, &local_err)) {
            g_clear_pointer(&ms->default_ram, ram_block_free);
        }
        if (!ms->default_ram) {
            error_propagate(errp, local_err);
            error_prepend(errp, "guest RAM: ");
            return false;
        }
        return add_guest_ram(ms, ms->default_ram, errp);
    }

    /* As in QEMU, -m must agree with the memory actually provided. */
    if (cfg->ram_size && cfg->ram_size != ms->ram_size) {
        g_autofree char *have = size_to_str(ms->ram_size);
        error_setg(errp, "-m %s: %s %s of memory, which differs from -m",
                   cfg->ram_size_arg, source, have);
        return false;
    }
    return true;
}

/* -machine dirty-log: checked now, on the guest RAM it will log. */
static bool dirty_log_init(const MachineConfig *cfg, Error **errp)
{
    const MachineOptions *mopts = cfg->machine ? cfg->machine->value : NULL;
    DirtyLogBackend backend = mopts && mopts->has_dirty_log
                              ? mopts->dirty_log : DIRTY_LOG_BACKEND_AUTO;

    if (!dirty_log_configure(backend, errp)) {
        error_prepend(errp, "-machine %s: ", cfg->machine->arg);
        return false;
    }
    return true;
}

static bool devices_init(MachineState *ms, Error **errp)
{
    ms->shape[0] = (VMStateShapeProp){ VMSTATE_SHAPE_VCPUS, ms->smp_cpus };
    ms->counter = counter_device_new(ms->smp_cpus);
    ms->log = log_device_new();
    return vmstate_set_machine_shape(ms->shape, errp) &&
           device_state_register(counter_device_state(ms->counter), errp) &&
           device_state_register(log_device_state(ms->log), errp);
}

static bool workload_init(WorkloadConfig *wl, const MachineState *ms,
                          const MachineConfig *cfg, Error **errp)
{
    workload_config_init(wl, ms->ram_size);
    for (guint i = 0; i < cfg->workload->len; i++) {
        const OptionArg *o = g_ptr_array_index(cfg->workload, i);
        Error *local_err = NULL;

        if (!workload_config_apply(wl, o->value, ms->ram_size, &local_err)) {
            error_propagate(errp, local_err);
            error_prepend(errp, "-workload %s: ", o->arg);
            return false;
        }
    }
    return true;
}

bool machine_init(const MachineConfig *cfg, Error **errp)
{
    MachineState *ms;
    WorkloadConfig wl;

    g_assert(!current_machine);
    ms = current_machine = g_new0(MachineState, 1);
    ms->smp_cpus = cfg->smp_cpus;
    ms->has_uuid = cfg->has_uuid;
    memcpy(ms->uuid, cfg->uuid, sizeof(ms->uuid));
    ms->ram_blocks = g_ptr_array_new();

    /* In command-line order, so backends exist before they are used. */
    for (guint i = 0; i < cfg->objects->len; i++) {
        const OptionArg *o = g_ptr_array_index(cfg->objects, i);
        Error *local_err = NULL;

        if (!object_add(o->value, &local_err)) {
            error_propagate(errp, local_err);
            error_prepend(errp, "-object %s: ", o->arg);
            goto fail;
        }
    }
    if (!ram_init(ms, cfg, errp) || !dirty_log_init(cfg, errp) ||
        !devices_init(ms, errp) ||
        !workload_init(&wl, ms, cfg, errp)) {
        goto fail;
    }
    cpus_init(ms->smp_cpus, &wl, ms->counter, ms->log);
    ms->cpus_started = true;
    return true;

fail:
    machine_cleanup();
    return false;
}

void machine_cleanup(void)
{
    MachineState *ms = current_machine;

    if (!ms) {
        return;
    }
    if (ms->cpus_started) {
        cpus_cleanup();
    }
    if (vmstate_machine_shape() == ms->shape) {
        vmstate_set_machine_shape(NULL, &error_abort);
    }
    if (ms->log) {
        if (device_state_find(LOG_DEVICE_ID) == log_device_state(ms->log)) {
            device_state_unregister(log_device_state(ms->log));
        }
        log_device_free(ms->log);
    }
    if (ms->counter) {
        const DeviceStateOps *ops = counter_device_state(ms->counter);
        if (device_state_find(COUNTER_DEVICE_ID) == ops) {
            device_state_unregister(ops);
        }
        counter_device_free(ms->counter);
    }
    for (guint i = 0; i < ms->ram_blocks->len; i++) {
        ram_block_unregister(g_ptr_array_index(ms->ram_blocks, i));
    }
    g_ptr_array_free(ms->ram_blocks, TRUE);
    ram_block_free(ms->default_ram);
    object_del_all();
    g_free(ms);
    current_machine = NULL;
}

/* QMP: the log device */

void qmp_x_log_append(const char *text, Error **errp)
{
    log_device_append(current_machine->log, text, errp);
}

LogRecordList *qmp_x_query_log(Error **errp)
{
    return log_device_query(current_machine->log);
}
