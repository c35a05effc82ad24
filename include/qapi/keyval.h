/*
 * key=value,... option strings (command line, HMP), with QEMU's rules:
 *   - "a=1,b=2"; ",," inside a value is a literal comma;
 *   - an implied first key: with implied_key "uri", "tcp:0:4444,x=1" means
 *     "uri=tcp:0:4444,x=1" (only for the first element, and only when it
 *     has no '=' before its first unescaped comma);
 *   - dotted keys nest: "addr.type=inet,addr.port=1" gives
 *     {"addr": {"type": "inet", "port": "1"}};
 *   - an object whose keys are all 0,1,2... (contiguous, from 0) becomes a
 *     list: "l.0=a,l.1=b" gives {"l": ["a", "b"]};
 *   - every leaf is a JSON string: types are applied later by the keyval
 *     input visitor.
 * Errors name the offending key or position: empty key, invalid key
 * character, duplicate key, key used both as scalar and as object,
 * non-contiguous list indexes, missing '=', trailing garbage.
 */
#ifndef VMIG_QAPI_KEYVAL_H
#define VMIG_QAPI_KEYVAL_H

#include <jansson.h>
#include <stdbool.h>
#include "qapi/error.h"

/* Returns a new JSON object, or NULL with errp set.  If @help is non-NULL,
 * a bare "help" or "?" element sets *help = true instead of being an
 * error. */
json_t *keyval_parse(const char *params, const char *implied_key, bool *help,
                     Error **errp);

/* Merges @params into existing @into (later keys win); for -global style
 * accumulation. Returns false with errp set on parse error. */
bool keyval_parse_into(json_t *into, const char *params,
                       const char *implied_key, Error **errp);

#endif
