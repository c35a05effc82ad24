/*
 * Migration progress as text (see ctl-progress.h).  Everything here is
 * a pure function of its arguments: the polling, the terminal and the
 * clock belong to ctl-migrate.c.
 */
#include "ctl-progress.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#define BAR_WIDTH 20
/* Narrower than this, a bar says nothing: leave it out. */
#define BAR_MIN_WIDTH 5

static bool get_int(json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v)) {
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

static void parse_multifd(json_t *obj, CtlMultifd *m)
{
    json_t *list = json_object_get(obj, "channel-bytes");
    json_t *v;

    get_int(obj, "channels", &m->channels);
    get_int(obj, "packets", &m->packets);
    if (json_is_array(list)) {
        m->n_channel_bytes = json_array_size(list);
        m->channel_bytes = g_new0(int64_t, m->n_channel_bytes);
        for (size_t i = 0; i < m->n_channel_bytes; i++) {
            v = json_array_get(list, i);
            if (json_is_integer(v)) {
                m->channel_bytes[i] = json_integer_value(v);
            }
        }
    }
    /* Both or neither: a before without an after says nothing. */
    m->has_compression =
        get_int(obj, "uncompressed-bytes", &m->uncompressed_bytes) &&
        get_int(obj, "compressed-bytes", &m->compressed_bytes);
    v = json_object_get(obj, "compression-ratio");
    if (m->has_compression && json_is_number(v)) {
        m->has_ratio = true;
        m->ratio = json_number_value(v);
    }
}

/* A copy of string member @key of @obj, NULL if absent or mistyped. */
static char *get_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? g_strdup(json_string_value(v)) : NULL;
}

bool ctl_mig_info_parse(json_t *ret, CtlMigInfo *info)
{
    json_t *ram, *v;

    memset(info, 0, sizeof(*info));
    if (!json_is_object(ret)) {
        return false;
    }
    v = json_object_get(ret, "status");
    if (json_is_string(v)) {
        info->status = g_strdup(json_string_value(v));
    }
    v = json_object_get(ret, "error-desc");
    if (json_is_string(v)) {
        info->error_desc = g_strdup(json_string_value(v));
    }
    info->dry_run = json_is_true(json_object_get(ret, "dry-run"));
    info->has_total_time = get_int(ret, "total-time", &info->total_time);
    info->has_setup_time = get_int(ret, "setup-time", &info->setup_time);
    info->has_downtime = get_int(ret, "downtime", &info->downtime);
    info->has_expected_downtime = get_int(ret, "expected-downtime",
                                          &info->expected_downtime);
    info->has_throttle = get_int(ret, "cpu-throttle-percentage",
                                 &info->throttle);

    ram = json_object_get(ret, "ram");
    if (json_is_object(ram)) {
        info->has_ram = true;
        get_int(ram, "transferred", &info->transferred);
        get_int(ram, "remaining", &info->remaining);
        get_int(ram, "total", &info->total);
        get_int(ram, "iteration", &info->iteration);
        get_int(ram, "dirty-sync-count", &info->dirty_sync_count);
        get_int(ram, "postcopy-requests", &info->postcopy_requests);
        get_int(ram, "postcopy-preempt-pages",
                &info->postcopy_preempt_pages);
        v = json_object_get(ram, "mbps");
        if (json_is_number(v)) {
            info->mbps = json_number_value(v);
        }
    }
    v = json_object_get(ret, "multifd");
    if (json_is_object(v)) {
        info->has_multifd = true;
        parse_multifd(v, &info->multifd);
    }
    v = json_object_get(ret, "tls");
    if (json_is_object(v)) {
        info->has_tls = true;
        info->tls.kind = get_str(v, "kind");
        info->tls.protocol = get_str(v, "protocol");
        info->tls.cipher = get_str(v, "cipher");
        info->tls.peer_identity = get_str(v, "peer-identity");
    }
    info->has_blocktime = get_int(ret, "postcopy-blocktime",
                                  &info->blocktime);
    v = json_object_get(ret, "postcopy-latency");
    if (json_is_object(v)) {
        info->has_latency = true;
        get_int(v, "count", &info->latency_count);
        get_int(v, "p50", &info->latency_p50);
        get_int(v, "p99", &info->latency_p99);
        get_int(v, "max", &info->latency_max);
    }
    v = json_object_get(ret, "xbzrle-cache");
    if (json_is_object(v)) {
        info->has_xbzrle = true;
        get_int(v, "cache-size", &info->xbzrle.cache_size);
        get_int(v, "pages", &info->xbzrle.pages);
        get_int(v, "bytes", &info->xbzrle.bytes);
        get_int(v, "cache-miss", &info->xbzrle.cache_miss);
        get_int(v, "overflow", &info->xbzrle.overflow);
    }
    return true;
}

