/*
 * The main thread: see include/util/main-thread.h.
 */
#include "util/main-thread.h"

#include "util/atomic.h"

static GThread *main_thread;

void main_thread_register(void)
{
    qatomic_set(&main_thread, g_thread_self());
}

/* Runs before main(), hence in the process's first thread. */
static void __attribute__((constructor)) main_thread_init(void)
{
    main_thread_register();
}

bool in_main_thread(void)
{
    return g_thread_self() == qatomic_read(&main_thread);
}
