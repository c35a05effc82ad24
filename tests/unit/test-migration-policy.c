/*
 * Unit tests for precopy's decisions (migration/precopy-policy.c) on a
 * simulated clock: bandwidth limiting, bandwidth measurement, expected
 * downtime and the switchover test, and auto-converge's throttle rules
 * (QEMU's periods, and a pass that stalls: synthetic figures and a
 * simulated busy guest).
 */
#include <check.h>
#include "tests/check-run.h"
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include <glib.h>

#include "migration/ram/precopy-policy.h"

#define MS 1000
#define S (1000 * MS)
#define MiB (1024 * 1024)

/* Sends @chunk-byte records at @rate from 0 for @duration µs, sleeping
 * when told; returns the bytes sent. */
static uint64_t simulate(uint64_t rate, uint64_t chunk, int64_t duration)
{
    MigRateLimit rl;
    int64_t now = 0;
    uint64_t sent = 0;

    mig_rate_limit_init(&rl, now);
    while (now < duration) {
        int64_t until = mig_rate_limit_wait_until(&rl, now, rate);

        if (until) {
            ck_assert_int_gt(until, now);
            now = until;
            continue;
        }
        mig_rate_limit_account(&rl, chunk);
        sent += chunk;
        now += 10;      /* sending itself takes a little time */
    }
    return sent;
}

START_TEST(test_rate_limit_average)
{
    /* Records that do not divide the window's allowance still average
     * to the limit: what one window overshoots, the next pays. */
    uint64_t rates[] = { 1 * MiB, 16 * MiB, 100 * MiB };
    uint64_t chunks[] = { 4096, 256 * 1024, 1 * MiB };

    for (size_t r = 0; r < G_N_ELEMENTS(rates); r++) {
        for (size_t c = 0; c < G_N_ELEMENTS(chunks); c++) {
            uint64_t sent = simulate(rates[r], chunks[c], 10 * S);
            double ratio = (double)sent / (double)(rates[r] * 10);

            ck_assert_msg(ratio > 0.97 && ratio < 1.03 + (double)chunks[c] /
                          (double)(rates[r] * 10),
                          "rate %lu chunk %lu: sent %lu in 10 s",
                          (unsigned long)rates[r], (unsigned long)chunks[c],
                          (unsigned long)sent);
        }
    }
}
END_TEST

START_TEST(test_rate_limit_windows)
{
    MigRateLimit rl;

    /* 10 MB/s: 1 MB per 100 ms window. */
    mig_rate_limit_init(&rl, 0);
    ck_assert_int_eq(mig_rate_limit_wait_until(&rl, 0, 10000000), 0);
    mig_rate_limit_account(&rl, 999999);
    ck_assert_int_eq(mig_rate_limit_wait_until(&rl, 50 * MS, 10000000), 0);
    mig_rate_limit_account(&rl, 1);
    ck_assert_int_eq(mig_rate_limit_wait_until(&rl, 60 * MS, 10000000),
                     100 * MS);
    /* Unlimited never waits, whatever was sent. */
    ck_assert_int_eq(mig_rate_limit_wait_until(&rl, 61 * MS, 0), 0);

    /* A 2.5 MB record: the two windows after it are paid for. */
    mig_rate_limit_init(&rl, 0);
    mig_rate_limit_account(&rl, 2500000);
    ck_assert_int_eq(mig_rate_limit_wait_until(&rl, 1, 10000000), 100 * MS);
    ck_assert_int_eq(mig_rate_limit_wait_until(&rl, 100 * MS, 10000000),
                     200 * MS);
    ck_assert_int_eq(mig_rate_limit_wait_until(&rl, 200 * MS, 10000000), 0);

    /* An idle second saves nothing up. */
    mig_rate_limit_init(&rl, 0);
    ck_assert_int_eq(mig_rate_limit_wait_until(&rl, 1 * S, 10000000), 0);
    mig_rate_limit_account(&rl, 1000000);
    ck_assert_int_eq(mig_rate_limit_wait_until(&rl, 1 * S + 1, 10000000),
                     1 * S + 100 * MS);

    /* A tiny limit still lets a byte through per window. */
    mig_rate_limit_init(&rl, 0);
    ck_assert_int_eq(mig_rate_limit_wait_until(&rl, 0, 1), 0);
}
END_TEST

