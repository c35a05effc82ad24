/*
 * Internal interfaces of the migration engine (the files of migration/ only).
 *
 * The engine is one outgoing side (outgoing.c: the migration thread
 * and its return-path thread) and one incoming side (incoming.c: the
 * listener in the main loop and an incoming thread per connection).
 * What they share lives in migration-state.c:
 *
 *   - the state query-migrate reports, for whichever side ran last: the
 *     status (changed atomically from any thread, with a MIGRATION event
 *     when the side's "events" option is on), times, memory figures and
 *     the error;
 *   - the runtime options (max-bandwidth, downtime-limit, throttling),
 *     copied under a lock whenever the configuration in effect changes,
 *     because the migration thread must not read the main thread's
 *     configuration while migrate-set-config changes it;
 *   - mig_call_in_main(): the engine's threads run everything that needs
 *     the main thread (run-state changes, the device registry, the
 *     configuration) through it.  The main thread never waits for an
 *     engine thread without running the main loop (migration_shutdown()
 *     iterates it), so this cannot deadlock.
 */
#ifndef VMIG_MIGRATION_ENGINE_H
#define VMIG_MIGRATION_ENGINE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "migration/multifd/multifd.h"
#include "migration/ram/precopy-policy.h"
#include "qapi/error.h"
#include "qapi/qapi-types.h"

/*
 * ---- Starting the two ends (called by migration/control) ----
 *
 * The engine is given its configuration; it never reads or writes the
 * configuration in effect (migration/control owns that).  What it must
 * tell its caller goes through MigIncomingHooks.
 */

/*
 * Source: connects to @addr and starts migrating with @cfg (a full
 * configuration, copied; @dry_run: the handshake only).
 */
bool migration_outgoing_start(const MigrationAddress *addr, bool dry_run,
                              const MigrationConfig *cfg, Error **errp);

/*
 * Postcopy recovery (protocol section 6.12).  Source: the paused
 * postcopy reconnects to @addr and resumes with its own configuration.
 * Destination: the paused postcopy waits for its source on @addr
 * (migrate-recover), its listener until then closed.
 */
bool migration_outgoing_resume(const MigrationAddress *addr, Error **errp);
bool migration_incoming_recover(const MigrationAddress *addr, Error **errp);

/*
 * migrate-pause on this end's side of a postcopy: its connection is
 * dropped and both ends pause.  False if this end has no migration of
 * that side (nothing set); true with @errp set if it has one that is
 * not a postcopy in progress.
 */
bool mig_outgoing_pause(Error **errp);
bool mig_incoming_pause(Error **errp);

/* What the destination's engine reports back to its caller. */
typedef struct MigIncomingHooks {
    /* Main thread: the handshake settled the configuration this VM
     * migrates with (the source's options and this end's local ones). */
    void (*config_adopted)(const MigrationConfig *effective);
    /* Main thread: the incoming migration completed; this VM now runs
     * its own state and may migrate out. */
    void (*completed)(void);
} MigIncomingHooks;

/*
 * Destination: starts listening on (or reading from) @addr, with @cfg
 * as this end's local configuration (copied; see
 * migration_engine_config_changed()).  @hooks must outlive the engine.
 */
bool migration_incoming_start(const MigrationAddress *addr,
                              bool exit_on_error, const MigrationConfig *cfg,
                              const MigIncomingHooks *hooks, Error **errp);

/* Whether migration_incoming_start() has succeeded already (and the
 * destination is still waiting or migrating). */
bool migration_incoming_started(void);

/* Main thread: the configuration in effect is now @cfg: a running
 * migration picks up its runtime options, a waiting destination its new
 * local options. */
void migration_engine_config_changed(const MigrationConfig *cfg);

/* Whether an outgoing or incoming migration is in progress. */
bool migration_is_running(void);

/* ---- query-migrate state ---- */

typedef enum MigDirection {
    MIG_DIR_NONE,
    MIG_DIR_OUTGOING,
    MIG_DIR_INCOMING,
} MigDirection;

/*
 * Main thread: a new migration starts on @dir: figures reset, status
 * "setup" (MIGRATION event if @events).
 */
void mig_info_start(MigDirection dir, bool events, bool dry_run);

MigrationStatus mig_status(void);
/* Any thread: @from -> @to if the status is @from; returns whether it
 * changed.  Emits MIGRATION when the side's events are on.  Entering
 * "active" ends setup (setup-time). */
bool mig_status_change(MigrationStatus from, MigrationStatus to);
/* Any thread: a postcopy in progress (active, recovering) is now
 * postcopy-paused; nothing if its status is another. */
