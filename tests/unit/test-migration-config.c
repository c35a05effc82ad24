/*
 * Unit tests of the migration configuration (migration/config*.c).
 *
 * Most tests walk the tables of config-rules.c themselves, so a new
 * option, rule or limit is tested the moment it is added (and a rule that
 * cannot be exercised makes the test fail): every range gets values on
 * both sides of its bounds, every rule and limit a configuration that
 * passes and one that fails, every host need a host that has the feature
 * and one that lacks it.  The toggle tests enable and disable options in
 * every order reachable from the defaults and check that a configuration
 * can never become invalid and that a refused change changes nothing.
 */
#include <check.h>
#include "tests/check-run.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "migration/config-validate.h"
#include "system/ram.h"

/* ---- Helpers ---------------------------------------------------------- */

/*
 * ck_assert() reports every passed assertion to the parent process; the
 * exhaustive tests check millions of things, so their hot paths use this.
 */
#define CHECK(cond, ...) \
    do { \
        if (!(cond)) { \
            ck_abort_msg(__VA_ARGS__); \
        } \
    } while (0)

static const MigrationConfigEnv env_set = {
    .context = MIGRATION_CONFIG_SET,
    .page_size = GUEST_PAGE_SIZE,
};
static const MigrationConfigEnv env_runtime = {
    .context = MIGRATION_CONFIG_RUNTIME,
    .page_size = GUEST_PAGE_SIZE,
};

static const QAPIMemberInfo *opt(const char *name)
{
    const QAPIMemberInfo *m = migration_config_find_option(name);

    CHECK(m, "no option '%s'", name);
    return m;
}

static size_t opt_index(const char *name)
{
    return migration_config_option_index(opt(name));
}

/* Asserts that *@err is set and its message contains every needle. */
static void check_error_has(Error **err, const char *n1, const char *n2,
                            const char *n3)
{
    const char *needles[] = { n1, n2, n3 };

    ck_assert_msg(*err, "expected an error containing '%s'", n1);
    for (size_t i = 0; i < G_N_ELEMENTS(needles); i++) {
        ck_assert_msg(!needles[i] || strstr(error_get_pretty(*err),
                                            needles[i]),
                      "error '%s' does not contain '%s'",
                      error_get_pretty(*err), needles[i]);
    }
    error_free_or_abort(err);
}

static void check_error_is(Error **err, const char *text)
{
    ck_assert_msg(*err, "expected the error '%s'", text);
    ck_assert_str_eq(error_get_pretty(*err), text);
    error_free_or_abort(err);
}

static void check_ok(bool ok, Error **err)
{
    ck_assert_msg(ok, "unexpected error: %s",
                  *err ? error_get_pretty(*err) : "(none set)");
    ck_assert_ptr_null(*err);
}

/* "'name'": how messages quote an option. */
static char *quoted(const char *name)
{
    return g_strdup_printf("'%s'", name);
}

static void put_json(MigrationConfig *cfg, const QAPIMemberInfo *m,
                     json_t *value)
{
    Error *err = NULL;

    CHECK(qapi_member_from_json(m, cfg, value, false, &err),
          "cannot set '%s': %s", m->name, err ? error_get_pretty(err) : "?");
    json_decref(value);
}

/* Stores a number into an unsigned option of any width (the visitor would
 * refuse values above INT64_MAX, which the range tests need). */
static void put_uint(MigrationConfig *cfg, const QAPIMemberInfo *m,
                     uint64_t v)
{
    ck_assert_msg(qapi_member_set_uint(m, cfg, v),
                  "%" PRIu64 " does not fit '%s'", v, m->name);
}

static uint64_t type_max(const QAPIMemberInfo *m)
{
    return m->size >= 8 ? UINT64_MAX : (UINT64_C(1) << (m->size * 8)) - 1;
}

/* Values that turn list options on, where the type alone cannot say. */
static const struct {
    const char *name;
    const char *json;
} on_values[] = {
    { "block-bitmap-mapping",
      "[{\"node-name\": \"disk0\", \"alias\": \"a\", \"bitmaps\": []}]" },
    { "cpr-exec-command", "[\"/usr/bin/vmig\"]" },
};

/* Turns option @m on (migration_config_option_is_on()). */
static void set_on(MigrationConfig *cfg, const QAPIMemberInfo *m)
{
    const MigrationConfig *defaults = migration_config_defaults();
    int def;

    switch (m->kind) {
    case QAPI_MEMBER_KIND_BOOL:
        put_json(cfg, m, json_true());
        break;
    case QAPI_MEMBER_KIND_STR:
        put_json(cfg, m, json_string("obj0"));
        break;
    case QAPI_MEMBER_KIND_ENUM:
        /* The first implemented value that is not the default. */
        def = qapi_member_get_enum(m, defaults);
        for (int e = 0; e < m->enum_lookup->size; e++) {
            if (e != def && !(m->enum_lookup->features &&
                              (m->enum_lookup->features[e] &
                               QAPI_FEATURE_UNIMPLEMENTED))) {
                put_json(cfg, m, json_string(m->enum_lookup->array[e]));
                break;
            }
        }
        break;
    case QAPI_MEMBER_KIND_UINT:
    case QAPI_MEMBER_KIND_SIZE:
        put_uint(cfg, m, qapi_member_get_uint(m, defaults) + 1);
        break;
    default:
        for (size_t i = 0; i < G_N_ELEMENTS(on_values); i++) {
            if (!strcmp(on_values[i].name, m->name)) {
                put_json(cfg, m, json_loads(on_values[i].json, 0, NULL));
                break;
            }
        }
        break;
    }
    ck_assert_msg(migration_config_option_is_on(m, cfg),
                  "the test cannot turn option '%s' on", m->name);
}

static void set_off(MigrationConfig *cfg, const QAPIMemberInfo *m)
{
    qapi_member_copy(m, cfg, migration_config_defaults());
    ck_assert(migration_config_option_is_default(m, cfg));
}

/* Turns @name on, and everything it requires (transitively). */
static void set_on_with_needs(MigrationConfig *cfg, const char *name)
{
    set_on(cfg, opt(name));
    for (size_t i = 0; i < migration_n_rules; i++) {
        const MigrationRule *r = &migration_rules[i];

        if (r->kind == MIGRATION_RULE_REQUIRES && !strcmp(r->a, name) &&
            !migration_config_option_is_on(opt(r->b), cfg)) {
            set_on_with_needs(cfg, r->b);
        }
    }
}

/* Whether @cfg sets an option the validator refuses (not-yet,
 * unimplemented) to something but its default. */
static bool has_refused_set(const MigrationConfig *cfg)
{
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (migration_option_is_refused(m) &&
            !migration_config_option_is_default(m, cfg)) {
            return true;
        }
    }
    return false;
}

/* Whether @v passes option @i's range and value checks (a refused
 * option is refused after them). */
static bool value_is_valid(size_t i, uint64_t v)
{
    const MigrationOptionInfo *o = &migration_options[i];

    return (!o->has_range || (v >= o->min && v <= o->max)) &&
           (!o->valid || o->valid(v, GUEST_PAGE_SIZE));
}

/* Gives option @m a valid value other than its default (a bool whose
 * default is on is turned off). */
static void set_non_default(MigrationConfig *cfg, const QAPIMemberInfo *m)
{
    const MigrationConfig *defaults = migration_config_defaults();
    size_t i = migration_config_option_index(m);

    if (m->kind == QAPI_MEMBER_KIND_BOOL &&
        qapi_member_get_bool(m, defaults)) {
        put_json(cfg, m, json_false());
    } else if ((m->kind == QAPI_MEMBER_KIND_UINT ||
                m->kind == QAPI_MEMBER_KIND_SIZE) &&
               !value_is_valid(i, qapi_member_get_uint(m, defaults) + 1)) {
        put_uint(cfg, m, qapi_member_get_uint(m, defaults) - 1);
    } else {
        set_on(cfg, m);
    }
    ck_assert(!migration_config_option_is_default(m, cfg));
}

