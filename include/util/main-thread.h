/*
 * The main thread: the one that runs the GLib main loop, monitors and
 * run-state changes (docs/architecture.md, "Threads").  Code documented
 * "main thread only" asserts it with assert_main_thread().
 *
 * The process's first thread is the main thread from before main() on; a
 * test that runs such code from a thread of its own registers that thread
 * with main_thread_register() first.
 */
#ifndef VMIG_UTIL_MAIN_THREAD_H
#define VMIG_UTIL_MAIN_THREAD_H

#include <glib.h>
#include <stdbool.h>

/* The calling thread becomes the main thread. */
void main_thread_register(void);
bool in_main_thread(void);

#define assert_main_thread() g_assert(in_main_thread())

#endif