START_TEST(test_bandwidth)
{
    MigBandwidth bw;

    mig_bandwidth_init(&bw, 0, 1000);
    ck_assert(bw.bytes_per_sec == 0);
    ck_assert(!mig_bandwidth_update(&bw, 99 * MS, 1000000));
    /* 100 ms, 10 MB: 100 MB/s. */
    ck_assert(mig_bandwidth_update(&bw, 100 * MS, 10001000));
    ck_assert(bw.bytes_per_sec == 100e6);
    /* Idle: a period with nothing sent measures 0. */
    ck_assert(mig_bandwidth_update(&bw, 300 * MS, 10001000));
    ck_assert(bw.bytes_per_sec == 0);
}
END_TEST

START_TEST(test_pass_rate)
{
    MigPassRate r;

    /* Set-up sent 5 MB before the first pass: not counted. */
    mig_pass_rate_init(&r, 1 * S, 5000000);
    /* Too short a sample, and none before it: unknown. */
    ck_assert(mig_pass_rate_get(&r, 1 * S + MIG_PASS_MIN_SAMPLE_US - 1,
                                6000000) == 0);
    /* Once the pass covers the minimum sample, its own rate. */
    ck_assert(mig_pass_rate_get(&r, 2 * S, 105000000) == 100e6);

    /* A fast first pass (1 GB/s), then a slow one (50 MB/s): once
     * measurable, the slow pass's rate alone. */
    mig_pass_rate_next_pass(&r, 2 * S, 1005000000);
    ck_assert(r.last_rate == 1e9);
    /* Until then, the last pass's. */
    ck_assert(mig_pass_rate_get(&r, 2 * S + 10 * MS, 1005500000) == 1e9);
    ck_assert(mig_pass_rate_get(&r, 3 * S, 1055000000) == 50e6);

    /* Short passes: measured together until they cover the minimum;
     * once they cover the short one, their rate if lower (10 MB/s). */
    mig_pass_rate_next_pass(&r, 3 * S, 1055000000);
    ck_assert(r.last_rate == 50e6);
    mig_pass_rate_next_pass(&r, 3 * S + 40 * MS, 1055000000 + 400000);
    mig_pass_rate_next_pass(&r, 3 * S + 80 * MS, 1055000000 + 800000);
    ck_assert(mig_pass_rate_get(&r, 3 * S + 90 * MS, 1055000000 + 900000) ==
              10e6);
    /* 100 ms, 1 MB over three passes: 10 MB/s. */
    ck_assert(mig_pass_rate_get(&r, 3 * S + 100 * MS, 1056000000) == 10e6);
    mig_pass_rate_next_pass(&r, 3 * S + 100 * MS, 1056000000);
    ck_assert(r.last_rate == 10e6);

    /* A pass that sends nothing measures 0 once long enough. */
    ck_assert(mig_pass_rate_get(&r, 4 * S, 1056000000) == 0);
}
END_TEST

START_TEST(test_predicted_downtime)
{
    MigSwitchoverFigures f = { 0 };

    /* Nothing to send, nothing to sync: no downtime, bandwidth or not. */
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 0);
    /* Something to send at an unknown bandwidth: unknown. */
    f.pending = 1;
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), INT64_MAX);
    f.pending = 0;
    f.device_bytes = 1;
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), INT64_MAX);

    /* 40 MB of RAM at 100 MB/s counted as 80 MB/s: 500 ms. */
    f = (MigSwitchoverFigures) { .pending = 40000000, .bandwidth = 100e6 };
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 500);
    /* Device state and the sync add up. */
    f.device_bytes = 8000000;
    f.sync_us = 25 * MS;
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 600 + 25);
    /* Rounded up: a microsecond of sync more is a millisecond more. */
    f.sync_us++;
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 600 + 26);
    /* A declared bandwidth is taken as it is. */
    f.declared_bandwidth = 48e6;
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 1000 + 26);
    /* A near-zero bandwidth: huge but finite, and no overflow. */
    f = (MigSwitchoverFigures) { .pending = UINT64_MAX, .bandwidth = 1e-300 };
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), INT64_MAX);
}
END_TEST

