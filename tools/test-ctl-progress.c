/*
 * Unit tests for tools/ctl-progress.c: parsing query-migrate results and
 * the progress line and summary vmig-ctl prints from them.
 */
#include <check.h>
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>

#include "ctl-progress.h"

#define MiB (1024 * 1024)

static void str_is(char *got, const char *want)
{
    ck_assert_str_eq(got, want);
    g_free(got);
}

/* Whether the summary of @info has @want in it is @has. */
static void summary_has(const CtlMigInfo *info, const char *want, bool has)
{
    g_autofree char *got = ctl_mig_summary(info);

    ck_assert_msg(!strstr(got, want) == !has, "%s", got);
}

/* Parses @json (a query-migrate return value) into @info. */
static void parse(const char *json, CtlMigInfo *info)
{
    json_error_t jerr;
    json_t *ret = json_loads(json, 0, &jerr);

    ck_assert_msg(ret, "bad test JSON: %s", jerr.text);
    ck_assert(ctl_mig_info_parse(ret, info));
    json_decref(ret);
}

START_TEST(test_bytes)
{
    str_is(ctl_fmt_bytes(0), "0 B");
    str_is(ctl_fmt_bytes(1023), "1023 B");
    str_is(ctl_fmt_bytes(1024), "1.0 KiB");
    str_is(ctl_fmt_bytes(1536), "1.5 KiB");
    str_is(ctl_fmt_bytes(512.0 * MiB), "512.0 MiB");
    str_is(ctl_fmt_bytes(1024.0 * MiB), "1.00 GiB");
    str_is(ctl_fmt_bytes(1.5 * 1024 * MiB), "1.50 GiB");
    str_is(ctl_fmt_bytes(3.0 * 1024 * 1024 * MiB), "3.00 TiB");
    str_is(ctl_fmt_bytes(-5), "0 B");
}
END_TEST

START_TEST(test_rate)
{
    str_is(ctl_fmt_rate(0), "0.0 MiB/s");
    str_is(ctl_fmt_rate(128.0 * MiB), "128.0 MiB/s");
    str_is(ctl_fmt_rate(1023.9 * MiB), "1023.9 MiB/s");
    str_is(ctl_fmt_rate(1024.0 * MiB), "1.00 GiB/s");
    str_is(ctl_fmt_rate(2.5 * 1024 * MiB), "2.50 GiB/s");
}
END_TEST

START_TEST(test_clock)
{
    str_is(ctl_fmt_clock(0), "00:00");
    str_is(ctl_fmt_clock(999), "00:00");
    str_is(ctl_fmt_clock(4200), "00:04");
    str_is(ctl_fmt_clock(65000), "01:05");
    str_is(ctl_fmt_clock(3600000 + 62000), "1:01:02");
    str_is(ctl_fmt_clock(-1), "00:00");
}
END_TEST

START_TEST(test_parse)
{
    g_auto(CtlMigInfo) info = { 0 };

    parse("{\"status\": \"active\", \"total-time\": 1203, "
          "\"setup-time\": 3, \"expected-downtime\": 210, "
          "\"cpu-throttle-percentage\": 20, "
          "\"ram\": {\"transferred\": 1000, \"remaining\": 2000, "
          "\"total\": 4096, \"iteration\": 2, \"dirty-sync-count\": 3, "
          "\"mbps\": 8.5}}", &info);
    ck_assert_str_eq(info.status, "active");
    ck_assert(info.has_ram);
    ck_assert_int_eq(info.transferred, 1000);
    ck_assert_int_eq(info.remaining, 2000);
    ck_assert_int_eq(info.total, 4096);
    ck_assert_int_eq(info.iteration, 2);
    ck_assert_int_eq(info.dirty_sync_count, 3);
    ck_assert(info.mbps == 8.5);
    ck_assert(info.has_total_time && info.total_time == 1203);
    ck_assert(info.has_setup_time && info.setup_time == 3);
    ck_assert(info.has_expected_downtime && info.expected_downtime == 210);
    ck_assert(info.has_throttle && info.throttle == 20);
    ck_assert(!info.has_downtime);
    ck_assert(!info.dry_run);
    ck_assert_ptr_null(info.error_desc);
    ctl_mig_info_clear(&info);

    /* {} is what a machine that never migrated answers. */
    parse("{}", &info);
    ck_assert_ptr_null(info.status);
    ck_assert(!info.has_ram && !info.has_total_time);
    ctl_mig_info_clear(&info);

    /* Mistyped members are ignored rather than trusted. */
    parse("{\"status\": 3, \"total-time\": \"x\", \"ram\": []}", &info);
    ck_assert_ptr_null(info.status);
    ck_assert(!info.has_ram && !info.has_total_time);

    ck_assert(!ctl_mig_info_parse(NULL, &info));
}
END_TEST