/* The text the validator refuses option @m with, by its status. */
static const char *refusal_text(const QAPIMemberInfo *m)
{
    switch (migration_option_status(m)) {
    case MIGRATION_OPTION_NOT_YET:
        return "is not supported by this vmig yet";
    case MIGRATION_OPTION_UNIMPLEMENTED:
        return "is not implemented by vmig";
    default:
        ck_abort_msg("option '%s' is not refused", m->name);
        return NULL;
    }
}

static MigrationConfig *empty_config(void)
{
    return g_new0(MigrationConfig, 1);
}

/* ---- The tables ------------------------------------------------------- */

START_TEST(test_tables)
{
    Error *err = NULL;

    check_ok(migration_options_check(&err), &err);
    check_ok(migration_rules_check_tables(&err), &err);
    ck_assert_uint_eq(migration_n_options, MigrationConfig_info.n_members);
    /* Every option of the issue is there (a sample of each kind). */
    ck_assert_ptr_nonnull(opt("mapped-ram"));
    ck_assert_ptr_nonnull(opt("cpr-exec-command"));
    ck_assert(opt("compress")->features & QAPI_FEATURE_DEPRECATED);
    ck_assert(opt("decompress-threads")->features & QAPI_FEATURE_DEPRECATED);
    ck_assert(opt("xbzrle")->features & QAPI_FEATURE_CAPABILITY);
    ck_assert(!(opt("max-bandwidth")->features & QAPI_FEATURE_CAPABILITY));
    ck_assert(opt("max-bandwidth")->features & QAPI_FEATURE_RUNTIME);
    ck_assert(!(opt("multifd-channels")->features & QAPI_FEATURE_RUNTIME));
}
END_TEST

START_TEST(test_defaults)
{
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    MigrationHostSupport all = { 0 }, none = { 0 };
    Error *err = NULL;

    /* QEMU's defaults. */
    ck_assert(!cfg->xbzrle && cfg->has_xbzrle);
    ck_assert_uint_eq(cfg->announce_initial, 50);
    ck_assert_uint_eq(cfg->announce_max, 550);
    ck_assert_uint_eq(cfg->announce_rounds, 5);
    ck_assert_uint_eq(cfg->announce_step, 100);
    ck_assert_uint_eq(cfg->throttle_trigger_threshold, 50);
    ck_assert_uint_eq(cfg->cpu_throttle_initial, 20);
    ck_assert_uint_eq(cfg->cpu_throttle_increment, 10);
    ck_assert_uint_eq(cfg->max_cpu_throttle, 99);
    ck_assert_uint_eq(cfg->max_bandwidth, 128 * 1024 * 1024);
    ck_assert_uint_eq(cfg->downtime_limit, 300);
    ck_assert_uint_eq(cfg->x_checkpoint_delay, 20000);
    ck_assert_uint_eq(cfg->multifd_channels, 2);
    ck_assert_int_eq(cfg->multifd_compression, MULTIFD_COMPRESSION_NONE);
    ck_assert_uint_eq(cfg->multifd_zstd_level, 1);
    ck_assert_uint_eq(cfg->xbzrle_cache_size, 64 * 1024 * 1024);
    ck_assert_uint_eq(cfg->compress_threads, 8);
    ck_assert_uint_eq(cfg->decompress_threads, 2);
    ck_assert(cfg->compress_wait_thread);
    ck_assert_uint_eq(cfg->x_vcpu_dirty_limit_period, 1000);
    ck_assert_uint_eq(cfg->vcpu_dirty_limit, 1);
    ck_assert_int_eq(cfg->mode, MIG_MODE_NORMAL);
    ck_assert_int_eq(cfg->zero_page_detection, ZERO_PAGE_DETECTION_MULTIFD);
    ck_assert_str_eq(cfg->tls_creds, "");
    ck_assert_ptr_null(cfg->block_bitmap_mapping);
    ck_assert_ptr_null(cfg->cpr_exec_command);

    /* Defaults are valid everywhere, on any host. */
    for (int i = 0; i < MIGRATION_HOST__MAX; i++) {
        all.has[i] = true;
    }
    for (int c = 0; c < MIGRATION_CONFIG__MAX; c++) {
        static const char *const uris[] = {
            NULL, "tcp:127.0.0.1:4444", "unix:/tmp/s", "fd:3", "exec:cat",
            "file:/tmp/vm.state",
        };

        for (size_t u = 0; u < G_N_ELEMENTS(uris); u++) {
            MigrationConfigEnv env = { .context = c, .uri = uris[u] };

            env.host = &all;
            check_ok(migration_config_validate(cfg, cfg, &env, &err), &err);
            env.host = &none;
            check_ok(migration_config_validate(cfg, cfg, &env, &err), &err);
        }
    }
}
END_TEST

/* ---- Config helpers --------------------------------------------------- */

START_TEST(test_helpers)
{
    g_autoptr(MigrationConfig) a = migration_config_new_default();
    g_autoptr(MigrationConfig) b = NULL;
    g_autoptr(MigrationConfig) change = empty_config();
    g_autoptr(GPtrArray) present = NULL;
    g_autoptr(GPtrArray) changed = NULL;
    g_autofree char *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL;

    /* "on" for each kind. */
    ck_assert(!migration_config_option_is_on(opt("multifd-compression"), a));
    put_json(a, opt("multifd-compression"), json_string("zlib"));
    ck_assert(migration_config_option_is_on(opt("multifd-compression"), a));
    ck_assert(!migration_config_option_is_on(opt("tls-creds"), a));
    ck_assert(!migration_config_option_is_on(opt("block-bitmap-mapping"), a));
    ck_assert(!migration_config_option_is_on(opt("max-bandwidth"), a));
    ck_assert(!migration_config_option_is_on(opt("xbzrle"), change));

    /* "default" is not "off" for a bool that defaults to on. */
    ck_assert(migration_config_option_is_default(opt("compress-wait-thread"),
                                                 a));
    ck_assert(migration_config_option_is_default(opt("xbzrle"), change));
    put_json(a, opt("compress-wait-thread"), json_false());
    ck_assert(!migration_config_option_is_default(opt("compress-wait-thread"),
                                                  a));
    put_json(a, opt("compress-wait-thread"), json_true());
    put_json(a, opt("block-bitmap-mapping"), json_array());
    ck_assert(migration_config_option_is_default(opt("block-bitmap-mapping"),
                                                 a));
    ck_assert(!migration_config_option_is_default(opt("multifd-compression"),
                                                  a));

    /* Merge copies exactly what is present. */
    change->has_multifd_channels = true;
    change->multifd_channels = 8;
    change->tls_creds = g_strdup("tls0");
    present = migration_config_present(change);
    ck_assert_uint_eq(present->len, 2);
    b = migration_config_clone(a);
    ck_assert(migration_config_equal(a, b));
    migration_config_merge(b, change);
    ck_assert_uint_eq(b->multifd_channels, 8);
    ck_assert_str_eq(b->tls_creds, "tls0");
    ck_assert_int_eq(b->multifd_compression, MULTIFD_COMPRESSION_ZLIB);
    changed = migration_config_changed(a, b);
    ck_assert_uint_eq(changed->len, 2);
    ck_assert_str_eq(((QAPIMemberInfo *)changed->pdata[0])->name,
                     "tls-creds");
    ck_assert_str_eq(((QAPIMemberInfo *)changed->pdata[1])->name,
                     "multifd-channels");
    ck_assert(!migration_config_equal(a, b));

    /* fill_defaults completes a partial config. */
    migration_config_fill_defaults(change);
    ck_assert_uint_eq(change->multifd_channels, 8);
    ck_assert(change->has_downtime_limit);
    ck_assert_uint_eq(change->downtime_limit, 300);

    s1 = migration_config_option_value_str(opt("tls-creds"), b);
    s2 = migration_config_option_value_str(opt("multifd-compression"), b);
    s3 = migration_config_option_value_str(opt("xbzrle"), b);
    s4 = migration_config_option_value_str(opt("cpr-exec-command"), b);
    ck_assert_str_eq(s1, "'tls0'");
    ck_assert_str_eq(s2, "'zlib'");
    ck_assert_str_eq(s3, "false");
    ck_assert_str_eq(s4, "absent");
}
END_TEST

