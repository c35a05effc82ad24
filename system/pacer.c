/*
 * vCPU pacing: token bucket and throttling.  See include/system/pacer.h.
 */
#include "system/pacer.h"

#include <glib.h>

#include "system/ram.h"

void pacer_reset(Pacer *p, int64_t now)
{
    *p = (Pacer){ .tokens = 0, .last_refill = now };
}

int64_t pacer_throttle(Pacer *p, int64_t now, int percent)
{
    if (percent <= 0) {
        p->slice_end = p->throttle_end = 0;
        return 0;
    }
    g_assert(percent < 100);
    if (p->slice_end == 0) {
        p->slice_end = now + CPU_THROTTLE_TIMESLICE_US;
    }
    if (now >= p->slice_end) {
        /* Sleep s so that s / (slice + s) == percent / 100. */
        p->throttle_start = now;
        p->throttle_end = now + (int64_t)CPU_THROTTLE_TIMESLICE_US *
                                percent / (100 - percent);
        p->slice_end = p->throttle_end + CPU_THROTTLE_TIMESLICE_US;
    }
    return now < p->throttle_end ? p->throttle_end : 0;
}

unsigned pacer_take(Pacer *p, int64_t now, uint64_t rate, unsigned max,
                    int64_t *wake)
{
    double burst = MAX((double)GUEST_PAGE_SIZE, rate / 100.0);
    unsigned n;

    g_assert(rate > 0 && max > 0);
    if (now > p->last_refill) {
        int64_t credit = now - p->last_refill;

        /* A throttling sleep since the last refill earns nothing.  (There
         * is at most one: the caller takes after every sleep.) */
        if (p->throttle_end > p->last_refill && p->throttle_end <= now) {
            credit -= p->throttle_end - MAX(p->throttle_start,
                                            p->last_refill);
        }
        p->tokens += (double)rate * credit / G_USEC_PER_SEC;
        p->tokens = MIN(p->tokens, burst);
        p->last_refill = now;
    }
    if (p->tokens < GUEST_PAGE_SIZE) {
        double wait_us = (GUEST_PAGE_SIZE - p->tokens) * G_USEC_PER_SEC /
                         rate;
        /* Round up, so that at @wake the page is really due. */
        *wake = now + (int64_t)wait_us + 1;
        return 0;
    }
    n = MIN((uint64_t)(p->tokens / GUEST_PAGE_SIZE), max);
    p->tokens -= (double)n * GUEST_PAGE_SIZE;
    return n;
}
