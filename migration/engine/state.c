/*
 * What the two sides of the engine share: the state query-migrate
 * reports, the runtime options, calls into the main thread.  See
 * migration/engine.h.
 */
#include "migration/engine/engine.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migration/config.h"
#include "migration/wire/wire.h"
#include "qapi/clone.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-events.h"
#include "qapi/qapi-visit.h"
#include "system/cpus.h"
#include "util/atomic.h"
#include "util/main-thread.h"

typedef struct MigInfoState {
    GMutex lock;                /* everything but status */
    gint status;                /* MigrationStatus, atomic */
    MigDirection dir;
    bool events;
    bool dry_run;
    gint64 start_time;          /* µs, monotonic */
    gint64 setup_end;           /* 0 while in setup */
    gint64 end_time;            /* 0 while running */
    bool has_downtime;
    int64_t downtime;
    bool has_expected_downtime;
    int64_t expected_downtime;
    /* expected_downtime is the prediction switchover was decided on:
     * kept once the migration ends, beside the measured downtime. */
    bool expected_at_switchover;
    bool report_throttle;
    char *error_desc;
    bool has_ram;
    MigRamStats ram;
    bool has_multifd;
    MigMultifdStats multifd;
    bool has_xbzrle;
    MigXbzrleStats xbzrle;
    SocketAddress *listen_addr;
    MigrationConfigOverrideList *overrides;
    MigrationTlsInfo *tls;
    bool has_blocktime;
    uint64_t blocktime;
    uint64List *vcpu_blocktime;
    PostcopyFaultLatency *latency;
} MigInfoState;

static MigInfoState info = { .status = MIGRATION_STATUS_NONE };

void mig_info_start(MigDirection dir, bool events, bool dry_run)
{
    assert_main_thread();
    g_mutex_lock(&info.lock);
    info.dir = dir;
    info.events = events;
    info.dry_run = dry_run;
    info.start_time = g_get_monotonic_time();
    info.setup_end = 0;
    info.end_time = 0;
    info.has_downtime = false;
    info.has_expected_downtime = false;
    info.expected_at_switchover = false;
    info.report_throttle = false;
    g_clear_pointer(&info.error_desc, g_free);
    info.has_ram = false;
    memset(&info.ram, 0, sizeof(info.ram));
    info.has_multifd = false;
    info.has_xbzrle = false;
    g_clear_pointer(&info.overrides, qapi_free_MigrationConfigOverrideList);
    g_clear_pointer(&info.tls, qapi_free_MigrationTlsInfo);
    info.has_blocktime = false;
    g_clear_pointer(&info.vcpu_blocktime, qapi_free_uint64List);
    g_clear_pointer(&info.latency, qapi_free_PostcopyFaultLatency);
    g_mutex_unlock(&info.lock);
    qatomic_mb_set(&info.status, MIGRATION_STATUS_SETUP);
    if (events) {
        qapi_event_send_migration(MIGRATION_STATUS_SETUP);
    }
}

MigrationStatus mig_status(void)
{
    return qatomic_mb_read(&info.status);
}

bool mig_status_change(MigrationStatus from, MigrationStatus to)
{
    bool events;

    if (qatomic_cmpxchg(&info.status, from, to) != (gint)from) {
        return false;
    }
    g_mutex_lock(&info.lock);
    events = info.events;
    if (to == MIGRATION_STATUS_ACTIVE && !info.setup_end) {
        info.setup_end = g_get_monotonic_time();
    }
    g_mutex_unlock(&info.lock);
    if (events) {
        qapi_event_send_migration(to);
    }
    mig_test_trace("status %s", MigrationStatus_str(to));
    return true;
}

bool mig_status_is_running(MigrationStatus st)
{
    switch (st) {
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_CANCELLING:
    case MIGRATION_STATUS_ACTIVE:
    case MIGRATION_STATUS_POSTCOPY_ACTIVE:
    case MIGRATION_STATUS_POSTCOPY_PAUSED:
    case MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP:
    case MIGRATION_STATUS_POSTCOPY_RECOVER:
    case MIGRATION_STATUS_PRE_SWITCHOVER:
    case MIGRATION_STATUS_DEVICE:
        return true;
    default:
        return false;
    }
}

void mig_status_finish(MigrationStatus to)
{
    /* Retried: another thread may move the status on in between. */
    for (;;) {
        MigrationStatus st = mig_status();

        if (!mig_status_is_running(st) || mig_status_change(st, to)) {
            return;
        }
    }
}

