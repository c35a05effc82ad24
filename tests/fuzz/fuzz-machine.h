/*
 * A small machine for the harnesses that need one (the QMP dispatcher,
 * the save-file loader): what system/main.c sets up before its main
 * loop, for a guest of FUZZ_MACHINE_RAM (tests/fuzz/meson.build, which
 * makes the seed save files for it), never started.
 */
#ifndef VMIG_TESTS_FUZZ_MACHINE_H
#define VMIG_TESTS_FUZZ_MACHINE_H

#include <stdbool.h>

/* Once per process: the machine and the main loop. */
void fuzz_machine_init(void);

/* Runs the default main context until @done(@opaque) is true. */
void fuzz_machine_run_until(bool (*done)(void *opaque), void *opaque);

#endif
