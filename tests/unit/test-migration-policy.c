/*
 * Unit tests for precopy's decisions (migration/precopy-policy.c) on a
 * simulated clock: bandwidth limiting, bandwidth measurement, expected
 * downtime and the switchover test, and auto-converge's throttle rule.
 */
#include <check.h>
#include "tests/check-run.h"
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
    /* Before a period has ended: the running period's rate (after 1 ms). */
    ck_assert(mig_bandwidth_estimate(&bw, 500, 2000) == 0);
    ck_assert(mig_bandwidth_estimate(&bw, 10 * MS, 11000) == 1e6);
    ck_assert(!mig_bandwidth_update(&bw, 99 * MS, 1000000));
    /* 100 ms, 10 MB: 100 MB/s. */
    ck_assert(mig_bandwidth_update(&bw, 100 * MS, 10001000));
    ck_assert(bw.bytes_per_sec == 100e6);
    ck_assert(mig_bandwidth_estimate(&bw, 150 * MS, 0) == 100e6);
    /* Idle: a period with nothing sent measures 0. */
    ck_assert(mig_bandwidth_update(&bw, 300 * MS, 10001000));
    ck_assert(bw.bytes_per_sec == 0);
}
END_TEST

START_TEST(test_downtime_and_switchover)
{
    ck_assert_int_eq(mig_expected_downtime_ms(0, 0), 0);
    ck_assert_int_eq(mig_expected_downtime_ms(1, 0), INT64_MAX);
    ck_assert_int_eq(mig_expected_downtime_ms(50000000, 100e6), 500);

    /* Nothing left: always. */
    ck_assert(mig_should_switchover(0, 0, 0));
    /* Unknown bandwidth: never with something left. */
    ck_assert(!mig_should_switchover(4096, 0, 300));
    /* 100 MB/s and 300 ms: 30 MB fit, one byte more does not. */
    ck_assert(mig_should_switchover(30000000, 100e6, 300));
    ck_assert(!mig_should_switchover(30000001, 100e6, 300));
    ck_assert(!mig_should_switchover(1, 100e6, 0));
    /* No overflow with the largest limit and a huge bandwidth. */
    ck_assert(mig_should_switchover(UINT64_MAX / 2, 1e18, 2000000));
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

int main(void)
{
    Suite *s = suite_create("migration-policy");
    TCase *tc = tcase_create("migration-policy");
    SRunner *sr;

    tcase_add_test(tc, test_rate_limit_average);
    tcase_add_test(tc, test_rate_limit_windows);
    tcase_add_test(tc, test_bandwidth);
    tcase_add_test(tc, test_downtime_and_switchover);
    tcase_add_test(tc, test_throttle_rule);
    tcase_add_test(tc, test_throttle_limits);
    tcase_add_test(tc, test_throttle_tailslow);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
