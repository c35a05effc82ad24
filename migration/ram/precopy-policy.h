/*
 * The decisions of precopy, as pure arithmetic on a clock the caller
 * passes in (microseconds, g_get_monotonic_time()), so that tests can
 * drive them on a simulated clock:
 *
 *   - bandwidth limiting (max-bandwidth): rate / 10 bytes per 100 ms
 *     window, QEMU's scheme, so the limit holds over short spans; what
 *     a window overshoots (a record is sent whole) is paid off by the
 *     next ones, and an idle window saves nothing up;
 *   - bandwidth measurement for query-migrate: the bytes sent over the
 *     last measuring period, sleeps included, so a limited migration
 *     measures its limit;
 *   - the switchover test, at the end of a pass: stop the VM once the
 *     predicted downtime fits in downtime-limit.  The prediction is the
 *     last dirty sync's cost (the final sync runs with the VM stopped)
 *     and a round trip to the destination (its confirmation ends the
 *     downtime), plus the dirty RAM left and the device state at
 *     MIG_SWITCHOVER_BANDWIDTH_PCT percent of the current pass's
 *     bandwidth: earlier passes and set-up say nothing of what the link
 *     does now.  With compression or XBZRLE, not after the first pass
 *     while RAM is left: a page's cost then depends on its content,
 *     and the first pass's is that of cold memory, not of the pages
 *     the guest writes;
 *   - auto-converge: QEMU's rule.  Once per period of at least one
 *     second, if the guest dirtied more than throttle-trigger-threshold
 *     percent of what was sent in the period, count it; the second such
 *     period throttles the vCPUs, starting at cpu-throttle-initial, then
 *     adding cpu-throttle-increment (or, with cpu-throttle-tailslow, the
 *     smaller step that would bring the dirty rate down to the
 *     threshold), never beyond max-cpu-throttle.  A pass that cannot
 *     converge (it dirtied about as much as it sent) throttles at once
 *     instead, as far as its figures say it takes (mig_throttle_pass()).
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

/* ---- Bandwidth measurement ---- */

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

/* ---- Switchover ---- */

/*
 * The shortest span a bandwidth sample covers: one rate-limiting
 * window, since a shorter span can see a whole window's allowance sent
 * in part of it (and a scheduler hiccup weighs more).
 */
#define MIG_PASS_MIN_SAMPLE_US MIG_RATE_WINDOW_US
/*
 * A pass shorter than that still counts once it spans this long, when
 * it is slower than the last whole sample: a short pass over the pages
 * the guest writes (compressed, say, where the first pass's were not)
 * can be much slower than the long one before it, and the stopped phase
 * sends pages like its own.
 */
#define MIG_PASS_SHORT_SAMPLE_US (MIG_RATE_WINDOW_US / 4)
/*
 * The share of the measured bandwidth the prediction counts on.  A
 * pass's rate swings by a fifth from one pass to the next on a loaded
 * host, and the stopped phase does work the rate does not show (SYNC
 * rounds, END, the destination's answer).
 */
#define MIG_SWITCHOVER_BANDWIDTH_PCT 80

/*
 * The bandwidth of the current pass: bytes sent over time since the
 * pass started.  A pass shorter than MIG_PASS_MIN_SAMPLE_US is measured
 * together with the ones after it until they cover that span.
 */
typedef struct MigPassRate {
    int64_t sample_start;
    uint64_t sample_start_bytes;
    double last_rate;           /* the last whole sample's; 0: none yet */
} MigPassRate;

/* The first pass starts at @now with @total bytes sent so far. */
void mig_pass_rate_init(MigPassRate *r, int64_t now, uint64_t total);
/*
 * A pass ended and the next starts at @now, with @total bytes sent:
 * a sample covering MIG_PASS_MIN_SAMPLE_US is kept as last_rate and the
 * next pass starts a new one; a shorter sample goes on.
 */
void mig_pass_rate_next_pass(MigPassRate *r, int64_t now, uint64_t total);
/*
 * Bytes/s: the running sample's once it covers MIG_PASS_MIN_SAMPLE_US;
 * until then the last whole sample's, or the running one's if it covers
 * MIG_PASS_SHORT_SAMPLE_US and is lower; 0 if there is none (unknown).
 */
double mig_pass_rate_get(const MigPassRate *r, int64_t now, uint64_t total);

