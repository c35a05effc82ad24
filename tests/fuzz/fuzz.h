/*
 * What every fuzz harness in tests/fuzz/ defines: libFuzzer's entry
 * points.  The same harness object links either with libFuzzer (the
 * fuzzing build) or with regress-main.c, which replays the committed
 * crashers in every build (docs/devel/testing.md, "Fuzzing").
 */
#ifndef VMIG_TESTS_FUZZ_H
#define VMIG_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Once, before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
/* One input; returns 0 (libFuzzer reserves other values). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
