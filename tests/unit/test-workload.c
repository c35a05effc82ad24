/*
 * Unit tests for the workload (system/workload.c): configuration, the
 * patterns and contents, and determinism (same seed, same RAM), all run
 * synchronously; the pacing of the vCPUs (system/pacer.c) on a simulated
 * clock.  The last test runs real vCPU threads (system/cpus.c) and checks
 * that pausing them really freezes guest RAM.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "system/cpus.h"
#include "system/dev-counter.h"
#include "system/dev-log.h"
#include "system/pacer.h"
#include "system/ram.h"
#include "system/workload.h"

#define MiB (1024 * 1024)
#define RAM_SIZE (4 * MiB)
#define PAGES (RAM_SIZE / GUEST_PAGE_SIZE)

static RAMBlock *ram;

static void setup(void)
{
    ram = ram_block_new_anon("pc.ram", RAM_SIZE, false, &error_abort);
    ck_assert(ram_block_register(ram, &error_abort));
}

static void teardown(void)
{
    ram_block_unregister(ram);
    ram_block_free(ram);
}

/* Index of the first nonzero byte of @buf, or @len.  (Not one ck_assert
 * per byte: check's asserts are far too slow for megabytes.) */
static size_t first_nonzero(const uint8_t *buf, size_t len)
{
    size_t i = 0;

    while (i < len && buf[i] == 0) {
        i++;
    }
    return i;
}

static char *ram_digest(void)
{
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, ram->host,
                                       ram->size);
}

static WorkloadConfig config(WorkloadPattern pattern, WorkloadContent content,
                             uint64_t seed)
{
    WorkloadConfig cfg;

    workload_config_init(&cfg, RAM_SIZE);
    cfg.pattern = pattern;
    cfg.content = content;
    cfg.seed = seed;
    return cfg;
}

/* Zeroes RAM, runs @steps writes on each of @ncpus vCPUs (interleaved),
 * returns the digest of RAM. */
static char *run(const WorkloadConfig *cfg, unsigned ncpus, unsigned steps)
{
    g_autofree WorkloadGen *gens = g_new0(WorkloadGen, ncpus);

    memset(ram->host, 0, ram->size);
    for (unsigned c = 0; c < ncpus; c++) {
        workload_gen_init(&gens[c], cfg, c, ncpus);
    }
    for (unsigned i = 0; i < steps; i++) {
        for (unsigned c = 0; c < ncpus; c++) {
            workload_gen_step(&gens[c]);
        }
    }
    return ram_digest();
}

START_TEST(test_config)
{
    WorkloadConfig cfg, saved;
    WorkloadOptions opts = { 0 };
    Error *err = NULL;

    workload_config_init(&cfg, 1024 * MiB);
    ck_assert_uint_eq(cfg.rate, 0);
    ck_assert_int_eq(cfg.pattern, WORKLOAD_PATTERN_SEQUENTIAL);
    ck_assert_int_eq(cfg.content, WORKLOAD_CONTENT_TEXT);
    ck_assert_uint_eq(cfg.hotset, 16 * MiB);
    ck_assert_uint_eq(cfg.seed, 0);
    /* The default hot set never exceeds guest RAM. */
    workload_config_init(&cfg, RAM_SIZE);
    ck_assert_uint_eq(cfg.hotset, RAM_SIZE);

    opts.has_rate = true;
    opts.rate = 1 * MiB;
    opts.has_pattern = true;
    opts.pattern = WORKLOAD_PATTERN_HOTSET;
    opts.has_hotset = true;
    opts.hotset = 64 * 1024;
    ck_assert(workload_config_apply(&cfg, &opts, RAM_SIZE, &error_abort));
    ck_assert_uint_eq(cfg.rate, 1 * MiB);
    ck_assert_int_eq(cfg.pattern, WORKLOAD_PATTERN_HOTSET);
    ck_assert_uint_eq(cfg.hotset, 64 * 1024);
    ck_assert_int_eq(cfg.content, WORKLOAD_CONTENT_TEXT);  /* untouched */

    /* Errors leave the configuration as it was. */
    saved = cfg;
    opts.has_seed = true;
    opts.seed = 99;
    opts.hotset = 1000;
    ck_assert(!workload_config_apply(&cfg, &opts, RAM_SIZE, &err));
    check_error(&err, "hotset 1000 is not a nonzero multiple of 4096");
    opts.hotset = 0;
    ck_assert(!workload_config_apply(&cfg, &opts, RAM_SIZE, &err));
    check_error(&err, "hotset 0 is not a nonzero multiple of 4096");
    opts.hotset = 8 * MiB;
    ck_assert(!workload_config_apply(&cfg, &opts, RAM_SIZE, &err));
    check_error(&err, "hotset 8 MiB is larger than guest RAM (4 MiB)");
    ck_assert(memcmp(&cfg, &saved, sizeof(cfg)) == 0);
}
END_TEST