void mig_status_postcopy_paused(void)
{
    for (;;) {
        MigrationStatus st = mig_status();

        if ((st != MIGRATION_STATUS_POSTCOPY_ACTIVE &&
             st != MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP &&
             st != MIGRATION_STATUS_POSTCOPY_RECOVER) ||
            mig_status_change(st, MIGRATION_STATUS_POSTCOPY_PAUSED)) {
            return;
        }
    }
}

bool migration_is_running(void)
{
    return mig_status_is_running(mig_status());
}

void mig_info_set_error(const char *desc)
{
    g_mutex_lock(&info.lock);
    if (!desc) {
        g_clear_pointer(&info.error_desc, g_free);
    } else if (!info.error_desc) {
        info.error_desc = g_strdup(desc);
    }
    g_mutex_unlock(&info.lock);
}

void mig_info_set_dry_run(bool dry_run)
{
    g_mutex_lock(&info.lock);
    info.dry_run = dry_run;
    g_mutex_unlock(&info.lock);
}

void mig_info_set_downtime(int64_t ms)
{
    g_mutex_lock(&info.lock);
    info.has_downtime = true;
    info.downtime = ms;
    g_mutex_unlock(&info.lock);
}

void mig_info_set_expected_downtime(int64_t ms)
{
    g_mutex_lock(&info.lock);
    info.has_expected_downtime = ms >= 0;
    info.expected_downtime = ms;
    g_mutex_unlock(&info.lock);
}

void mig_info_switchover_decided(int64_t ms)
{
    mig_info_set_expected_downtime(ms);
    g_mutex_lock(&info.lock);
    info.expected_at_switchover = info.has_expected_downtime;
    g_mutex_unlock(&info.lock);
}

void mig_info_report_throttle(bool on)
{
    g_mutex_lock(&info.lock);
    info.report_throttle = on;
    g_mutex_unlock(&info.lock);
}

void mig_info_end(void)
{
    g_mutex_lock(&info.lock);
    /* The first end counts: a migration is over when the destination
     * has it, not once the source has cleaned up. */
    if (!info.end_time) {
        info.end_time = g_get_monotonic_time();
    }
    info.has_expected_downtime = info.expected_at_switchover;
    g_mutex_unlock(&info.lock);
}

void mig_info_set_ram(const MigRamStats *ram)
{
    g_mutex_lock(&info.lock);
    info.has_ram = true;
    info.ram = *ram;
    g_mutex_unlock(&info.lock);
}

void mig_info_set_multifd(const MigMultifdStats *st)
{
    g_mutex_lock(&info.lock);
    info.has_multifd = true;
    info.multifd = *st;
    g_mutex_unlock(&info.lock);
}

void mig_info_set_xbzrle(const MigXbzrleStats *st)
{
    g_mutex_lock(&info.lock);
    info.has_xbzrle = true;
    info.xbzrle = *st;
    g_mutex_unlock(&info.lock);
}

static XBZRLECacheStats *xbzrle_to_qapi(const MigXbzrleStats *x)
{
    XBZRLECacheStats *st = g_new0(XBZRLECacheStats, 1);

    st->cache_size = x->cache_size;
    st->bytes = x->bytes;
    st->pages = x->pages;
    st->cache_miss = x->cache_miss;
    st->cache_miss_rate = x->cache_miss_rate;
    st->encoding_rate = x->encoding_rate;
    st->overflow = x->overflow;
    return st;
}

static MigrationMultifdStats *multifd_to_qapi(const MigMultifdStats *m)
{
    MigrationMultifdStats *st = g_new0(MigrationMultifdStats, 1);

    st->channels = m->channels;
    for (unsigned i = m->channels; i-- > 0;) {
        intList *item = g_new0(intList, 1);

        item->value = m->bytes[i];
        item->next = st->channel_bytes;
        st->channel_bytes = item;
    }
    st->packets = m->packets;
    if (m->compression) {
        st->has_uncompressed_bytes = st->has_compressed_bytes = true;
        st->uncompressed_bytes = m->uncompressed_bytes;
        st->compressed_bytes = m->compressed_bytes;
        if (m->compressed_bytes) {
            st->has_compression_ratio = true;
            st->compression_ratio = (double)m->uncompressed_bytes /
                                    m->compressed_bytes;
        }
    }
    return st;
}

void mig_info_set_listen_address(const SocketAddress *addr)
{
    g_mutex_lock(&info.lock);
    qapi_free_SocketAddress(info.listen_addr);
    info.listen_addr = addr ? QAPI_CLONE(SocketAddress, addr) : NULL;
    g_mutex_unlock(&info.lock);
}

