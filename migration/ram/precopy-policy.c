/*
 * Precopy's decisions: see include/migration/precopy-policy.h.
 */
#include "migration/ram/precopy-policy.h"

#include <glib.h>
#include <math.h>

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

void mig_pass_rate_init(MigPassRate *r, int64_t now, uint64_t total)
{
    r->sample_start = now;
    r->sample_start_bytes = total;
    r->last_rate = 0;
}

static double sample_rate(const MigPassRate *r, int64_t now, uint64_t total)
{
    return (double)(total - r->sample_start_bytes) * 1e6 /
           (double)(now - r->sample_start);
}

void mig_pass_rate_next_pass(MigPassRate *r, int64_t now, uint64_t total)
{
    if (now - r->sample_start < MIG_PASS_MIN_SAMPLE_US) {
        return;
    }
    r->last_rate = sample_rate(r, now, total);
    r->sample_start = now;
    r->sample_start_bytes = total;
}

double mig_pass_rate_get(const MigPassRate *r, int64_t now, uint64_t total)
{
    int64_t spent = now - r->sample_start;

    if (spent >= MIG_PASS_MIN_SAMPLE_US) {
        return sample_rate(r, now, total);
    }
    if (spent >= MIG_PASS_SHORT_SAMPLE_US) {
        return MIN(r->last_rate, sample_rate(r, now, total));
    }
    return r->last_rate;
}

int64_t mig_predicted_downtime_ms(const MigSwitchoverFigures *f)
{
    double bytes = (double)f->pending + (double)f->device_bytes;
    double bw = f->declared_bandwidth > 0 ? f->declared_bandwidth :
                f->bandwidth * MIG_SWITCHOVER_BANDWIDTH_PCT / 100;
    double ms = (double)(MAX(f->sync_us, 0) + MAX(f->round_trip_us, 0)) /
                1000.0;

    if (bytes > 0) {
        if (bw <= 0) {
            return INT64_MAX;
        }
        ms += bytes * 1000.0 / bw;
    }
    /* Rounded up, so that the figure fits the limit exactly when the
     * decision says it does. */
    ms = ceil(ms);
    return ms >= (double)INT64_MAX ? INT64_MAX : (int64_t)ms;
}

bool mig_should_switchover(const MigSwitchoverFigures *f,
                           uint64_t downtime_limit_ms)
{
    int64_t ms;

    if (f->pending == 0) {
        return true;
    }
    if (f->passes < 2 && f->content_priced) {
        return false;
    }
    ms = mig_predicted_downtime_ms(f);
    return ms != INT64_MAX && (uint64_t)ms <= downtime_limit_ms;
}

void mig_throttle_init(MigThrottle *t)
{
    t->high_periods = 0;
    t->percent = 0;
}

/* @percent of @bytes, without overflowing for any uint64_t. */
static uint64_t percent_of(uint64_t bytes, unsigned percent)
{
    return bytes / 100 * percent + bytes % 100 * percent / 100;
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
    uint64_t threshold = percent_of(sent, p->trigger_threshold);

    /* As in QEMU, periods below the threshold do not reset the count. */
    if (dirtied > threshold && ++t->high_periods >= 2) {
        t->high_periods = 0;
        t->percent = throttle_more(t, p, dirtied, threshold);
    }
    return t->percent;
}

/*
 * The throttle percentage at which the guest, dirtying @dirtied while
 * throttled at @percent, would dirty @target instead: its dirty rate
 * taken as proportional to its running time.  Rounded up; at most 100.
 */
static unsigned ideal_throttle(int percent, uint64_t dirtied,
                               double target)
{
    double running = (100.0 - percent) * target / (double)dirtied;

    return (unsigned)MIN(ceil(100.0 - running), 100.0);
}

int mig_throttle_pass(MigThrottle *t, const MigThrottleParams *p,
                      uint64_t dirtied, uint64_t sent)
{
    unsigned cur = t->percent;
    unsigned ideal, next;

    if (dirtied == 0 || dirtied < percent_of(sent, MIG_THROTTLE_STALL_PCT)) {
        return t->percent;
    }
    /* Above the current one, as the target is below @dirtied; MAX()
     * keeps the tailslow step from wrapping should rounding ever say
     * otherwise. */
    ideal = MAX(ideal_throttle(t->percent, dirtied, (double)sent *
                               MIG_THROTTLE_TARGET_PCT / 100), cur + 1);
    if (p->tailslow) {
        next = cur == 0 ? p->initial : cur + MIN(p->increment, ideal - cur);
    } else {
        next = MAX(cur == 0 ? p->initial : cur + p->increment, ideal);
    }
    t->percent = MIN(next, p->max);
    t->high_periods = 0;
    return t->percent;
}