START_TEST(test_final)
{
    ck_assert(ctl_mig_status_is_final("completed"));
    ck_assert(ctl_mig_status_is_final("failed"));
    ck_assert(ctl_mig_status_is_final("cancelled"));
    ck_assert(!ctl_mig_status_is_final("active"));
    ck_assert(!ctl_mig_status_is_final("cancelling"));
    ck_assert(!ctl_mig_status_is_final("device"));
    ck_assert(!ctl_mig_status_is_final("none"));
    ck_assert(!ctl_mig_status_is_final(NULL));
}
END_TEST

static const char active_json[] =
    "{\"status\": \"active\", \"total-time\": 4200, "
    "\"expected-downtime\": 45, \"cpu-throttle-percentage\": 0, "
    "\"ram\": {\"transferred\": 241172480, \"remaining\": 268435456, "
    "\"total\": 536870912, \"iteration\": 2, \"dirty-sync-count\": 2}}";

START_TEST(test_line)
{
    g_auto(CtlMigInfo) info = { 0 };

    parse(active_json, &info);
    /* Half of RAM is left: the bar is half full. */
    str_is(ctl_mig_progress_line(&info, 128.0 * MiB, 0, 0),
           "00:04 active [##########----------]  50% | 230.0 MiB sent, "
           "256.0 MiB left | 128.0 MiB/s | iter 2 | exp. downtime 45 ms | "
           "throttle 0%");
    /* Unknown rate: left out, not shown as 0. */
    str_is(ctl_mig_progress_line(&info, -1, 0, 0),
           "00:04 active [##########----------]  50% | 230.0 MiB sent, "
           "256.0 MiB left | iter 2 | exp. downtime 45 ms | throttle 0%");
}
END_TEST

START_TEST(test_line_width)
{
    g_auto(CtlMigInfo) info = { 0 };
    g_autofree char *full = NULL;
    char *line;

    parse(active_json, &info);
    full = ctl_mig_progress_line(&info, 128.0 * MiB, 0, 0);

    /* A little narrower: the bar shrinks, the figures stay whole. */
    line = ctl_mig_progress_line(&info, 128.0 * MiB, 0, strlen(full) - 10);
    ck_assert_uint_eq(strlen(line), strlen(full) - 10);
    ck_assert_msg(strstr(line, " [#####-----]  50% |"), "%s", line);
    ck_assert_msg(g_str_has_suffix(line, "throttle 0%"), "%s", line);
    g_free(line);

    /* 80 columns: no room for a bar, the end is cut. */
    line = ctl_mig_progress_line(&info, 128.0 * MiB, 0, 80);
    ck_assert_uint_eq(strlen(line), 80);
    ck_assert_msg(g_str_has_prefix(line, "00:04 active  50% | 230.0 MiB"),
                  "%s", line);
    g_free(line);
}
END_TEST

START_TEST(test_line_edges)
{
    g_auto(CtlMigInfo) info = { 0 };

    /* Before any memory moves: state and clock only; the clock is the
     * caller's when vmig gives no total-time. */
    parse("{\"status\": \"setup\"}", &info);
    str_is(ctl_mig_progress_line(&info, -1, 1500, 0), "00:01 setup");
    ctl_mig_info_clear(&info);

    /* A few pages left is not 100%; an engine without "iteration"
     * shows its dirty-sync-count. */
    parse("{\"status\": \"device\", \"total-time\": 0, \"ram\": "
          "{\"transferred\": 1, \"remaining\": 4096, "
          "\"total\": 1073741824, \"dirty-sync-count\": 7}}", &info);
    str_is(ctl_mig_progress_line(&info, -1, 0, 0),
           "00:00 device [###################-]  99% | 1 B sent, "
           "4.0 KiB left | iter 7");
    ctl_mig_info_clear(&info);

    parse("{\"status\": \"completed\", \"ram\": {\"transferred\": 10, "
          "\"remaining\": 0, \"total\": 4096, \"iteration\": 1}}", &info);
    str_is(ctl_mig_progress_line(&info, -1, 0, 0),
           "00:00 completed [####################] 100% | 10 B sent, "
           "0 B left | iter 1");
}
END_TEST

