/*
 * vCPU threads: run the workload at its rate while the VM runs, park
 * while it is stopped, sleep when throttled.  Also the x-workload-set and
 * x-query-workload commands.  See include/system/cpus.h.
 *
 * One mutex (cpus_lock) protects the shared control state; a thread drops
 * it only to write a batch of pages, so pause_all_vcpus() waits for at
 * most one batch per vCPU.  Every wait is on cpus_wake, which is broadcast
 * on each change of the control state, so a sleeping thread reacts to
 * pause, exit and workload changes at once.
 */
#include "system/cpus.h"

#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "qapi/qapi-commands.h"
#include "system/dev-counter.h"
#include "system/dev-log.h"
#include "system/pacer.h"
#include "system/ram.h"
#include "util/atomic.h"
#include "util/main-thread.h"
#include "util/thread-name.h"

/* Pages a thread writes per batch, without the lock. */
#define VCPU_BATCH_PAGES 64
/* Longest sleep, in microseconds: throttle changes do not wake the
 * threads, so they look again at least this often. */
#define VCPU_MAX_WAIT_US (10 * 1000)

typedef struct VCPU {
    unsigned index;
    GThread *thread;
    WorkloadGen gen;            /* used by this vCPU's thread only */
    uint64_t config_generation; /* of the config gen was updated to */
    bool parked;                /* under cpus_lock */
    gint tid;                   /* Linux thread id, atomic; 0 before start */
} VCPU;

static GMutex cpus_lock;
static GCond cpus_wake;     /* control state changed */
static GCond cpus_parked;   /* a vCPU parked */

/* Control state, under cpus_lock. */
static VCPU *vcpus;
static unsigned n_vcpus;
static bool vcpus_should_run;
static bool vcpus_exit;
static WorkloadConfig workload;
static uint64_t workload_generation;

static int throttle_percentage;    /* atomic; 0: not throttled */

static CounterDevice *counter;
static LogDevice *log_dev;

/* Waits on cpus_wake until @deadline (monotonic µs), or a change. */
static void wait_until_locked(gint64 deadline)
{
    gint64 cap = g_get_monotonic_time() + VCPU_MAX_WAIT_US;

    g_cond_wait_until(&cpus_wake, &cpus_lock, MIN(deadline, cap));
}

static void park_locked(VCPU *cpu)
{
    cpu->parked = true;
    g_cond_broadcast(&cpus_parked);
    while (!vcpus_should_run && !vcpus_exit) {
        g_cond_wait(&cpus_wake, &cpus_lock);
    }
    cpu->parked = false;
}

/* Writes @n pages; called without the lock.  Counts them once for the
 * batch and logs every WORKLOAD_LOG_INTERVAL-th write the batch reaches. */
static void vcpu_write_pages(VCPU *cpu, unsigned n)
{
    uint64_t count;

    workload_gen_steps(&cpu->gen, n);
    count = counter_device_add(counter, cpu->index, n);
    for (uint64_t c = (count - n) / WORKLOAD_LOG_INTERVAL *
                      WORKLOAD_LOG_INTERVAL + WORKLOAD_LOG_INTERVAL;
         c <= count; c += WORKLOAD_LOG_INTERVAL) {
        char text[64];

        snprintf(text, sizeof(text), "vcpu %u: %" PRIu64 " writes",
                 cpu->index, c);
        log_device_append(log_dev, text, &error_abort);
    }
}

static gpointer vcpu_thread_fn(gpointer opaque)
{
    VCPU *cpu = opaque;
    Pacer pacer;
    int64_t until;

    qatomic_set(&cpu->tid, (gint)syscall(SYS_gettid));
    g_mutex_lock(&cpus_lock);
    pacer_reset(&pacer, g_get_monotonic_time());
    while (!vcpus_exit) {
        if (!vcpus_should_run) {
            park_locked(cpu);
            /* No credit for the time spent parked. */
            pacer_reset(&pacer, g_get_monotonic_time());
            continue;
        }
        if (cpu->config_generation != workload_generation) {
            workload_gen_update(&cpu->gen, &workload);
            cpu->config_generation = workload_generation;
        }
        if (cpu->gen.cfg.rate == 0) {
            g_cond_wait(&cpus_wake, &cpus_lock);
            pacer_reset(&pacer, g_get_monotonic_time());
            continue;
        }

        int64_t now = g_get_monotonic_time();
        until = pacer_throttle(&pacer, now,
                               qatomic_mb_read(&throttle_percentage));
        if (until) {
            wait_until_locked(until);
            continue;
        }
        unsigned n = pacer_take(&pacer, now, cpu->gen.cfg.rate,
                                VCPU_BATCH_PAGES, &until);
        if (n == 0) {
            wait_until_locked(until);
            continue;
        }
        g_mutex_unlock(&cpus_lock);
        vcpu_write_pages(cpu, n);
        g_mutex_lock(&cpus_lock);
    }
    cpu->parked = true;
    g_cond_broadcast(&cpus_parked);
    g_mutex_unlock(&cpus_lock);
    return NULL;
}