/* A partial configuration is validated as if absent options had their
 * defaults. */
START_TEST(test_partial)
{
    g_autoptr(MigrationConfig) cfg = empty_config();
    Error *err = NULL;

    check_ok(migration_config_validate(cfg, NULL, &env_set, &err), &err);
    cfg->has_switchover_ack = true;
    cfg->switchover_ack = true;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_has(&err, "'switchover-ack'", "'return-path'", NULL);
}
END_TEST

/* ---- Per-option checks ------------------------------------------------ */

START_TEST(test_ranges)
{
    for (size_t i = 0; i < migration_n_options; i++) {
        const MigrationOptionInfo *o = &migration_options[i];
        const QAPIMemberInfo *m = migration_config_option(i);
        uint64_t bad[2];
        int n_bad = 0;
        Error *err = NULL;

        if (!o->has_range) {
            continue;
        }
        if (o->min > 0) {
            bad[n_bad++] = o->min - 1;
        }
        if (o->max < type_max(m)) {
            bad[n_bad++] = o->max + 1;
        }
        ck_assert_msg(n_bad > 0, "the range of '%s' is its type's: drop it",
                      m->name);

        for (int side = 0; side < 2; side++) {
            g_autoptr(MigrationConfig) cfg = migration_config_new_default();
            uint64_t good = side ? o->max : o->min;

            put_uint(cfg, m, good);
            if (o->valid && !o->valid(good, GUEST_PAGE_SIZE)) {
                continue;
            }
            if (migration_option_is_refused(m) &&
                !migration_config_option_is_default(m, cfg)) {
                g_autofree char *name = quoted(m->name);

                /* In range, so refused for what it is. */
                ck_assert(!migration_option_validate(i, cfg, &env_set, &err));
                check_error_has(&err, name, refusal_text(m), NULL);
                continue;
            }
            check_ok(migration_option_validate(i, cfg, &env_set, &err), &err);
        }
        for (int j = 0; j < n_bad; j++) {
            g_autoptr(MigrationConfig) cfg = migration_config_new_default();
            g_autofree char *name = quoted(m->name);
            g_autofree char *value = g_strdup_printf("value %" PRIu64,
                                                     bad[j]);

            put_uint(cfg, m, bad[j]);
            ck_assert(!migration_option_validate(i, cfg, &env_set, &err));
            check_error_has(&err, name, value, "out of range");
            /* The whole validator says the same. */
            ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
            check_error_has(&err, name, value, "out of range");
        }
    }
}
END_TEST

/* Value checks beyond ranges: each needs examples here. */
START_TEST(test_value_checks)
{
    static const struct {
        const char *name;
        uint64_t good, bad;
    } cases[] = {
        { "xbzrle-cache-size", 1024 * 1024, 3 * GUEST_PAGE_SIZE },
        { "xbzrle-cache-size", GUEST_PAGE_SIZE, GUEST_PAGE_SIZE / 2 },
    };

    for (size_t i = 0; i < migration_n_options; i++) {
        bool found = false;

        for (size_t j = 0; j < G_N_ELEMENTS(cases); j++) {
            found |= !strcmp(cases[j].name, migration_options[i].name);
        }
        ck_assert_msg(!migration_options[i].valid || found,
                      "no test case for the value check of '%s'",
                      migration_options[i].name);
    }
    for (size_t j = 0; j < G_N_ELEMENTS(cases); j++) {
        g_autoptr(MigrationConfig) cfg = migration_config_new_default();
        size_t i = opt_index(cases[j].name);
        g_autofree char *name = quoted(cases[j].name);
        Error *err = NULL;

        put_uint(cfg, opt(cases[j].name), cases[j].good);
        check_ok(migration_option_validate(i, cfg, &env_set, &err), &err);
        put_uint(cfg, opt(cases[j].name), cases[j].bad);
        ck_assert(!migration_option_validate(i, cfg, &env_set, &err));
        check_error_has(&err, name, "is invalid",
                        migration_options[i].valid_desc);
    }
}
END_TEST

START_TEST(test_refused)
{
    int n_not_yet = 0, n_unimplemented = 0, n_no_effect = 0;

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);
        g_autoptr(MigrationConfig) cfg = migration_config_new_default();
        g_autofree char *name = quoted(m->name);
        Error *err = NULL;

        /* The default is accepted, always. */
        check_ok(migration_option_validate(i, cfg, &env_set, &err), &err);

        switch (migration_option_status(m)) {
        case MIGRATION_OPTION_NOT_YET:
        case MIGRATION_OPTION_UNIMPLEMENTED:
            set_non_default(cfg, m);
            ck_assert(!migration_option_validate(i, cfg, &env_set, &err));
            check_error_has(&err, name, refusal_text(m), NULL);
            ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
            check_error_has(&err, name, refusal_text(m), NULL);
            set_off(cfg, m);
            check_ok(migration_config_validate(cfg, NULL, &env_set, &err),
                     &err);
            if (migration_option_status(m) == MIGRATION_OPTION_NOT_YET) {
                n_not_yet++;
            } else {
                n_unimplemented++;
            }
            break;
        case MIGRATION_OPTION_NO_EFFECT:
            /* Accepted at any valid value. */
            set_non_default(cfg, m);
            check_ok(migration_config_validate(cfg, NULL, &env_set, &err),
                     &err);
            n_no_effect++;
            break;
        case MIGRATION_OPTION_WORKS:
            break;
        }
        if (m->kind != QAPI_MEMBER_KIND_ENUM || !m->enum_lookup->features) {
            continue;
        }
        for (int e = 0; e < m->enum_lookup->size; e++) {
            const char *v = m->enum_lookup->array[e];
            g_autofree char *value = g_strdup_printf("value '%s'", v);

            put_json(cfg, m, json_string(v));
            if (m->enum_lookup->features[e] & QAPI_FEATURE_UNIMPLEMENTED) {
                ck_assert(!migration_option_validate(i, cfg, &env_set, &err));
                check_error_has(&err, name, value,
                                "is not implemented by vmig");
                n_unimplemented++;
            } else {
                check_ok(migration_option_validate(i, cfg, &env_set, &err),
                         &err);
            }
        }
    }
    ck_assert_int_gt(n_not_yet, 0);
    ck_assert_int_gt(n_unimplemented, 0);
    ck_assert_int_gt(n_no_effect, 0);
}
END_TEST

/* ---- Rules between options --------------------------------------------- */