START_TEST(test_switchover)
{
    /* 300 ms at 100 MB/s, counted as 80 MB/s: 24 MB. */
    MigSwitchoverFigures f = { .pending = 24000000, .bandwidth = 100e6,
                               .passes = 2 };

    /* The margin at its boundary: 24 MB fit, one byte more does not. */
    ck_assert(mig_should_switchover(&f, 300));
    f.pending++;
    ck_assert(!mig_should_switchover(&f, 300));
    /* Without a margin the byte would have fitted (30 MB at 100 MB/s). */
    ck_assert((double)f.pending <= 100e6 * 300 / 1000);

    /* No RAM left: switch, whatever the rest costs (another pass cannot
     * make it cheaper), even with downtime-limit 0. */
    f = (MigSwitchoverFigures) { .device_bytes = 1 << 30, .sync_us = S };
    ck_assert(mig_should_switchover(&f, 0));
    /* Unknown or zero bandwidth: never with RAM left. */
    f = (MigSwitchoverFigures) { .pending = 4096, .passes = 2 };
    ck_assert(!mig_should_switchover(&f, 2000000));
    /* A tiny bandwidth: a prediction far beyond any limit. */
    f.bandwidth = 1e-12;
    ck_assert(!mig_should_switchover(&f, 2000000));
    /* The largest limit and a huge bandwidth. */
    f = (MigSwitchoverFigures) { .pending = UINT64_MAX / 2,
                                 .bandwidth = 1e18, .passes = 2 };
    ck_assert(mig_should_switchover(&f, 2000000));
}
END_TEST

/* The round trip to the destination is part of the downtime. */
START_TEST(test_switchover_round_trip)
{
    /* 20 MB at 100 MB/s counted as 80: 250 ms, plus a 5 ms sync. */
    MigSwitchoverFigures f = { .pending = 20000000, .bandwidth = 100e6,
                               .sync_us = 5 * MS, .passes = 2 };

    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 255);
    f.round_trip_us = 45 * MS;
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 300);
    ck_assert(mig_should_switchover(&f, 300));
    f.round_trip_us++;
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 301);
    ck_assert(!mig_should_switchover(&f, 300));
    /* Nothing to send: the sync and the round trip only. */
    f.pending = 0;
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 51);
}
END_TEST

/*
 * The first pass's rate is not the dirty pages' (measured, #12: a
 * 512 MiB guest of random bytes, a 64 MiB hot set of text over 4
 * zstd channels): after it, only a RAM with nothing left switches.
 */
START_TEST(test_switchover_not_after_first_pass)
{
    MigSwitchoverFigures f = { .pending = 41201664, .bandwidth = 770e6,
                               .sync_us = 2 * MS, .passes = 1,
                               .content_priced = true };

    /* 41 MB at 616 MB/s: 67 ms predicted, 102 ms measured (zstd). */
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 69);
    ck_assert(!mig_should_switchover(&f, 300));
    ck_assert(!mig_should_switchover(&f, 2000000));
    /* Nothing dirty after it (a paused guest): switch at once. */
    f.pending = 0;
    ck_assert(mig_should_switchover(&f, 300));
    /* After the second pass, the prediction decides. */
    f.pending = 41201664;
    f.passes = 2;
    ck_assert(mig_should_switchover(&f, 300));
    /* Pages sent raw cost the same cold or dirty: the first pass's
     * rate holds for the rest, and a pass spent needlessly would only
     * let the guest dirty more. */
    f.passes = 1;
    f.content_priced = false;
    ck_assert(mig_should_switchover(&f, 300));
    ck_assert(!mig_should_switchover(&f, 68));
}
END_TEST

/*
 * A short pass slower than the long one before it (the first pass sent
 * incompressible pages raw at 770 MB/s; the second compresses 41 MB of
 * text at 450 MB/s in 92 ms): the prediction goes by the slow one.
 */
START_TEST(test_switchover_short_slow_pass)
{
    MigPassRate r;
    MigSwitchoverFigures f = { .pending = 11 * MiB, .passes = 2 };
    uint64_t first = 770000000;

    mig_pass_rate_init(&r, 0, 0);
    mig_pass_rate_next_pass(&r, 1 * S, first);
    ck_assert(r.last_rate == 770e6);
    /* Too short yet to count: the last whole sample's. */
    ck_assert(mig_pass_rate_get(&r, 1 * S + MIG_PASS_SHORT_SAMPLE_US - 1,
                                first + 4500000) == 770e6);
    f.bandwidth = mig_pass_rate_get(&r, 1 * S + 92 * MS, first + 41400000);
    ck_assert(f.bandwidth == 450e6);
    /* 11 MiB at 360 MB/s: 33 ms, not 19. */
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 33);
    ck_assert(!mig_should_switchover(&f, 32));
    /* A short pass faster than the last whole one counts for nothing. */
    ck_assert(mig_pass_rate_get(&r, 1 * S + 50 * MS, first + 50000000) ==
              770e6);
}
END_TEST

