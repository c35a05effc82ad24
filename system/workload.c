/*
 * The synthetic workload's choices of page and content.
 * See include/system/workload.h.
 */
#include "system/workload.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "system/dirty-log.h"
#include "system/ram.h"
#include "util/cutils.h"
#include "util/tsan.h"

void workload_config_init(WorkloadConfig *cfg, uint64_t ram_size)
{
    *cfg = (WorkloadConfig){
        .rate = 0,
        .pattern = WORKLOAD_PATTERN_SEQUENTIAL,
        .content = WORKLOAD_CONTENT_TEXT,
        .hotset = MIN(WORKLOAD_DEFAULT_HOTSET, ram_size),
        .seed = 0,
    };
}

bool workload_config_apply(WorkloadConfig *cfg, const WorkloadOptions *opts,
                           uint64_t ram_size, Error **errp)
{
    if (opts->has_hotset) {
        if (opts->hotset == 0 || opts->hotset % GUEST_PAGE_SIZE) {
            error_setg(errp, "hotset %" PRIu64 " is not a nonzero multiple "
                       "of %u", opts->hotset, GUEST_PAGE_SIZE);
            return false;
        }
        if (opts->hotset > ram_size) {
            g_autofree char *hot = size_to_str(opts->hotset);
            g_autofree char *ram = size_to_str(ram_size);
            error_setg(errp, "hotset %s is larger than guest RAM (%s)", hot,
                       ram);
            return false;
        }
        cfg->hotset = opts->hotset;
    }
    if (opts->has_rate) {
        cfg->rate = opts->rate;
    }
    if (opts->has_pattern) {
        cfg->pattern = opts->pattern;
    }
    if (opts->has_content) {
        cfg->content = opts->content;
    }
    if (opts->has_seed) {
        cfg->seed = opts->seed;
    }
    return true;
}

/* splitmix64: tiny, fast, and good enough for picking pages and bytes. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) (multiply-shift: no modulo bias worth mentioning). */
static uint64_t rng_below(uint64_t *state, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(state) * n) >> 64);
}

static void gen_restart(WorkloadGen *g)
{
    uint64_t pages = ram_guest_size() / GUEST_PAGE_SIZE;

    /* Distinct, seed-dependent streams per vCPU. */
    g->rng = g->cfg.seed ^ ((uint64_t)g->cpu_index << 32 | g->cpu_index);
    rng_next(&g->rng);
    g->cursor = g->ncpus ? pages * g->cpu_index / g->ncpus : 0;
    g->writes = 0;
}

void workload_gen_init(WorkloadGen *g, const WorkloadConfig *cfg,
                       unsigned cpu_index, unsigned ncpus)
{
    g_assert(cpu_index < ncpus);
    *g = (WorkloadGen){ .cfg = *cfg, .cpu_index = cpu_index,
                        .ncpus = ncpus };
    gen_restart(g);
}

void workload_gen_update(WorkloadGen *g, const WorkloadConfig *cfg)
{
    bool reseed = g->cfg.seed != cfg->seed;

    g->cfg = *cfg;
    if (reseed) {
        gen_restart(g);
    }
}

static uint64_t pick_page(WorkloadGen *g, uint64_t pages)
{
    uint64_t page;

    switch (g->cfg.pattern) {
    case WORKLOAD_PATTERN_SEQUENTIAL:
        page = g->cursor % pages;
        g->cursor = page + 1;
        return page;
    case WORKLOAD_PATTERN_RANDOM:
        return rng_below(&g->rng, pages);
    case WORKLOAD_PATTERN_HOTSET:
        return rng_below(&g->rng,
                         MAX(MIN(g->cfg.hotset / GUEST_PAGE_SIZE, pages), 1));
    default:
        g_assert_not_reached();
    }
}

static const char *const words[] = {
    "the", "guest", "writes", "memory", "while", "it", "is", "migrated",
    "and", "every", "page", "that", "changes", "must", "be", "sent",
    "again", "so", "a", "busy", "machine", "dirties", "pages", "faster",
    "than", "network", "can", "carry", "them", "until", "throttled", "down",
};

/* English-like text: compresses well, yet differs from write to write
 * because of the header and the word choices. */
static void fill_text(WorkloadGen *g, uint8_t *page)
{
    size_t pos, line = 0;
    int n = snprintf((char *)page, GUEST_PAGE_SIZE,
                     "vcpu %u write %" PRIu64 " seed %" PRIu64 "\n",
                     g->cpu_index, g->writes, g->cfg.seed);

    pos = (size_t)n;
    while (pos < GUEST_PAGE_SIZE) {
        const char *w = words[rng_below(&g->rng, G_N_ELEMENTS(words))];
        size_t len = strlen(w);

        if (pos + len + 1 > GUEST_PAGE_SIZE) {
            break;
        }
        memcpy(page + pos, w, len);
        pos += len;
        line += len + 1;
        page[pos++] = line >= 72 ? '\n' : ' ';
        if (line >= 72) {
            line = 0;
        }
    }
    memset(page + pos, '\n', GUEST_PAGE_SIZE - pos);
}

static void fill_random(WorkloadGen *g, uint8_t *page)
{
    for (size_t i = 0; i < GUEST_PAGE_SIZE; i += 8) {
        uint64_t r = rng_next(&g->rng);
        memcpy(page + i, &r, 8);
    }
}

/* A few bytes change, the rest of the page stays as it was. */
static void fill_sparse(WorkloadGen *g, uint8_t *page)
{
    uint64_t word = rng_next(&g->rng);
    size_t at = rng_below(&g->rng, GUEST_PAGE_SIZE / 8) * 8;
    char head[64];
    int n = snprintf(head, sizeof(head), "vcpu %u write %" PRIu64
                     " seed %" PRIu64 "\n", g->cpu_index, g->writes,
                     g->cfg.seed);

    /* The header last: it always reads as in a text page. */
    memcpy(page + at, &word, sizeof(word));
    memcpy(page, head, MIN((size_t)n, sizeof(head) - 1));
}

uint64_t workload_gen_step(WorkloadGen *g)
{
    uint64_t pages = ram_guest_size() / GUEST_PAGE_SIZE;
    uint64_t offset;
    uint8_t *page;

    g_assert(pages > 0);
    offset = pick_page(g, pages) * GUEST_PAGE_SIZE;
    page = ram_guest_ptr(offset, GUEST_PAGE_SIZE);
    g_assert(page);

    /* These stores are the guest's: under KVM no sanitizer sees them, and
     * vCPUs may race on a page as a guest's threads may.  TSan still
     * checks vmig's own accesses to guest RAM against each other. */
    tsan_ignore_begin();
    switch (g->cfg.content) {
    case WORKLOAD_CONTENT_ZERO:
        memset(page, 0, GUEST_PAGE_SIZE);
        break;
    case WORKLOAD_CONTENT_TEXT:
        fill_text(g, page);
        break;
    case WORKLOAD_CONTENT_RANDOM:
        fill_random(g, page);
        break;
    case WORKLOAD_CONTENT_SPARSE:
        fill_sparse(g, page);
        break;
    default:
        g_assert_not_reached();
    }
    tsan_ignore_end();
    /* The software dirty log (system/dirty-log.c) learns of the write
     * here, after the stores. */
    dirty_log_note_write(offset, GUEST_PAGE_SIZE);
    g->writes++;
    return offset;
}