START_TEST(test_deterministic)
{
    /* Not 'sweep': its stores follow from the writes before, not the
     * seed (test_sweep). */
    static const WorkloadPattern patterns[] = {
        WORKLOAD_PATTERN_SEQUENTIAL, WORKLOAD_PATTERN_RANDOM,
        WORKLOAD_PATTERN_HOTSET,
    };
    static const WorkloadContent contents[] = {
        WORKLOAD_CONTENT_TEXT, WORKLOAD_CONTENT_RANDOM,
    };

    for (size_t p = 0; p < G_N_ELEMENTS(patterns); p++) {
        for (size_t c = 0; c < G_N_ELEMENTS(contents); c++) {
            WorkloadConfig a = config(patterns[p], contents[c], 42);
            WorkloadConfig b = config(patterns[p], contents[c], 43);
            g_autofree char *d1 = run(&a, 2, 700);
            g_autofree char *d2 = run(&a, 2, 700);
            g_autofree char *d3 = run(&b, 2, 700);
            g_autofree char *zero = NULL;

            memset(ram->host, 0, ram->size);
            zero = ram_digest();
            ck_assert_msg(strcmp(d1, zero) != 0, "%s/%s wrote nothing",
                          WorkloadPattern_str(patterns[p]),
                          WorkloadContent_str(contents[c]));
            ck_assert_msg(strcmp(d1, d2) == 0, "%s/%s not reproducible",
                          WorkloadPattern_str(patterns[p]),
                          WorkloadContent_str(contents[c]));
            ck_assert_msg(strcmp(d1, d3) != 0, "%s/%s ignores the seed",
                          WorkloadPattern_str(patterns[p]),
                          WorkloadContent_str(contents[c]));
        }
    }
}
END_TEST

START_TEST(test_sequential)
{
    WorkloadConfig cfg = config(WORKLOAD_PATTERN_SEQUENTIAL,
                                WORKLOAD_CONTENT_TEXT, 0);
    WorkloadGen g0, g1;

    workload_gen_init(&g0, &cfg, 0, 2);
    workload_gen_init(&g1, &cfg, 1, 2);
    ck_assert_uint_eq(workload_gen_step(&g0), 0);
    ck_assert_uint_eq(workload_gen_step(&g0), GUEST_PAGE_SIZE);
    /* vCPU 1 of 2 starts half-way and wraps around at the end. */
    ck_assert_uint_eq(workload_gen_step(&g1), RAM_SIZE / 2);
    for (unsigned i = 1; i < PAGES / 2; i++) {
        workload_gen_step(&g1);
    }
    ck_assert_uint_eq(workload_gen_step(&g1), 0);
    ck_assert_uint_eq(g1.writes, PAGES / 2 + 1);

    /* A new seed restarts the sequence; other changes do not. */
    cfg.content = WORKLOAD_CONTENT_ZERO;
    workload_gen_update(&g0, &cfg);
    ck_assert_uint_eq(workload_gen_step(&g0), 2 * GUEST_PAGE_SIZE);
    cfg.seed = 5;
    workload_gen_update(&g0, &cfg);
    ck_assert_uint_eq(g0.writes, 0);
    ck_assert_uint_eq(workload_gen_step(&g0), 0);
}
END_TEST