void mig_status_postcopy_paused(void);
/* Whether @st is a state of a migration in progress. */
bool mig_status_is_running(MigrationStatus st);
/* Any thread: the last status, @to, from whatever running state the
 * migration is in now (nothing if it has ended already). */
void mig_status_finish(MigrationStatus to);

/* The reason of a failure (the first one set wins; NULL clears). */
void mig_info_set_error(const char *desc);
void mig_info_set_dry_run(bool dry_run);
void mig_info_set_downtime(int64_t ms);
/* The downtime predicted now, while active; negative: unknown. */
void mig_info_set_expected_downtime(int64_t ms);
/* The prediction switchover is decided on: reported from then on, after
 * the migration's end too, to compare with the measured downtime. */
void mig_info_switchover_decided(int64_t ms);
/* Reports cpu-throttle-percentage (auto-converge is on). */
void mig_info_report_throttle(bool on);
/* The migration ended (total-time stops; later calls change nothing
 * until the next mig_info_start()). */
void mig_info_end(void);

/* The figures of MigrationStats, as the engine counts them. */
typedef struct MigRamStats {
    uint64_t transferred;
    uint64_t remaining;
    uint64_t total;
    uint64_t duplicate;
    uint64_t normal;
    uint64_t normal_bytes;
    uint64_t page_bytes;
    uint64_t dirty_pages_rate;
    double mbps;
    uint64_t dirty_sync_count;
    uint64_t page_size;
    uint64_t pages_per_second;
    uint64_t iteration;
    uint64_t postcopy_requests;
    uint64_t postcopy_preempt_pages;
} MigRamStats;

void mig_info_set_ram(const MigRamStats *ram);

void mig_info_set_multifd(const MigMultifdStats *st);

/* What xbzrle did, for query-migrate's "xbzrle-cache" (QEMU's figures;
 * the rates are those of the last measuring period). */
typedef struct MigXbzrleStats {
    uint64_t cache_size;
    uint64_t bytes;
    uint64_t pages;
    uint64_t cache_miss;
    double cache_miss_rate;
    double encoding_rate;
    uint64_t overflow;
} MigXbzrleStats;

void mig_info_set_xbzrle(const MigXbzrleStats *st);

/* Destination, with postcopy-blocktime: the vCPUs' waits (taken; NULL
 * @per_vcpu and @latency: none), for query-migrate's postcopy-*. */
void mig_info_set_blocktime(uint64_t total_ms, uint64List *per_vcpu,
                            PostcopyFaultLatency *latency);

/* Destination: the addresses listened on (NULL: none), for
 * query-migrate's socket-address. */
void mig_info_set_listen_address(const SocketAddress *addr);

/* Destination: the options the source overrode, for query-migrate's
 * overridden-config (copied; NULL: none). */
void mig_info_set_overrides(const MigrationConfigOverrideList *list);

/* Both ends: the main channel's TLS (taken; NULL: none), for
 * query-migrate's tls. */
void mig_info_set_tls(MigrationTlsInfo *tls);

/* ---- Runtime options ---- */

typedef struct MigParams {
    uint64_t max_bandwidth;             /* bytes/s, 0 unlimited */
    uint64_t max_postcopy_bandwidth;    /* bytes/s, 0 unlimited */
    uint64_t avail_switchover_bandwidth;
    uint64_t downtime_limit;            /* ms */
    uint64_t xbzrle_cache_size;         /* bytes */
    MigThrottleParams throttle;
} MigParams;

/* Main thread: copies the runtime options of @cfg. */
void mig_params_update(const MigrationConfig *cfg);
/* Any thread. */
void mig_params_get(MigParams *out);

/* ---- The main thread ---- */

typedef void MigMainFunc(void *opaque);

/* Runs @fn(@opaque) in the main thread and returns once it has run
 * (directly when called from the main thread). */
void mig_call_in_main(MigMainFunc *fn, void *opaque);
bool mig_in_main_thread(void);

/* For tests: one line (no newline in @fmt) on the file descriptor
 * VMIG_TEST_TRACE_FD names, if set; any thread. */
void mig_test_trace(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* For tests and benchmarks: "stop-phase WHAT T", T the monotonic clock
 * in microseconds (one clock for both ends on one host), at each step
 * of the stopped phase, so a run shows where its downtime went. */
void mig_trace_stop_phase(const char *what);

/* ---- The sides ---- */

/* outgoing.c: stops the outgoing migration for vmig's exit; true once
 * nothing of it runs any more. */
void mig_outgoing_shutdown_begin(void);
bool mig_outgoing_idle(void);
/* incoming.c: likewise. */
void mig_incoming_shutdown_begin(void);
bool mig_incoming_idle(void);
/* incoming.c: a waiting destination's local options are now @cfg. */
void mig_incoming_config_changed(const MigrationConfig *cfg);

#endif
