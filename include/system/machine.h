/*
 * The machine: its configuration (what the command line asked for) and
 * its state (objects, guest RAM, devices, vCPU threads).
 *
 * Life cycle, as system/main.c drives it:
 *     machine_init(config)   objects, RAM, devices, parked vCPU threads
 *     vm_start() ...         (system/runstate.h)
 *     vm_shutdown()
 *     machine_cleanup()      joins the threads, frees everything
 */
#ifndef VMIG_SYSTEM_MACHINE_H
#define VMIG_SYSTEM_MACHINE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "qapi/error.h"
#include "qapi/qapi-types.h"
#include "system/ram.h"
#include "system/vmstate.h"

/* Default -m and -smp. */
#define MACHINE_DEFAULT_RAM_SIZE (128 * 1024 * 1024)
#define MACHINE_DEFAULT_CPUS 1
/* Name of the RAM block used without -numa / -machine memory-backend. */
#define MACHINE_DEFAULT_RAM_ID "pc.ram"

/* One option of a repeatable kind, parsed, with its text for messages. */
typedef struct OptionArg {
    char *arg;              /* "-object ARG": the ARG as given */
    void *value;            /* its QAPI parse */
    void (*free_value)(void *value);
} OptionArg;

typedef struct MachineConfig {
    char *name;             /* -name */
    uint64_t ram_size;      /* -m, 0 if not given */
    char *ram_size_arg;     /* -m as given */
    unsigned smp_cpus;      /* -smp */
    bool start_paused;      /* -S */
    bool mem_prealloc;      /* -mem-prealloc */
    GPtrArray *qmp;         /* -qmp specs (char *) */
    GPtrArray *hmp;         /* -monitor specs (char *) */
    GPtrArray *objects;     /* -object: OptionArg of ObjectOptions */
    GPtrArray *numa;        /* -numa: OptionArg of NumaOptions */
    OptionArg *machine;     /* -machine: MachineOptions, or NULL */
    GPtrArray *workload;    /* -workload: OptionArg of WorkloadOptions */
    /*
     * Kept as text and handed to the migration subsystem by main() once
     * the machine and the monitors are up: every -global migration.KEY=
     * VALUE first (migration_global_set(); other drivers are ignored),
     * then -incoming (migration_incoming_cmdline()), which also puts the
     * machine in run state inmigrate instead of starting it.
     */
    char *incoming;         /* -incoming, the last one given */
    GPtrArray *globals;     /* -global strings (char *), in order */
    /* -uuid: the VM's UUID, which migration's validate-uuid compares. */
    bool has_uuid;
    uint8_t uuid[16];
} MachineConfig;

MachineConfig *machine_config_new(void);
void machine_config_free(MachineConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MachineConfig, machine_config_free)

typedef struct CounterDevice CounterDevice;
typedef struct LogDevice LogDevice;

typedef struct MachineState {
    unsigned smp_cpus;
    uint64_t ram_size;      /* total guest RAM */
    RAMBlock *default_ram;  /* "pc.ram" when used (owned), else NULL */
    GPtrArray *ram_blocks;  /* blocks registered as guest RAM */
    CounterDevice *counter;
    LogDevice *log;
    /* What state depends on beyond its devices (vmstate.h). */
    VMStateShapeProp shape[2];
    bool cpus_started;
    bool has_uuid;          /* -uuid given */
    uint8_t uuid[16];
} MachineState;

/* The machine, between machine_init() and machine_cleanup(); else NULL. */
extern MachineState *current_machine;

/* Errors name the option responsible, e.g. "-numa node,memdev=m0: ...".
 * On failure everything created so far is freed again. */
bool machine_init(const MachineConfig *cfg, Error **errp);
/* Stops and joins the vCPU threads, frees devices, RAM and objects. */
void machine_cleanup(void);

#endif
