/*
 * The decisions of precopy, as pure arithmetic on a clock the caller
 * passes in (microseconds, g_get_monotonic_time()), so that tests can
 * drive them on a simulated clock:
 *
 *   - bandwidth limiting (max-bandwidth): rate / 10 bytes per 100 ms
 *     window, QEMU's scheme, so the limit holds over short spans; what
 *     a window overshoots (a record is sent whole) is paid off by the
 *     next ones, and an idle window saves nothing up;
 *   - bandwidth measurement and the expected downtime: the bytes sent
 *     over the last measuring period, sleeps included, so a limited
 *     migration measures its limit;
 *   - the switchover test: stop the VM once what is left can be sent
 *     within downtime-limit;
 *   - auto-converge: QEMU's rule.  Once per period of at least one
 *     second, if the guest dirtied more than throttle-trigger-threshold
 *     percent of what was sent in the period, count it; the second such
 *     period throttles the vCPUs, starting at cpu-throttle-initial, then
 *     adding cpu-throttle-increment (or, with cpu-throttle-tailslow, the
 *     smaller step that would bring the dirty rate down to the
 *     threshold), never beyond max-cpu-throttle.
 */
#ifndef VMIG_MIGRATION_PRECOPY_POLICY_H
#define VMIG_MIGRATION_PRECOPY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/* The window of bandwidth limiting and of bandwidth measurement. */
#define MIG_RATE_WINDOW_US (100 * 1000)
/* The shortest auto-converge period. */
#define MIG_THROTTLE_PERIOD_US (1000 * 1000)

/* ---- Bandwidth limiting ---- */

typedef struct MigRateLimit {
    int64_t window_start;
    uint64_t window_bytes;      /* sent in the current window */
} MigRateLimit;

void mig_rate_limit_init(MigRateLimit *rl, int64_t now);
/* @bytes were just sent. */
void mig_rate_limit_account(MigRateLimit *rl, uint64_t bytes);
/*
 * When the sender may send again at @rate bytes/s (0: unlimited): 0 if
 * now, else the end of the current window.  Moves on to the window @now
 * is in.
 */
int64_t mig_rate_limit_wait_until(MigRateLimit *rl, int64_t now,
                                  uint64_t rate);

/* ---- Bandwidth measurement and switchover ---- */

typedef struct MigBandwidth {
    int64_t period_start;
    uint64_t period_start_bytes;
    double bytes_per_sec;       /* 0 until the first period has ended */
} MigBandwidth;

void mig_bandwidth_init(MigBandwidth *bw, int64_t now, uint64_t total);
/*
 * @total bytes have been sent so far.  Once a period of at least
 * MIG_RATE_WINDOW_US is over, measures it and starts the next; returns
 * whether it did.
 */
bool mig_bandwidth_update(MigBandwidth *bw, int64_t now, uint64_t total);

/*
 * The bandwidth in bytes/s: the last period's, or before a period has
 * ended, the rate of the one running (once it has run 1 ms), so the
 * first pass need not end blind; 0 if unknown.
 */
double mig_bandwidth_estimate(const MigBandwidth *bw, int64_t now,
                              uint64_t total);

/* Milliseconds that sending @pending bytes at @bandwidth would take; 0
 * for nothing pending, INT64_MAX while the bandwidth is unknown. */
int64_t mig_expected_downtime_ms(uint64_t pending, double bandwidth);

/*
 * Whether to switch over with @pending bytes left: nothing left, or
 * they fit in @downtime_limit_ms at @bandwidth.
 */
bool mig_should_switchover(uint64_t pending, double bandwidth,
                           uint64_t downtime_limit_ms);

/* ---- Auto-converge ---- */

typedef struct MigThrottleParams {
    unsigned trigger_threshold;     /* percent */
    unsigned initial;               /* percent */
    unsigned increment;             /* percent */
    unsigned max;                   /* percent */
    bool tailslow;
} MigThrottleParams;

typedef struct MigThrottle {
    unsigned high_periods;      /* periods that dirtied too much, so far */
    int percent;                /* 0: not throttling */
} MigThrottle;

void mig_throttle_init(MigThrottle *t);

/*
 * One period ended in which the guest dirtied @dirtied bytes and
 * @sent bytes were sent.  Returns the throttle percentage from now on
 * (t->percent; 0 while not throttling).
 */
int mig_throttle_period(MigThrottle *t, const MigThrottleParams *p,
                        uint64_t dirtied, uint64_t sent);

#endif
