/*
 * Pacing of one vCPU: a token bucket that holds the workload to its rate,
 * and the sleep schedule of CPU throttling.
 *
 * Pure arithmetic on a clock the caller passes in (microseconds, e.g.
 * g_get_monotonic_time()), so tests can run it on a simulated clock.
 * The vCPU threads (cpus.c) call it in their loop:
 *
 *     until = pacer_throttle(&p, now, percent);
 *     if (until) -> sleep until @until
 *     n = pacer_take(&p, now, rate, max, &until);
 *     if (!n) -> sleep until @until, else write n pages
 */
#ifndef VMIG_SYSTEM_PACER_H
#define VMIG_SYSTEM_PACER_H

#include <stdint.h>

/* Throttled vCPUs run this long between sleeps (QEMU uses 10ms too). */
#define CPU_THROTTLE_TIMESLICE_US (10 * 1000)

typedef struct Pacer {
    double tokens;          /* bytes that may be written now */
    int64_t last_refill;    /* tokens are accounted up to this time */
    int64_t slice_end;      /* throttling: end of the running slice */
    int64_t throttle_start; /* throttling: the last sleep, from... */
    int64_t throttle_end;   /* ...to */
} Pacer;

/* Starts afresh at @now: no saved-up tokens, no throttling in progress. */
void pacer_reset(Pacer *p, int64_t now);

/*
 * Throttling at @percent (0: off): after every CPU_THROTTLE_TIMESLICE_US
 * of running, sleep so that @percent of the time is spent asleep.  Returns
 * the time to sleep until, or 0 if the vCPU may run now.  Time asleep earns
 * no tokens.
 */
int64_t pacer_throttle(Pacer *p, int64_t now, int percent);

/*
 * How many pages (at most @max) may be written at @now at @rate bytes per
 * second (nonzero); they are taken from the bucket.  Returns 0 and sets
 * *@wake to when the next page is due if none may be written yet.  The
 * bucket holds at most 10ms worth of writes (at least one page), so an
 * idle spell does not cause a burst.
 */
unsigned pacer_take(Pacer *p, int64_t now, uint64_t rate, unsigned max,
                    int64_t *wake);

#endif