void ctl_mig_info_clear(CtlMigInfo *info)
{
    g_free(info->status);
    g_free(info->error_desc);
    g_free(info->multifd.channel_bytes);
    g_free(info->compression);
    g_free(info->tls.kind);
    g_free(info->tls.protocol);
    g_free(info->tls.cipher);
    g_free(info->tls.peer_identity);
    memset(info, 0, sizeof(*info));
}

void ctl_mig_info_set_config(CtlMigInfo *info, json_t *config)
{
    json_t *v = json_object_get(config, "multifd-compression");

    g_clear_pointer(&info->compression, g_free);
    if (json_is_string(v) && strcmp(json_string_value(v), "none")) {
        info->compression = g_strdup(json_string_value(v));
    }
}

bool ctl_mig_status_is_final(const char *status)
{
    return status && (!strcmp(status, "completed") ||
                      !strcmp(status, "failed") ||
                      !strcmp(status, "cancelled"));
}

char *ctl_fmt_bytes(double bytes)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
    unsigned i = 0;

    if (bytes < 1024) {
        return g_strdup_printf("%.0f B", bytes < 0 ? 0 : bytes);
    }
    bytes /= 1024;
    while (i + 1 < G_N_ELEMENTS(units) && bytes >= 1024) {
        bytes /= 1024;
        i++;
    }
    /* GiB and up need the second decimal: 1.5 vs 1.55 GiB matters. */
    return g_strdup_printf(i >= 2 ? "%.2f %s" : "%.1f %s", bytes, units[i]);
}

char *ctl_fmt_rate(double bytes_per_sec)
{
    const double gib = 1024.0 * 1024 * 1024;

    if (bytes_per_sec >= gib) {
        return g_strdup_printf("%.2f GiB/s", bytes_per_sec / gib);
    }
    return g_strdup_printf("%.1f MiB/s", bytes_per_sec / (1024.0 * 1024));
}

char *ctl_fmt_clock(int64_t ms)
{
    int64_t s = ms < 0 ? 0 : ms / 1000;

    if (s >= 3600) {
        return g_strdup_printf("%" PRId64 ":%02d:%02d", s / 3600,
                               (int)(s / 60 % 60), (int)(s % 60));
    }
    return g_strdup_printf("%02d:%02d", (int)(s / 60), (int)(s % 60));
}

char *ctl_fmt_ratio(double ratio)
{
    return g_strdup_printf("%.1fx", ratio);
}

/* Share of guest RAM not waiting to be sent, in [0, 1]. */
static double done_fraction(const CtlMigInfo *info)
{
    double done;

    if (info->total <= 0) {
        return 0;
    }
    done = (double)(info->total - info->remaining) / info->total;
    return done < 0 ? 0 : done > 1 ? 1 : done;
}

/* The pass number, for engines that only count dirty-log syncs. */
static int64_t iterations(const CtlMigInfo *info)
{
    return info->iteration > 0 ? info->iteration : info->dirty_sync_count;
}

/*
 * "zstd 3.1x", "zstd" (nothing compressed yet) or "3.1x" (method not
 * known); NULL when there is nothing to say.  The method only when the
 * figures say the pages are compressed: the configuration may have
 * changed since.
 */
static char *compression_brief(const CtlMigInfo *info)
{
    const CtlMultifd *m = &info->multifd;
    g_autofree char *ratio = m->has_ratio ? ctl_fmt_ratio(m->ratio) : NULL;
    const char *method = m->has_compression ? info->compression : NULL;

    if (method && ratio) {
        return g_strdup_printf("%s %s", method, ratio);
    }
    return g_strdup(method ? method : ratio);
}

/* " | 4 ch, zstd 3.1x" */
static void append_multifd_brief(GString *s, const CtlMigInfo *info)
{
    g_autofree char *comp = compression_brief(info);

    g_string_append_printf(s, " | %" PRId64 " ch%s%s",
                           info->multifd.channels, comp ? ", " : "",
                           comp ? comp : "");
}

/* Everything after the bar, each part starting with " | ". */
static void append_details(GString *s, const CtlMigInfo *info, double rate)
{
    if (info->has_ram) {
        g_autofree char *sent = ctl_fmt_bytes(info->transferred);
        g_autofree char *left = ctl_fmt_bytes(info->remaining);
        g_string_append_printf(s, " | %s sent, %s left", sent, left);
    }
    if (rate >= 0) {
        g_autofree char *r = ctl_fmt_rate(rate);
        g_string_append_printf(s, " | %s", r);
    }
    if (info->has_ram) {
        g_string_append_printf(s, " | iter %" PRId64, iterations(info));
    }
    if (info->has_expected_downtime) {
        g_string_append_printf(s, " | exp. downtime %" PRId64 " ms",
                               info->expected_downtime);
    }
    if (info->has_throttle) {
        g_string_append_printf(s, " | throttle %" PRId64 "%%",
                               info->throttle);
    }
}