START_TEST(test_summary)
{
    g_auto(CtlMigInfo) info = { 0 };

    parse("{\"status\": \"completed\", \"total-time\": 4213, "
          "\"setup-time\": 3, \"downtime\": 45, \"ram\": "
          "{\"transferred\": 857994035, \"remaining\": 0, "
          "\"total\": 536870912, \"iteration\": 5, "
          "\"dirty-sync-count\": 6}}", &info);
    str_is(ctl_mig_summary(&info),
           "Migration completed\n"
           "  total time   4.21 s (setup 3 ms)\n"
           "  downtime     45 ms\n"
           "  transferred  818.2 MiB (guest RAM 512.0 MiB)\n"
           "  iterations   5 (dirty syncs 6)\n"
           "  throughput   194.2 MiB/s average\n");
}
END_TEST

START_TEST(test_summary_failed)
{
    g_auto(CtlMigInfo) info = { 0 };

    parse("{\"status\": \"failed\", \"total-time\": 12, "
          "\"error-desc\": \"Connection refused\"}", &info);
    str_is(ctl_mig_summary(&info),
           "Migration failed: Connection refused\n"
           "  total time   0.01 s\n");
    ctl_mig_info_clear(&info);

    parse("{\"status\": \"cancelled\"}", &info);
    str_is(ctl_mig_summary(&info), "Migration cancelled\n");
    ctl_mig_info_clear(&info);

    parse("{\"status\": \"completed\", \"dry-run\": true}", &info);
    str_is(ctl_mig_summary(&info), "Dry run completed: the destination "
           "accepts this migration\n");
    ctl_mig_info_clear(&info);

    parse("{\"status\": \"failed\", \"dry-run\": true, "
          "\"error-desc\": \"no zstd\"}", &info);
    str_is(ctl_mig_summary(&info), "Dry run failed: no zstd\n");
    ctl_mig_info_clear(&info);

    parse("{}", &info);
    str_is(ctl_mig_summary(&info), "No migration has run\n");
}
END_TEST

/* Four channels, zstd: 40 MiB of pages became 12.5 MiB. */
static const char multifd_json[] =
    "{\"status\": \"active\", \"total-time\": 4200, "
    "\"ram\": {\"transferred\": 241172480, \"remaining\": 268435456, "
    "\"total\": 536870912, \"iteration\": 2}, "
    "\"multifd\": {\"channels\": 4, \"channel-bytes\": "
    "[4194304, 3145728, 3145728, 2621440], \"packets\": 321, "
    "\"uncompressed-bytes\": 41943040, \"compressed-bytes\": 13107200, "
    "\"compression-ratio\": 3.2}}";

/* A query-migrate-config answer naming @method. */
static json_t *config_with(const char *method)
{
    return json_pack("{s:b, s:s}", "multifd", 1, "multifd-compression",
                     method);
}

