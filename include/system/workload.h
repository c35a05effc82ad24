/*
 * The synthetic guest workload: what a vCPU writes where.
 *
 * This part is pure computation on guest RAM, with no threads or timing:
 * a WorkloadGen is one vCPU's generator, and workload_gen_step() does one
 * write.  Everything written follows from the seed, the vCPU index and the
 * number of writes done (for 'sweep', which increments a byte, from the
 * writes before it), so a test can run steps synchronously and compare RAM
 * digests.  The threads that call it at a given rate are in cpus.c.
 */
#ifndef VMIG_SYSTEM_WORKLOAD_H
#define VMIG_SYSTEM_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "qapi/error.h"
#include "qapi/qapi-types.h"

/* Every WORKLOAD_LOG_INTERVAL-th write of a vCPU is logged. */
#define WORKLOAD_LOG_INTERVAL 1024
/* Default hot region for patterns 'hotset' and 'sweep' (capped to guest
 * RAM). */
#define WORKLOAD_DEFAULT_HOTSET (16 * 1024 * 1024)

/* WorkloadOptions with every member present (see qapi/machine.json). */
typedef struct WorkloadConfig {
    uint64_t rate;          /* bytes per second per vCPU; 0: idle */
    WorkloadPattern pattern;
    WorkloadContent content;
    uint64_t hotset;        /* bytes, a multiple of GUEST_PAGE_SIZE */
    uint64_t seed;
} WorkloadConfig;

/* The defaults, for a guest with @ram_size bytes of RAM. */
void workload_config_init(WorkloadConfig *cfg, uint64_t ram_size);
/* Overrides @cfg with the members present in @opts after checking them;
 * on error @cfg is unchanged. */
bool workload_config_apply(WorkloadConfig *cfg, const WorkloadOptions *opts,
                           uint64_t ram_size, Error **errp);

typedef struct WorkloadGen {
    WorkloadConfig cfg;
    unsigned cpu_index;
    unsigned ncpus;
    uint64_t rng;       /* pseudo-random state (splitmix64) */
    uint64_t cursor;    /* next page index for 'sequential' and 'sweep' */
    uint64_t writes;    /* steps done since the sequence (re)started */
} WorkloadGen;

/* Starts the sequence of vCPU @cpu_index of @ncpus.  Guest RAM must be
 * set up (the sequential pattern's start depends on its size). */
void workload_gen_init(WorkloadGen *g, const WorkloadConfig *cfg,
                       unsigned cpu_index, unsigned ncpus);
/* Switches to @cfg, restarting the sequence if the seed changed. */
void workload_gen_update(WorkloadGen *g, const WorkloadConfig *cfg);
/* Overwrites one guest page; returns its guest offset. */
uint64_t workload_gen_step(WorkloadGen *g);
/* @n steps, told to the software dirty log a run of adjacent pages at a
 * time after their stores (one mark per run, not per page). */
void workload_gen_steps(WorkloadGen *g, unsigned n);

#endif
