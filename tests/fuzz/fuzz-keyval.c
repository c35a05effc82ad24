/*
 * Fuzz target: the keyval parser (util/keyval.c) behind -global,
 * -object, -incoming and HMP's option arguments.  The first byte picks
 * the implied key and whether "help" is allowed; the rest, up to a NUL,
 * is the option string.  It is parsed alone and merged into the result
 * of a previous string, as -global does.
 */
#include <jansson.h>
#include <string.h>

#include "qapi/keyval.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const implied[] = { NULL, "id", "a.b", "0" };

    if (size < 1) {
        return 0;
    }
    g_autofree char *params = g_strndup((const char *)data + 1, size - 1);
    const char *key = implied[data[0] % G_N_ELEMENTS(implied)];
    bool help = false;
    json_t *obj = keyval_parse(params, key, (data[0] & 4) ? &help : NULL,
                               NULL);
    json_t *into = json_pack("{s:s, s:{s:s}}", "x", "1", "a", "b", "2");

    keyval_parse_into(into, params, key, NULL);
    if (obj) {
        keyval_parse_into(into, params, key, NULL);
    }
    json_decref(obj);
    json_decref(into);
    return 0;
}