/*
 * The cases that used to overshoot downtime-limit: each would have
 * switched over on what was left and the set-up's or the earlier
 * passes' rate, with the device state and the final sync uncounted.
 */
START_TEST(test_switchover_overshoots)
{
    MigPassRate r;
    MigSwitchoverFigures f = { .pending = 20 * MiB, .passes = 2 };

    /* A slow pass after a fast start: the first pass ran at 1 GB/s, the
     * current one at 40 MB/s.  20 MiB take 655 ms at 32 MB/s. */
    mig_pass_rate_init(&r, 0, 0);
    mig_pass_rate_next_pass(&r, 1 * S, 1000000000);
    mig_pass_rate_next_pass(&r, 2 * S, 1040000000);
    f.bandwidth = mig_pass_rate_get(&r, 2 * S, 1040000000);
    ck_assert(f.bandwidth == 40e6);
    ck_assert(!mig_should_switchover(&f, 300));
    ck_assert(mig_should_switchover(&f, 656));
    ck_assert(!mig_should_switchover(&f, 655));

    /* Large device state: 1 MiB of RAM is nothing at 1 GB/s, but with
     * 300 MB of devices it is 377 ms. */
    f = (MigSwitchoverFigures) { .pending = MiB, .bandwidth = 1e9,
                                 .device_bytes = 300000000, .passes = 2 };
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 377);
    ck_assert(!mig_should_switchover(&f, 300));
    f.device_bytes = 0;
    ck_assert(mig_should_switchover(&f, 300));

    /* A costly final sync: the last took 290 ms, the RAM 12.5 ms. */
    f = (MigSwitchoverFigures) { .pending = 10000000, .bandwidth = 1e9,
                                 .sync_us = 290 * MS, .passes = 2 };
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 303);
    ck_assert(!mig_should_switchover(&f, 300));
    f.sync_us = 280 * MS;
    ck_assert(mig_should_switchover(&f, 300));

    /* A stalled link: a pass that sent nothing in a second. */
    f = (MigSwitchoverFigures) {
        .pending = 4096,
        .bandwidth = mig_pass_rate_get(&r, 3 * S, 1040000000),
        .passes = 3,
    };
    ck_assert(f.bandwidth == 0);
    ck_assert(!mig_should_switchover(&f, 2000000));

    /* A pass too short to measure (2 ms, 4 MB: 2 GB/s) goes by the
     * last measured one (40 MB/s): 4 MB take 125 ms, not 2.5. */
    f = (MigSwitchoverFigures) {
        .pending = 4000000,
        .bandwidth = mig_pass_rate_get(&r, 2 * S + 2 * MS, 1044000000),
        .passes = 3,
    };
    ck_assert(f.bandwidth == 40e6);
    ck_assert_int_eq(mig_predicted_downtime_ms(&f), 125);
    ck_assert(!mig_should_switchover(&f, 100));
}
END_TEST

static const MigThrottleParams defaults = {
    .trigger_threshold = 50, .initial = 20, .increment = 10, .max = 99,
};

START_TEST(test_throttle_rule)
{
    MigThrottle t;

    mig_throttle_init(&t);
    /* Dirtying at most half of what was sent: no throttling. */
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 50, 100), 0);
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 50, 100), 0);
    /* The second period above it starts throttling (initial). */
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 51, 100), 0);
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 51, 100), 20);
    /* Then every second high period adds the increment. */
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 200, 100), 20);
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 200, 100), 30);
    /* As in QEMU, a low period in between does not reset the count. */
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 200, 100), 30);
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 10, 100), 30);
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 200, 100), 40);
    /* Up to max, never past it. */
    for (int i = 0; i < 40; i++) {
        mig_throttle_period(&t, &defaults, 200, 100);
    }
    ck_assert_int_eq(t.percent, 99);
}
END_TEST