START_TEST(test_rules)
{
    for (size_t i = 0; i < migration_n_rules; i++) {
        const MigrationRule *r = &migration_rules[i];
        const QAPIMemberInfo *a = opt(r->a), *b = opt(r->b);
        g_autoptr(MigrationConfig) pass = migration_config_new_default();
        g_autoptr(MigrationConfig) fail = migration_config_new_default();
        g_autofree char *qa = quoted(r->a);
        g_autofree char *qb = quoted(r->b);
        Error *err = NULL;
        uint64_t vb;

        switch (r->kind) {
        case MIGRATION_RULE_EXCLUDES:
            set_on_with_needs(pass, r->a);
            set_on_with_needs(fail, r->a);
            set_on_with_needs(fail, r->b);
            break;
        case MIGRATION_RULE_REQUIRES:
            set_on_with_needs(pass, r->a);
            ck_assert(migration_config_option_is_on(b, pass));
            set_on(fail, a);
            break;
        case MIGRATION_RULE_NOT_ABOVE:
            /* Equal passes, one more fails. */
            vb = qapi_member_get_uint(b, pass);
            put_uint(pass, a, vb);
            put_uint(fail, b, vb - 1);
            put_uint(fail, a, vb);
            break;
        default:
            ck_abort_msg("rule kind %d has no test", r->kind);
        }

        check_ok(migration_rule_validate(r, pass, &err), &err);
        ck_assert(!migration_rule_validate(r, fail, &err));
        check_error_has(&err, qa, qb, r->reason);

        /* The whole validator agrees, as far as vmig implements both
         * (else it refuses an option the rule needs on first). */
        ck_assert(!migration_config_validate(fail, NULL, &env_set, &err));
        ck_assert_msg(has_refused_set(fail) ||
                      strstr(error_get_pretty(err), qa) ||
                      strstr(error_get_pretty(err), qb),
                      "rule %zu: '%s' names neither option", i,
                      error_get_pretty(err));
        error_free_or_abort(&err);
        if (!has_refused_set(pass)) {
            ck_assert_msg(migration_config_validate(pass, NULL, &env_set,
                                                    &err),
                          "rule %zu: its passing case is refused: %s", i,
                          error_get_pretty(err));
        }
    }
}
END_TEST

/* ---- Transport and snapshot limits ------------------------------------ */

/* An environment in which situation @where (one bit) applies. */
static MigrationConfigEnv env_for(unsigned where)
{
    switch (where) {
    case MIGRATION_WHERE_FILE:
        return (MigrationConfigEnv) { MIGRATION_CONFIG_OUTGOING,
                                      "file:/tmp/vm.state", NULL };
    case MIGRATION_WHERE_SOCKET:
        return (MigrationConfigEnv) { MIGRATION_CONFIG_OUTGOING,
                                      "tcp:127.0.0.1:4444", NULL };
    case MIGRATION_WHERE_STREAM:
        return (MigrationConfigEnv) { MIGRATION_CONFIG_INCOMING, "fd:3",
                                      NULL };
    case MIGRATION_WHERE_SNAPSHOT:
        return (MigrationConfigEnv) { MIGRATION_CONFIG_SNAPSHOT, NULL, NULL };
    default:
        ck_abort_msg("no environment for situation %#x", where);
        return env_set;
    }
}

START_TEST(test_limits)
{
    static const unsigned situations[] = {
        MIGRATION_WHERE_FILE, MIGRATION_WHERE_SOCKET, MIGRATION_WHERE_STREAM,
        MIGRATION_WHERE_SNAPSHOT,
    };

    for (size_t i = 0; i < migration_n_limits; i++) {
        const MigrationLimit *l = &migration_limits[i];
        g_autoptr(MigrationConfig) cfg = migration_config_new_default();
        g_autofree char *name = quoted(l->option);
        Error *err = NULL;
        int n_fail = 0, n_pass = 0;

        set_on_with_needs(cfg, l->option);
        /* Never a limit where no transport is in use. */
        check_ok(migration_limit_validate(l, cfg, &env_set, &err), &err);
        check_ok(migration_limit_validate(l, cfg, &env_runtime, &err), &err);

        for (size_t s = 0; s < G_N_ELEMENTS(situations); s++) {
            MigrationConfigEnv env = env_for(situations[s]);
            /* A snapshot is a file too. */
            bool applies = l->where & migration_config_env_where(&env);

            if (!applies) {
                check_ok(migration_limit_validate(l, cfg, &env, &err), &err);
                n_pass++;
                continue;
            }
            ck_assert(!migration_limit_validate(l, cfg, &env, &err));
            check_error_has(&err, name, l->reason, env.uri);
            ck_assert(!migration_config_validate(cfg, NULL, &env, &err));
            error_free_or_abort(&err);
            n_fail++;
            if (l->unless) {
                g_autoptr(MigrationConfig) with = migration_config_clone(cfg);
                g_autofree char *unless = quoted(l->unless);

                ck_assert(!migration_limit_validate(l, cfg, &env, &err));
                check_error_has(&err, name, unless, "unless");
                set_on_with_needs(with, l->unless);
                check_ok(migration_limit_validate(l, with, &env, &err), &err);
            }
        }
        ck_assert_msg(n_fail > 0, "limit %zu never applies", i);
        ck_assert_msg(n_pass > 0 || l->unless,
                      "limit %zu applies everywhere", i);

        /* Off, the option passes its limit anywhere. */
        set_off(cfg, opt(l->option));
        for (size_t s = 0; s < G_N_ELEMENTS(situations); s++) {
            MigrationConfigEnv env = env_for(situations[s]);

            check_ok(migration_limit_validate(l, cfg, &env, &err), &err);
        }
    }
}
END_TEST

/* ---- Host support ----------------------------------------------------- */

START_TEST(test_host_needs)
{
    for (size_t i = 0; i < migration_n_host_needs; i++) {
        const MigrationHostNeed *n = &migration_host_needs[i];
        const char *feature = migration_host_feature_names[n->feature];
        g_autoptr(MigrationConfig) cfg = migration_config_new_default();
        g_autofree char *name = quoted(n->option);
        MigrationHostSupport has = { 0 }, lacks = { 0 };
        Error *err = NULL;

        for (int f = 0; f < MIGRATION_HOST__MAX; f++) {
            has.has[f] = true;
            lacks.has[f] = f != (int)n->feature;
        }
        if (n->value) {
            put_json(cfg, opt(n->option), json_string(n->value));
        } else {
            set_on(cfg, opt(n->option));
        }

        for (int c = 0; c < MIGRATION_CONFIG__MAX; c++) {
            MigrationConfigEnv env = { .context = c, .host = &has };

            check_ok(migration_host_need_validate(n, cfg, &env, &err), &err);
            env.host = NULL;
            check_ok(migration_host_need_validate(n, cfg, &env, &err), &err);
            env.host = &lacks;
            if (!(n->contexts & MIGRATION_CONFIG_CTX_BIT(c))) {
                check_ok(migration_host_need_validate(n, cfg, &env, &err),
                         &err);
                continue;
            }
            ck_assert(!migration_host_need_validate(n, cfg, &env, &err));
            check_error_has(&err, name, feature, "this host does not support");
        }

        /* A host lacking the feature is fine while the option is off. */
        set_off(cfg, opt(n->option));
        for (int c = 0; c < MIGRATION_CONFIG__MAX; c++) {
            MigrationConfigEnv env = { .context = c, .host = &lacks };

            check_ok(migration_host_need_validate(n, cfg, &env, &err), &err);
        }
    }
}
END_TEST

/* A destination without zstd refuses a configuration using it. */
START_TEST(test_incoming_without_zstd)
{
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    MigrationHostSupport host = { 0 };
    MigrationConfigEnv env = {
        .context = MIGRATION_CONFIG_INCOMING,
        .uri = "tcp:0:4444",
        .host = &host,
    };
    Error *err = NULL;

    host.has[MIGRATION_HOST_ZLIB] = true;
    set_on(cfg, opt("multifd"));
    put_json(cfg, opt("multifd-compression"), json_string("zstd"));
    ck_assert(!migration_config_validate(cfg, NULL, &env, &err));
    check_error_is(&err, "Option 'multifd-compression' value 'zstd' cannot "
                   "be used: this host does not support zstd");
    put_json(cfg, opt("multifd-compression"), json_string("zlib"));
    check_ok(migration_config_validate(cfg, NULL, &env, &err), &err);
}
END_TEST