void mig_info_set_overrides(const MigrationConfigOverrideList *list)
{
    g_mutex_lock(&info.lock);
    qapi_free_MigrationConfigOverrideList(info.overrides);
    info.overrides = QAPI_CLONE(MigrationConfigOverrideList, list);
    g_mutex_unlock(&info.lock);
}

void mig_info_set_tls(MigrationTlsInfo *tls)
{
    g_mutex_lock(&info.lock);
    qapi_free_MigrationTlsInfo(info.tls);
    info.tls = tls;
    g_mutex_unlock(&info.lock);
}

void mig_info_set_blocktime(uint64_t total_ms, uint64List *per_vcpu,
                            PostcopyFaultLatency *latency)
{
    g_mutex_lock(&info.lock);
    info.has_blocktime = true;
    info.blocktime = total_ms;
    qapi_free_uint64List(info.vcpu_blocktime);
    info.vcpu_blocktime = per_vcpu;
    qapi_free_PostcopyFaultLatency(info.latency);
    info.latency = latency;
    g_mutex_unlock(&info.lock);
}

static MigrationStats *stats_to_qapi(const MigRamStats *r)
{
    MigrationStats *st = g_new0(MigrationStats, 1);

    st->transferred = r->transferred;
    st->remaining = r->remaining;
    st->total = r->total;
    st->duplicate = r->duplicate;
    st->normal = r->normal;
    st->normal_bytes = r->normal_bytes;
    st->page_bytes = r->page_bytes;
    st->dirty_pages_rate = r->dirty_pages_rate;
    st->mbps = r->mbps;
    st->dirty_sync_count = r->dirty_sync_count;
    st->page_size = r->page_size;
    st->pages_per_second = r->pages_per_second;
    st->iteration = r->iteration;
    st->postcopy_requests = r->postcopy_requests;
    st->postcopy_preempt_pages = r->postcopy_preempt_pages;
    return st;
}

static int64_t us_to_ms(gint64 us)
{
    return us / 1000;
}

MigrationInfo *qmp_query_migrate(Error **errp)
{
    MigrationInfo *mi = g_new0(MigrationInfo, 1);
    MigrationStatus st = mig_status();
    gint64 now = g_get_monotonic_time();

    g_mutex_lock(&info.lock);
    if (info.listen_addr) {
        mi->socket_address = g_new0(SocketAddressList, 1);
        mi->socket_address->value = QAPI_CLONE(SocketAddress,
                                               info.listen_addr);
    }
    /* As QEMU: nothing but the address before any migration. */
    if (st != MIGRATION_STATUS_NONE) {
        mi->has_status = true;
        mi->status = st;
        mi->has_total_time = true;
        mi->total_time = us_to_ms((info.end_time ? info.end_time : now) -
                                  info.start_time);
        if (info.setup_end) {
            mi->has_setup_time = true;
            mi->setup_time = us_to_ms(info.setup_end - info.start_time);
        }
        if (info.has_downtime) {
            mi->has_downtime = true;
            mi->downtime = info.downtime;
        }
        if (info.has_expected_downtime &&
            (mig_status_is_running(st) || info.expected_at_switchover)) {
            mi->has_expected_downtime = true;
            mi->expected_downtime = info.expected_downtime;
        }
        if (info.report_throttle) {
            mi->has_cpu_throttle_percentage = true;
            mi->cpu_throttle_percentage = cpu_throttle_get_percentage();
        }
        if (info.has_ram) {
            mi->ram = stats_to_qapi(&info.ram);
        }
        if (info.has_multifd) {
            mi->multifd = multifd_to_qapi(&info.multifd);
        }
        if (info.has_xbzrle) {
            mi->xbzrle_cache = xbzrle_to_qapi(&info.xbzrle);
        }
        if (info.error_desc &&
            (st == MIGRATION_STATUS_FAILED ||
             st == MIGRATION_STATUS_POSTCOPY_PAUSED ||
             st == MIGRATION_STATUS_POSTCOPY_RECOVER_SETUP ||
             st == MIGRATION_STATUS_POSTCOPY_RECOVER)) {
            mi->error_desc = g_strdup(info.error_desc);
        }
        if (info.dry_run) {
            mi->has_dry_run = true;
            mi->dry_run = true;
        }
        mi->overridden_config = QAPI_CLONE(MigrationConfigOverrideList,
                                           info.overrides);
        mi->tls = info.tls ? QAPI_CLONE(MigrationTlsInfo, info.tls) : NULL;
        if (info.has_blocktime) {
            mi->has_postcopy_blocktime = true;
            mi->postcopy_blocktime = info.blocktime;
            mi->postcopy_vcpu_blocktime = QAPI_CLONE(uint64List,
                                                     info.vcpu_blocktime);
            mi->postcopy_latency = info.latency ?
                QAPI_CLONE(PostcopyFaultLatency, info.latency) : NULL;
        }
    }
    g_mutex_unlock(&info.lock);
    return mi;
}

