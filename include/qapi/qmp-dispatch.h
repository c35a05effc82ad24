/*
 * QMP command registry and dispatcher.
 *
 * Generated marshallers (qapi-commands.c) have the QmpCommandFunc shape:
 * they turn "arguments" into C values with the input visitor, call the
 * hand-written qmp_FOO() handler and turn its result into JSON.
 */
#ifndef VMIG_QAPI_QMP_DISPATCH_H
#define VMIG_QAPI_QMP_DISPATCH_H

#include <jansson.h>
#include <stdbool.h>
#include "qapi/error.h"

/* @args is borrowed (a JSON object, possibly empty); *ret gets a new
 * reference on success (commands without 'returns' return {}). */
typedef void QmpCommandFunc(json_t *args, json_t **ret, Error **errp);

typedef enum QmpCommandOptions {
    QCO_NO_OPTIONS = 0,
    QCO_NO_SUCCESS_RESP = 1u << 0,
    QCO_ALLOW_PRECONFIG = 1u << 1,
} QmpCommandOptions;

typedef struct QmpCommand {
    const char *name;
    QmpCommandFunc *fn;
    unsigned options;
    unsigned features; /* QAPI_FEATURE_* mask of the command */
    bool enabled;
} QmpCommand;

typedef struct QmpCommandList QmpCommandList;

QmpCommandList *qmp_command_list_new(void);
void qmp_register_command(QmpCommandList *cmds, const char *name,
                          QmpCommandFunc *fn, unsigned options,
                          unsigned features);
const QmpCommand *qmp_find_command(const QmpCommandList *cmds,
                                   const char *name);
/* Calls @fn for each command in name order. */
void qmp_for_each_command(const QmpCommandList *cmds,
                          void (*fn)(const QmpCommand *cmd, void *opaque),
                          void *opaque);

/*
 * Executes one request object and returns the response object to send
 * (a new reference): {"return": ..., "id": ...} or
 * {"error": {"class": ..., "desc": ...}, "id": ...}.  Never NULL: malformed
 * requests (non-object, missing/non-string "execute", unknown top-level
 * keys, non-object "arguments") produce an error response naming the
 * problem.  @request may be any JSON value.
 */
json_t *qmp_dispatch(const QmpCommandList *cmds, json_t *request);

/* Error response for a problem found before dispatch (bad JSON, too big).*/
json_t *qmp_error_response(Error *err, json_t *id);

/* The global command list every monitor dispatches to. */
extern QmpCommandList *qmp_commands;

#endif