START_TEST(test_parse_multifd)
{
    g_auto(CtlMigInfo) info = { 0 };
    json_t *config;

    parse(multifd_json, &info);
    ck_assert(info.has_multifd);
    ck_assert_int_eq(info.multifd.channels, 4);
    ck_assert_uint_eq(info.multifd.n_channel_bytes, 4);
    ck_assert_int_eq(info.multifd.channel_bytes[0], 4194304);
    ck_assert_int_eq(info.multifd.channel_bytes[3], 2621440);
    ck_assert_int_eq(info.multifd.packets, 321);
    ck_assert(info.multifd.has_compression);
    ck_assert_int_eq(info.multifd.uncompressed_bytes, 41943040);
    ck_assert_int_eq(info.multifd.compressed_bytes, 13107200);
    ck_assert(info.multifd.has_ratio && info.multifd.ratio == 3.2);
    ck_assert_ptr_null(info.compression);

    /* The method comes from the configuration; "none" names nothing. */
    config = config_with("zstd");
    ctl_mig_info_set_config(&info, config);
    ck_assert_str_eq(info.compression, "zstd");
    json_decref(config);
    config = config_with("none");
    ctl_mig_info_set_config(&info, config);
    ck_assert_ptr_null(info.compression);
    json_decref(config);
    ctl_mig_info_set_config(&info, NULL);
    ck_assert_ptr_null(info.compression);
    ctl_mig_info_clear(&info);

    /* Without compression; a mistyped channel entry counts 0, half of
     * the compression figures is none, and a ratio alone is ignored. */
    parse("{\"status\": \"active\", \"multifd\": {\"channels\": 2, "
          "\"channel-bytes\": [7, \"x\"], \"packets\": 1, "
          "\"uncompressed-bytes\": 10, \"compression-ratio\": 2.0}}",
          &info);
    ck_assert(info.has_multifd);
    ck_assert_uint_eq(info.multifd.n_channel_bytes, 2);
    ck_assert_int_eq(info.multifd.channel_bytes[0], 7);
    ck_assert_int_eq(info.multifd.channel_bytes[1], 0);
    ck_assert(!info.multifd.has_compression && !info.multifd.has_ratio);
    ctl_mig_info_clear(&info);

    parse("{\"status\": \"active\", \"multifd\": []}", &info);
    ck_assert(!info.has_multifd);
    ctl_mig_info_clear(&info);
    parse(active_json, &info);
    ck_assert(!info.has_multifd);
}
END_TEST

START_TEST(test_line_multifd)
{
    g_auto(CtlMigInfo) info = { 0 };
    json_t *zstd = config_with("zstd");

    parse(multifd_json, &info);
    str_is(ctl_mig_progress_line(&info, -1, 0, 0),
           "00:04 active [##########----------]  50% | 230.0 MiB sent, "
           "256.0 MiB left | iter 2 | 4 ch, 3.2x");
    ctl_mig_info_set_config(&info, zstd);
    str_is(ctl_mig_progress_line(&info, -1, 0, 0),
           "00:04 active [##########----------]  50% | 230.0 MiB sent, "
           "256.0 MiB left | iter 2 | 4 ch, zstd 3.2x");
    ctl_mig_info_clear(&info);

    /* Compressing, nothing compressed yet: the method only. */
    parse("{\"status\": \"active\", \"total-time\": 0, \"multifd\": "
          "{\"channels\": 2, \"channel-bytes\": [0, 0], \"packets\": 0, "
          "\"uncompressed-bytes\": 0, \"compressed-bytes\": 0}}", &info);
    ctl_mig_info_set_config(&info, zstd);
    str_is(ctl_mig_progress_line(&info, -1, 0, 0),
           "00:00 active | 2 ch, zstd");
    ctl_mig_info_clear(&info);

    /* No compression figures: a method in the configuration is not
     * what these pages went through. */
    parse("{\"status\": \"active\", \"total-time\": 0, \"multifd\": "
          "{\"channels\": 1, \"channel-bytes\": [5], \"packets\": 1}}",
          &info);
    ctl_mig_info_set_config(&info, zstd);
    str_is(ctl_mig_progress_line(&info, -1, 0, 0), "00:00 active | 1 ch");
    json_decref(zstd);
}
END_TEST