START_TEST(test_hotset)
{
    WorkloadConfig cfg = config(WORKLOAD_PATTERN_HOTSET,
                                WORKLOAD_CONTENT_RANDOM, 7);
    WorkloadGen g;
    uint64_t hot = 64 * 1024;
    bool seen[16] = { false };

    cfg.hotset = hot;
    memset(ram->host, 0, ram->size);
    workload_gen_init(&g, &cfg, 0, 1);
    for (unsigned i = 0; i < 1000; i++) {
        uint64_t offset = workload_gen_step(&g);
        ck_assert_uint_lt(offset, hot);
        seen[offset / GUEST_PAGE_SIZE] = true;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(seen); i++) {
        ck_assert_msg(seen[i], "hot page %u never written", i);
    }
    /* Nothing outside the hot set changed. */
    ck_assert_uint_eq(first_nonzero(ram->host + hot, ram->size - hot),
                      ram->size - hot);
}
END_TEST

/* sweep: one byte per page, page after page through the hot set. */
START_TEST(test_sweep)
{
    WorkloadConfig cfg = config(WORKLOAD_PATTERN_SWEEP,
                                WORKLOAD_CONTENT_RANDOM, 0);
    uint64_t hot = 10 * GUEST_PAGE_SIZE;
    WorkloadGen g0, g1;

    cfg.hotset = hot;
    memset(ram->host, 0, ram->size);
    workload_gen_init(&g0, &cfg, 0, 2);
    workload_gen_init(&g1, &cfg, 1, 2);
    /* vCPU 0 from the first page, vCPU 1 from half-way through the hot
     * set, each in page order, wrapping at its end (not RAM's). */
    for (unsigned i = 0; i < 25; i++) {
        ck_assert_uint_eq(workload_gen_step(&g0),
                          i % 10 * GUEST_PAGE_SIZE);
        ck_assert_uint_eq(workload_gen_step(&g1),
                          (5 + i) % 10 * GUEST_PAGE_SIZE);
    }
    ck_assert_uint_eq(g0.writes, 25);
    /* Each write increments its page's first byte and nothing else:
     * pages 0-4 were written 2 + 3 times (vCPU 1 wrapped onto them
     * later), pages 5-9 3 + 2 times... */
    for (unsigned p = 0; p < 10; p++) {
        uint8_t *page = ram->host + p * GUEST_PAGE_SIZE;

        ck_assert_uint_eq(page[0], 5);
        ck_assert_uint_eq(first_nonzero(page + 1, GUEST_PAGE_SIZE - 1),
                          GUEST_PAGE_SIZE - 1);
    }
    /* ...and nothing outside the hot set changed. */
    ck_assert_uint_eq(first_nonzero(ram->host + hot, ram->size - hot),
                      ram->size - hot);

    /* The byte wraps as a byte: 256 sweeps of one page leave it 0. */
    cfg.hotset = GUEST_PAGE_SIZE;
    memset(ram->host, 0, ram->size);
    workload_gen_init(&g0, &cfg, 0, 1);
    workload_gen_steps(&g0, 255);
    ck_assert_uint_eq(ram->host[0], 255);
    workload_gen_steps(&g0, 1);
    ck_assert_uint_eq(ram->host[0], 0);

    /* A smaller hot set at run time: the sweep wraps at its new end. */
    cfg.hotset = 4 * GUEST_PAGE_SIZE;
    workload_gen_init(&g0, &cfg, 0, 1);
    workload_gen_steps(&g0, 3);
    cfg.hotset = 2 * GUEST_PAGE_SIZE;
    workload_gen_update(&g0, &cfg);
    ck_assert_uint_eq(workload_gen_step(&g0), 0);
    ck_assert_uint_eq(workload_gen_step(&g0), GUEST_PAGE_SIZE);
    ck_assert_uint_eq(workload_gen_step(&g0), 0);
}
END_TEST

