/*
 * The HMP command tables: one row per command, and the only place where
 * HMP commands, their arguments and their help text are listed.  See
 * include/monitor/hmp.h for the meaning of the columns.
 */
#include "monitor/hmp.h"

const HMPCommand hmp_info_cmds[] = {
    {
        .name = "status",
        .help = "show the current VM status (running|paused)",
        .cmd = hmp_info_status,
    },
    {
        .name = "version",
        .help = "show the version of vmig",
        .cmd = hmp_info_version,
    },
    { NULL },
};

const HMPCommand hmp_cmds[] = {
    {
        .name = "help|?",
        .args_type = "name:S?",
        .params = "[cmd]",
        .help = "show the help for all commands or just for command 'cmd'",
        .cmd = hmp_help,
    },
    {
        .name = "info",
        .params = "[subcommand]",
        .help = "show information about the state of the machine",
        .sub_table = hmp_info_cmds,
    },
    {
        .name = "stop|s",
        .help = "stop the vCPUs (pause the VM)",
        .cmd = hmp_stop,
    },
    {
        .name = "cont|c",
        .help = "resume the vCPUs",
        .cmd = hmp_cont,
    },
    {
        .name = "quit|q",
        .help = "quit vmig",
        .cmd = hmp_quit,
    },
    { NULL },
};
