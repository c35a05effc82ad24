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
    {
        .name = "migrate",
        .help = "show the state of the last migration",
        .cmd = hmp_info_migrate,
    },
    {
        .name = "migrate_config",
        .help = "show every migration option and its value",
        .cmd = hmp_info_migrate_config,
    },
    {
        .name = "migrate_capabilities",
        .help = "show the migration capabilities (legacy; see "
                "info migrate_config)",
        .cmd = hmp_info_migrate_capabilities,
    },
    {
        .name = "migrate_parameters",
        .help = "show the migration parameters (legacy; see "
                "info migrate_config)",
        .cmd = hmp_info_migrate_parameters,
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
    {
        .name = "migrate",
        /* The parser has no flags: hmp_migrate() picks -d/-r out. */
        .args_type = "uri:s,uri2:s?,uri3:s?",
        .params = "[-d] [-r] uri",
        .help = "migrate the VM to uri (-d: accepted, migrate never "
                "blocks; -r: resume a paused postcopy migration)",
        .cmd = hmp_migrate,
    },
    {
        .name = "migrate_incoming",
        .args_type = "uri:s",
        .params = "uri",
        .help = "start the incoming migration that -incoming defer "
                "waits for",
        .cmd = hmp_migrate_incoming,
    },
    {
        .name = "migrate_cancel",
        .help = "cancel the outgoing migration",
        .cmd = hmp_migrate_cancel,
    },
    {
        .name = "migrate_start_postcopy",
        .help = "switch the outgoing migration to postcopy (it must run "
                "with postcopy-ram)",
        .cmd = hmp_migrate_start_postcopy,
    },
    {
        .name = "migrate_pause",
        .help = "pause a postcopy: drop its connection (both ends go to "
                "postcopy-paused)",
        .cmd = hmp_migrate_pause,
    },
    {
        .name = "migrate_recover",
        .args_type = "uri:s",
        .params = "uri",
        .help = "destination: wait on uri for the source of the paused "
                "postcopy (then migrate -r on the source)",
        .cmd = hmp_migrate_recover,
    },
    {
        .name = "migrate_continue",
        .args_type = "state:s",
        .params = "state",
        .help = "continue a migration paused in 'state' "
                "(pause-before-switchover: pre-switchover)",
        .cmd = hmp_migrate_continue,
    },
    {
        .name = "migrate_set_config",
        .args_type = "options:O",
        .params = "option=value[,option=value...]",
        .help = "change migration options, all or none (see "
                "info migrate_config)",
        .cmd = hmp_migrate_set_config,
    },
    {
        .name = "migrate_set_capability",
        .args_type = "capability:s,state:b",
        .params = "capability on|off",
        .help = "turn a migration capability on or off (legacy; see "
                "migrate_set_config)",
        .cmd = hmp_migrate_set_capability,
    },
    {
        .name = "migrate_set_parameter",
        .args_type = "parameter:s,value:s",
        .params = "parameter value",
        .help = "set a migration parameter (legacy; see "
                "migrate_set_config)",
        .cmd = hmp_migrate_set_parameter,
    },
    { NULL },
};