/* workload_gen_steps(n) is n times workload_gen_step(), for every
 * pattern and content. */
START_TEST(test_steps)
{
    static const WorkloadPattern patterns[] = {
        WORKLOAD_PATTERN_SEQUENTIAL, WORKLOAD_PATTERN_RANDOM,
        WORKLOAD_PATTERN_HOTSET, WORKLOAD_PATTERN_SWEEP,
    };

    for (size_t p = 0; p < G_N_ELEMENTS(patterns); p++) {
        for (int c = 0; c < WORKLOAD_CONTENT__MAX; c++) {
            WorkloadConfig cfg = config(patterns[p], c, 11);
            WorkloadGen a, b;
            g_autofree char *one = NULL, *batched = NULL;

            cfg.hotset = 64 * GUEST_PAGE_SIZE;
            memset(ram->host, 0, ram->size);
            workload_gen_init(&a, &cfg, 1, 3);
            for (unsigned i = 0; i < 300; i++) {
                workload_gen_step(&a);
            }
            one = ram_digest();
            memset(ram->host, 0, ram->size);
            workload_gen_init(&b, &cfg, 1, 3);
            workload_gen_steps(&b, 100);
            workload_gen_steps(&b, 200);
            batched = ram_digest();
            ck_assert_msg(strcmp(one, batched) == 0, "%s/%s differs",
                          WorkloadPattern_str(patterns[p]),
                          WorkloadContent_str(c));
            ck_assert_uint_eq(a.writes, b.writes);
            ck_assert_uint_eq(a.cursor, b.cursor);
            ck_assert_uint_eq(a.rng, b.rng);
        }
    }
}
END_TEST

/* The header is the same whatever the size of its numbers (written by
 * hand, not snprintf()); a sparse page keeps its first 63 bytes. */
START_TEST(test_header)
{
    WorkloadConfig cfg = config(WORKLOAD_PATTERN_SEQUENTIAL,
                                WORKLOAD_CONTENT_TEXT, UINT64_MAX);
    char want[128];
    WorkloadGen g;
    int n;

    workload_gen_init(&g, &cfg, 0, 1);
    g.cpu_index = UINT32_MAX;
    g.writes = UINT64_MAX - 1;
    workload_gen_step(&g);
    n = snprintf(want, sizeof(want), "vcpu %u write %" PRIu64 " seed %"
                 PRIu64 "\n", UINT32_MAX, UINT64_MAX - 1, UINT64_MAX);
    ck_assert_int_eq(memcmp(ram->host, want, n), 0);

    cfg.content = WORKLOAD_CONTENT_SPARSE;
    workload_gen_update(&g, &cfg);
    memset(ram->host, '.', GUEST_PAGE_SIZE);
    g.cursor = 0;
    g.writes = UINT64_MAX - 1;
    workload_gen_step(&g);
    ck_assert_int_eq(memcmp(ram->host, want, 63), 0);
    ck_assert_uint_ne(ram->host[63], want[63]);
}
END_TEST

START_TEST(test_random)
{
    WorkloadConfig cfg = config(WORKLOAD_PATTERN_RANDOM,
                                WORKLOAD_CONTENT_ZERO, 1);
    WorkloadGen g;
    unsigned low = 0, high = 0;

    workload_gen_init(&g, &cfg, 0, 1);
    for (unsigned i = 0; i < 2000; i++) {
        uint64_t offset = workload_gen_step(&g);
        ck_assert_uint_lt(offset, RAM_SIZE);
        ck_assert_uint_eq(offset % GUEST_PAGE_SIZE, 0);
        if (offset < RAM_SIZE / 2) {
            low++;
        } else {
            high++;
        }
    }
    /* Roughly even: 1000 +- a generous margin. */
    ck_assert_uint_gt(low, 800);
    ck_assert_uint_gt(high, 800);
}
END_TEST

