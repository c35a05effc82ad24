/*
 * A small blocking QMP client for vmig-ctl: connect, negotiate, run
 * commands, receive events.  One connection, one thread.
 */
#ifndef VMIG_TOOLS_QMP_CLIENT_H
#define VMIG_TOOLS_QMP_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "qapi/error.h"

typedef struct QmpClient QmpClient;

/* Called for every event that arrives while a reply is awaited. */
typedef void QmpEventFunc(json_t *event, void *opaque);

/*
 * Connects to @address: "unix:PATH", "tcp:HOST:PORT", or a bare path of a
 * unix socket.  Reads the greeting and, with @negotiate, completes
 * capabilities negotiation.
 */
QmpClient *qmp_client_connect(const char *address, bool negotiate,
                              Error **errp);
void qmp_client_free(QmpClient *c);

/* The greeting object (borrowed). */
json_t *qmp_client_greeting(QmpClient *c);

/* The socket, for poll() in interactive loops. */
int qmp_client_fd(QmpClient *c);

void qmp_client_set_event_handler(QmpClient *c, QmpEventFunc *fn,
                                  void *opaque);

/*
 * Runs @command with @args (a JSON object or NULL; borrowed) and returns
 * the whole reply, {"return": ...} or {"error": ...} (new reference).
 * Events arriving meanwhile go to the event handler.  NULL with errp set
 * if the connection fails.
 */
json_t *qmp_client_execute(QmpClient *c, const char *command, json_t *args,
                           Error **errp);

/*
 * Returns the next message (new reference).  @timeout_ms < 0 waits
 * forever; on timeout returns NULL with *timed_out set and errp unset.
 * NULL with errp set on failure (including end of connection).
 */
json_t *qmp_client_recv(QmpClient *c, int timeout_ms, bool *timed_out,
                        Error **errp);

/* Handles what is already available without blocking: events go to the
 * handler.  Returns false with errp set if the connection ended. */
bool qmp_client_poll_events(QmpClient *c, Error **errp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpClient, qmp_client_free)

#endif