START_TEST(test_line_multifd_width)
{
    g_auto(CtlMigInfo) info = { 0 };
    g_autofree char *full = NULL;
    json_t *zstd = config_with("zstd");
    char *line;

    parse(multifd_json, &info);
    ctl_mig_info_set_config(&info, zstd);
    json_decref(zstd);
    full = ctl_mig_progress_line(&info, 128.0 * MiB, 0, 0);
    ck_assert_msg(g_str_has_suffix(full, " | 4 ch, zstd 3.2x"), "%s", full);

    /* The bar shrinks before the multifd part goes. */
    line = ctl_mig_progress_line(&info, 128.0 * MiB, 0, strlen(full) - 10);
    ck_assert_msg(strstr(line, " [#####-----]  50% |"), "%s", line);
    ck_assert_msg(g_str_has_suffix(line, " | 4 ch, zstd 3.2x"), "%s", line);
    g_free(line);

    /* Just room for it without a bar (the bar takes 23 columns). */
    line = ctl_mig_progress_line(&info, 128.0 * MiB, 0, strlen(full) - 23);
    ck_assert_msg(g_str_has_prefix(line, "00:04 active  50% |"), "%s", line);
    ck_assert_msg(g_str_has_suffix(line, " | 4 ch, zstd 3.2x"), "%s", line);
    g_free(line);

    /* One column less: it goes whole, never cut to "zstd 3.", and the
     * bar has its room back. */
    line = ctl_mig_progress_line(&info, 128.0 * MiB, 0, strlen(full) - 24);
    ck_assert_msg(!strstr(line, " ch"), "%s", line);
    ck_assert_msg(strstr(line, " [#######-------]  50% |"), "%s", line);
    ck_assert_msg(g_str_has_suffix(line, " | iter 2"), "%s", line);
    g_free(line);
}
END_TEST

START_TEST(test_summary_tls)
{
    g_auto(CtlMigInfo) info = { 0 };

    parse("{\"status\": \"completed\", \"total-time\": 1000, "
          "\"tls\": {\"kind\": \"x509\", \"protocol\": \"TLS1.3\", "
          "\"cipher\": \"AES-256-GCM\", "
          "\"peer-identity\": \"CN=dst,O=Example\"}}", &info);
    str_is(ctl_mig_summary(&info),
           "Migration completed\n"
           "  total time   1.00 s\n"
           "  encrypted    TLS1.3, AES-256-GCM (x509), peer "
           "CN=dst,O=Example\n");
    ctl_mig_info_clear(&info);

    /* No identity proved (anon); and no line at all without TLS. */
    parse("{\"status\": \"failed\", \"tls\": {\"kind\": \"anon\", "
          "\"protocol\": \"TLS1.2\", \"cipher\": \"AES-128-GCM\"}}",
          &info);
    str_is(ctl_mig_summary(&info),
           "Migration failed\n"
           "  encrypted    TLS1.2, AES-128-GCM (anon)\n");
    ctl_mig_info_clear(&info);
    parse("{\"status\": \"completed\"}", &info);
    str_is(ctl_mig_summary(&info), "Migration completed\n");
}
END_TEST

START_TEST(test_summary_postcopy)
{
    g_auto(CtlMigInfo) info = { 0 };

    /* A destination with postcopy-blocktime. */
    parse("{\"status\": \"completed\", \"ram\": {\"transferred\": 0, "
          "\"total\": 0, \"iteration\": 1, \"postcopy-requests\": 412}, "
          "\"postcopy-blocktime\": 35, \"postcopy-latency\": {"
          "\"count\": 413, \"p50\": 310, \"p99\": 2100, \"max\": 8000}}",
          &info);
    summary_has(&info, "  postcopy     412 pages requested, vCPUs all "
                "blocked 35 ms\n"
                "  faults       413, latency p50 0.31 ms, p99 2.10 ms, "
                "max 8.00 ms\n", true);
    ctl_mig_info_clear(&info);
    /* The source: requests only; a precopy: no line. */
    parse("{\"status\": \"completed\", "
          "\"ram\": {\"postcopy-requests\": 1}}", &info);
    summary_has(&info, "  postcopy     1 page requested\n", true);
    ctl_mig_info_clear(&info);
    /* With postcopy-preempt: the pages its channel carried. */
    parse("{\"status\": \"completed\", "
          "\"ram\": {\"postcopy-requests\": 9, "
          "\"postcopy-preempt-pages\": 7}}", &info);
    summary_has(&info, "  postcopy     9 pages requested (7 on the preempt "
                "channel)\n", true);
    ctl_mig_info_clear(&info);
    parse("{\"status\": \"completed\", "
          "\"ram\": {\"postcopy-requests\": 0}}", &info);
    summary_has(&info, "postcopy", false);
}
END_TEST

