/*
 * The vmig command line.
 *
 * Options are described once, in a table in system/cmdline.c, from which
 * both parsing and -help come.  Options taking KEY=VALUE lists (-object,
 * -numa, -machine, -smp, -workload) are parsed with keyval_parse() and the
 * keyval input visitor into their QAPI types, so the schema decides what
 * is valid.  As in QEMU, "--opt" is the same as "-opt".
 */
#ifndef VMIG_SYSTEM_CMDLINE_H
#define VMIG_SYSTEM_CMDLINE_H

#include <stdbool.h>

#include "qapi/error.h"
#include "system/machine.h"

/*
 * Returns the configuration, or NULL.  NULL with *exit_now set means an
 * option such as -help or -version did its job and vmig should exit with
 * status 0; otherwise errp says what is wrong, starting with the option
 * ("-m 12X: ...").
 */
MachineConfig *cmdline_parse(int argc, char **argv, bool *exit_now,
                             Error **errp);

#endif
