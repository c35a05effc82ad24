/*
 * key=value,... option strings: see include/qapi/keyval.h.
 *
 * Grammar (QEMU's keyval syntax, with the vmig choices marked *):
 *
 *   params    = [ element { ',' element } [ ',' ] ]
 *   element   = key '=' value | 'help' | '?' | implied
 *   key       = name { '.' ( name | index ) }
 *   name      = [A-Za-z] [A-Za-z0-9_-]*         (at most 127 characters)
 *   index     = '0' | [1-9] [0-9]*               (* no leading zeros)
 *   value     = { any character but ',' | ',,' } (",," is a literal ',')
 *   implied   = value without '=', first element only
 *
 * Parsing happens in two passes.  The first builds a tree of JSON objects
 * in which list indexes are ordinary member names ("0", "1"...); the
 * second turns every object whose members are all indexes into an array,
 * checking that the indexes are 0..n-1.  Only then is it known whether
 * "a.0" was a list element, so the checks cannot happen while parsing.
 *
 * Repeated keys: QEMU lets the last of several identical keys win.  vmig
 * refuses them in keyval_parse() (*): in "migrate-set-parameters"-style
 * option strings a repeated key is almost always a typo, and silently
 * dropping one of the values hides it.  keyval_parse_into() exists to
 * accumulate several option strings (-global), so there later keys win,
 * inside one string as well as across strings.
 *
 * Index spelling (*): "a.01" is refused instead of being read as index 1,
 * so that one list element cannot have two spellings.
 */
#include "qapi/keyval.h"

#include <string.h>

#include <glib.h>

/* Longest key component, as in QEMU. */
#define KEYVAL_MAX_FRAGMENT 127

/* Checks one dot-separated component of a key.  Returns NULL if it is
 * fine, else why not (for the error message). */
static const char *check_fragment(const char *frag, size_t len, bool first)
{
    size_t i;

    if (len == 0) {
        return "empty key component";
    }
    if (len > KEYVAL_MAX_FRAGMENT) {
        return "key component longer than 127 characters";
    }
    if (g_ascii_isdigit(frag[0])) {
        for (i = 1; i < len; i++) {
            if (!g_ascii_isdigit(frag[i])) {
                return "a key component is either a name starting with a "
                       "letter or a list index";
            }
        }
        if (first) {
            return "a key must start with a name, not a list index";
        }
        if (frag[0] == '0' && len > 1) {
            return "leading zero in list index";
        }
        return NULL;
    }
    if (!g_ascii_isalpha(frag[0])) {
        return "a name must start with a letter";
    }
    for (i = 1; i < len; i++) {
        if (!g_ascii_isalnum(frag[i]) && frag[i] != '-' && frag[i] != '_') {
            return "only letters, digits, '-' and '_' are allowed in a name";
        }
    }
    return NULL;
}

/* Checks every component of @key ("a.b.0"). */
static bool check_key(const char *key, Error **errp)
{
    const char *frag = key;

    for (;;) {
        const char *dot = strchrnul(frag, '.');
        const char *why = check_fragment(frag, dot - frag, frag == key);

        if (why) {
            error_setg(errp, "Invalid parameter '%s': %s", key, why);
            return false;
        }
        if (!*dot) {
            return true;
        }
        frag = dot + 1;
    }
}

static bool is_index(const char *frag)
{
    return g_ascii_isdigit(frag[0]);
}

/*
 * Stores @value (a new JSON string, stolen) at the path @key ("a.b.c") in
 * @root.  Objects along the way are created as needed.  A leaf that is
 * already there is replaced if @override, else it is an error.
 */
static bool keyval_store(json_t *root, const char *key, json_t *value,
                         bool override, Error **errp)
{
    g_autoptr(GString) prefix = g_string_new(NULL);
    const char *frag = key;
    json_t *cur = root;

    if (!check_key(key, errp)) {
        goto fail;
    }
    for (;;) {
        const char *dot = strchr(frag, '.');
        size_t len = dot ? (size_t)(dot - frag) : strlen(frag);
        g_autofree char *name = g_strndup(frag, len);
        json_t *child;

        g_string_append_len(prefix, frag, len);
        child = json_object_get(cur, name);

        if (!dot) {
            if (json_is_object(child)) {
                error_setg(errp, "Parameters '%s.*' used inconsistently",
                           prefix->str);
                goto fail;
            }
            if (child && !override) {
                error_setg(errp, "Duplicate parameter '%s'", key);
                goto fail;
            }
            json_object_set_new(cur, name, value);
            return true;
        }

        if (!child) {
            child = json_object();
            json_object_set_new(cur, name, child);
        } else if (!json_is_object(child)) {
            error_setg(errp, "Parameters '%s.*' used inconsistently",
                       prefix->str);
            goto fail;
        }
        g_string_append_c(prefix, '.');
        cur = child;
        frag = dot + 1;
    }

fail:
    json_decref(value);
    return false;
}

