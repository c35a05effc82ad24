/*
 * vmig-ctl internals: turning command-line words into QMP arguments, and
 * QMP results into text.
 */
#ifndef VMIG_TOOLS_VMIG_CTL_H
#define VMIG_TOOLS_VMIG_CTL_H

#include <jansson.h>
#include <stdbool.h>

#include "qapi/error.h"
#include "qmp-client.h"

enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,        /* error reply, failed migration, no vmig */
    EXIT_USAGE = 2,
};

typedef struct Ctl {
    QmpClient *client;
    bool raw;               /* --json */
} Ctl;

/* ctl-args.c */

/*
 * Builds the "arguments" object of @command from @words: either one word
 * that is a JSON object ('{"a": 1}'), or key=value words in keyval syntax
 * (a.b=1 nests, l.0=x makes lists).  key=value strings are converted to
 * the JSON types the command expects, found with query-qmp-schema.
 * Returns NULL (no error) when there are no words.
 */
json_t *ctl_build_args(QmpClient *c, const char *command, char **words,
                       int nwords, Error **errp);

/*
 * Like ctl_build_args(), but @words give the value of the argument
 * @member of @command: the result is {"@member": {...}}, typed as that
 * member (so "multifd=on" for migrate's "config" becomes
 * {"config": {"multifd": true}}).
 */
json_t *ctl_build_member_args(QmpClient *c, const char *command,
                              const char *member, char **words, int nwords,
                              Error **errp);

/* ctl-format.c */

/* Prints a command's "return" value: as text for commands vmig-ctl knows,
 * else as indented JSON; @raw prints compact JSON always. */
void ctl_print_return(const char *command, json_t *ret, bool raw);

/* Prints one event: "SECONDS.MICROS NAME {data}", or the raw JSON line. */
void ctl_print_event(json_t *event, bool raw);

/* Prints an error reply to stderr as "CLASS: desc". */
void ctl_print_error(json_t *error);

/* ctl-migrate.c: the "migrate" and "watch-migration" subcommands. */
int ctl_run_migrate(Ctl *ctl, char **words, int nwords);
int ctl_run_watch_migration(Ctl *ctl, char **words, int nwords);

#endif
