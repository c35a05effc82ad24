/*
 * ACCEPT: the destination's answer to a HELLO it takes: the chosen
 * version, the configuration both ends will use and what the
 * destination's host supports.
 */
#include "migration/wire/wire.h"

#include <string.h>

#include "migration/config.h"

/* One-byte name: the smallest feature entry. */
#define FEATURE_MIN_SIZE (2 + 1)

WireAccept *wire_accept_new(void)
{
    WireAccept *a = g_new0(WireAccept, 1);

    a->version = WIRE_VERSION_MAX;
    a->implementation = g_strdup("");
    a->config = g_new0(MigrationConfig, 1);
    a->features = g_ptr_array_new_with_free_func(g_free);
    a->ignored_options = g_ptr_array_new_with_free_func(g_free);
    return a;
}

void wire_accept_free(WireAccept *a)
{
    if (a) {
        g_free(a->implementation);
        qapi_free_MigrationConfig(a->config);
        g_ptr_array_unref(a->features);
        g_ptr_array_unref(a->ignored_options);
        g_free(a);
    }
}

void wire_accept_add_feature(WireAccept *a, const char *feature)
{
    g_ptr_array_add(a->features, g_strdup(feature));
}

bool wire_accept_has_feature(const WireAccept *a, const char *feature)
{
    for (guint i = 0; i < a->features->len; i++) {
        if (strcmp(g_ptr_array_index(a->features, i), feature) == 0) {
            return true;
        }
    }
    return false;
}

/* Feature names are tokens ("postcopy-preempt"), never free text. */
static bool feature_name_valid(const char *s)
{
    for (; *s; s++) {
        if (!g_ascii_islower(*s) && !g_ascii_isdigit(*s) && *s != '-') {
            return false;
        }
    }
    return true;
}

static bool decode_features(WireReader *r, WireAccept *a, Error **errp)
{
    uint32_t n;

    if (!wire_get_u32(r, "feature count", &n, errp) ||
        !wire_check_count(r, "feature", n, WIRE_FEATURES_MAX,
                          FEATURE_MIN_SIZE, errp)) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        g_autofree char *f = NULL;

        if (!wire_get_str(r, "name", WIRE_FEATURE_LEN_MAX, true, &f, errp)) {
            error_prepend(errp, "feature %u: ", i);
            return false;
        }
        if (!feature_name_valid(f)) {
            error_setg(errp, "feature %u: '%s' is not made of a-z, 0-9 "
                       "and '-'", i, f);
            return false;
        }
        if (wire_accept_has_feature(a, f)) {
            error_setg(errp, "feature %u: '%s' is listed twice", i, f);
            return false;
        }
        g_ptr_array_add(a->features, g_steal_pointer(&f));
    }
    return true;
}

static bool decode_body(WireReader *r, WireAccept *a, Error **errp)
{
    const uint8_t *p;
    const uint8_t *json;
    uint32_t json_len;
    MigrationConfig *cfg;

    if (!wire_get_u32(r, "version", &a->version, errp) ||
        !wire_get_u32(r, "flags", &a->flags, errp)) {
        return false;
    }
    if (a->version < 2) {
        error_setg(errp, "invalid version %u", a->version);
        return false;
    }
    if (a->flags & WIRE_FLAGS_CRITICAL) {
        error_setg(errp, "unknown critical flags 0x%08x",
                   a->flags & WIRE_FLAGS_CRITICAL);
        return false;
    }
    if (!wire_get_bytes(r, "session id", WIRE_SESSION_ID_LEN, &p, errp)) {
        return false;
    }
    memcpy(a->session_id, p, WIRE_SESSION_ID_LEN);
    g_clear_pointer(&a->implementation, g_free);
    if (!wire_get_str(r, "implementation", WIRE_IMPL_MAX, false,
                      &a->implementation, errp) ||
        !wire_get_blob(r, "config", WIRE_CONFIG_MAX, &json, &json_len,
                       errp) ||
        !wire_config_from_json(json, json_len, &cfg, a->ignored_options,
                               NULL, errp)) {
        return false;
    }
    qapi_free_MigrationConfig(a->config);
    a->config = cfg;
    return decode_features(r, a, errp) &&
           wire_extensions_decode(r, NULL, errp);
}

bool wire_accept_decode(const uint8_t *body, size_t len, WireAccept **out,
                        Error **errp)
{
    g_autoptr(WireAccept) a = wire_accept_new();
    WireReader r;

    wire_reader_init(&r, body, len);
    if (!decode_body(&r, a, errp)) {
        error_prepend(errp, "ACCEPT: ");
        return false;
    }
    *out = g_steal_pointer(&a);
    return true;
}

bool wire_accept_encode(const WireAccept *a, GByteArray *out, Error **errp)
{
    size_t start = wire_record_begin(out, WIRE_REC_ACCEPT);
    g_autoptr(WireAccept) check = NULL;
    g_autofree char *json = NULL;
    size_t json_len;

    wire_put_u32(out, a->version);
    wire_put_u32(out, a->flags);
    wire_put_bytes(out, a->session_id, WIRE_SESSION_ID_LEN);
    json = wire_config_to_json(a->config, &json_len);
    if (!wire_put_str(out, "implementation", a->implementation,
                      WIRE_IMPL_MAX, errp) ||
        !wire_put_blob(out, "config", json, json_len, WIRE_CONFIG_MAX,
                       errp)) {
        error_prepend(errp, "ACCEPT: ");
        goto fail;
    }
    if (a->features->len > WIRE_FEATURES_MAX) {
        error_setg(errp, "ACCEPT: feature count %u exceeds %u",
                   a->features->len, WIRE_FEATURES_MAX);
        goto fail;
    }
    wire_put_u32(out, a->features->len);
    for (guint i = 0; i < a->features->len; i++) {
        if (!wire_put_str(out, "name", g_ptr_array_index(a->features, i),
                          WIRE_FEATURE_LEN_MAX, errp)) {
            error_prepend(errp, "ACCEPT: feature %u: ", i);
            goto fail;
        }
    }
    /* Same rules both ways: never send what a source must refuse. */
    if (!wire_accept_decode(out->data + start + WIRE_RECORD_HEADER_SIZE,
                            out->len - start - WIRE_RECORD_HEADER_SIZE,
                            &check, errp)) {
        goto fail;
    }
    return wire_record_end(out, start, errp);

fail:
    g_byte_array_set_size(out, start);
    return false;
}
