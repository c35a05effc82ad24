/*
 * x-dirty-log-start, -sync and -stop: the dirty log on its own, outside a
 * migration, so a benchmark can price each backend by the workload's
 * rate (scripts/bench/workload.py).  Main thread only, as QMP is.
 */
#include "qapi/qapi-commands.h"
#include "system/dirty-log.h"
#include "util/main-thread.h"

/* The log these commands started (a migration's is not theirs). */
static DirtyLog *qmp_log;

void qmp_x_dirty_log_start(Error **errp)
{
    assert_main_thread();
    DirtyLog *log = dirty_log_start(DIRTY_LOG_BACKEND_AUTO, errp);

    /* Refused if any log is on, this one included. */
    if (log) {
        qmp_log = log;
    }
}

static void count_pages(void *opaque, RAMBlock *block, uint64_t offset,
                        uint64_t len)
{
    *(uint64_t *)opaque += len / GUEST_PAGE_SIZE;
}

DirtyLogSyncInfo *qmp_x_dirty_log_sync(Error **errp)
{
    DirtyLogSyncInfo *info;
    uint64_t pages = 0;

    assert_main_thread();
    if (!qmp_log) {
        error_setg(errp, "no dirty log: x-dirty-log-start starts one");
        return NULL;
    }
    if (!dirty_log_sync(qmp_log, count_pages, &pages, errp)) {
        return NULL;
    }
    info = g_new0(DirtyLogSyncInfo, 1);
    info->backend = dirty_log_backend(qmp_log);
    info->pages = pages;
    return info;
}

void qmp_x_dirty_log_stop(Error **errp)
{
    assert_main_thread();
    g_clear_pointer(&qmp_log, dirty_log_stop);
}