/* ---- Changes while migrating ----------------------------------------- */

/*
 * Gives option @m of @cfg a different value that is valid on its own.
 * Returns false for options the test cannot change generically (lists).
 */
static bool set_other_value(MigrationConfig *cfg, const QAPIMemberInfo *m)
{
    size_t i = migration_config_option_index(m);
    uint64_t cur, candidates[4];
    int e;

    switch (m->kind) {
    case QAPI_MEMBER_KIND_BOOL:
        put_json(cfg, m, json_boolean(!qapi_member_get_bool(m, cfg)));
        return true;
    case QAPI_MEMBER_KIND_STR:
        put_json(cfg, m, json_string("obj1"));
        return true;
    case QAPI_MEMBER_KIND_ENUM:
        e = qapi_member_get_enum(m, cfg);
        for (int v = 0; v < m->enum_lookup->size; v++) {
            if (v != e && !(m->enum_lookup->features &&
                            (m->enum_lookup->features[v] &
                             QAPI_FEATURE_UNIMPLEMENTED))) {
                put_json(cfg, m, json_string(m->enum_lookup->array[v]));
                return true;
            }
        }
        return false;
    case QAPI_MEMBER_KIND_UINT:
    case QAPI_MEMBER_KIND_SIZE:
        cur = qapi_member_get_uint(m, cfg);
        candidates[0] = cur - 1;
        candidates[1] = cur + 1;
        candidates[2] = cur * 2;
        candidates[3] = cur / 2;
        for (int c = 0; c < 4; c++) {
            if (candidates[c] == cur || candidates[c] > type_max(m)) {
                continue;
            }
            put_uint(cfg, m, candidates[c]);
            if (migration_option_validate(i, cfg, &env_set, NULL) ||
                (migration_option_is_refused(m) &&
                 value_is_valid(i, candidates[c]))) {
                return true;
            }
        }
        ck_abort_msg("no other valid value for '%s'", m->name);
        return false;
    default:
        return false;
    }
}

START_TEST(test_runtime)
{
    int n_runtime = 0, n_fixed = 0;

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);
        g_autoptr(MigrationConfig) current = migration_config_new_default();
        g_autoptr(MigrationConfig) other = migration_config_new_default();
        g_autoptr(MigrationConfig) change = empty_config();
        g_autoptr(MigrationConfig) before = NULL;
        g_autofree char *name = quoted(m->name);
        Error *err = NULL;

        if (!set_other_value(other, m)) {
            continue;
        }
        qapi_member_copy(m, change, other);
        before = migration_config_clone(current);

        if ((m->features & QAPI_FEATURE_RUNTIME) &&
            migration_option_is_refused(m)) {
            /* May change, but only to its default. */
            ck_assert(!migration_config_apply(current, change, &env_runtime,
                                              &err));
            check_error_has(&err, name, refusal_text(m), NULL);
            ck_assert(migration_config_equal(current, before));
            n_runtime++;
        } else if (m->features & QAPI_FEATURE_RUNTIME) {
            check_ok(migration_config_apply(current, change, &env_runtime,
                                            &err), &err);
            ck_assert(migration_config_option_equal(m, current, other));
            n_runtime++;
        } else {
            ck_assert(!migration_config_apply(current, change, &env_runtime,
                                              &err));
            check_error_has(&err, name, "cannot be changed",
                            "while migration is running");
            ck_assert(migration_config_equal(current, before));
            n_fixed++;
        }
        /* Setting the current value again is no change. */
        qapi_member_copy(m, change, current);
        check_ok(migration_config_apply(current, change, &env_runtime, &err),
                 &err);
    }
    ck_assert_int_gt(n_runtime, 0);
    ck_assert_int_gt(n_fixed, 0);
}
END_TEST

START_TEST(test_runtime_names_all)
{
    g_autoptr(MigrationConfig) current = migration_config_new_default();
    g_autoptr(MigrationConfig) change = empty_config();
    Error *err = NULL;

    change->has_multifd_channels = true;
    change->multifd_channels = 4;
    change->tls_creds = g_strdup("tls0");
    change->has_xbzrle = true;
    change->xbzrle = true;
    change->has_max_bandwidth = true;       /* runtime: not named */
    change->max_bandwidth = 1000;
    ck_assert(!migration_config_apply(current, change, &env_runtime, &err));
    check_error_is(&err, "Options 'xbzrle' (from false to true), "
                   "'tls-creds' (from '' to 'tls0') and 'multifd-channels' "
                   "(from 2 to 4) cannot be changed while migration is "
                   "running");
}
END_TEST

/* ---- Atomic updates ---------------------------------------------------- */

START_TEST(test_atomic)
{
    g_autoptr(MigrationConfig) current = migration_config_new_default();
    g_autoptr(MigrationConfig) before = migration_config_clone(current);
    g_autoptr(MigrationConfig) change = empty_config();
    MigrationConfig bytes = *current;
    Error *err = NULL;

    /* Three good options and one bad: nothing changes. */
    change->has_max_bandwidth = true;
    change->max_bandwidth = 1;
    change->has_events = true;
    change->events = true;
    change->has_multifd = true;
    change->multifd = true;
    change->has_multifd_channels = true;
    change->multifd_channels = 0;
    ck_assert(!migration_config_apply(current, change, &env_set, &err));
    check_error_is(&err, "Option 'multifd-channels' value 0 is out of range: "
                   "it must be between 1 and 255");
    ck_assert(!memcmp(&bytes, current, sizeof(bytes)));
    ck_assert(migration_config_equal(current, before));

    /* Fixed, the whole change applies. */
    change->multifd_channels = 16;
    check_ok(migration_config_apply(current, change, &env_set, &err), &err);
    ck_assert_uint_eq(current->max_bandwidth, 1);
    ck_assert(current->events);
    ck_assert(current->multifd);
    ck_assert_uint_eq(current->multifd_channels, 16);
}
END_TEST

/* ---- Messages ----------------------------------------------------------- */