START_TEST(test_throttle_limits)
{
    MigThrottleParams p = defaults;
    MigThrottle t;

    /* initial above max: max wins (the validator forbids it anyway). */
    p.initial = 60;
    p.max = 50;
    mig_throttle_init(&t);
    mig_throttle_period(&t, &p, 10, 1);
    ck_assert_int_eq(mig_throttle_period(&t, &p, 10, 1), 50);
    /* Threshold 100%: dirtying as much as was sent is still fine. */
    p = defaults;
    p.trigger_threshold = 100;
    mig_throttle_init(&t);
    ck_assert_int_eq(mig_throttle_period(&t, &p, 100, 100), 0);
    ck_assert_int_eq(mig_throttle_period(&t, &p, 100, 100), 0);
    /* Huge byte counts: no overflow in the threshold. */
    ck_assert_int_eq(mig_throttle_period(&t, &p, UINT64_MAX, UINT64_MAX),
                     0);
    ck_assert_int_eq(mig_throttle_period(&t, &p, UINT64_MAX,
                                         UINT64_MAX / 2), 0);
    ck_assert_int_eq(mig_throttle_period(&t, &p, UINT64_MAX,
                                         UINT64_MAX / 2), 20);
}
END_TEST

START_TEST(test_throttle_tailslow)
{
    MigThrottleParams p = defaults;
    MigThrottle t;

    p.tailslow = true;
    p.increment = 30;
    mig_throttle_init(&t);
    mig_throttle_period(&t, &p, 200, 100);
    ck_assert_int_eq(mig_throttle_period(&t, &p, 200, 100), 20);
    /*
     * At 20% the guest runs 80% of the time.  Dirtying 60 against a
     * threshold of 50 means 80 * 50/60 = 66.7% would do: a step of 13,
     * less than the increment.
     */
    mig_throttle_period(&t, &p, 60, 100);
    ck_assert_int_eq(mig_throttle_period(&t, &p, 60, 100), 33);
    /* Far above the threshold: the full increment. */
    mig_throttle_period(&t, &p, 1000, 100);
    ck_assert_int_eq(mig_throttle_period(&t, &p, 1000, 100), 63);
}
END_TEST

/* A throttle at @percent, as a migration would have left it. */
static MigThrottle throttled_at(int percent)
{
    MigThrottle t;

    mig_throttle_init(&t);
    t.percent = percent;
    return t;
}

/* One pass's figures and the throttle mig_throttle_pass() must return. */
typedef struct PassStep {
    uint64_t dirtied, sent;
    int percent;
} PassStep;

static void check_pass_steps(MigThrottle *t, const MigThrottleParams *p,
                             const PassStep *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int got = mig_throttle_pass(t, p, steps[i].dirtied, steps[i].sent);

        ck_assert_msg(got == steps[i].percent,
                      "step %zu (%" PRIu64 " dirtied, %" PRIu64 " sent): "
                      "%d%%, expected %d%%", i, steps[i].dirtied,
                      steps[i].sent, got, steps[i].percent);
    }
}

START_TEST(test_throttle_pass_at_once)
{
    static const PassStep steps[] = {
        /* Passes that shrink the work by more than a tenth: nothing,
         * however many (mig_throttle_period() judges those). */
        { 89, 100, 0 }, { 89, 100, 0 }, { 89, 100, 0 },
        /* One pass dirtying twice what it sent throttles at once, as
         * far as the figures ask: running 25% of the time, the guest
         * would dirty 50, half of what was sent.  Not
         * cpu-throttle-initial's 20. */
        { 200, 100, 75 },
        /* A pass that converges keeps it: never lowered. */
        { 40, 100, 75 },
        /* As much dirtied as sent: 25 * 50/100 = 12.5% running, 88,
         * more than one increment. */
        { 100, 100, 88 },
        /* The stall threshold itself counts: 12 * 50/90 = 6.7%
         * running asks for 94, the increment for 98. */
        { 90, 100, 98 },
        /* Up to max-cpu-throttle, never past it. */
        { 300, 100, 99 }, { 300, 100, 99 },
    };
    MigThrottle t;

    mig_throttle_init(&t);
    check_pass_steps(&t, &defaults, steps, G_N_ELEMENTS(steps));
}
END_TEST

