/*
 * Internals shared by the monitor source files.
 *
 * A Monitor is one connected client (or stdio).  monitor.c owns the byte
 * stream: non-blocking reads that also collect SCM_RIGHTS descriptors, and
 * a bounded output buffer flushed when the peer can take more.  qmp.c and
 * hmp.c interpret the bytes.  listen.c turns -qmp/-monitor specs into
 * listening sockets that create one Monitor per accepted client.
 *
 * All of this is main-thread only; only events.c has cross-thread entry.
 */
#ifndef VMIG_MONITOR_INTERNAL_H
#define VMIG_MONITOR_INTERNAL_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "monitor/monitor.h"
#include "qapi/json-streamer.h"
#include "qapi/qmp-dispatch.h"

/*
 * A client that lets this much output pile up is not reading; it is
 * disconnected rather than allowed to eat the machine's memory.
 */
#define MONITOR_OUTPUT_MAX (64u * 1024 * 1024)

/*
 * An output buffer that held more than this is freed once it is empty,
 * not kept for the rest of the connection (and more than
 * MEMORY_RELEASE_MIN is given back to the system).
 */
#define MONITOR_OUTPUT_KEEP (64u * 1024)

/* Bytes taken from the socket per main-loop wakeup. */
#define MONITOR_READ_CHUNK 65536

/* Descriptors accepted in one recvmsg(); more are a client bug. */
#define MONITOR_MAX_FDS_PER_MSG 16

struct Monitor {
    bool is_qmp;
    char *name;             /* for log lines: "unix:/path#3", "stdio" */

    int in_fd;
    int out_fd;             /* == in_fd for sockets */
    bool is_socket;         /* can carry SCM_RIGHTS, use send() */
    bool owns_fds;          /* close in_fd/out_fd at the end (not stdio) */
    guint in_watch;
    guint out_watch;
    GByteArray *outbuf;     /* queued output not yet accepted by the peer */
    size_t outbuf_high;     /* the most outbuf has held since made */

    /* Descriptors received but not yet claimed by "getfd"; closed after
     * the next command completes, as in QEMU. */
    GArray *pending_fds;
    /* Named descriptors stored by "getfd": name -> fd. */
    GHashTable *fds;

    /* Set while the input handler runs; closing is then deferred
     * (dead = true) so nothing frees the monitor under its own feet. */
    bool busy;
    bool dead;
};

/* monitor.c */

/* Initialises the common part and starts reading; for qmp.c and hmp.c. */
void monitor_common_init(Monitor *mon, bool is_qmp, int in_fd, int out_fd,
                         bool owns_fds, const char *name);
/* Queues @len bytes for the client (drops them if it is closing). */
void monitor_write(Monitor *mon, const char *buf, size_t len);
/* Closes the connection now, or as soon as its input handler returns. */
void monitor_close(Monitor *mon);
/* Closes descriptors received but not claimed by the command just run. */
void monitor_close_pending_fds(Monitor *mon);
/* Takes the oldest received, unclaimed descriptor, or returns -1. */
int monitor_take_pending_fd(Monitor *mon);
/* Stores @fd under @name (the store owns it), closing any older one. */
void monitor_store_fd(Monitor *mon, const char *name, int fd);
/* Closes and forgets the fd stored as @name; false if there is none. */
bool monitor_close_fd(Monitor *mon, const char *name);
/* Sets the current monitor of this thread; returns the previous one. */
Monitor *monitor_set_cur(Monitor *mon);
/* Every live monitor, oldest first (main thread only). */
void monitor_for_each(void (*fn)(Monitor *mon, void *opaque), void *opaque);
/* Closes every monitor (monitor_cleanup). */
void monitor_close_all(void);

/* qmp.c */

/* Only "qmp_capabilities": what a client may run before negotiation. */
extern QmpCommandList *qmp_cap_negotiation_commands;

/* Creates a QMP monitor on a connected descriptor and sends the greeting.*/
void monitor_qmp_new(int in_fd, int out_fd, bool owns_fds,
                         const char *name);
void monitor_qmp_receive(Monitor *mon, const char *buf, size_t len);
void monitor_qmp_free(Monitor *mon);
/* Sends one message on one line, terminated by "\r\n". */
void monitor_qmp_send(Monitor *mon, json_t *msg);
/* True once the client has completed capabilities negotiation. */
bool monitor_qmp_negotiated(const Monitor *mon);
/* Leaves negotiation mode (qmp_capabilities). */
void monitor_qmp_finish_negotiation(Monitor *mon);
/* The commands table for qmp_commands and the negotiation table. */
void monitor_qmp_init_commands(void);

/* hmp.c */

void monitor_hmp_new(int in_fd, int out_fd, bool owns_fds,
                         const char *name);
void monitor_hmp_receive(Monitor *mon, const char *buf, size_t len);
void monitor_hmp_free(Monitor *mon);

/* events.c */

/* In the main thread; events from other threads are queued for it. */
void monitor_events_init(void);
/* Drops events emitted after this (the main loop is gone). */
void monitor_events_cleanup(void);

/* listen.c */

void monitor_listeners_cleanup(void);

#endif