START_TEST(test_messages)
{
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    MigrationConfigEnv tcp = { MIGRATION_CONFIG_OUTGOING, "tcp:127.0.0.1:1",
                               NULL };
    MigrationConfigEnv file = { MIGRATION_CONFIG_OUTGOING, "file:/tmp/x",
                                NULL };
    MigrationConfigEnv snapshot = { MIGRATION_CONFIG_SNAPSHOT, NULL, NULL };
    MigrationHostSupport nothing = { 0 };
    MigrationConfigEnv incoming = { MIGRATION_CONFIG_INCOMING, NULL,
                                    &nothing };
    Error *err = NULL;

    cfg->switchover_ack = true;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Option 'switchover-ack' requires 'return-path' "
                   "to be enabled: the destination's acknowledgement "
                   "travels on the return path");
    cfg->switchover_ack = false;

    /* The preempt channel carries postcopy's pages (#14). */
    cfg->postcopy_preempt = true;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Option 'postcopy-preempt' requires 'postcopy-ram' "
                   "to be enabled: the preempt channel carries the pages "
                   "postcopy requests");
    cfg->postcopy_ram = true;
    ck_assert(migration_config_validate(cfg, NULL, &env_set, &error_abort));
    /* Multifd carries precopy, and postcopy follows it (QEMU 10.1). */
    cfg->multifd = true;
    ck_assert(migration_config_validate(cfg, NULL, &env_set, &error_abort));
    cfg->multifd = cfg->postcopy_ram = cfg->postcopy_preempt = false;

    cfg->direct_io = true;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Option 'direct-io' is not supported by this vmig "
                   "yet");
    cfg->direct_io = false;

    /* Postcopy's options work (#14), within their rules. */
    cfg->max_postcopy_bandwidth = 1000;
    ck_assert(migration_config_validate(cfg, NULL, &env_set, &err));
    cfg->max_postcopy_bandwidth = 0;

    cfg->compress_wait_thread = false;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Option 'compress-wait-thread' is not implemented "
                   "by vmig: value false given, only its default is "
                   "accepted");
    cfg->compress_wait_thread = true;

    /* No effect here, but accepted. */
    cfg->late_block_activate = true;
    cfg->announce_rounds = 9;
    check_ok(migration_config_validate(cfg, NULL, &env_set, &err), &err);
    cfg->late_block_activate = false;
    cfg->announce_rounds = 5;

    cfg->mapped_ram = true;
    cfg->xbzrle = true;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Options 'mapped-ram' and 'xbzrle' cannot be used "
                   "together: mapped-ram writes each page at a fixed file "
                   "offset, which xbzrle's delta pages cannot have");
    cfg->xbzrle = false;

    ck_assert(!migration_config_validate(cfg, NULL, &tcp, &err));
    check_error_is(&err, "Option 'mapped-ram' cannot be used with URI "
                   "'tcp:127.0.0.1:1': pages are written at fixed offsets, "
                   "which needs a file: URI");
    cfg->mapped_ram = false;

    /* A file has no peer: only the default is accepted there. */
    cfg->liveness_timeout = 5;
    check_ok(migration_config_validate(cfg, NULL, &tcp, &err), &err);
    ck_assert(!migration_config_validate(cfg, NULL, &file, &err));
    check_error_is(&err, "Option 'liveness-timeout' (value 5) cannot be used "
                   "with URI 'file:/tmp/x': a file has no peer whose "
                   "silence could be timed");
    cfg->liveness_timeout = 0;
    ck_assert(!migration_config_validate(cfg, NULL, &tcp, &err));
    check_error_is(&err, "Option 'liveness-timeout' value 0 is out of range: "
                   "it must be between 1 and 3600 s");
    cfg->liveness_timeout = 30;

    cfg->multifd = true;
    ck_assert(!migration_config_validate(cfg, NULL, &file, &err));
    check_error_is(&err, "Option 'multifd' cannot be used with URI "
                   "'file:/tmp/x' unless 'mapped-ram' is enabled too: a "
                   "migration file is one stream unless mapped-ram gives "
                   "every page its own place in it");

    cfg->zero_copy_send = true;
    cfg->multifd_compression = MULTIFD_COMPRESSION_ZSTD;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Options 'zero-copy-send' and 'multifd-compression' "
                   "(value 'zstd') cannot be used together: pages are sent "
                   "straight from guest memory, so there is no compressed "
                   "copy to send");
    cfg->multifd_compression = MULTIFD_COMPRESSION_NONE;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Option 'zero-copy-send' requires 'checksum' to be "
                   "set: the kernel reads the pages from guest memory after "
                   "the call, so a running guest could change them after "
                   "their CRC32C was computed; checksum \"none\" sends "
                   "them unchecked");
    cfg->zero_copy_send = false;
    cfg->multifd = false;

    /* Files always carry checksums. */
    cfg->has_checksum = true;
    cfg->checksum = MIGRATION_CHECKSUM_NONE;
    ck_assert(!migration_config_validate(cfg, NULL, &file, &err));
    check_error_is(&err, "Option 'checksum' (value 'none') cannot be used "
                   "with URI 'file:/tmp/x': a file always carries "
                   "checksums, as nothing else would notice a flipped bit "
                   "in it");
    ck_assert(migration_config_validate(cfg, NULL, &tcp, &error_abort));
    cfg->checksum = MIGRATION_CHECKSUM_CRC32C;

    cfg->x_colo = true;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Option 'x-colo' is not implemented by vmig");
    cfg->x_colo = false;

    cfg->mode = MIG_MODE_CPR_EXEC;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Option 'mode' value 'cpr-exec' is not implemented "
                   "by vmig");
    cfg->mode = MIG_MODE_NORMAL;

    cfg->cpu_throttle_initial = 60;
    cfg->max_cpu_throttle = 50;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Option 'cpu-throttle-initial' value 60 must not "
                   "exceed option 'max-cpu-throttle' value 50: auto-converge "
                   "starts at cpu-throttle-initial and never throttles more "
                   "than max-cpu-throttle");
    cfg->cpu_throttle_initial = 20;
    cfg->max_cpu_throttle = 99;

    cfg->downtime_limit = 2000001;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Option 'downtime-limit' value 2000001 is out of "
                   "range: it must be between 0 and 2000000 ms");
    cfg->downtime_limit = 300;

    cfg->vcpu_dirty_limit = 0;
    ck_assert(!migration_config_validate(cfg, NULL, &env_set, &err));
    check_error_is(&err, "Option 'vcpu-dirty-limit' value 0 is out of "
                   "range: it must be at least 1 MiB/s");
    cfg->vcpu_dirty_limit = 1;

    cfg->auto_converge = true;
    ck_assert(!migration_config_validate(cfg, NULL, &snapshot, &err));
    check_error_is(&err, "Option 'auto-converge' cannot be used in a "
                   "snapshot: a snapshot copies memory in one pass, so there "
                   "is nothing to converge");
    cfg->auto_converge = false;

    cfg->multifd = true;
    cfg->multifd_compression = MULTIFD_COMPRESSION_ZLIB;
    ck_assert(!migration_config_validate(cfg, NULL, &incoming, &err));
    check_error_is(&err, "Option 'multifd-compression' value 'zlib' cannot "
                   "be used: this host does not support zlib");
    cfg->multifd = false;
    cfg->multifd_compression = MULTIFD_COMPRESSION_NONE;

    {
        g_autoptr(MigrationConfig) change = empty_config();

        change->has_multifd_channels = true;
        change->multifd_channels = 4;
        ck_assert(!migration_config_apply(cfg, change, &env_runtime, &err));
        check_error_is(&err, "Option 'multifd-channels' cannot be changed "
                       "from 2 to 4 while migration is running");
    }
}
END_TEST

/* ---- Toggling options in every order ---------------------------------- */

/*
 * The rules as the test reads the tables, independently of the
 * validator's code: the toggle tests check every configuration they reach
 * against this, so a validator that lets a bad configuration through is
 * caught even though migration_config_apply() uses the validator itself.
 */
static void check_invariants(const MigrationConfig *cfg,
                             const MigrationConfigEnv *env)
{
    unsigned where = 0;

    for (size_t i = 0; i < migration_n_rules; i++) {
        const MigrationRule *r = &migration_rules[i];
        bool a = migration_config_option_is_on(opt(r->a), cfg);
        bool b = migration_config_option_is_on(opt(r->b), cfg);

        switch (r->kind) {
        case MIGRATION_RULE_EXCLUDES:
            CHECK(!(a && b), "'%s' and '%s' are both on", r->a, r->b);
            break;
        case MIGRATION_RULE_REQUIRES:
            CHECK(!a || b, "'%s' is on without '%s'", r->a, r->b);
            break;
        case MIGRATION_RULE_NOT_ABOVE:
            CHECK(qapi_member_get_uint(opt(r->a), cfg) <=
                  qapi_member_get_uint(opt(r->b), cfg),
                  "'%s' exceeds '%s'", r->a, r->b);
            break;
        default:
            ck_abort_msg("rule kind %d has no invariant", r->kind);
        }
    }
    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        CHECK(!migration_option_is_refused(m) ||
              migration_config_option_is_default(m, cfg),
              "refused '%s' is not at its default", m->name);
    }
    if (env->context == MIGRATION_CONFIG_SNAPSHOT) {
        where |= MIGRATION_WHERE_SNAPSHOT | MIGRATION_WHERE_FILE;
    }
    if (env->uri && g_str_has_prefix(env->uri, "file:")) {
        where |= MIGRATION_WHERE_FILE;
    }
    for (size_t i = 0; i < migration_n_limits; i++) {
        const MigrationLimit *l = &migration_limits[i];

        CHECK(!(l->where & where) ||
              !migration_config_option_is_on(opt(l->option), cfg) ||
              (l->unless && migration_config_option_is_on(opt(l->unless),
                                                          cfg)),
              "'%s' is on where it is limited", l->option);
    }
}