START_TEST(test_summary_multifd)
{
    g_auto(CtlMigInfo) info = { 0 };
    json_t *zlib = config_with("zlib");

    parse("{\"status\": \"completed\", \"total-time\": 2000, "
          "\"multifd\": {\"channels\": 3, \"channel-bytes\": "
          "[2097152, 1048576, 1048576], \"packets\": 1, "
          "\"uncompressed-bytes\": 12582912, \"compressed-bytes\": 4194304, "
          "\"compression-ratio\": 3.0}}", &info);
    ctl_mig_info_set_config(&info, zlib);
    json_decref(zlib);
    str_is(ctl_mig_summary(&info),
           "Migration completed\n"
           "  total time   2.00 s\n"
           "  multifd      3 channels, 1 packet\n"
           "  channel 0    2.0 MiB (50.0%)\n"
           "  channel 1    1.0 MiB (25.0%)\n"
           "  channel 2    1.0 MiB (25.0%)\n"
           "  compression  zlib 3.0x: 12.0 MiB -> 4.0 MiB\n");
    ctl_mig_info_clear(&info);

    /* A destination whose channels never connected: no shares of
     * nothing; no compression line without compression. */
    parse("{\"status\": \"failed\", \"multifd\": {\"channels\": 2, "
          "\"channel-bytes\": [0, 0], \"packets\": 0}}", &info);
    str_is(ctl_mig_summary(&info),
           "Migration failed\n"
           "  multifd      2 channels, 0 packets\n"
           "  channel 0    0 B\n"
           "  channel 1    0 B\n");
    ctl_mig_info_clear(&info);

    /* Compressed, method unknown, nothing compressed yet. */
    parse("{\"status\": \"cancelled\", \"multifd\": {\"channels\": 1, "
          "\"channel-bytes\": [0], \"packets\": 0, "
          "\"uncompressed-bytes\": 0, \"compressed-bytes\": 0}}", &info);
    str_is(ctl_mig_summary(&info),
           "Migration cancelled\n"
           "  multifd      1 channel, 0 packets\n"
           "  channel 0    0 B\n"
           "  compression  0 B -> 0 B\n");
}
END_TEST

START_TEST(test_summary_xbzrle)
{
    g_auto(CtlMigInfo) info = { 0 };

    parse("{\"status\": \"completed\", \"xbzrle-cache\": {"
          "\"cache-size\": 67108864, \"bytes\": 1258291, \"pages\": 1200, "
          "\"cache-miss\": 35, \"cache-miss-rate\": 0.02, "
          "\"encoding-rate\": 3.9, \"overflow\": 3}}", &info);
    ck_assert(info.has_xbzrle);
    ck_assert_int_eq(info.xbzrle.cache_size, 64 * MiB);
    str_is(ctl_mig_summary(&info),
           "Migration completed\n"
           "  xbzrle       1200 pages as 1.2 MiB of deltas, 35 cache "
           "misses,\n"
           "               3 overflows (cache 64.0 MiB)\n");
    ctl_mig_info_clear(&info);

    parse("{\"status\": \"active\", \"xbzrle-cache\": {"
          "\"cache-size\": 4096, \"bytes\": 10, \"pages\": 1, "
          "\"cache-miss\": 1, \"cache-miss-rate\": 1, "
          "\"encoding-rate\": 0, \"overflow\": 1}}", &info);
    str_is(ctl_mig_summary(&info),
           "Migration active\n"
           "  xbzrle       1 page as 10 B of deltas, 1 cache miss,\n"
           "               1 overflow (cache 4.0 KiB)\n");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctl-progress");
    TCase *tc = tcase_create("format");
    SRunner *sr;

    tcase_add_test(tc, test_bytes);
    tcase_add_test(tc, test_rate);
    tcase_add_test(tc, test_clock);
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_final);
    tcase_add_test(tc, test_line);
    tcase_add_test(tc, test_line_width);
    tcase_add_test(tc, test_line_edges);
    tcase_add_test(tc, test_summary);
    tcase_add_test(tc, test_summary_failed);
    tcase_add_test(tc, test_parse_multifd);
    tcase_add_test(tc, test_line_multifd);
    tcase_add_test(tc, test_line_multifd_width);
    tcase_add_test(tc, test_summary_multifd);
    tcase_add_test(tc, test_summary_tls);
    tcase_add_test(tc, test_summary_postcopy);
    tcase_add_test(tc, test_summary_xbzrle);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