char *ctl_mig_progress_line(const CtlMigInfo *info, double rate,
                            int64_t elapsed_ms, int width)
{
    g_autofree char *clock = ctl_fmt_clock(info->has_total_time ?
                                           info->total_time : elapsed_ms);
    GString *head = g_string_new(NULL);
    g_autoptr(GString) tail = g_string_new(NULL);
    g_autoptr(GString) extra = g_string_new(NULL);
    bool bar = info->has_ram && info->total > 0;
    double done = done_fraction(info);
    int bar_width = BAR_WIDTH;

    g_string_append_printf(head, "%s %s", clock,
                           info->status ? info->status : "none");
    if (bar) {
        /* Floor, so 100% means nothing at all is left. */
        int pct = (int)(done * 100);
        if (pct == 100 && info->remaining > 0) {
            pct = 99;
        }
        g_string_append_printf(tail, " %3d%%", pct);
    }
    append_details(tail, info, rate);
    if (info->has_multifd) {
        append_multifd_brief(extra, info);
    }

    /* The multifd part comes whole or not at all: cut, "zstd 1" would
     * read as a ratio of 1 when it is 12.5x.  It goes after the bar. */
    if (width > 0 && head->len + tail->len + extra->len > (gsize)width) {
        g_string_truncate(extra, 0);
    }
    g_string_append_len(tail, extra->str, extra->len);

    if (bar && width > 0) {
        /* " [" + bar + "]" takes bar_width + 3 columns. */
        int room = width - (int)head->len - (int)tail->len - 3;
        bar_width = MIN(room, BAR_WIDTH);
        if (bar_width < BAR_MIN_WIDTH) {
            bar_width = 0;
        }
    }
    if (bar && bar_width > 0) {
        int filled = (int)(done * bar_width);
        g_string_append(head, " [");
        for (int i = 0; i < bar_width; i++) {
            g_string_append_c(head, i < filled ? '#' : '-');
        }
        g_string_append_c(head, ']');
    }
    g_string_append_len(head, tail->str, tail->len);
    if (width > 0 && head->len > (gsize)width) {
        g_string_truncate(head, width);
    }
    return g_string_free(head, FALSE);
}

static void append_ms(GString *s, const char *label, int64_t ms)
{
    g_string_append_printf(s, "  %-13s%" PRId64 " ms\n", label, ms);
}

static const char *plural(int64_t n)
{
    return n == 1 ? "" : "s";
}

/*
 *   multifd      3 channels, 1200 packets
 *   channel 0    10.0 MiB (33.4%)
 *   ...
 *   compression  zlib 3.1x: 30.0 MiB -> 9.7 MiB
 */
static void append_multifd_summary(GString *s, const CtlMigInfo *info)
{
    const CtlMultifd *m = &info->multifd;
    double sum = 0;

    g_string_append_printf(s, "  %-13s%" PRId64 " channel%s, %" PRId64
                           " packet%s\n", "multifd", m->channels,
                           plural(m->channels), m->packets,
                           plural(m->packets));
    for (size_t i = 0; i < m->n_channel_bytes; i++) {
        sum += m->channel_bytes[i];
    }
    for (size_t i = 0; i < m->n_channel_bytes; i++) {
        g_autofree char *label = g_strdup_printf("channel %zu", i);
        g_autofree char *bytes = ctl_fmt_bytes(m->channel_bytes[i]);

        g_string_append_printf(s, "  %-13s%s", label, bytes);
        /* No share of nothing: a channel that never connected. */
        if (sum > 0) {
            g_string_append_printf(s, " (%.1f%%)",
                                   m->channel_bytes[i] * 100.0 / sum);
        }
        g_string_append_c(s, '\n');
    }
    if (m->has_compression) {
        g_autofree char *comp = compression_brief(info);
        g_autofree char *before = ctl_fmt_bytes(m->uncompressed_bytes);
        g_autofree char *after = ctl_fmt_bytes(m->compressed_bytes);

        g_string_append_printf(s, "  %-13s%s%s%s -> %s\n", "compression",
                               comp ? comp : "", comp ? ": " : "",
                               before, after);
    }
}

/*
 *   xbzrle       1200 pages as 1.2 MiB of deltas, 35 cache misses,
 *                3 overflows (cache 64.0 MiB)
 */