START_TEST(test_throttle_pass_steps)
{
    MigThrottleParams p = defaults;
    MigThrottle t;

    /* 100 * 50/95 = 52.6% running: 48, above cpu-throttle-initial... */
    mig_throttle_init(&t);
    ck_assert_int_eq(mig_throttle_pass(&t, &p, 95, 100), 48);
    /* ...which is the least first step. */
    p.initial = 60;
    mig_throttle_init(&t);
    ck_assert_int_eq(mig_throttle_pass(&t, &p, 95, 100), 60);
    /* Later steps: at least an increment (79 wanted, 60 + 20)... */
    p.increment = 20;
    t = throttled_at(60);
    ck_assert_int_eq(mig_throttle_pass(&t, &p, 95, 100), 80);
    /* ...more if the figures say so: 60 * 50/400 = 7.5% running. */
    t = throttled_at(40);
    ck_assert_int_eq(mig_throttle_pass(&t, &p, 400, 100), 93);
}
END_TEST

/*
 * Over many figures: the step brings the dirtied bytes, scaled by the
 * running time, to at most MIG_THROTTLE_TARGET_PCT of what was sent,
 * and one percent less would not have, unless the least step or the
 * cap decided.
 */
START_TEST(test_throttle_pass_reaches_target)
{
    MigThrottleParams p = defaults;

    p.initial = 1;
    p.increment = 1;
    for (int cur = 0; cur <= 90; cur += 15) {
        for (uint64_t dirtied = 90; dirtied <= 2000; dirtied += 37) {
            MigThrottle t = throttled_at(cur);
            int next = mig_throttle_pass(&t, &p, dirtied, 100);
            double at = dirtied * (100.0 - next) / (100.0 - cur);
            double one_less = dirtied * (101.0 - next) / (100.0 - cur);

            ck_assert_int_gt(next, cur);
            if (next < 99) {
                ck_assert(at <= MIG_THROTTLE_TARGET_PCT);
                ck_assert(next == cur + 1 ||
                          one_less > MIG_THROTTLE_TARGET_PCT);
            }
        }
    }
}
END_TEST

START_TEST(test_throttle_pass_limits)
{
    MigThrottleParams p = defaults;
    MigThrottle t;

    /* max-cpu-throttle caps the figures' wish... */
    p.max = 50;
    mig_throttle_init(&t);
    ck_assert_int_eq(mig_throttle_pass(&t, &p, 1000, 100), 50);
    /* ...and an initial above it (the validator forbids it anyway)... */
    p.initial = 60;
    mig_throttle_init(&t);
    ck_assert_int_eq(mig_throttle_pass(&t, &p, 95, 100), 50);
    /* ...and applies once lowered while migrating. */
    p = defaults;
    p.max = 70;
    t = throttled_at(80);
    ck_assert_int_eq(mig_throttle_pass(&t, &p, 200, 100), 70);
    /* A pass that sent nothing but was dirtied: as far as allowed. */
    mig_throttle_init(&t);
    ck_assert_int_eq(mig_throttle_pass(&t, &defaults, 4096, 0), 99);
    /* Nothing dirtied, nothing sent: nothing to do. */
    mig_throttle_init(&t);
    ck_assert_int_eq(mig_throttle_pass(&t, &defaults, 0, 0), 0);
    /* Huge byte counts: no overflow in the comparison or the ratio. */
    ck_assert_int_eq(mig_throttle_pass(&t, &defaults, UINT64_MAX / 2,
                                       UINT64_MAX), 0);
    ck_assert_int_eq(mig_throttle_pass(&t, &defaults, UINT64_MAX,
                                       UINT64_MAX / 2), 75);
}
END_TEST

/* throttle-trigger-threshold is mig_throttle_period()'s: a pass that
 * stalls throttles whatever it is, one that converges does not. */
START_TEST(test_throttle_pass_threshold)
{
    static const unsigned thresholds[] = { 1, 50, 100 };

    for (unsigned i = 0; i < G_N_ELEMENTS(thresholds); i++) {
        MigThrottleParams p = defaults;
        MigThrottle t;

        p.trigger_threshold = thresholds[i];
        mig_throttle_init(&t);
        ck_assert_int_eq(mig_throttle_pass(&t, &p, 80, 100), 0);
        ck_assert_int_eq(mig_throttle_pass(&t, &p, 200, 100), 75);
    }
}
END_TEST