void cpus_init(unsigned ncpus, const WorkloadConfig *config,
               CounterDevice *counter_device, LogDevice *log_device)
{
    assert_main_thread();
    g_assert(!vcpus && ncpus > 0 && ncpus <= VMIG_MAX_CPUS);
    g_assert(counter_device_ncpus(counter_device) == ncpus);

    counter = counter_device;
    log_dev = log_device;
    workload = *config;
    workload_generation = 1;
    vcpus_should_run = false;
    vcpus_exit = false;
    n_vcpus = ncpus;
    vcpus = g_new0(VCPU, ncpus);
    for (unsigned i = 0; i < ncpus; i++) {
        VCPU *cpu = &vcpus[i];
        g_autofree char *name =
            vmig_thread_name_indexed("vcpu ", i, VMIG_MAX_CPUS - 1);

        cpu->index = i;
        workload_gen_init(&cpu->gen, &workload, i, ncpus);
        cpu->config_generation = workload_generation;
        cpu->thread = g_thread_new(name, vcpu_thread_fn, cpu);
    }
}

void cpus_cleanup(void)
{
    assert_main_thread();
    if (!vcpus) {
        return;
    }
    g_mutex_lock(&cpus_lock);
    vcpus_exit = true;
    g_cond_broadcast(&cpus_wake);
    g_mutex_unlock(&cpus_lock);
    for (unsigned i = 0; i < n_vcpus; i++) {
        g_thread_join(vcpus[i].thread);
    }
    g_clear_pointer(&vcpus, g_free);
    n_vcpus = 0;
    counter = NULL;
    log_dev = NULL;
}

int cpus_index_of_tid(long tid)
{
    for (unsigned i = 0; i < n_vcpus; i++) {
        if (qatomic_read(&vcpus[i].tid) == tid) {
            return i;
        }
    }
    return -1;
}

unsigned cpus_count(void)
{
    return n_vcpus;
}

static bool all_parked_locked(void)
{
    for (unsigned i = 0; i < n_vcpus; i++) {
        if (!vcpus[i].parked) {
            return false;
        }
    }
    return true;
}

void pause_all_vcpus(void)
{
    assert_main_thread();
    g_mutex_lock(&cpus_lock);
    vcpus_should_run = false;
    g_cond_broadcast(&cpus_wake);
    while (!all_parked_locked()) {
        g_cond_wait(&cpus_parked, &cpus_lock);
    }
    g_mutex_unlock(&cpus_lock);
}

void resume_all_vcpus(void)
{
    assert_main_thread();
    g_mutex_lock(&cpus_lock);
    vcpus_should_run = true;
    g_cond_broadcast(&cpus_wake);
    g_mutex_unlock(&cpus_lock);
}

void cpus_get_workload(WorkloadConfig *config)
{
    g_mutex_lock(&cpus_lock);
    *config = workload;
    g_mutex_unlock(&cpus_lock);
}

void cpus_set_workload(const WorkloadConfig *config)
{
    assert_main_thread();
    g_mutex_lock(&cpus_lock);
    workload = *config;
    workload_generation++;
    g_cond_broadcast(&cpus_wake);
    g_mutex_unlock(&cpus_lock);
}

void cpu_throttle_set(int percent)
{
    percent = CLAMP(percent, CPU_THROTTLE_PCT_MIN, CPU_THROTTLE_PCT_MAX);
    qatomic_mb_set(&throttle_percentage, percent);
}

void cpu_throttle_stop(void)
{
    qatomic_mb_set(&throttle_percentage, 0);
}

bool cpu_throttle_active(void)
{
    return cpu_throttle_get_percentage() > 0;
}

int cpu_throttle_get_percentage(void)
{
    return qatomic_mb_read(&throttle_percentage);
}

/* QMP */

void qmp_x_workload_set(WorkloadOptions *arg, Error **errp)
{
    WorkloadConfig config;

    cpus_get_workload(&config);
    if (!workload_config_apply(&config, arg, ram_guest_size(), errp)) {
        return;
    }
    cpus_set_workload(&config);
}

WorkloadInfo *qmp_x_query_workload(Error **errp)
{
    WorkloadInfo *info = g_new0(WorkloadInfo, 1);
    WorkloadVcpuInfoList **tail = &info->vcpus;
    WorkloadConfig config;

    cpus_get_workload(&config);
    info->rate = config.rate;
    info->pattern = config.pattern;
    info->content = config.content;
    info->hotset = config.hotset;
    info->seed = config.seed;
    info->throttle_percentage = cpu_throttle_get_percentage();
    if (counter) {
        info->writes = counter_device_total(counter);
        for (unsigned i = 0; i < n_vcpus; i++) {
            WorkloadVcpuInfo *v = g_new0(WorkloadVcpuInfo, 1);
            v->cpu_index = i;
            v->writes = counter_device_get(counter, i);
            *tail = g_new0(WorkloadVcpuInfoList, 1);
            (*tail)->value = v;
            tail = &(*tail)->next;
        }
    }
    return info;
}
