/*
 * Migration progress as text: query-migrate results parsed into a plain
 * struct, and the progress line and final summary vmig-ctl prints.
 * Pure functions (no I/O), so tools/test-ctl-progress.c can check them.
 */
#ifndef VMIG_TOOLS_CTL_PROGRESS_H
#define VMIG_TOOLS_CTL_PROGRESS_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* MigrationMultifdStats (qapi/migration.json): what the channels carried. */
typedef struct CtlMultifd {
    int64_t channels;
    int64_t *channel_bytes;     /* by channel index */
    size_t n_channel_bytes;
    int64_t packets;
    bool has_compression;       /* uncompressed- and compressed-bytes */
    int64_t uncompressed_bytes;
    int64_t compressed_bytes;
    bool has_ratio;
    double ratio;               /* compression-ratio */
} CtlMultifd;

/* XBZRLECacheStats (qapi/migration.json): what xbzrle sent. */
typedef struct CtlXbzrle {
    int64_t cache_size;
    int64_t pages;              /* sent as deltas */
    int64_t bytes;              /* of the deltas */
    int64_t cache_miss;
    int64_t overflow;
} CtlXbzrle;

/* MigrationTlsInfo (qapi/migration.json): how the channels are
 * encrypted. */
typedef struct CtlTls {
    char *kind;
    char *protocol;
    char *cipher;
    char *peer_identity;        /* NULL: none proved */
} CtlTls;

/* The members of MigrationInfo (qapi/migration.json) vmig-ctl shows. */
typedef struct CtlMigInfo {
    char *status;               /* NULL when absent (no migration yet) */
    bool has_ram;
    int64_t transferred;
    int64_t remaining;
    int64_t total;
    int64_t iteration;
    int64_t dirty_sync_count;
    double mbps;
    bool has_total_time, has_setup_time, has_downtime;
    bool has_expected_downtime, has_throttle;
    int64_t total_time;         /* all times in milliseconds */
    int64_t setup_time;
    int64_t downtime;
    int64_t expected_downtime;
    int64_t throttle;           /* cpu-throttle-percentage */
    bool dry_run;
    char *error_desc;
    bool has_multifd;
    CtlMultifd multifd;
    bool has_xbzrle;
    CtlXbzrle xbzrle;
    bool has_tls;               /* absent: not encrypted */
    CtlTls tls;
    /* Postcopy: pages requested; with postcopy-blocktime (a
     * destination) the vCPUs' blocktime (ms) and the faults' latency. */
    int64_t postcopy_requests;
    int64_t postcopy_preempt_pages;
    bool has_blocktime;
    int64_t blocktime;
    bool has_latency;
    int64_t latency_count, latency_p50, latency_p99, latency_max; /* µs */
    /* multifd-compression of the configuration in effect: query-migrate
     * does not name the method.  NULL: unknown, or "none". */
    char *compression;
} CtlMigInfo;

/* Fills @info from a query-migrate "return" value; false if @ret is not
 * an object.  Missing or mistyped members are left absent / zero. */
bool ctl_mig_info_parse(json_t *ret, CtlMigInfo *info);
void ctl_mig_info_clear(CtlMigInfo *info);

/* Takes the compression method from @config, a query-migrate-config
 * "return" value (NULL or anything else: unknown). */
void ctl_mig_info_set_config(CtlMigInfo *info, json_t *config);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CtlMigInfo, ctl_mig_info_clear)

/* Whether @status (NULL: none) is one a migration ends in. */
bool ctl_mig_status_is_final(const char *status);

/* "812 B", "12.3 KiB", "512.0 MiB", "1.50 GiB": binary units. */
char *ctl_fmt_bytes(double bytes);

/* Bytes per second as "87.3 MiB/s", or "1.52 GiB/s" from 1 GiB/s up. */
char *ctl_fmt_rate(double bytes_per_sec);

/* Milliseconds as "mm:ss", or "h:mm:ss" from one hour up. */
char *ctl_fmt_clock(int64_t ms);

/* A compression ratio as "3.1x". */
char *ctl_fmt_ratio(double ratio);

/*
 * One progress line, without a newline:
 *   00:04 active [#########-----------]  45% | 230.1 MiB sent,
 *   281.9 MiB left | 128.0 MiB/s | iter 2 | exp. downtime 45 ms | ...
 * ending, with multifd, in " | 4 ch, zstd 3.1x" (channels, compression
 * method and ratio).
 * @rate is the throughput to show (bytes/s; < 0: unknown), @elapsed_ms
 * the time to show when @info has no total-time.  @width > 0 fits the
 * line into that many columns (the bar shrinks first, then the multifd
 * part goes, whole, then the line is cut); 0 means no limit.
 */
char *ctl_mig_progress_line(const CtlMigInfo *info, double rate,
                            int64_t elapsed_ms, int width);

/* The summary printed once the migration has ended (lines end in \n);
 * with multifd, the bytes of each channel, the packets and what
 * compression made of the pages; with TLS, how it was encrypted. */
char *ctl_mig_summary(const CtlMigInfo *info);

#endif