START_TEST(test_throttle_pass_tailslow)
{
    static const PassStep steps[] = {
        /* The figures want 75; tailslow starts at cpu-throttle-initial. */
        { 200, 100, 20 },
        /* 80 * 50/150 = 26.7% running, 74: the increment is the most. */
        { 150, 100, 50 },
        /* 50 * 50/95 = 26.3% running, 74: a step of 24, less than the
         * increment. */
        { 95, 100, 74 },
        /* Converging: stays. */
        { 40, 100, 74 },
    };
    MigThrottleParams p = defaults;
    MigThrottle t;

    p.tailslow = true;
    p.increment = 30;
    mig_throttle_init(&t);
    check_pass_steps(&t, &p, steps, G_N_ELEMENTS(steps));
}
END_TEST

/* A step of mig_throttle_pass() restarts mig_throttle_period()'s count:
 * the next increment needs two more high periods, not one. */
START_TEST(test_throttle_pass_and_period)
{
    MigThrottle t;

    mig_throttle_init(&t);
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 200, 100), 0);
    ck_assert_int_eq(mig_throttle_pass(&t, &defaults, 200, 100), 75);
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 200, 100), 75);
    ck_assert_int_eq(mig_throttle_period(&t, &defaults, 200, 100), 85);
}
END_TEST

/*
 * Passes of a simulated busy guest: it dirties 1.5 GB/s of a 1 GiB set
 * while throttled in proportion, the link moves 1.2 GB/s.  A pass sends
 * what the last one left; the guest dirties no more than its set.
 * Returns the passes until mig_should_switchover() at 300 ms (0: not
 * within 50), and the throttle reached in *@percent.
 */
static int simulate_busy_guest(bool auto_converge, int *percent)
{
    const double set = 1024.0 * MiB, rate = 1.5e9, bw = 1.2e9;
    MigThrottle t;
    double pending = set;

    mig_throttle_init(&t);
    for (int pass = 1; pass <= 50; pass++) {
        double secs = pending / bw;
        double dirtied = MIN(set, rate * (100 - t.percent) / 100 * secs);
        MigSwitchoverFigures f = {
            .pending = (uint64_t)dirtied,
            .bandwidth = bw,
            .passes = (uint64_t)pass,
        };

        if (mig_should_switchover(&f, 300)) {
            *percent = t.percent;
            return pass;
        }
        if (auto_converge) {
            mig_throttle_pass(&t, &defaults, (uint64_t)dirtied,
                              (uint64_t)pending);
        }
        pending = dirtied;
    }
    *percent = t.percent;
    return 0;
}

START_TEST(test_throttle_pass_converges)
{
    int passes, percent;

    /* Dirtying faster than the link: it never ends by itself... */
    ck_assert_int_eq(simulate_busy_guest(false, &percent), 0);
    ck_assert_int_eq(percent, 0);
    /* ...though each pass's figures say only "as much as was sent".
     * Throttled after the first pass, it ends within a few, without
     * going to the cap. */
    passes = simulate_busy_guest(true, &percent);
    ck_assert_int_gt(passes, 0);
    ck_assert_int_le(passes, 5);
    ck_assert_int_gt(percent, 0);
    ck_assert_int_lt(percent, 99);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-policy");
    TCase *tc = tcase_create("migration-policy");
    SRunner *sr;

    tcase_add_test(tc, test_rate_limit_average);
    tcase_add_test(tc, test_rate_limit_windows);
    tcase_add_test(tc, test_bandwidth);
    tcase_add_test(tc, test_pass_rate);
    tcase_add_test(tc, test_predicted_downtime);
    tcase_add_test(tc, test_switchover);
    tcase_add_test(tc, test_switchover_overshoots);
    tcase_add_test(tc, test_switchover_round_trip);
    tcase_add_test(tc, test_switchover_not_after_first_pass);
    tcase_add_test(tc, test_switchover_short_slow_pass);
    tcase_add_test(tc, test_throttle_rule);
    tcase_add_test(tc, test_throttle_limits);
    tcase_add_test(tc, test_throttle_tailslow);
    tcase_add_test(tc, test_throttle_pass_at_once);
    tcase_add_test(tc, test_throttle_pass_steps);
    tcase_add_test(tc, test_throttle_pass_reaches_target);
    tcase_add_test(tc, test_throttle_pass_limits);
    tcase_add_test(tc, test_throttle_pass_threshold);
    tcase_add_test(tc, test_throttle_pass_tailslow);
    tcase_add_test(tc, test_throttle_pass_and_period);
    tcase_add_test(tc, test_throttle_pass_converges);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
