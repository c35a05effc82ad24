/*
 * Command arguments from the command line.
 *
 * key=value words are parsed with the same keyval parser as vmig's own
 * command line, which yields a tree of strings.  The strings are then
 * given the JSON types the command declares, read from query-qmp-schema
 * (QEMU's SchemaInfo layout), so "vmig-ctl SOCK cmd count=3 flag=on"
 * sends {"count": 3, "flag": true}.  Anything the schema does not explain
 * is sent as a string and left for vmig to judge.
 */
#include "vmig-ctl.h"

#include <string.h>

#include "qapi/keyval.h"
#include "util/cutils.h"

/* The schema, indexed by entity name (names point into @entities). */
typedef struct Schema {
    json_t *entities;
    GHashTable *by_name;
} Schema;

static void schema_free(Schema *s)
{
    g_hash_table_destroy(s->by_name);
    json_decref(s->entities);
    g_free(s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Schema, schema_free)

static Schema *schema_fetch(QmpClient *c, Error **errp)
{
    json_t *rsp = qmp_client_execute(c, "query-qmp-schema", NULL, errp);
    if (!rsp) {
        return NULL;
    }
    json_t *ret = json_object_get(rsp, "return");
    if (!json_is_array(ret)) {
        error_setg(errp, "query-qmp-schema failed, so argument types are "
                   "unknown; pass the arguments as one JSON object");
        json_decref(rsp);
        return NULL;
    }

    Schema *s = g_new0(Schema, 1);
    s->entities = json_incref(ret);
    s->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    json_decref(rsp);

    size_t i;
    json_t *ent;
    json_array_foreach(s->entities, i, ent) {
        const char *name = json_string_value(json_object_get(ent, "name"));
        if (name) {
            g_hash_table_insert(s->by_name, (gpointer)name, ent);
        }
    }
    return s;
}

static const char *meta_type(json_t *ent)
{
    const char *meta = json_string_value(json_object_get(ent, "meta-type"));
    return meta ? meta : "";
}

/* A scalar string converted to the builtin JSON type @json_type. */
static json_t *convert_builtin(const char *json_type, const char *str,
                               Error **errp)
{
    if (!strcmp(json_type, "int")) {
        int64_t i;
        uint64_t u;
        if (parse_int64(str, &i, NULL)) {
            return json_integer(i);
        }
        /* QEMU folds 'size' into "int": accept 64M and friends too. */
        if (parse_size(str, &u, errp)) {
            return json_integer((json_int_t)u);
        }
        return NULL;
    }
    if (!strcmp(json_type, "number")) {
        double d;
        return parse_double(str, &d, errp) ? json_real(d) : NULL;
    }
    if (!strcmp(json_type, "boolean")) {
        bool b;
        return parse_bool(str, &b, errp) ? json_boolean(b) : NULL;
    }
    if (!strcmp(json_type, "null")) {
        if (strcmp(str, "null")) {
            error_setg(errp, "'%s' is not null", str);
            return NULL;
        }
        return json_null();
    }
    return json_string(str);
}

static json_t *convert(Schema *s, const char *type, json_t *val,
                       const char *path, Error **errp);

/* The member @name of object type @ent, looking into union variants. */
static const char *member_type(Schema *s, json_t *ent, const char *name)
{
    size_t i;
    json_t *m;

    json_array_foreach(json_object_get(ent, "members"), i, m) {
        if (!g_strcmp0(json_string_value(json_object_get(m, "name")), name)) {
            return json_string_value(json_object_get(m, "type"));
        }
    }
    json_array_foreach(json_object_get(ent, "variants"), i, m) {
        const char *vtype = json_string_value(json_object_get(m, "type"));
        json_t *vent = vtype ? g_hash_table_lookup(s->by_name, vtype) : NULL;
        const char *found = vent ? member_type(s, vent, name) : NULL;
        if (found) {
            return found;
        }
    }
    return NULL;
}

static json_t *convert_object(Schema *s, json_t *ent, json_t *val,
                              const char *path, Error **errp)
{
    if (!json_is_object(val)) {
        return json_incref(val);    /* vmig will say what is wrong */
    }
    json_t *out = json_object();
    const char *key;
    json_t *child;
    json_object_foreach(val, key, child) {
        g_autofree char *child_path = path[0] ?
            g_strdup_printf("%s.%s", path, key) : g_strdup(key);
        json_t *conv = convert(s, member_type(s, ent, key), child,
                               child_path, errp);
        if (!conv) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, key, conv);
    }
    return out;
}

