/*
 * authz-simple and authz-list.  See include/system/authz.h.
 *
 * authz-simple is kept as what it means: a list with one exact "allow"
 * rule and a default of deny.  One decision function then serves both,
 * and only the messages tell them apart.
 */
#include "system/authz.h"

#include <fnmatch.h>
#include <string.h>

#include "system/object-types.h"
#include "system/object.h"
#include "util/main-thread.h"

typedef struct AuthzRule {
    char *match;
    QAuthZListPolicy policy;
    QAuthZListFormat format;
} AuthzRule;

struct Authz {
    char *id;
    bool simple;
    QAuthZListPolicy policy;        /* when no rule matches */
    GArray *rules;                  /* of AuthzRule, in order */
    int holds;
};

static void rule_clear(gpointer p)
{
    g_free(((AuthzRule *)p)->match);
}

static Authz *authz_new(const char *id, bool simple, QAuthZListPolicy policy)
{
    Authz *a = g_new0(Authz, 1);

    a->id = g_strdup(id);
    a->simple = simple;
    a->policy = policy;
    a->rules = g_array_new(FALSE, TRUE, sizeof(AuthzRule));
    g_array_set_clear_func(a->rules, rule_clear);
    return a;
}

static void authz_add_rule(Authz *a, const char *match,
                           QAuthZListPolicy policy, QAuthZListFormat format)
{
    AuthzRule r = {
        .match = g_strdup(match), .policy = policy, .format = format,
    };

    g_array_append_val(a->rules, r);
}

static void *simple_create(const ObjectOptions *opts, Error **errp)
{
    Authz *a = authz_new(opts->id, true, QAUTHZ_LIST_POLICY_DENY);

    authz_add_rule(a, opts->u.authz_simple.identity,
                   QAUTHZ_LIST_POLICY_ALLOW, QAUTHZ_LIST_FORMAT_EXACT);
    return a;
}

static void *list_create(const ObjectOptions *opts, Error **errp)
{
    const AuthZListProperties *p = &opts->u.authz_list;
    Authz *a = authz_new(opts->id, false,
                         p->has_policy ? p->policy : QAUTHZ_LIST_POLICY_DENY);

    for (QAuthZListRuleList *l = p->rules; l; l = l->next) {
        const QAuthZListRule *r = l->value;

        authz_add_rule(a, r->match, r->policy,
                       r->has_format ? r->format : QAUTHZ_LIST_FORMAT_EXACT);
    }
    return a;
}

static void authz_destroy(void *impl)
{
    Authz *a = impl;

    g_assert(a->holds == 0);
    g_array_unref(a->rules);
    g_free(a->id);
    g_free(a);
}

static bool authz_in_use(void *impl)
{
    return ((Authz *)impl)->holds > 0;
}

const ObjectTypeInfo authz_simple_info = {
    .create = simple_create,
    .destroy = authz_destroy,
    .in_use = authz_in_use,
    .in_use_reason = OBJECT_IN_USE_BY_MIGRATION,
};

const ObjectTypeInfo authz_list_info = {
    .create = list_create,
    .destroy = authz_destroy,
    .in_use = authz_in_use,
    .in_use_reason = OBJECT_IN_USE_BY_MIGRATION,
};

Authz *authz_find(const char *id, Error **errp)
{
    ObjectType type;

    assert_main_thread();
    if (!object_find_type(id, &type)) {
        error_setg(errp, "authorization '%s' does not exist", id);
        return NULL;
    }
    if (type != OBJECT_TYPE_AUTHZ_SIMPLE && type != OBJECT_TYPE_AUTHZ_LIST) {
        error_setg(errp, "object '%s' is a %s, not an authorization", id,
                   ObjectType_str(type));
        return NULL;
    }
    return object_find(id, type);
}

void authz_hold(Authz *a)
{
    assert_main_thread();
    a->holds++;
}

void authz_release(Authz *a)
{
    assert_main_thread();
    g_assert(a->holds > 0);
    a->holds--;
}

static bool rule_matches(const AuthzRule *r, const char *identity)
{
    if (r->format == QAUTHZ_LIST_FORMAT_GLOB) {
        return fnmatch(r->match, identity, 0) == 0;
    }
    return strcmp(r->match, identity) == 0;
}

bool authz_is_allowed(Authz *a, const char *identity, Error **errp)
{
    assert_main_thread();
    if (!identity) {
        error_setg(errp, "authorization '%s' denies a peer that proved no "
                   "identity", a->id);
        return false;
    }
    for (guint i = 0; i < a->rules->len; i++) {
        const AuthzRule *r = &g_array_index(a->rules, AuthzRule, i);

        if (!rule_matches(r, identity)) {
            continue;
        }
        if (r->policy == QAUTHZ_LIST_POLICY_ALLOW) {
            return true;
        }
        error_setg(errp, "authorization '%s' denies '%s' (rule %u, %s '%s')",
                   a->id, identity, i, QAuthZListFormat_str(r->format),
                   r->match);
        return false;
    }
    if (a->policy == QAUTHZ_LIST_POLICY_ALLOW) {
        return true;
    }
    if (a->simple) {
        error_setg(errp, "authorization '%s' denies '%s' (it allows only "
                   "'%s')", a->id, identity,
                   g_array_index(a->rules, AuthzRule, 0).match);
    } else {
        error_setg(errp, "authorization '%s' denies '%s' (no rule matches; "
                   "default policy deny)", a->id, identity);
    }
    return false;
}
