/*
 * Fuzz target: the save-file loader, the `-incoming file:` path whole
 * (the engine's destination reading a file: stream header, HELLO and
 * its checks, RAM_PAGES, mapped-ram regions, device state, END) on a
 * small machine.  The input is the file: it is written into a memfd
 * and loaded from /proc/self/fd/N, so the loader reads it exactly as a
 * file, pread() and fstat() included, and needs no seam.  Loads that
 * fail are the common case; one that completes leaves the machine
 * paused, and the next input starts from "inmigrate" again.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "migration/config.h"
#include "migration/engine/engine.h"
#include "migration/transport/address.h"
#include "system/runstate.h"
#include "tests/fuzz/fuzz-machine.h"
#include "tests/fuzz/fuzz.h"

static int memfd = -1;
static MigrationAddress *addr;

static void config_adopted(const MigrationConfig *effective)
{
}

static void completed(void)
{
}

static const MigIncomingHooks hooks = {
    .config_adopted = config_adopted,
    .completed = completed,
};

static bool load_done(void *opaque)
{
    return !migration_incoming_started() && mig_incoming_idle();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_autofree char *uri = NULL;

    fuzz_machine_init();
    memfd = memfd_create("fuzz-save-file", MFD_CLOEXEC);
    if (memfd < 0) {
        g_error("memfd_create: %s", g_strerror(errno));
    }
    uri = g_strdup_printf("file:/proc/self/fd/%d", memfd);
    addr = migration_address_parse(uri, &error_abort);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error *err = NULL;

    if (ftruncate(memfd, 0) < 0 ||
        (size && pwrite(memfd, data, size, 0) != (ssize_t)size)) {
        g_error("writing the memfd: %s", g_strerror(errno));
    }
    /* As -incoming leaves it: the vCPUs wait for the state. */
    if (!runstate_check(RUN_STATE_INMIGRATE)) {
        if (!runstate_check(RUN_STATE_PRELAUNCH)) {
            runstate_set(RUN_STATE_PRELAUNCH);
        }
        runstate_set(RUN_STATE_INMIGRATE);
    }
    if (!migration_incoming_start(addr, false, migration_config_defaults(),
                                  &hooks, &err)) {
        error_free(err);
        return 0;
    }
    fuzz_machine_run_until(load_done, NULL);
    return 0;
}