START_TEST(test_contents)
{
    WorkloadConfig cfg = config(WORKLOAD_PATTERN_SEQUENTIAL,
                                WORKLOAD_CONTENT_TEXT, 9);
    WorkloadGen g;
    uint8_t *page = ram->host;
    bool byte_seen[256] = { false };
    unsigned distinct = 0;

    /* text: a header, then printable words */
    workload_gen_init(&g, &cfg, 0, 1);
    workload_gen_step(&g);
    ck_assert(strncmp((char *)page, "vcpu 0 write 0 seed 9\n", 22) == 0);
    for (unsigned i = 0; i < GUEST_PAGE_SIZE; i++) {
        if (!g_ascii_isprint(page[i]) && page[i] != '\n') {
            ck_abort_msg("byte %u is 0x%02x", i, page[i]);
        }
    }

    /* random: all sorts of bytes */
    cfg.content = WORKLOAD_CONTENT_RANDOM;
    workload_gen_init(&g, &cfg, 0, 1);
    workload_gen_step(&g);
    for (unsigned i = 0; i < GUEST_PAGE_SIZE; i++) {
        if (!byte_seen[page[i]]) {
            byte_seen[page[i]] = true;
            distinct++;
        }
    }
    ck_assert_uint_gt(distinct, 200);

    /* sparse: the header and one 8-byte word change, the rest stays
     * (every write on page 0: a hot set of one page) */
    {
        uint8_t before[GUEST_PAGE_SIZE];
        unsigned changed = 0, kept = 0;

        memset(page, 0x2e, GUEST_PAGE_SIZE);
        cfg.content = WORKLOAD_CONTENT_SPARSE;
        cfg.pattern = WORKLOAD_PATTERN_HOTSET;
        cfg.hotset = GUEST_PAGE_SIZE;
        workload_gen_init(&g, &cfg, 0, 1);
        workload_gen_step(&g);
        ck_assert(strncmp((char *)page, "vcpu 0 write 0 seed 9\n", 22) == 0);
        for (unsigned i = 64; i < GUEST_PAGE_SIZE; i++) {
            kept += page[i] == 0x2e;
        }
        ck_assert_uint_ge(kept, GUEST_PAGE_SIZE - 64 - 8);
        memcpy(before, page, GUEST_PAGE_SIZE);
        workload_gen_step(&g);
        ck_assert(strncmp((char *)page, "vcpu 0 write 1 seed 9\n", 22) == 0);
        for (unsigned i = 0; i < GUEST_PAGE_SIZE; i++) {
            changed += page[i] != before[i];
        }
        /* The write count's digit, and up to 8 bytes of the word. */
        ck_assert_uint_ge(changed, 1);
        ck_assert_uint_le(changed, 1 + 8 + 8);
        cfg.pattern = WORKLOAD_PATTERN_SEQUENTIAL;
    }

    /* zero: the page is zero again */
    cfg.content = WORKLOAD_CONTENT_ZERO;
    workload_gen_init(&g, &cfg, 0, 1);
    workload_gen_step(&g);
    ck_assert_uint_eq(first_nonzero(page, GUEST_PAGE_SIZE), GUEST_PAGE_SIZE);
}
END_TEST

/*
 * Runs a vCPU's pacing for @duration µs of simulated time, writing as soon
 * as allowed (writes take no time); returns the pages written.
 */
static uint64_t simulate(uint64_t rate, int percent, int64_t duration)
{
    Pacer p;
    int64_t now = 1000000, end = now + duration, until;
    uint64_t pages = 0;

    pacer_reset(&p, now);
    while (now < end) {
        until = pacer_throttle(&p, now, percent);
        if (until) {
            ck_assert_int_gt(until, now);
            now = until;
            continue;
        }
        unsigned n = pacer_take(&p, now, rate, 64, &until);
        if (n == 0) {
            ck_assert_int_gt(until, now);
            now = until;
        }
        pages += n;
    }
    return pages;
}

