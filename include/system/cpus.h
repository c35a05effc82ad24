/*
 * vCPU threads: each runs the synthetic workload (system/workload.h) on
 * guest RAM while the VM runs and parks while it is stopped.
 *
 * The functions here are for the main thread, except the throttle
 * functions, which any thread may call (migration's auto-converge).
 */
#ifndef VMIG_SYSTEM_CPUS_H
#define VMIG_SYSTEM_CPUS_H

#include <stdbool.h>

#include "qapi/error.h"
#include "system/workload.h"

/* Upper limit for -smp. */
#define VMIG_MAX_CPUS 256

typedef struct CounterDevice CounterDevice;
typedef struct LogDevice LogDevice;

/*
 * Starts @ncpus threads, parked, writing with @config; every write is
 * counted in @counter and every WORKLOAD_LOG_INTERVAL-th write of a vCPU
 * is logged in @log (both borrowed until cpus_cleanup()).
 */
void cpus_init(unsigned ncpus, const WorkloadConfig *config,
               CounterDevice *counter, LogDevice *log);
/* Stops and joins the threads. */
void cpus_cleanup(void);
unsigned cpus_count(void);
/* Any thread: the index of the vCPU whose thread has Linux thread id
 * @tid, or -1 (postcopy's fault thread tells whose fault it reads). */
int cpus_index_of_tid(long tid);

/* Parks every vCPU thread and waits until all are parked. */
void pause_all_vcpus(void);
void resume_all_vcpus(void);

/* The workload the threads run; changes apply within milliseconds. */
void cpus_get_workload(WorkloadConfig *config);
void cpus_set_workload(const WorkloadConfig *config);

/*
 * CPU throttling, as migration's auto-converge needs it: every vCPU sleeps
 * @percent of the time (1 to 99; values outside are clamped), after every
 * CPU_THROTTLE_TIMESLICE_US of running (system/pacer.h).
 */
#define CPU_THROTTLE_PCT_MIN 1
#define CPU_THROTTLE_PCT_MAX 99
void cpu_throttle_set(int percent);
void cpu_throttle_stop(void);
bool cpu_throttle_active(void);
int cpu_throttle_get_percentage(void);

#endif