static void append_xbzrle_summary(GString *s, const CtlXbzrle *x)
{
    g_autofree char *bytes = ctl_fmt_bytes(x->bytes);
    g_autofree char *size = ctl_fmt_bytes(x->cache_size);

    g_string_append_printf(s, "  %-13s%" PRId64 " page%s as %s of deltas, %"
                           PRId64 " cache miss%s,\n", "xbzrle", x->pages,
                           plural(x->pages), bytes, x->cache_miss,
                           x->cache_miss == 1 ? "" : "es");
    g_string_append_printf(s, "  %-13s%" PRId64 " overflow%s (cache %s)\n",
                           "", x->overflow, plural(x->overflow), size);
}

/*
 *   postcopy     412 pages requested (398 on the preempt channel),
 *                vCPUs all blocked 35 ms    (one line)
 *   faults       412, latency p50 0.31 ms, p99 2.10 ms, max 8.00 ms
 */
static void append_postcopy_summary(GString *s, const CtlMigInfo *info)
{
    g_string_append_printf(s, "  %-13s%" PRId64 " page%s requested",
                           "postcopy", info->postcopy_requests,
                           plural(info->postcopy_requests));
    if (info->postcopy_preempt_pages) {
        g_string_append_printf(s, " (%" PRId64 " on the preempt channel)",
                               info->postcopy_preempt_pages);
    }
    if (info->has_blocktime) {
        g_string_append_printf(s, ", vCPUs all blocked %" PRId64 " ms",
                               info->blocktime);
    }
    g_string_append_c(s, '\n');
    if (info->has_latency) {
        g_string_append_printf(s, "  %-13s%" PRId64 ", latency p50 %.2f ms, "
                               "p99 %.2f ms, max %.2f ms\n", "faults",
                               info->latency_count,
                               info->latency_p50 / 1000.0,
                               info->latency_p99 / 1000.0,
                               info->latency_max / 1000.0);
    }
}

/*
 *   encrypted    TLS1.3, AES-256-GCM (x509), peer CN=src,O=Example
 */
static void append_tls_summary(GString *s, const CtlTls *t)
{
    g_string_append_printf(s, "  %-13s%s, %s (%s)", "encrypted",
                           t->protocol ? t->protocol : "TLS",
                           t->cipher ? t->cipher : "unknown cipher",
                           t->kind ? t->kind : "unknown");
    if (t->peer_identity) {
        g_string_append_printf(s, ", peer %s", t->peer_identity);
    }
    g_string_append_c(s, '\n');
}

char *ctl_mig_summary(const CtlMigInfo *info)
{
    GString *s = g_string_new(NULL);
    const char *status = info->status ? info->status : "none";
    const char *what = info->dry_run ? "Dry run" : "Migration";

    if (!strcmp(status, "none")) {
        g_string_append(s, "No migration has run\n");
        return g_string_free(s, FALSE);
    }
    if (info->dry_run && !strcmp(status, "completed")) {
        g_string_append(s, "Dry run completed: the destination accepts "
                        "this migration\n");
    } else if (!strcmp(status, "failed") && info->error_desc) {
        g_string_append_printf(s, "%s failed: %s\n", what, info->error_desc);
    } else {
        g_string_append_printf(s, "%s %s\n", what, status);
    }

    if (info->has_total_time) {
        g_string_append_printf(s, "  %-13s%.2f s", "total time",
                               info->total_time / 1000.0);
        if (info->has_setup_time) {
            g_string_append_printf(s, " (setup %" PRId64 " ms)",
                                   info->setup_time);
        }
        g_string_append_c(s, '\n');
    }
    if (info->has_downtime) {
        append_ms(s, "downtime", info->downtime);
    }
    if (info->has_ram) {
        g_autofree char *sent = ctl_fmt_bytes(info->transferred);
        g_autofree char *total = ctl_fmt_bytes(info->total);
        g_string_append_printf(s, "  %-13s%s (guest RAM %s)\n",
                               "transferred", sent, total);
        g_string_append_printf(s, "  %-13s%" PRId64 " (dirty syncs %" PRId64
                               ")\n", "iterations", iterations(info),
                               info->dirty_sync_count);
        if (info->has_total_time && info->total_time > 0) {
            g_autofree char *avg = ctl_fmt_rate(info->transferred * 1000.0 /
                                                info->total_time);
            g_string_append_printf(s, "  %-13s%s average\n", "throughput",
                                   avg);
        }
    }
    if (info->has_multifd) {
        append_multifd_summary(s, info);
    }
    if (info->has_xbzrle) {
        append_xbzrle_summary(s, &info->xbzrle);
    }
    if (info->postcopy_requests || info->has_latency) {
        append_postcopy_summary(s, info);
    }
    if (info->has_tls) {
        append_tls_summary(s, &info->tls);
    }
    return g_string_free(s, FALSE);
}