START_TEST(test_pacer_rate)
{
    const uint64_t rate = 1000 * GUEST_PAGE_SIZE;   /* 1000 pages/s */
    Pacer p;
    int64_t wake;

    /* One second: 1000 pages, give or take the rounding of wake-ups. */
    uint64_t pages = simulate(rate, 0, 1000000);
    ck_assert_msg(pages >= 990 && pages <= 1000, "%" PRIu64 " pages", pages);
    /* 256 MiB/s: whole batches. */
    pages = simulate(256 * MiB, 0, 1000000);
    ck_assert_msg(pages >= 65000 && pages <= 65536, "%" PRIu64 " pages",
                  pages);

    /* Nothing is due at the start; the first page is due after 1ms. */
    pacer_reset(&p, 0);
    ck_assert_uint_eq(pacer_take(&p, 0, rate, 64, &wake), 0);
    ck_assert_int_eq(wake, 1001);
    ck_assert_uint_eq(pacer_take(&p, wake, rate, 64, &wake), 1);
    /* After a long idle spell the bucket holds only 10ms worth. */
    ck_assert_uint_eq(pacer_take(&p, 60 * G_USEC_PER_SEC, rate, 64, &wake),
                      10);
    ck_assert_uint_eq(pacer_take(&p, 60 * G_USEC_PER_SEC, rate, 64, &wake),
                      0);
    /* ...and never more than @max at once. */
    ck_assert_uint_eq(pacer_take(&p, 120 * G_USEC_PER_SEC, 256 * MiB, 64,
                                 &wake), 64);
}
END_TEST

START_TEST(test_pacer_throttle)
{
    const uint64_t rate = 1000 * GUEST_PAGE_SIZE;
    static const int percents[] = { 20, 50, 80, 95 };
    Pacer p;

    /* Throttled to p%, the vCPU writes (100 - p)% as much. */
    for (size_t i = 0; i < G_N_ELEMENTS(percents); i++) {
        uint64_t expect = 100 * (100 - percents[i]);   /* in 10s */
        uint64_t pages = simulate(rate, percents[i], 10000000);
        ck_assert_msg(pages >= expect * 98 / 100 && pages <= expect,
                      "%d%%: %" PRIu64 " pages, expected about %" PRIu64,
                      percents[i], pages, expect);
    }

    /* The schedule itself: run a slice, then sleep. */
    pacer_reset(&p, 0);
    ck_assert_int_eq(pacer_throttle(&p, 0, 50), 0);
    ck_assert_int_eq(pacer_throttle(&p, CPU_THROTTLE_TIMESLICE_US - 1, 50),
                     0);
    ck_assert_int_eq(pacer_throttle(&p, CPU_THROTTLE_TIMESLICE_US, 50),
                     2 * CPU_THROTTLE_TIMESLICE_US);
    ck_assert_int_eq(pacer_throttle(&p, 2 * CPU_THROTTLE_TIMESLICE_US, 50),
                     0);
    /* Switching throttling off ends the sleep at once. */
    ck_assert_int_eq(pacer_throttle(&p, 3 * CPU_THROTTLE_TIMESLICE_US, 75),
                     6 * CPU_THROTTLE_TIMESLICE_US);
    ck_assert_int_eq(pacer_throttle(&p, 3 * CPU_THROTTLE_TIMESLICE_US, 0),
                     0);
}
END_TEST

START_TEST(test_throttle_clamp)
{
    ck_assert(!cpu_throttle_active());
    cpu_throttle_set(150);
    ck_assert_int_eq(cpu_throttle_get_percentage(), CPU_THROTTLE_PCT_MAX);
    cpu_throttle_set(0);
    ck_assert_int_eq(cpu_throttle_get_percentage(), CPU_THROTTLE_PCT_MIN);
    ck_assert(cpu_throttle_active());
    cpu_throttle_stop();
    ck_assert(!cpu_throttle_active());
}
END_TEST

/* Polls until every vCPU has written at least @writes pages. */
static void wait_writes(CounterDevice *counter, unsigned ncpus,
                        uint64_t writes)
{
    for (unsigned c = 0; c < ncpus; c++) {
        while (counter_device_get(counter, c) < writes) {
            g_usleep(1000);
        }
    }
}

