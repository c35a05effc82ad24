/*
 * The migration configuration as a value: MigrationConfig
 * (qapi/migration.json) with its defaults, merging and comparison.
 *
 * Every helper here works on all options at once through the generated
 * reflection table MigrationConfig_info (qapi/struct-info.h), so adding an
 * option to the schema needs no code here.  Option number i of the
 * configuration is MigrationConfig_info.members[i] and is described by
 * migration_options[i] (its default and valid values, below); the two
 * tables are checked against each other by migration_options_check().
 *
 * A "full" configuration has every option present, except the two whose
 * default is "absent" (block-bitmap-mapping, cpr-exec-command).  The
 * configuration vmig keeps is always full; a configuration given as a
 * change (migrate-set-config, -global migration.KEY=VALUE) holds only the
 * options to change.
 *
 * The validator is in migration/config-validate.h.
 */
#ifndef VMIG_MIGRATION_CONFIG_H
#define VMIG_MIGRATION_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "qapi/error.h"
#include "qapi/qapi-features.h"
#include "qapi/qapi-types.h"
#include "qapi/struct-info.h"

/*
 * What the schema cannot say about one option: its default and its valid
 * values.  The table (migration/config-rules.c) is the one place these
 * facts are written; errors and the documentation are made from it.
 */
typedef struct MigrationOptionInfo {
    /* The MigrationConfig member, e.g. "max-bandwidth". */
    const char *name;
    /*
     * The default in command-line syntax: "on"/"off" for bools, a number
     * (with a k/M/G suffix for sizes), an enum value name, a string.
     * NULL: the option is absent by default.
     */
    const char *def;
    /* Numeric options: the valid range, both ends included. */
    bool has_range;
    uint64_t min, max;
    /* Unit of a numeric value ("ms", "bytes/s"...), or NULL. */
    const char *unit;
    /*
     * A check of a numeric value that a range cannot express, and what it
     * requires, as the end of "Option 'x' value N is invalid: it must be
     * ..." (e.g. "a power of two").  @page_size is the guest page size
     * (the machine's, from MigrationConfigEnv), or 0 when not known: the
     * parts that depend on it are skipped then.
     */
    bool (*valid)(uint64_t value, uint64_t page_size);
    const char *valid_desc;
} MigrationOptionInfo;

/*
 * The most multifd channels: the bound of option multifd-channels and
 * the size of the per-channel statistics.  The option's schema type,
 * uint8, holds exactly this many (a _Static_assert in config-rules.c).
 */
#define MIGRATION_MULTIFD_CHANNELS_MAX 255

/* Indexed like MigrationConfig_info.members. */
extern const MigrationOptionInfo migration_options[];
extern const size_t migration_n_options;

/*
 * Checks that migration_options matches MigrationConfig_info entry by
 * entry, that every default parses as its option's type and satisfies the
 * option's own checks, and that ranges are only given to unsigned
 * options.  A mismatch is a programming error: the helpers below abort
 * (once, on first use) if this fails, and the unit test checks it.
 */
bool migration_options_check(Error **errp);

/*
 * What vmig does with an option, from its member features in the schema
 * (the one place this is written): at most one of 'not-yet',
 * 'unimplemented' and 'no-effect' (migration_options_check() makes
 * sure); none means the option works.
 */
typedef enum MigrationOptionStatus {
    MIGRATION_OPTION_WORKS,
    /* Planned: refused unless at its default, until its issue lands. */
    MIGRATION_OPTION_NOT_YET,
    /* Not planned: refused unless at its default. */
    MIGRATION_OPTION_UNIMPLEMENTED,
    /* Accepted; it acts on something a vmig machine does not have. */
    MIGRATION_OPTION_NO_EFFECT,
} MigrationOptionStatus;

MigrationOptionStatus migration_option_status(const QAPIMemberInfo *m);

/* Whether the validator refuses option @m at any value but its default. */
static inline bool migration_option_is_refused(const QAPIMemberInfo *m)
{
    MigrationOptionStatus st = migration_option_status(m);

    return st == MIGRATION_OPTION_NOT_YET ||
           st == MIGRATION_OPTION_UNIMPLEMENTED;
}

/* Number of options (members of MigrationConfig). */
static inline size_t migration_config_n_options(void)
{
    return MigrationConfig_info.n_members;
}

/* The member of option number @i. */
static inline const QAPIMemberInfo *migration_config_option(size_t i)
{
    return &MigrationConfig_info.members[i];
}

/* The option called @name ("max-bandwidth"), or NULL. */
const QAPIMemberInfo *migration_config_find_option(const char *name);

/* Index of @m in MigrationConfig_info (and in migration_options). */
size_t migration_config_option_index(const QAPIMemberInfo *m);

/* A new full configuration with every option at its default. */
MigrationConfig *migration_config_new_default(void);

/* The shared default configuration (read only, lives forever). */
const MigrationConfig *migration_config_defaults(void);

/* Sets every absent option of @cfg to its default, making it full. */
void migration_config_fill_defaults(MigrationConfig *cfg);

/*
 * A (partial) configuration from a keyval tree (keyval_parse(): every
 * value a string), with the keyval input visitor's checks: the one
 * reader of "KEY=VALUE,..." configurations, for HMP and -incoming.
 * NULL with errp set on a bad key or value.
 */
MigrationConfig *migration_config_from_keyval(json_t *tree, Error **errp);

/* A deep copy; NULL for NULL. */
MigrationConfig *migration_config_clone(const MigrationConfig *cfg);

/* Copies every option present in @change into @dst (deep copies). */
void migration_config_merge(MigrationConfig *dst,
                            const MigrationConfig *change);

/*
 * Whether option @m has the same value in @a and @b; an option absent in
 * both is equal, absent in one only is not.
 */
bool migration_config_option_equal(const QAPIMemberInfo *m,
                                   const MigrationConfig *a,
                                   const MigrationConfig *b);
bool migration_config_equal(const MigrationConfig *a,
                            const MigrationConfig *b);

/* The options present in @cfg, as const QAPIMemberInfo *, in order. */
GPtrArray *migration_config_present(const MigrationConfig *cfg);

/* The options whose value differs between @a and @b, in order. */
GPtrArray *migration_config_changed(const MigrationConfig *a,
                                    const MigrationConfig *b);

/*
 * Whether option @m is "on" in @cfg, the condition rules test: a bool is
 * on when true, a string when non-empty, a list when it has elements, an
 * enum or a number when it differs from the option's default (so
 * multifd-compression is on unless "none").  Absent is off.
 */
bool migration_config_option_is_on(const QAPIMemberInfo *m,
                                   const MigrationConfig *cfg);

/*
 * Whether option @m has its default value in @cfg: absent, equal to the
 * default, or, for an option absent by default, an empty list.  Unlike
 * "off", this holds for a bool whose default is true only when it is.
 */
bool migration_config_option_is_default(const QAPIMemberInfo *m,
                                        const MigrationConfig *cfg);

/*
 * The value of option @m in @cfg as it appears in messages: true, 42,
 * 'zstd', '' or, for lists, compact JSON; "absent" when absent.  Caller
 * frees.
 */
char *migration_config_option_value_str(const QAPIMemberInfo *m,
                                        const MigrationConfig *cfg);

#endif