static json_t *convert_array(Schema *s, json_t *ent, json_t *val,
                             const char *path, Error **errp)
{
    const char *elem = json_string_value(json_object_get(ent,
                                                         "element-type"));
    if (!json_is_array(val)) {
        /* "l=x" for a one-element list is a natural thing to type. */
        json_t *conv = convert(s, elem, val, path, errp);
        return conv ? json_pack("[o]", conv) : NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *child;
    json_array_foreach(val, i, child) {
        g_autofree char *child_path = g_strdup_printf("%s.%zu", path, i);
        json_t *conv = convert(s, elem, child, child_path, errp);
        if (!conv) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, conv);
    }
    return out;
}

/* Alternates: the first branch the string fits, scalars before strings. */
static json_t *convert_alternate(Schema *s, json_t *ent, json_t *val)
{
    static const char *const order[] = { "boolean", "int", "number", NULL };
    size_t i;
    json_t *m;

    if (!json_is_string(val)) {
        return json_incref(val);
    }
    for (const char *const *want = order; *want; want++) {
        json_array_foreach(json_object_get(ent, "members"), i, m) {
            const char *t = json_string_value(json_object_get(m, "type"));
            json_t *tent = t ? g_hash_table_lookup(s->by_name, t) : NULL;
            const char *jt = json_string_value(json_object_get(tent,
                                                               "json-type"));
            if (!g_strcmp0(jt, *want)) {
                json_t *conv = convert_builtin(jt, json_string_value(val),
                                               NULL);
                if (conv) {
                    return conv;
                }
            }
        }
    }
    return json_incref(val);
}

static json_t *convert(Schema *s, const char *type, json_t *val,
                       const char *path, Error **errp)
{
    json_t *ent = type ? g_hash_table_lookup(s->by_name, type) : NULL;
    const char *meta = ent ? meta_type(ent) : "";

    if (!strcmp(meta, "object")) {
        return convert_object(s, ent, val, path, errp);
    }
    if (!strcmp(meta, "array")) {
        return convert_array(s, ent, val, path, errp);
    }
    if (!strcmp(meta, "alternate")) {
        return convert_alternate(s, ent, val);
    }
    if (!strcmp(meta, "builtin") && json_is_string(val)) {
        const char *jt = json_string_value(json_object_get(ent,
                                                           "json-type"));
        json_t *conv = convert_builtin(jt ? jt : "string",
                                       json_string_value(val), errp);
        if (!conv) {
            error_prepend(errp, "argument '%s': ", path);
        }
        return conv;
    }
    return json_incref(val);
}

/* {"@member": @val} when @member is given, else @val itself. */
static json_t *wrap(const char *member, json_t *val)
{
    return member ? json_pack("{s:o}", member, val) : val;
}

static json_t *build_args(QmpClient *c, const char *command,
                          const char *member, char **words, int nwords,
                          Error **errp)
{
    if (nwords == 0) {
        return NULL;
    }
    if (words[0][0] == '{') {
        if (nwords > 1) {
            error_setg(errp, "a JSON object must be the only argument");
            return NULL;
        }
        json_error_t jerr;
        json_t *obj = json_loads(words[0], JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(obj)) {
            error_setg(errp, "invalid JSON arguments: %s",
                       obj ? "not an object" : jerr.text);
            json_decref(obj);
            return NULL;
        }
        return wrap(member, obj);
    }

    json_t *strings = json_object();
    for (int i = 0; i < nwords; i++) {
        if (!keyval_parse_into(strings, words[i], NULL, errp)) {
            json_decref(strings);
            return NULL;
        }
    }
    strings = wrap(member, strings);

    g_autoptr(Schema) s = schema_fetch(c, errp);
    if (!s) {
        json_decref(strings);
        return NULL;
    }
    json_t *cmd = g_hash_table_lookup(s->by_name, command);
    if (!cmd || strcmp(meta_type(cmd), "command")) {
        /* Let vmig report the unknown command in its own words. */
        return strings;
    }
    const char *arg_type = json_string_value(json_object_get(cmd,
                                                             "arg-type"));
    json_t *typed = convert(s, arg_type, strings, "", errp);
    json_decref(strings);
    return typed;
}

json_t *ctl_build_args(QmpClient *c, const char *command, char **words,
                       int nwords, Error **errp)
{
    return build_args(c, command, NULL, words, nwords, errp);
}

json_t *ctl_build_member_args(QmpClient *c, const char *command,
                              const char *member, char **words, int nwords,
                              Error **errp)
{
    return build_args(c, command, member, words, nwords, errp);
}
