/*
 * The one validator of migration configurations.
 *
 * Every interface that changes or uses the configuration (QMP
 * migrate-set-config and the legacy migrate-set-capabilities/-parameters,
 * HMP, -global migration.KEY=VALUE, -incoming, migrate, the incoming
 * handshake, snapshots) calls migration_config_apply() or
 * migration_config_validate(), so a bad value gets the same error text
 * everywhere: every message is made here, from the tables.
 *
 * A configuration is always checked as a whole: the resulting
 * configuration, not the change, must satisfy every rule, so enabling
 * and disabling options in any order can never reach an invalid state.
 * The checks, in the order they run (the first failure is reported):
 *
 *   1. RUNTIME only: options without feature 'runtime' must not change.
 *   2. Each option: its range and value checks (migration_options[]),
 *      then: an option with feature 'not-yet' or 'unimplemented' is
 *      refused unless at its default ("not supported by this vmig yet",
 *      "not implemented by vmig"), an enum value with 'unimplemented'
 *      is refused.  'no-effect' options are accepted.
 *   3. The rules between options (migration_rules[]).
 *   4. OUTGOING, INCOMING, SNAPSHOT: the limits of the transport (from
 *      the URI) and of snapshots (migration_limits[]).
 *   5. OUTGOING, INCOMING, SNAPSHOT, when the caller gives the host's
 *      support: what this host must provide (migration_host_needs[]).
 *   6. OUTGOING, INCOMING, when the caller gives a way to look them up:
 *      the local objects options name (migration_local_validate()):
 *      tls-creds exist and are for this end, tls-authz exists and only
 *      on a destination, tls-hostname only on a source whose
 *      credentials check names, and is needed where the URI has no
 *      host name.  Not in SET: libvirt sets and clears tls-creds and
 *      tls-hostname in separate commands, and objects come and go.
 *
 * The tables are data (migration/config-rules.c); this file says what
 * their entries mean.
 */
#ifndef VMIG_MIGRATION_CONFIG_VALIDATE_H
#define VMIG_MIGRATION_CONFIG_VALIDATE_H

#include "migration/config.h"

/* Where a configuration is about to be used. */
typedef enum MigrationConfigContext {
    /* Set while no migration runs. */
    MIGRATION_CONFIG_SET,
    /* Set while a migration runs: only 'runtime' options may change. */
    MIGRATION_CONFIG_RUNTIME,
    /* Starting a migration to a URI (source side). */
    MIGRATION_CONFIG_OUTGOING,
    /* A destination checking the configuration it is to migrate with. */
    MIGRATION_CONFIG_INCOMING,
    /*
     * Saving the VM's state to a file while it stays on this host:
     * stopped while saving, or running with background-snapshot.
     */
    MIGRATION_CONFIG_SNAPSHOT,
    MIGRATION_CONFIG__MAX,
} MigrationConfigContext;

#define MIGRATION_CONFIG_CTX_BIT(ctx) (1u << (ctx))

/* What this host provides that some options need. */
typedef enum MigrationHostFeature {
    MIGRATION_HOST_USERFAULTFD,     /* catching faults on missing pages */
    MIGRATION_HOST_USERFAULTFD_WP,  /* catching writes to protected pages */
    MIGRATION_HOST_ZERO_COPY,       /* MSG_ZEROCOPY socket sends */
    MIGRATION_HOST_DIRECT_IO,       /* O_DIRECT on the migration file */
    MIGRATION_HOST_ZLIB,
    MIGRATION_HOST_ZSTD,
    MIGRATION_HOST__MAX,
} MigrationHostFeature;

/* Human-readable names, for messages and docs ("userfaultfd"). */
extern const char *const migration_host_feature_names[MIGRATION_HOST__MAX];

typedef struct MigrationHostSupport {
    bool has[MIGRATION_HOST__MAX];
} MigrationHostSupport;

/*
 * What this host provides that some options need (userfaultfd, zstd,
 * ...), probed once
 * (migration/config/host-support.c).  For tests, the environment variable
 * VMIG_TEST_HOST_LACKS (comma-separated feature names as in
 * migration_host_feature_names, e.g. "zstd,userfaultfd") hides
 * features, so a destination that lacks one can be simulated.
 */
const MigrationHostSupport *migration_host_support(void);

/* What the TLS credentials an option names are (stage 6). */
typedef struct MigrationTlsCredsFacts {
    QCryptoTLSCredsEndpoint endpoint;
    /* x509 verifying the peer: a client checks the server's name. */
    bool checks_name;
} MigrationTlsCredsFacts;

/*
 * Looks up the objects tls-creds and tls-authz name, for stage 6
 * (given by the control layer, so that the configuration knows no
 * objects).  Each returns false with errp saying why when there is no
 * such object of the right kind ("TLS credentials 'x' do not exist").
 */
typedef struct MigrationConfigObjects {
    bool (*tls_creds)(const char *id, MigrationTlsCredsFacts *facts,
                      Error **errp);
    bool (*authz)(const char *id, Error **errp);
} MigrationConfigObjects;