/* The bool options vmig implements: the ones a client can toggle. */
static GPtrArray *toggles(void)
{
    GPtrArray *list = g_ptr_array_new();

    for (size_t i = 0; i < migration_config_n_options(); i++) {
        const QAPIMemberInfo *m = migration_config_option(i);

        if (m->kind == QAPI_MEMBER_KIND_BOOL &&
            !migration_option_is_refused(m)) {
            g_ptr_array_add(list, (gpointer)m);
        }
    }
    ck_assert_uint_le(list->len, 32);
    return list;
}

static MigrationConfig *config_of_mask(GPtrArray *list, uint32_t mask)
{
    MigrationConfig *cfg = migration_config_new_default();

    for (guint i = 0; i < list->len; i++) {
        put_json(cfg, list->pdata[i], json_boolean(mask & (1u << i)));
    }
    return cfg;
}

static uint32_t mask_of_config(GPtrArray *list, const MigrationConfig *cfg)
{
    uint32_t mask = 0;

    for (guint i = 0; i < list->len; i++) {
        if (qapi_member_get_bool(list->pdata[i], cfg)) {
            mask |= 1u << i;
        }
    }
    return mask;
}

/*
 * Applies "option @m = @value" to @cfg (a copy of the valid configuration
 * @base) in @env and checks the invariants: the result is valid; a
 * refused change leaves @cfg byte for byte as it was and names @m (from a
 * valid configuration, only a rule involving the changed option can
 * break).  Returns whether the change was applied.
 */
static bool toggle(MigrationConfig *cfg, const MigrationConfig *base,
                   const QAPIMemberInfo *m, bool value,
                   const MigrationConfigEnv *env)
{
    g_autoptr(MigrationConfig) change = empty_config();
    g_autofree char *name = quoted(m->name);
    MigrationConfig bytes = *cfg;
    Error *err = NULL;

    put_json(change, m, json_boolean(value));
    if (!migration_config_apply(cfg, change, env, &err)) {
        CHECK(!memcmp(&bytes, cfg, sizeof(bytes)),
              "a refused change of '%s' changed the configuration", m->name);
        CHECK(migration_config_equal(cfg, base),
              "a refused change of '%s' changed the configuration", m->name);
        CHECK(strstr(error_get_pretty(err), name),
              "refusing a change of %s, '%s' does not name it", name,
              error_get_pretty(err));
        error_free(err);
        return false;
    }
    CHECK(migration_config_validate(cfg, NULL, env, &err),
          "reached an invalid configuration: %s", error_get_pretty(err));
    check_invariants(cfg, env);
    return true;
}

/*
 * Breadth-first search over every configuration of the bool options that
 * single changes can reach from the defaults, trying every change in
 * every reached configuration: so every order of switching options on
 * and off is covered.
 */
static void explore(const MigrationConfigEnv *env, guint *n_states)
{
    g_autoptr(GPtrArray) list = toggles();
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    g_autoptr(GQueue) queue = g_queue_new();
    g_autoptr(MigrationConfig) start = migration_config_new_default();
    uint32_t mask0 = mask_of_config(list, start);
    guint n_refused = 0;

    g_hash_table_add(seen, GUINT_TO_POINTER(mask0 + 1));
    g_queue_push_tail(queue, GUINT_TO_POINTER(mask0 + 1));
    while (!g_queue_is_empty(queue)) {
        uint32_t mask = GPOINTER_TO_UINT(g_queue_pop_head(queue)) - 1;
        g_autoptr(MigrationConfig) base = config_of_mask(list, mask);

        for (guint i = 0; i < list->len; i++) {
            g_autoptr(MigrationConfig) cfg = migration_config_clone(base);
            uint32_t next = mask ^ (1u << i);

            if (toggle(cfg, base, list->pdata[i], next & (1u << i), env)) {
                CHECK(mask_of_config(list, cfg) == next,
                      "a change of one option changed another");
                if (g_hash_table_add(seen, GUINT_TO_POINTER(next + 1))) {
                    g_queue_push_tail(queue, GUINT_TO_POINTER(next + 1));
                }
            } else {
                n_refused++;
            }
        }
    }
    *n_states = g_hash_table_size(seen);
    /* The search went somewhere, and the rules did refuse things. */
    ck_assert_uint_gt(*n_states, list->len);
    ck_assert_uint_gt(n_refused, 0);
}

/* Stage 6: the objects TLS options name, looked up by fakes. */
static bool fake_tls_creds(const char *id, MigrationTlsCredsFacts *facts,
                           Error **errp)
{
    /* "x509-client", "psk-server"...: kind, then endpoint. */
    if (!g_str_has_suffix(id, "-client") && !g_str_has_suffix(id, "-server")) {
        error_setg(errp, "TLS credentials '%s' do not exist", id);
        return false;
    }
    facts->endpoint = g_str_has_suffix(id, "-client")
        ? QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT
        : QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    facts->checks_name = g_str_has_prefix(id, "x509-");
    return true;
}

static bool fake_authz(const char *id, Error **errp)
{
    if (strcmp(id, "auth0")) {
        error_setg(errp, "authorization '%s' does not exist", id);
        return false;
    }
    return true;
}

static const MigrationConfigObjects fake_objects = {
    .tls_creds = fake_tls_creds,
    .authz = fake_authz,
};

static void set_str(char **field, const char *value)
{
    g_free(*field);
    *field = g_strdup(value);
}

