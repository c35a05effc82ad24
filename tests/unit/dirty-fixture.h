/*
 * Guest RAM for the dirty log and dirty bitmap tests (test-dirty-log.c,
 * test-dirty-bitmap.c): several blocks of every kind (anonymous private
 * and shared, memfd, a file), some not a multiple of 64 pages so the
 * software log's word edges are crossed, and helpers naming pages.
 *
 * Tests run once per backend (a loop test: _i is the backend); where
 * the kernel refuses its backend, the test is a TAP comment saying why.
 */
#ifndef VMIG_TESTS_UNIT_DIRTY_FIXTURE_H
#define VMIG_TESTS_UNIT_DIRTY_FIXTURE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "system/dirty-log.h"
#include "system/ram.h"

#define KiB 1024
#define MiB (1024 * 1024)

enum { BACKEND_KERNEL, BACKEND_SOFT, N_BACKENDS };
extern const DirtyLogBackend backend_modes[N_BACKENDS];

#define N_BLOCKS 5
extern RAMBlock *blocks[N_BLOCKS];
extern char *tmpdir;            /* the file block's; tests may add files */
extern uint64_t total_pages;    /* of all blocks */

/* A checked fixture: the blocks registered. */
void dirty_fixture_setup(void);
void dirty_fixture_teardown(void);

/* If @err says why @backend did not start, ends the test as skipped
 * (TAP "# SKIP", vmig_skip(); only the kernel backend may be refused);
 * else returns false. */
bool dirty_fixture_skip(int backend, Error *err);

uint64_t block_pages(const RAMBlock *b);
/* Pages are named by guest page number: block offset / page + index. */
uint64_t gpn(const RAMBlock *b, uint64_t page);
RAMBlock *block_of(uint64_t guest_page, uint64_t *page);

/* A write as the workload makes it: the stores, then the hook. */
void write_page(RAMBlock *b, uint64_t page, uint8_t val);

/* Sorted, without duplicates. */
GArray *page_set(const uint64_t *pages, size_t n);
void assert_same_pages(GArray *got, GArray *want);

#endif
