/*
 * The machine shared by the harnesses that need one (fuzz-machine.h).
 */
#include <signal.h>
#include <stdlib.h>

#include "system/cmdline.h"
#include "system/machine.h"
#include "system/main-loop.h"
#include "system/runstate.h"
#include "tests/fuzz/fuzz-machine.h"

void fuzz_machine_init(void)
{
    char *argv[] = { "vmig", "-m", FUZZ_MACHINE_RAM, "-S", NULL };
    g_autoptr(MachineConfig) cfg = NULL;
    bool exit_now;

    /* A client that went away is an EPIPE, as in vmig. */
    signal(SIGPIPE, SIG_IGN);
    cfg = cmdline_parse(G_N_ELEMENTS(argv) - 1, argv, &exit_now,
                        &error_abort);
    if (!machine_init(cfg, &error_abort)) {
        abort();
    }
    runstate_set_autostart(false);
    main_loop_init();
}

void fuzz_machine_run_until(bool (*done)(void *opaque), void *opaque)
{
    while (!done(opaque)) {
        g_main_context_iteration(NULL, TRUE);
    }
}