START_TEST(test_local_objects)
{
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    MigrationConfigEnv out = {
        .context = MIGRATION_CONFIG_OUTGOING, .uri = "tcp:dst:4444",
        .objects = &fake_objects,
    };
    MigrationConfigEnv in = out;
    Error *err = NULL;

    in.context = MIGRATION_CONFIG_INCOMING;
    set_str(&cfg->tls_creds, "x509-client");
    ck_assert(migration_config_validate(cfg, NULL, &out, &error_abort));
    /* Whatever the objects, setting is never refused (libvirt clears
     * tls-creds and tls-hostname one at a time). */
    set_str(&cfg->tls_creds, "nothing");
    set_str(&cfg->tls_hostname, "dst");
    ck_assert(migration_config_validate(cfg, NULL, &env_set, &error_abort));
    ck_assert(!migration_config_validate(cfg, NULL, &out, &err));
    check_error_has(&err, "Option 'tls-creds' (value 'nothing'): TLS "
                   "credentials 'nothing' do not exist", NULL, NULL);
    set_str(&cfg->tls_creds, "");
    ck_assert(!migration_config_validate(cfg, NULL, &out, &err));
    check_error_has(&err, "Option 'tls-hostname' (value 'dst') needs "
                   "'tls-creds'", NULL, NULL);
    set_str(&cfg->tls_hostname, "");

    /* The endpoint of the side. */
    set_str(&cfg->tls_creds, "x509-server");
    ck_assert(!migration_config_validate(cfg, NULL, &out, &err));
    check_error_has(&err, "Option 'tls-creds' (value 'x509-server'): the "
                   "credentials are for the server end, and a migration "
                   "source is the TLS client (endpoint=client)", NULL, NULL);
    ck_assert(migration_config_validate(cfg, NULL, &in, &error_abort));
    set_str(&cfg->tls_creds, "psk-client");
    ck_assert(!migration_config_validate(cfg, NULL, &in, &err));
    check_error_has(&err, "a migration destination is the TLS server", NULL, NULL);

    /* tls-authz: a destination's, naming an authorization. */
    set_str(&cfg->tls_creds, "x509-server");
    set_str(&cfg->tls_authz, "auth0");
    ck_assert(migration_config_validate(cfg, NULL, &in, &error_abort));
    set_str(&cfg->tls_authz, "auth1");
    ck_assert(!migration_config_validate(cfg, NULL, &in, &err));
    check_error_has(&err, "Option 'tls-authz' (value 'auth1'): authorization "
                   "'auth1' does not exist", NULL, NULL);
    set_str(&cfg->tls_creds, "x509-client");
    set_str(&cfg->tls_authz, "auth0");
    ck_assert(!migration_config_validate(cfg, NULL, &out, &err));
    check_error_has(&err, "Option 'tls-authz' (value 'auth0') cannot be used "
                   "on a source", NULL, NULL);
    set_str(&cfg->tls_authz, "");

    /* tls-hostname: a source's, for credentials that check names. */
    set_str(&cfg->tls_hostname, "dst.example.org");
    ck_assert(migration_config_validate(cfg, NULL, &out, &error_abort));
    set_str(&cfg->tls_creds, "psk-client");
    ck_assert(!migration_config_validate(cfg, NULL, &out, &err));
    check_error_has(&err, "Option 'tls-hostname' (value 'dst.example.org') "
                   "cannot be used with 'tls-creds' 'psk-client': only x509 "
                   "credentials that verify the peer check the "
                   "destination's name", NULL, NULL);
    set_str(&cfg->tls_creds, "x509-server");
    ck_assert(!migration_config_validate(cfg, NULL, &in, &err));
    check_error_has(&err, "Option 'tls-hostname' (value 'dst.example.org') "
                   "cannot be used on a destination", NULL, NULL);
    set_str(&cfg->tls_hostname, "");

    /* Only tcp: has a host name to check against. */
    set_str(&cfg->tls_creds, "x509-client");
    for (const char *const *uri = (const char *const[]){
             "unix:/run/m.sock", "fd:mig", "exec:nc dst 4444", NULL };
         *uri; uri++) {
        out.uri = *uri;
        ck_assert(!migration_config_validate(cfg, NULL, &out, &err));
        check_error_has(&err, "needs 'tls-hostname' with URI", NULL, NULL);
        set_str(&cfg->tls_hostname, "dst.example.org");
        ck_assert(migration_config_validate(cfg, NULL, &out, &error_abort));
        set_str(&cfg->tls_hostname, "");
    }
    /* PSK checks no name: nothing needed. */
    set_str(&cfg->tls_creds, "psk-client");
    ck_assert(migration_config_validate(cfg, NULL, &out, &error_abort));
}
END_TEST

START_TEST(test_toggle_all_orders)
{
    guint n_set, n_snapshot, n_file;
    MigrationConfigEnv snapshot = { MIGRATION_CONFIG_SNAPSHOT,
                                    "file:/tmp/vm.state", NULL };
    MigrationConfigEnv file = { MIGRATION_CONFIG_OUTGOING,
                                "file:/tmp/vm.state", NULL };

    explore(&env_set, &n_set);
    explore(&snapshot, &n_snapshot);
    explore(&file, &n_file);
    /* Limits only ever remove states. */
    ck_assert_uint_lt(n_snapshot, n_set);
    ck_assert_uint_lt(n_file, n_set);
}
END_TEST

/*
 * A deterministic random walk that also changes values and several
 * options at once, in the set and runtime contexts.
 */
START_TEST(test_random_walk)
{
    static const char *const values[] = {
        "cpu-throttle-initial", "max-cpu-throttle", "multifd-channels",
        "multifd-compression", "tls-creds", "xbzrle-cache-size",
    };
    g_autoptr(GPtrArray) list = toggles();
    g_autoptr(MigrationConfig) cfg = migration_config_new_default();
    GRand *rand = g_rand_new_with_seed(20250101);
    guint n_ok = 0, n_refused = 0;

    for (int step = 0; step < 4000; step++) {
        g_autoptr(MigrationConfig) change = empty_config();
        g_autoptr(MigrationConfig) before = migration_config_clone(cfg);
        const MigrationConfigEnv *env = g_rand_int_range(rand, 0, 4) ?
                                        &env_set : &env_runtime;
        int n = g_rand_int_range(rand, 1, 4);
        MigrationConfig bytes = *cfg;
        Error *err = NULL;

        for (int k = 0; k < n; k++) {
            if (g_rand_boolean(rand)) {
                const QAPIMemberInfo *m =
                    list->pdata[g_rand_int_range(rand, 0, list->len)];

                put_json(change, m, json_boolean(g_rand_boolean(rand)));
            } else {
                const QAPIMemberInfo *m =
                    opt(values[g_rand_int_range(rand, 0,
                                                G_N_ELEMENTS(values))]);

                if (m->kind == QAPI_MEMBER_KIND_ENUM) {
                    put_json(change, m, json_string(
                        m->enum_lookup->array[g_rand_int_range(
                            rand, 0, m->enum_lookup->size)]));
                } else if (m->kind == QAPI_MEMBER_KIND_STR) {
                    put_json(change, m, json_string(
                        g_rand_boolean(rand) ? "" : "tls0"));
                } else if (m->kind == QAPI_MEMBER_KIND_SIZE) {
                    /* Half a page (invalid) to 4096 pages. */
                    put_uint(change, m, (uint64_t)GUEST_PAGE_SIZE / 2 <<
                             g_rand_int_range(rand, 0, 13));
                } else {
                    put_uint(change, m, g_rand_int_range(rand, 0, 120));
                }
            }
        }
        if (migration_config_apply(cfg, change, env, &err)) {
            n_ok++;
        } else {
            error_free(err);
            err = NULL;
            CHECK(!memcmp(&bytes, cfg, sizeof(bytes)) &&
                  migration_config_equal(cfg, before),
                  "step %d: a refused change changed the configuration",
                  step);
            n_refused++;
        }
        CHECK(migration_config_validate(cfg, NULL, &env_set, &err),
              "step %d reached an invalid configuration: %s", step,
              error_get_pretty(err));
        check_invariants(cfg, &env_set);
    }
    g_rand_free(rand);
    ck_assert_uint_gt(n_ok, 100);
    ck_assert_uint_gt(n_refused, 100);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migration-config");
    TCase *tc = tcase_create("migration-config");
    SRunner *sr;

    /* The exhaustive searches take a while under sanitizers. */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_tables);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_helpers);
    tcase_add_test(tc, test_partial);
    tcase_add_test(tc, test_ranges);
    tcase_add_test(tc, test_value_checks);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_rules);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_host_needs);
    tcase_add_test(tc, test_incoming_without_zstd);
    tcase_add_test(tc, test_runtime);
    tcase_add_test(tc, test_runtime_names_all);
    tcase_add_test(tc, test_atomic);
    tcase_add_test(tc, test_messages);
    tcase_add_test(tc, test_local_objects);
    tcase_add_test(tc, test_toggle_all_orders);
    tcase_add_test(tc, test_random_walk);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    return vmig_check_run(sr);
}