/* "?" and "help" ask for help instead of setting anything. */
static bool is_help(const char *s, size_t len)
{
    return (len == 4 && !strncmp(s, "help", 4)) ||
           (len == 1 && s[0] == '?');
}

/* Copies a value up to its first unescaped ',' (or the end of @s) and
 * turns ",," into ','.  *@end is set past the terminating ','. */
static json_t *scan_value(const char *s, const char **end)
{
    g_autoptr(GString) val = g_string_new(NULL);

    for (;;) {
        if (*s == ',') {
            if (s[1] != ',') {
                s++;
                break;
            }
            s++;
        } else if (!*s) {
            break;
        }
        g_string_append_c(val, *s++);
    }
    *end = s;
    return json_stringn(val->str, val->len);
}

/*
 * Parses the element starting at @s into @root.  @implied_key is non-NULL
 * only for the first element.  Returns where the next element starts, or
 * NULL with errp set.
 */
static const char *keyval_parse_element(json_t *root, const char *params,
                                        const char *s,
                                        const char *implied_key,
                                        bool override, bool *help,
                                        Error **errp)
{
    const char *p = s;
    g_autofree char *key = NULL;

    /* Is there an '=' before the first unescaped comma? */
    while (*p && *p != '=') {
        if (*p == ',') {
            if (p[1] != ',') {
                break;
            }
            p++;
        }
        p++;
    }

    if (*p != '=') {
        size_t len = p - s;

        if (is_help(s, len)) {
            *help = true;
            return *p ? p + 1 : p;
        }
        if (implied_key && len) {
            if (!keyval_store(root, implied_key, scan_value(s, &p), override,
                              errp)) {
                return NULL;
            }
            return p;
        }
        if (!len) {
            error_setg(errp, "Missing parameter name at offset %zu of '%s'",
                       (size_t)(s - params), params);
            return NULL;
        }
        /* A key without '=': report a bad key as such, else the '='. */
        key = g_strndup(s, strcspn(s, ","));
        if (check_key(key, errp)) {
            error_setg(errp, "Expected '=' after parameter '%s'", key);
        }
        return NULL;
    }

    if (p == s) {
        error_setg(errp, "Missing parameter name at offset %zu of '%s'",
                   (size_t)(s - params), params);
        return NULL;
    }
    key = g_strndup(s, p - s);
    if (!keyval_store(root, key, scan_value(p + 1, &p), override, errp)) {
        return NULL;
    }
    return p;
}

/* First pass over a whole string: builds the tree with indexes still as
 * member names. */
static json_t *keyval_parse_raw(const char *params, const char *implied_key,
                                bool override, bool *help, Error **errp)
{
    json_t *root = json_object();
    const char *s = params;

    *help = false;
    while (*s) {
        s = keyval_parse_element(root, params, s, implied_key, override,
                                 help, errp);
        if (!s) {
            json_decref(root);
            return NULL;
        }
        implied_key = NULL;
    }
    return root;
}

/*
 * Second pass: replaces, bottom-up, each object of @obj whose members are
 * all list indexes by an array.  @path is the key of @obj ("" for the
 * root), for messages.  Returns the new value of @obj (a new reference),
 * or NULL with errp set.
 */
