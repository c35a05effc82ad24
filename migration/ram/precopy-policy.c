/*
 * Precopy's decisions: see include/migration/precopy-policy.h.
 */
#include "migration/ram/precopy-policy.h"

#include <glib.h>

void mig_rate_limit_init(MigRateLimit *rl, int64_t now)
{
    rl->window_start = now;
    rl->window_bytes = 0;
}

void mig_rate_limit_account(MigRateLimit *rl, uint64_t bytes)
{
    rl->window_bytes += bytes;
}

int64_t mig_rate_limit_wait_until(MigRateLimit *rl, int64_t now,
                                  uint64_t rate)
{
    /* The window's share of the rate; at least a byte, so a tiny limit
     * still moves. */
    uint64_t allowance = MAX(rate / (1000000 / MIG_RATE_WINDOW_US), 1);
    int64_t windows = (now - rl->window_start) / MIG_RATE_WINDOW_US;

    if (rate == 0) {
        mig_rate_limit_init(rl, now);
        return 0;
    }
    if (windows > 0) {
        /*
         * Each window that passed pays off an allowance.  A record sent
         * at the end of a window can overshoot it: the excess is carried
         * into the next ones, so the limit holds on average.
         */
        uint64_t paid = (uint64_t)windows * allowance;

        rl->window_bytes = rl->window_bytes > paid ? rl->window_bytes - paid
                                                   : 0;
        rl->window_start += windows * MIG_RATE_WINDOW_US;
    }
    if (rl->window_bytes < allowance) {
        return 0;
    }
    return rl->window_start + MIG_RATE_WINDOW_US;
}

void mig_bandwidth_init(MigBandwidth *bw, int64_t now, uint64_t total)
{
    bw->period_start = now;
    bw->period_start_bytes = total;
    bw->bytes_per_sec = 0;
}

bool mig_bandwidth_update(MigBandwidth *bw, int64_t now, uint64_t total)
{
    int64_t spent = now - bw->period_start;

    if (spent < MIG_RATE_WINDOW_US) {
        return false;
    }
    bw->bytes_per_sec = (double)(total - bw->period_start_bytes) * 1e6 /
                        (double)spent;
    bw->period_start = now;
    bw->period_start_bytes = total;
    return true;
}

double mig_bandwidth_estimate(const MigBandwidth *bw, int64_t now,
                              uint64_t total)
{
    int64_t spent = now - bw->period_start;

    if (bw->bytes_per_sec > 0 || spent < 1000) {
        return bw->bytes_per_sec;
    }
    return (double)(total - bw->period_start_bytes) * 1e6 / (double)spent;
}

int64_t mig_expected_downtime_ms(uint64_t pending, double bandwidth)
{
    double ms;

    if (pending == 0) {
        return 0;
    }
    if (bandwidth <= 0) {
        return INT64_MAX;
    }
    ms = (double)pending * 1000.0 / bandwidth;
    return ms >= (double)INT64_MAX ? INT64_MAX : (int64_t)ms;
}

bool mig_should_switchover(uint64_t pending, double bandwidth,
                           uint64_t downtime_limit_ms)
{
    if (pending == 0) {
        return true;
    }
    if (bandwidth <= 0) {
        return false;
    }
    /* In doubles: limit * bandwidth can exceed 64 bits. */
    return (double)pending <= bandwidth * (double)downtime_limit_ms / 1000.0;
}

void mig_throttle_init(MigThrottle *t)
{
    t->high_periods = 0;
    t->percent = 0;
}

/* The next, higher throttle percentage (QEMU's mig_throttle_guest_down). */
static int throttle_more(const MigThrottle *t, const MigThrottleParams *p,
                         uint64_t dirtied, uint64_t threshold)
{
    unsigned step = p->increment;

    if (t->percent == 0) {
        return MIN(p->initial, p->max);
    }
    if (p->tailslow && dirtied > 0) {
        /*
         * The guest runs (100 - percent)% of the time and dirties
         * @dirtied; running threshold / dirtied of that would bring it
         * down to the threshold.  Step by that much if it is less than
         * the increment.
         */
        double running = 100.0 - t->percent;
        double ideal = running * ((double)threshold / (double)dirtied);
        double gap = running - ideal;

        step = MIN(step, gap > 0 ? (unsigned)gap : 0);
    }
    return MIN((unsigned)t->percent + step, p->max);
}

int mig_throttle_period(MigThrottle *t, const MigThrottleParams *p,
                        uint64_t dirtied, uint64_t sent)
{
    uint64_t threshold = sent / 100 * p->trigger_threshold +
                         sent % 100 * p->trigger_threshold / 100;

    /* As in QEMU, periods below the threshold do not reset the count. */
    if (dirtied > threshold && ++t->high_periods >= 2) {
        t->high_periods = 0;
        t->percent = throttle_more(t, p, dirtied, threshold);
    }
    return t->percent;
}
