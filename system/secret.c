/*
 * Secret objects.  See include/system/secret.h.
 */
#include "system/secret.h"

#include <string.h>

#include "system/object-types.h"
#include "system/object.h"
#include "util/main-thread.h"
#include "util/small-file.h"

typedef struct Secret {
    uint8_t *bytes;
    size_t len;
} Secret;

/* Secret files are passwords and keys: anything bigger is a mistake. */
#define SECRET_MAX_FILE (64 * 1024)

static bool is_base64_char(char c)
{
    return g_ascii_isalnum(c) || c == '+' || c == '/';
}

/*
 * GLib's decoder skips whatever is not base64, so a typo would silently
 * become another secret: check the text first.  Padding is only at the
 * end, and the length is a multiple of 4.
 */
static bool check_base64(const char *text, size_t len, Error **errp)
{
    size_t pad = 0;

    for (size_t i = 0; i < len; i++) {
        if (text[i] == '=' && i + 2 >= len && len % 4 == 0) {
            pad++;
        } else if (pad || !is_base64_char(text[i])) {
            error_setg(errp, "invalid base64: unexpected %s at offset %zu",
                       g_ascii_isprint(text[i]) ? "character" : "byte", i);
            return false;
        }
    }
    if (len % 4) {
        error_setg(errp, "invalid base64: length %zu is not a multiple of 4",
                   len);
        return false;
    }
    return true;
}

static void secret_destroy(void *impl)
{
    Secret *s = impl;

    explicit_bzero(s->bytes, s->len);
    g_free(s->bytes);
    g_free(s);
}

static void *secret_create(const ObjectOptions *opts, Error **errp)
{
    const SecretProperties *p = &opts->u.secret;
    g_autofree char *contents = NULL;
    const char *text;
    size_t len;
    Secret *s;

    if (!p->data == !p->file) {
        error_setg(errp, "exactly one of 'data' and 'file' is required");
        return NULL;
    }
    if (p->file) {
        if (!small_file_read(p->file, SECRET_MAX_FILE, &contents, &len,
                             errp)) {
            return NULL;
        }
        text = contents;
    } else {
        text = p->data;
        len = strlen(p->data);
    }

    s = g_new0(Secret, 1);
    if (p->has_format && p->format == QCRYPTO_SECRET_FORMAT_BASE64) {
        g_autofree char *copy = NULL;
        gsize n = 0;

        if (!check_base64(text, len, errp)) {
            error_prepend(errp, "%s: ", p->file ? p->file : "'data'");
            g_free(s);
            s = NULL;
            goto out;
        }
        copy = g_strndup(text, len);
        s->bytes = g_base64_decode(copy, &n);
        s->len = n;
        explicit_bzero(copy, len);
    } else {
        s->bytes = g_memdup2(text, len);
        s->len = len;
    }
out:
    if (contents) {
        explicit_bzero(contents, len);
    }
    return s;
}

const ObjectTypeInfo secret_info = {
    .create = secret_create,
    .destroy = secret_destroy,
};

uint8_t *secret_lookup(const char *id, size_t *len, Error **errp)
{
    Secret *s;
    uint8_t *copy;
    ObjectType type;

    assert_main_thread();
    s = object_find(id, OBJECT_TYPE_SECRET);
    if (!s) {
        if (object_find_type(id, &type)) {
            error_setg(errp, "object '%s' is a %s, not a secret", id,
                       ObjectType_str(type));
        } else {
            error_setg(errp, "secret '%s' does not exist", id);
        }
        return NULL;
    }
    copy = g_malloc(s->len + 1);
    memcpy(copy, s->bytes, s->len);
    copy[s->len] = '\0';
    *len = s->len;
    return copy;
}