static json_t *keyval_listify(json_t *obj, GString *path, Error **errp)
{
    size_t path_len = path->len;
    size_t n = json_object_size(obj);
    bool has_index = false, has_name = false;
    const char *name;
    json_t *child;
    void *tmp;
    g_autofree json_t **elems = NULL;
    json_t *list;

    json_object_foreach_safe(obj, tmp, name, child) {
        if (is_index(name)) {
            has_index = true;
        } else {
            has_name = true;
        }
        if (json_is_object(child)) {
            json_t *new_child;

            g_string_append_printf(path, "%s.", name);
            new_child = keyval_listify(child, path, errp);
            g_string_truncate(path, path_len);
            if (!new_child) {
                return NULL;
            }
            if (new_child == child) {
                json_decref(new_child);
            } else {
                json_object_set_new(obj, name, new_child);
            }
        }
    }

    if (!has_index) {
        return json_incref(obj);
    }
    if (has_name) {
        /* path ends with '.', the root never has indexes */
        error_setg(errp, "Parameters '%s*' used inconsistently", path->str);
        return NULL;
    }

    /* n distinct canonical indexes are 0..n-1 exactly when each is < n. */
    elems = g_new0(json_t *, n);
    json_object_foreach(obj, name, child) {
        guint64 idx;

        if (g_ascii_string_to_unsigned(name, 10, 0, n - 1, &idx, NULL)) {
            elems[idx] = child;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!elems[i]) {
            error_setg(errp, "Parameter '%s%zu' missing", path->str, i);
            return NULL;
        }
    }
    list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append(list, elems[i]);
    }
    return list;
}

static json_t *keyval_finish(json_t *raw, Error **errp)
{
    g_autoptr(GString) path = g_string_new(NULL);
    json_t *result = keyval_listify(raw, path, errp);

    json_decref(raw);
    return result;
}

json_t *keyval_parse(const char *params, const char *implied_key, bool *help,
                     Error **errp)
{
    bool want_help;
    json_t *raw = keyval_parse_raw(params, implied_key, false, &want_help,
                                   errp);

    if (!raw) {
        return NULL;
    }
    if (want_help && !help) {
        error_setg(errp, "Help is not available for this option");
        json_decref(raw);
        return NULL;
    }
    if (help) {
        *help = want_help;
    }
    return keyval_finish(raw, errp);
}

/* Deep copy of @val with arrays turned back into objects indexed "0"...,
 * so a parsed string can be merged into an earlier result. */
static json_t *keyval_unlistify(json_t *val)
{
    json_t *copy, *child;
    const char *name;
    size_t i;

    if (json_is_array(val)) {
        copy = json_object();
        json_array_foreach(val, i, child) {
            char idx[24];

            g_snprintf(idx, sizeof(idx), "%zu", i);
            json_object_set_new(copy, idx, keyval_unlistify(child));
        }
        return copy;
    }
    if (json_is_object(val)) {
        copy = json_object();
        json_object_foreach(val, name, child) {
            json_object_set_new(copy, name, keyval_unlistify(child));
        }
        return copy;
    }
    return json_incref(val);
}

/* Merges @src into @dst, @src winning on leaves.  @path as for
 * keyval_listify(). */
static bool keyval_merge(json_t *dst, json_t *src, GString *path,
                         Error **errp)
{
    size_t path_len = path->len;
    const char *name;
    json_t *val;

    json_object_foreach(src, name, val) {
        json_t *old = json_object_get(dst, name);
        bool ok = true;

        g_string_append(path, name);
        if (old && json_is_object(old) != json_is_object(val)) {
            error_setg(errp, "Parameters '%s.*' used inconsistently",
                       path->str);
            ok = false;
        } else if (old && json_is_object(old)) {
            g_string_append_c(path, '.');
            ok = keyval_merge(old, val, path, errp);
        } else {
            json_object_set(dst, name, val);
        }
        g_string_truncate(path, path_len);
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool keyval_parse_into(json_t *into, const char *params,
                       const char *implied_key, Error **errp)
{
    g_autoptr(GString) path = g_string_new(NULL);
    json_t *raw, *merged, *result;
    bool want_help;

    raw = keyval_parse_raw(params, implied_key, true, &want_help, errp);
    if (!raw) {
        return false;
    }
    if (want_help) {
        error_setg(errp, "Help is not available for this option");
        json_decref(raw);
        return false;
    }

    /* Work on a copy so that @into is untouched on error. */
    merged = keyval_unlistify(into);
    if (!keyval_merge(merged, raw, path, errp)) {
        json_decref(raw);
        json_decref(merged);
        return false;
    }
    json_decref(raw);
    result = keyval_finish(merged, errp);
    if (!result) {
        return false;
    }
    json_object_clear(into);
    json_object_update(into, result);
    json_decref(result);
    return true;
}