/* Everything about the use that the checks need besides the config. */
typedef struct MigrationConfigEnv {
    MigrationConfigContext context;
    /*
     * OUTGOING, INCOMING, SNAPSHOT: the migration URI ("tcp:host:port",
     * "file:/path"...), for the transport limits; NULL when not known yet
     * (-incoming defer), which skips them.  A snapshot is always a file.
     */
    const char *uri;
    /* What this host provides; NULL skips the host checks. */
    const MigrationHostSupport *host;
    /*
     * The guest page size, for the checks that depend on it (given by
     * the machine, so that the configuration knows none); 0 skips them.
     */
    uint64_t page_size;
    /* The objects options name; NULL skips stage 6. */
    const MigrationConfigObjects *objects;
} MigrationConfigEnv;

/*
 * Checks the configuration @cfg for use in @env (absent options count as
 * their default).  For MIGRATION_CONFIG_RUNTIME, @old is the
 * configuration the running migration uses, and every option that is not
 * 'runtime' and differs between the two is named in the error; @old is
 * ignored in other contexts (it may be NULL).
 */
bool migration_config_validate(const MigrationConfig *cfg,
                               const MigrationConfig *old,
                               const MigrationConfigEnv *env, Error **errp);

/*
 * Applies @change (the options present in it) to the full configuration
 * @current, atomically: the result is validated as a whole (with @current
 * as @old), and @current is replaced only if it passes.  On failure
 * @current is untouched (byte for byte) and errp says why.
 */
bool migration_config_apply(MigrationConfig *current,
                            const MigrationConfig *change,
                            const MigrationConfigEnv *env, Error **errp);

/* ---- The rule tables (migration/config-rules.c) ---------------------- */

typedef enum MigrationRuleKind {
    /* @a and @b cannot both be on. */
    MIGRATION_RULE_EXCLUDES,
    /* @a on needs @b on. */
    MIGRATION_RULE_REQUIRES,
    /* The value of numeric @a must not exceed that of numeric @b. */
    MIGRATION_RULE_NOT_ABOVE,
    MIGRATION_RULE__MAX,
} MigrationRuleKind;

/* A rule between two options ("on": migration_config_option_is_on()). */
typedef struct MigrationRule {
    MigrationRuleKind kind;
    const char *a, *b;
    /* Why, as the end of the error sentence. */
    const char *reason;
} MigrationRule;

extern const MigrationRule migration_rules[];
extern const size_t migration_n_rules;

/* Situations a limit applies in (MigrationLimit.where). */
enum {
    MIGRATION_WHERE_FILE = 1u << 0,     /* file: URI; every snapshot */
    MIGRATION_WHERE_SOCKET = 1u << 1,   /* tcp:, unix:, vsock: */
    MIGRATION_WHERE_STREAM = 1u << 2,   /* fd:, exec:, rdma: */
    MIGRATION_WHERE_SNAPSHOT = 1u << 3, /* MIGRATION_CONFIG_SNAPSHOT */
};

/*
 * A limit of a transport or context: @option cannot be on in the
 * situations @where, unless @unless (if not NULL) is on too.
 * Transports: a socket can open more connections (extra channels), a
 * stream (a passed fd, a command's pipe) is one connection both ways,
 * a file is one direction only.
 */
typedef struct MigrationLimit {
    const char *option;
    unsigned where;
    const char *unless;
    const char *reason;
} MigrationLimit;

extern const MigrationLimit migration_limits[];
extern const size_t migration_n_limits;

/*
 * @option (when on; with @value non-NULL: when it has that enum value)
 * needs host feature @feature in the contexts @contexts
 * (MIGRATION_CONFIG_CTX_BIT mask).
 */
typedef struct MigrationHostNeed {
    const char *option;
    const char *value;
    MigrationHostFeature feature;
    unsigned contexts;
} MigrationHostNeed;

extern const MigrationHostNeed migration_host_needs[];
extern const size_t migration_n_host_needs;

/*
 * Checks that the tables name existing options of the right kinds (rules
 * on numbers compare numbers, host needs with a value name an enum value
 * of the option...).  Like migration_options_check(): the validator
 * aborts on first use if this fails.
 */
bool migration_rules_check_tables(Error **errp);

/* Stage 6 alone (see the top of this file); @cfg must be full. */
bool migration_local_validate(const MigrationConfig *cfg,
                              const MigrationConfigEnv *env, Error **errp);

/*
 * The single checks behind migration_config_validate(), for tests and
 * tools.  @cfg must be full.
 */
bool migration_option_validate(size_t i, const MigrationConfig *cfg,
                               const MigrationConfigEnv *env, Error **errp);
bool migration_rule_validate(const MigrationRule *rule,
                             const MigrationConfig *cfg, Error **errp);
bool migration_limit_validate(const MigrationLimit *limit,
                              const MigrationConfig *cfg,
                              const MigrationConfigEnv *env, Error **errp);
bool migration_host_need_validate(const MigrationHostNeed *need,
                                  const MigrationConfig *cfg,
                                  const MigrationConfigEnv *env,
                                  Error **errp);

/* MIGRATION_WHERE_* situations of @env (transport from its URI). */
unsigned migration_config_env_where(const MigrationConfigEnv *env);

/* Names for messages and docs. */
const char *migration_config_context_name(MigrationConfigContext ctx);

#endif
