/*
 * QMP request dispatch: check the request's shape, find the command, run
 * its marshaller and wrap the outcome in a response object.
 *
 * The checks and their messages follow QEMU's, since QMP clients (libvirt
 * in particular) are written against them.
 *
 * One exception to "always returns a response": a command registered with
 * QCO_NO_SUCCESS_RESP sends nothing when it succeeds, and qmp_dispatch()
 * then returns NULL.  Errors are always answered.
 */
#include "qapi/qmp-dispatch.h"

#include <string.h>

#include "qapi/compat-policy.h"
#include "qapi/util.h"

json_t *qmp_error_response(Error *err, json_t *id)
{
    json_t *resp = json_pack("{s:{s:s, s:s}}",
                             "error",
                             "class", error_class_name(error_get_class(err)),
                             "desc", error_get_pretty(err));

    g_assert(resp);
    if (id) {
        json_object_set(resp, "id", id);
    }
    error_free(err);
    return resp;
}

/*
 * Returns the command name of a well-formed request, or NULL with errp
 * set.  Members are checked in the order the client wrote them, so the
 * first problem in the request is the one reported.
 */
static const char *check_request(json_t *request, json_t **args, Error **errp)
{
    const char *key;
    json_t *value;
    const char *command = NULL;

    if (!json_is_object(request)) {
        error_setg(errp, "QMP input must be a JSON object");
        return NULL;
    }
    *args = NULL;
    json_object_foreach(request, key, value) {
        if (!strcmp(key, "execute")) {
            if (!json_is_string(value)) {
                error_setg(errp, "QMP input member 'execute' must be a "
                           "string");
                return NULL;
            }
            command = json_string_value(value);
        } else if (!strcmp(key, "arguments")) {
            if (!json_is_object(value)) {
                error_setg(errp, "QMP input member 'arguments' must be an "
                           "object");
                return NULL;
            }
            *args = value;
        } else if (strcmp(key, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", key);
            return NULL;
        }
    }
    if (!command) {
        error_setg(errp, "QMP input lacks member 'execute'");
        return NULL;
    }
    return command;
}

/* Finds a command the client may run right now, or sets errp. */
static const QmpCommand *lookup_command(const QmpCommandList *cmds,
                                        const char *name, Error **errp)
{
    const QmpCommand *cmd = qmp_find_command(cmds, name);

    if (!cmd) {
        error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "The command %s has not been found", name);
        return NULL;
    }
    if ((cmd->features & QAPI_FEATURE_DEPRECATED) &&
        qapi_deprecated_input_rejected()) {
        error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Deprecated command %s disabled by policy", name);
        return NULL;
    }
    if (!cmd->enabled) {
        error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Command %s has been disabled", name);
        return NULL;
    }
    return cmd;
}

json_t *qmp_dispatch(const QmpCommandList *cmds, json_t *request)
{
    /* The id is echoed whatever its JSON type; QMP treats it as opaque. */
    json_t *id = json_is_object(request) ? json_object_get(request, "id")
                                         : NULL;
    json_t *args = NULL;
    Error *err = NULL;

    const char *name = check_request(request, &args, &err);
    if (!name) {
        return qmp_error_response(err, id);
    }
    const QmpCommand *cmd = lookup_command(cmds, name, &err);
    if (!cmd) {
        return qmp_error_response(err, id);
    }

    /* Marshallers always get an object, so "no arguments" is {}. */
    json_t *empty_args = args ? NULL : json_object();
    json_t *ret = NULL;
    cmd->fn(args ? args : empty_args, &ret, &err);
    json_decref(empty_args);

    if (err) {
        /* A handler must not set both a result and an error. */
        g_assert(!ret);
        return qmp_error_response(err, id);
    }
    if (cmd->options & QCO_NO_SUCCESS_RESP) {
        json_decref(ret);
        return NULL;
    }

    json_t *resp = json_object();
    json_object_set_new(resp, "return", ret ? ret : json_object());
    if (id) {
        json_object_set(resp, "id", id);
    }
    return resp;
}