START_TEST(test_threads_pause)
{
    g_autoptr(CounterDevice) counter = counter_device_new(2);
    g_autoptr(LogDevice) log = log_device_new();
    g_autoptr(LogRecordList) records = NULL;
    WorkloadConfig cfg = config(WORKLOAD_PATTERN_RANDOM,
                                WORKLOAD_CONTENT_RANDOM, 3);
    g_autofree char *d1 = NULL, *d2 = NULL, *d3 = NULL;
    uint64_t total;

    cfg.rate = 1024 * MiB;
    cpus_init(2, &cfg, counter, log);
    ck_assert_uint_eq(cpus_count(), 2);

    /* Parked at start: nothing is written. */
    pause_all_vcpus();
    ck_assert_uint_eq(counter_device_total(counter), 0);

    resume_all_vcpus();
    wait_writes(counter, 2, WORKLOAD_LOG_INTERVAL);
    pause_all_vcpus();

    /* Once pause_all_vcpus() returns, RAM and counters stay still. */
    total = counter_device_total(counter);
    d1 = ram_digest();
    g_usleep(20 * 1000);
    d2 = ram_digest();
    ck_assert_str_eq(d1, d2);
    ck_assert_uint_eq(counter_device_total(counter), total);
    ck_assert_uint_eq(counter_device_get(counter, 0) +
                      counter_device_get(counter, 1), total);

    /* Every 1024th write of a vCPU is logged. */
    records = log_device_query(log);
    ck_assert_ptr_nonnull(records);
    ck_assert(g_str_has_suffix(records->value->text, ": 1024 writes"));
    /* Each multiple of 1024 once, in order, though counted a batch of
     * pages at a time. */
    {
        uint64_t next[2] = { 1024, 1024 };

        for (LogRecordList *r = records; r; r = r->next) {
            unsigned cpu;
            uint64_t count;

            ck_assert_int_eq(sscanf(r->value->text, "vcpu %u: %" SCNu64
                                    " writes", &cpu, &count), 2);
            ck_assert_uint_lt(cpu, 2);
            ck_assert_uint_eq(count, next[cpu]);
            next[cpu] += 1024;
        }
    }

    /* Resuming continues the work. */
    resume_all_vcpus();
    wait_writes(counter, 2, total + 1);
    pause_all_vcpus();
    d3 = ram_digest();
    ck_assert_str_ne(d1, d3);

    /* rate 0: idle even while running. */
    cfg.rate = 0;
    cpus_set_workload(&cfg);
    resume_all_vcpus();
    g_usleep(20 * 1000);
    pause_all_vcpus();
    total = counter_device_total(counter);
    resume_all_vcpus();
    g_usleep(20 * 1000);
    ck_assert_uint_eq(counter_device_total(counter), total);

    cpus_cleanup();
    ck_assert_uint_eq(cpus_count(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("workload");
    TCase *gen = tcase_create("generator");
    TCase *threads = tcase_create("threads");
    SRunner *sr;

    tcase_add_checked_fixture(gen, setup, teardown);
    tcase_add_test(gen, test_config);
    tcase_add_test(gen, test_deterministic);
    tcase_add_test(gen, test_sequential);
    tcase_add_test(gen, test_hotset);
    tcase_add_test(gen, test_random);
    tcase_add_test(gen, test_sweep);
    tcase_add_test(gen, test_steps);
    tcase_add_test(gen, test_header);
    tcase_add_test(gen, test_contents);
    tcase_add_test(gen, test_pacer_rate);
    tcase_add_test(gen, test_pacer_throttle);
    suite_add_tcase(s, gen);
    tcase_add_checked_fixture(threads, setup, teardown);
    tcase_add_test(threads, test_throttle_clamp);
    tcase_add_test(threads, test_threads_pause);
    tcase_set_timeout(threads, 30);
    suite_add_tcase(s, threads);

    sr = srunner_create(s);
    /* Every test starts from a fresh process: the machine is global. */
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