/* ---- Runtime options ---- */

static GMutex params_lock;
static MigParams params;

/* @cfg is full (every option present), so no has_ flag needs a look. */
void mig_params_update(const MigrationConfig *cfg)
{
    MigParams p = {
        .max_bandwidth = cfg->max_bandwidth,
        .max_postcopy_bandwidth = cfg->max_postcopy_bandwidth,
        .avail_switchover_bandwidth = cfg->avail_switchover_bandwidth,
        .downtime_limit = cfg->downtime_limit,
        .xbzrle_cache_size = cfg->xbzrle_cache_size,
        .throttle = {
            .trigger_threshold = cfg->throttle_trigger_threshold,
            .initial = cfg->cpu_throttle_initial,
            .increment = cfg->cpu_throttle_increment,
            .max = cfg->max_cpu_throttle,
            .tailslow = cfg->cpu_throttle_tailslow,
        },
    };

    assert_main_thread();
    g_mutex_lock(&params_lock);
    params = p;
    g_mutex_unlock(&params_lock);
}

void mig_params_get(MigParams *out)
{
    g_mutex_lock(&params_lock);
    *out = params;
    g_mutex_unlock(&params_lock);
}

void migration_engine_config_changed(const MigrationConfig *cfg)
{
    mig_params_update(cfg);
    mig_incoming_config_changed(cfg);
}

/* ---- The main thread ---- */

bool mig_in_main_thread(void)
{
    return in_main_thread();
}

typedef struct MainCall {
    MigMainFunc *fn;
    void *opaque;
    GMutex lock;
    GCond cond;
    bool done;
} MainCall;

static gboolean main_call_run(gpointer data)
{
    MainCall *call = data;

    call->fn(call->opaque);
    g_mutex_lock(&call->lock);
    call->done = true;
    g_cond_signal(&call->cond);
    g_mutex_unlock(&call->lock);
    return G_SOURCE_REMOVE;
}

void mig_call_in_main(MigMainFunc *fn, void *opaque)
{
    MainCall call = { .fn = fn, .opaque = opaque };
    GSource *source;

    if (mig_in_main_thread()) {
        fn(opaque);
        return;
    }
    g_mutex_init(&call.lock);
    g_cond_init(&call.cond);
    /*
     * Always queued to the main loop: g_main_context_invoke() would run
     * @fn right here whenever this thread manages to acquire the default
     * context, i.e. in the wrong thread.  @call lives on this stack: we
     * wait until it has run, always.
     */
    source = g_idle_source_new();
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(source, main_call_run, &call, NULL);
    g_source_attach(source, NULL);
    g_source_unref(source);
    g_mutex_lock(&call.lock);
    while (!call.done) {
        g_cond_wait(&call.cond, &call.lock);
    }
    g_mutex_unlock(&call.lock);
    g_mutex_clear(&call.lock);
    g_cond_clear(&call.cond);
}

/* ---- Tests ---- */

void mig_test_trace(const char *fmt, ...)
{
    static gsize once;
    static int fd = -1;
    g_autofree char *text = NULL;
    g_autofree char *line = NULL;
    va_list ap;

    if (g_once_init_enter(&once)) {
        const char *env = getenv("VMIG_TEST_TRACE_FD");
        guint64 v;

        /* Not inherited by the commands of exec: migrations: the test
         * sees the end of the pipe when vmig is gone. */
        if (env && g_ascii_string_to_unsigned(env, 10, 0, G_MAXINT, &v,
                                              NULL) &&
            fcntl((int)v, F_SETFD, FD_CLOEXEC) == 0) {
            fd = (int)v;
        }
        g_once_init_leave(&once, 1);
    }
    if (fd < 0) {
        return;
    }
    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    line = g_strconcat(text, "\n", NULL);
    /* One write: lines of several threads do not mix (short lines on a
     * pipe are written whole). */
    if (write(fd, line, strlen(line)) < 0) {
        /* A test that stopped reading loses the line: nothing to do. */
    }
}

void mig_trace_stop_phase(const char *what)
{
    mig_test_trace("stop-phase %s %" G_GINT64_FORMAT, what,
                   g_get_monotonic_time());
}
