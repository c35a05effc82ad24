/*
 * The synthetic workload's choices of page and content.
 * See include/system/workload.h.
 */
#include "system/workload.h"

#include <inttypes.h>
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

/* Pages of the hot set, at least one and at most the @pages of RAM. */
static uint64_t hot_pages(const WorkloadGen *g, uint64_t pages)
{
    return MAX(MIN(g->cfg.hotset / GUEST_PAGE_SIZE, pages), 1);
}

/* The pages the cursor of 'sequential' or 'sweep' walks. */
static uint64_t walked_pages(const WorkloadGen *g, uint64_t pages)
{
    return g->cfg.pattern == WORKLOAD_PATTERN_SWEEP ? hot_pages(g, pages)
                                                    : pages;
}

static void gen_restart(WorkloadGen *g)
{
    uint64_t pages = ram_guest_size() / GUEST_PAGE_SIZE;

    /* Distinct, seed-dependent streams per vCPU. */
    g->rng = g->cfg.seed ^ ((uint64_t)g->cpu_index << 32 | g->cpu_index);
    rng_next(&g->rng);
    g->cursor = g->ncpus ? walked_pages(g, pages) * g->cpu_index / g->ncpus
                         : 0;
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

/* The cursor's page, then the cursor moves on, wrapping at @span (a
 * compare, not a division: this is per page). */
static uint64_t walk(WorkloadGen *g, uint64_t span)
{
    uint64_t page = g->cursor < span ? g->cursor : 0;

    g->cursor = page + 1;
    return page;
}

static uint64_t pick_page(WorkloadGen *g, uint64_t pages)
{
    switch (g->cfg.pattern) {
    case WORKLOAD_PATTERN_SEQUENTIAL:
    case WORKLOAD_PATTERN_SWEEP:
        return walk(g, walked_pages(g, pages));
    case WORKLOAD_PATTERN_RANDOM:
        return rng_below(&g->rng, pages);
    case WORKLOAD_PATTERN_HOTSET:
        return rng_below(&g->rng, hot_pages(g, pages));
    default:
        g_assert_not_reached();
    }
}

/* Each word padded to WORD_COPY bytes: copying a fixed size compiles to
 * one vector store, where a call to memcpy() per word cost most of a
 * text page. */
#define WORD_COPY 16
#define WORD(s) { s, sizeof(s) - 1 }
static const struct {
    char text[WORD_COPY];
    size_t len;
} words[] = {
    WORD("the"), WORD("guest"), WORD("writes"), WORD("memory"),
    WORD("while"), WORD("it"), WORD("is"), WORD("migrated"),
    WORD("and"), WORD("every"), WORD("page"), WORD("that"),
    WORD("changes"), WORD("must"), WORD("be"), WORD("sent"),
    WORD("again"), WORD("so"), WORD("a"), WORD("busy"),
    WORD("machine"), WORD("dirties"), WORD("pages"), WORD("faster"),
    WORD("than"), WORD("network"), WORD("can"), WORD("carry"),
    WORD("them"), WORD("until"), WORD("throttled"), WORD("down"),
};
#undef WORD
/* A word is 5 bits of a random number: 12 words per rng_next(). */
#define WORD_CHOICE_BITS 5
G_STATIC_ASSERT(G_N_ELEMENTS(words) == 1u << WORD_CHOICE_BITS);

/* The longest header: "vcpu " u32 " write " u64 " seed " u64 "\n". */
#define HEADER_MAX (5 + 10 + 7 + 20 + 6 + 20 + 1)

static char *put_u64(char *p, uint64_t v)
{
    char digits[20];
    int n = 0;

    do {
        digits[n++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (n) {
        *p++ = digits[--n];
    }
    return p;
}

/* "vcpu C write W seed S\n" at @buf (HEADER_MAX bytes), returns its
 * length.  By hand: snprintf() cost more than all of a sparse write. */
static size_t put_header(const WorkloadGen *g, char *buf)
{
    char *p = buf;

    memcpy(p, "vcpu ", 5);
    p = put_u64(p + 5, g->cpu_index);
    memcpy(p, " write ", 7);
    p = put_u64(p + 7, g->writes);
    memcpy(p, " seed ", 6);
    p = put_u64(p + 6, g->cfg.seed);
    *p++ = '\n';
    return p - buf;
}

/* English-like text: compresses well, yet differs from write to write
 * because of the header and the word choices. */
static void fill_text(WorkloadGen *g, uint8_t *page)
{
    size_t pos = put_header(g, (char *)page), line = 0;
    uint64_t choices = 0;
    unsigned left = 0;

    while (pos < GUEST_PAGE_SIZE) {
        size_t len;

        if (!left) {
            choices = rng_next(&g->rng);
            left = 64 / WORD_CHOICE_BITS;
        }
        len = words[choices % G_N_ELEMENTS(words)].len;
        if (pos + len + 1 > GUEST_PAGE_SIZE) {
            break;
        }
        /* The padding past the word is overwritten by what follows. */
        if (pos + WORD_COPY <= GUEST_PAGE_SIZE) {
            memcpy(page + pos, words[choices % G_N_ELEMENTS(words)].text,
                   WORD_COPY);
        } else {
            memcpy(page + pos, words[choices % G_N_ELEMENTS(words)].text,
                   len);
        }
        choices >>= WORD_CHOICE_BITS;
        left--;
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
    char head[HEADER_MAX];
    size_t n = put_header(g, head);

    /* The header last: it always reads as in a text page (its first 63
     * bytes: the rest of the page is the program's). */
    memcpy(page + at, &word, sizeof(word));
    memcpy(page, head, MIN(n, 63));
}

/* Writes one page, not yet noted in the software dirty log. */
static uint64_t write_page(WorkloadGen *g, uint64_t pages)
{
    uint64_t offset = pick_page(g, pages) * GUEST_PAGE_SIZE;
    uint8_t *page = ram_guest_ptr(offset, GUEST_PAGE_SIZE);

    g_assert(page);
    /* These stores are the guest's: under KVM no sanitizer sees them, and
     * vCPUs may race on a page as a guest's threads may.  TSan still
     * checks vmig's own accesses to guest RAM against each other. */
    tsan_ignore_begin();
    if (g->cfg.pattern == WORKLOAD_PATTERN_SWEEP) {
        page[0]++;
    } else {
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
    }
    tsan_ignore_end();
    g->writes++;
    return offset;
}

uint64_t workload_gen_step(WorkloadGen *g)
{
    uint64_t pages = ram_guest_size() / GUEST_PAGE_SIZE;
    uint64_t offset;

    g_assert(pages > 0);
    offset = write_page(g, pages);
    /* The software dirty log (system/dirty-log.c) learns of the write
     * here, after the stores. */
    dirty_log_note_write(offset, GUEST_PAGE_SIZE);
    return offset;
}

void workload_gen_steps(WorkloadGen *g, unsigned n)
{
    uint64_t pages = ram_guest_size() / GUEST_PAGE_SIZE;
    uint64_t run = 0, run_len = 0;     /* written, not noted yet */

    g_assert(pages > 0);
    for (unsigned i = 0; i < n; i++) {
        uint64_t offset = write_page(g, pages);

        if (run_len && offset == run + run_len) {
            run_len += GUEST_PAGE_SIZE;
            continue;
        }
        if (run_len) {
            dirty_log_note_write(run, run_len);
        }
        run = offset;
        run_len = GUEST_PAGE_SIZE;
    }
    if (run_len) {
        dirty_log_note_write(run, run_len);
    }
}