typedef struct MigSwitchoverFigures {
    uint64_t pending;           /* dirty RAM bytes left */
    uint64_t device_bytes;      /* the device state, at most */
    int64_t sync_us;            /* what the last dirty sync took */
    /* A round trip to the destination (the handshake's, HELLO to
     * ACCEPT); 0 when nothing comes back. */
    int64_t round_trip_us;
    /* Passes over RAM completed. */
    uint64_t passes;
    /* Pages are compressed or XBZRLE-encoded, so what one costs depends
     * on its content: the first pass's bandwidth (cold memory) is then
     * no figure for the dirty pages left. */
    bool content_priced;
    double bandwidth;           /* mig_pass_rate_get(); 0: unknown */
    /* avail-switchover-bandwidth, taken as it is (the user's word, no
     * margin); 0: use @bandwidth. */
    double declared_bandwidth;
} MigSwitchoverFigures;

/*
 * The downtime switching over now would take, in milliseconds rounded
 * up; INT64_MAX if there is something to send and the bandwidth is
 * unknown.
 */
int64_t mig_predicted_downtime_ms(const MigSwitchoverFigures *f);

/*
 * Whether to switch over, at the end of a pass: no dirty RAM left
 * (another pass cannot shrink the rest), or, after the second pass or
 * a later one, the predicted downtime fits in @downtime_limit_ms.
 */
bool mig_should_switchover(const MigSwitchoverFigures *f,
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

/*
 * A pass that dirtied at least this percentage of what it sent made
 * too little progress to go on unthrottled: the next one will be about
 * as long.  Not 100: a guest that rewrites a set no larger than what a
 * pass sends dirties at most that set however fast it writes (a page
 * written twice counts once), so its figures never say "more than was
 * sent".
 */
#define MIG_THROTTLE_STALL_PCT 90
/*
 * What a throttle set by mig_throttle_pass() aims the pass's dirtied
 * bytes at, in percent of what it sent: the next pass about half as
 * long, so the rest fits in downtime-limit within a few passes, with
 * room for what the figures understate (the pages written twice, the
 * dirty rate falling less than in proportion to running time).
 */
#define MIG_THROTTLE_TARGET_PCT 50

/*
 * A pass ended with a dirty sync: over the pass, the guest dirtied
 * @dirtied bytes (what the sync found written, the next pass's work)
 * and the pass sent pages standing for @sent bytes of guest memory
 * (whole pages, however little a zero or compressed page took on the
 * wire: a pass over mostly zero pages would otherwise look far slower
 * than the link is).  Both cover the same span, so their ratio is that
 * of the dirty rate to the pass's rate: the factor by which the next
 * pass shrinks or grows.  The vCPUs ran at t->percent throughout (the
 * throttle changes only between passes).
 *
 * If @dirtied is at least MIG_THROTTLE_STALL_PCT percent of @sent, the
 * migration cannot converge as it goes, and waiting for
 * mig_throttle_period()'s two periods of a second only lets the guest
 * dirty more: throttle now, towards the "ideal" percentage, whose
 * running time, in proportion to the current one, would bring @dirtied
 * down to MIG_THROTTLE_TARGET_PCT percent of @sent.  The step is:
 *
 *   - not throttling yet: the larger of cpu-throttle-initial and the
 *     ideal (initial is the least step worth slowing the guest for);
 *   - throttling: the larger of one cpu-throttle-increment more and
 *     the ideal, so that each pass that still cannot converge takes at
 *     least one increment;
 *   - with cpu-throttle-tailslow, QEMU's gentle steps instead:
 *     cpu-throttle-initial first, then the step to the ideal or
 *     cpu-throttle-increment, whichever is smaller;
 *
 * never above max-cpu-throttle.  Such a step starts
 * mig_throttle_period()'s count of periods afresh, since it was sized
 * for what the guest did.  A pass below MIG_THROTTLE_STALL_PCT changes
 * nothing here: it converges, and mig_throttle_period() (with
 * throttle-trigger-threshold) judges whether fast enough.  Returns the
 * throttle percentage from now on (t->percent; 0 while not throttling).
 */
int mig_throttle_pass(MigThrottle *t, const MigThrottleParams *p,
                      uint64_t dirtied, uint64_t sent);

#endif
