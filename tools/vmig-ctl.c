/*
 * vmig-ctl: run QMP commands on a vmig from the shell.
 *
 *     vmig-ctl /run/vm.qmp query-status          one command
 *     vmig-ctl /run/vm.qmp object-add qom-type=memory-backend-ram id=m size=64M
 *     vmig-ctl /run/vm.qmp events                 stream events
 *     vmig-ctl /run/vm.qmp migrate tcp:dst:4444   migrate, with progress
 *     vmig-ctl /run/vm.qmp                        interactive shell
 *
 * Local subcommands (like "events") live in ctl_subcommands[]; anything
 * else is sent to vmig as a QMP command.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-host.h"
#include "vmig-ctl.h"

typedef struct CtlSubcommand {
    const char *name;
    const char *args;
    const char *help;
    int (*run)(Ctl *ctl, char **words, int nwords);
} CtlSubcommand;

static int run_events(Ctl *ctl, char **words, int nwords);

static const CtlSubcommand ctl_subcommands[] = {
    { "events", "",
      "print events as they arrive, until vmig goes away",
      run_events },
    { "migrate", "URI [KEY=VALUE...] [FLAGS]",
      "migrate to URI (e.g. tcp:HOST:PORT) with the migration options\n"
      "KEY=VALUE (the \"config\" argument; none: the options in effect),\n"
      "showing progress until it ends; ends with a summary.  Instead of\n"
      "URI..., one JSON object gives QMP migrate's arguments as they are.\n"
      "Flags: --dry-run (handshake only), --no-watch (return once\n"
      "started), --interval=SECS (poll period, default 0.5).\n"
      "Ctrl-C cancels the migration; a second Ctrl-C stops watching",
      ctl_run_migrate },
    { "watch-migration", "[--wait] [--interval=SECS]",
      "follow the migration in progress (outgoing or incoming), or\n"
      "report the last one; --wait waits for one to start",
      ctl_run_watch_migration },
};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: vmig-ctl [OPTIONS] SOCKET [COMMAND [ARGS...]]\n"
        "\n"
        "Runs COMMAND on the QMP monitor of a vmig and prints the result.\n"
        "  SOCKET   path of a unix socket, or unix:PATH, tcp:HOST:PORT\n"
        "  COMMAND  a QMP command (e.g. query-status), or a subcommand\n"
        "           (below)\n"
        "  ARGS     key=value words (a.b=x nests, l.0=x makes a list; the\n"
        "           types come from vmig's schema), or one JSON object\n"
        "Without COMMAND, reads commands from standard input, one per line.\n"
        "\n"
        "Subcommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(ctl_subcommands); i++) {
        const CtlSubcommand *sc = &ctl_subcommands[i];
        g_auto(GStrv) lines = g_strsplit(sc->help, "\n", -1);

        fprintf(out, "  %s%s%s\n", sc->name, sc->args[0] ? " " : "",
                sc->args);
        for (char **l = lines; *l; l++) {
            fprintf(out, "      %s\n", *l);
        }
    }
    fprintf(out, "\n"
        "Options:\n"
        "  -j, --json     print results and events as raw JSON (migrate,\n"
        "                 watch-migration: each query-migrate result)\n"
        "  -h, --help     show this help\n"
        "  -V, --version  show the version\n"
        "\n"
        "Migration progress: on a terminal one line is redrawn in place,\n"
        "otherwise one line is printed per poll:\n"
        "  ELAPSED STATE [BAR] DONE%% | SENT sent, LEFT left | RATE |\n"
        "  iter PASS | exp. downtime MS | throttle PCT%% | N ch, METHOD RATIOx\n"
        "(the last part with multifd only: channels, compression method\n"
        "and ratio; on a narrow terminal the bar goes first, then it),\n"
        "then a summary: status, total time, downtime, transferred,\n"
        "iterations and average throughput; with multifd also the bytes\n"
        "of each channel and its share, the packets, and the compression\n"
        "ratio with the page bytes before and after; with TLS, the\n"
        "protocol, cipher, credentials kind and the peer's identity\n"
        "(no 'encrypted' line: the migration was not encrypted).\n"
        "\n"
        "Exit status: 0 on success, 1 if vmig returned an error or could\n"
        "not be reached (the error goes to stderr), 2 for usage errors.\n"
        "migrate and watch-migration: 0 if the migration completed, 1 if\n"
        "it failed or was cancelled (its error-desc goes to stderr).\n");
}

static void print_event(json_t *event, void *opaque)
{
    Ctl *ctl = opaque;

    ctl_print_event(event, ctl->raw);
}

/* Sends one QMP command built from @words; returns an exit status. */
static int run_qmp_command(Ctl *ctl, const char *command, char **words,
                           int nwords)
{
    Error *err = NULL;

    json_t *args = ctl_build_args(ctl->client, command, words, nwords, &err);
    if (err) {
        error_report_err(err);
        return EXIT_FAILED;
    }
    json_t *rsp = qmp_client_execute(ctl->client, command, args, &err);
    json_decref(args);
    if (!rsp) {
        error_report_err(err);
        return EXIT_FAILED;
    }

    int status = EXIT_OK;
    json_t *error = json_object_get(rsp, "error");
    if (error) {
        ctl_print_error(error);
        status = EXIT_FAILED;
    } else {
        ctl_print_return(command, json_object_get(rsp, "return"), ctl->raw);
    }
    fflush(stdout);
    json_decref(rsp);
    return status;
}

static int run_command(Ctl *ctl, const char *command, char **words,
                       int nwords)
{
    for (size_t i = 0; i < G_N_ELEMENTS(ctl_subcommands); i++) {
        if (!strcmp(ctl_subcommands[i].name, command)) {
            return ctl_subcommands[i].run(ctl, words, nwords);
        }
    }
    return run_qmp_command(ctl, command, words, nwords);
}

static int run_events(Ctl *ctl, char **words, int nwords)
{
    if (nwords) {
        error_report("events takes no arguments");
        return EXIT_USAGE;
    }
    for (;;) {
        Error *err = NULL;
        json_t *msg = qmp_client_recv(ctl->client, -1, NULL, &err);
        if (!msg) {
            /* vmig quitting is the normal end of the stream. */
            error_free(err);
            return EXIT_OK;
        }
        if (json_object_get(msg, "event")) {
            ctl_print_event(msg, ctl->raw);
        }
        json_decref(msg);
    }
}

/* Runs one line of the interactive shell; returns its exit status. */
static int run_shell_line(Ctl *ctl, char *line)
{
    g_strstrip(line);
    if (!line[0] || line[0] == '#') {
        return EXIT_OK;
    }
    if (!strcmp(line, "help")) {
        printf("Type COMMAND [key=value...] or COMMAND {JSON}; "
               "query-commands lists the commands; end with Ctrl-D.\n");
        return EXIT_OK;
    }

    char *rest = line + strcspn(line, " \t");
    g_autofree char *command = g_strndup(line, rest - line);
    rest += strspn(rest, " \t");

    if (rest[0] == '{') {
        /* JSON may contain spaces: the whole rest is one argument. */
        char *words[] = { rest };
        return run_command(ctl, command, words, 1);
    }

    g_auto(GStrv) words = NULL;
    int nwords = 0;
    if (rest[0]) {
        GError *gerr = NULL;
        if (!g_shell_parse_argv(rest, &nwords, &words, &gerr)) {
            error_report("%s", gerr->message);
            g_error_free(gerr);
            return EXIT_USAGE;
        }
    }
    return run_command(ctl, command, words, nwords);
}

static int run_shell(Ctl *ctl)
{
    bool tty = isatty(STDIN_FILENO);
    int status = EXIT_OK;
    g_autofree char *line = NULL;
    size_t cap = 0;

    for (;;) {
        if (tty) {
            printf("(vmig-ctl) ");
            fflush(stdout);
        }
        /* Wait for a line, printing events while we do. */
        for (;;) {
            struct pollfd pfds[2] = {
                { .fd = STDIN_FILENO, .events = POLLIN },
                { .fd = qmp_client_fd(ctl->client), .events = POLLIN },
            };
            if (poll(pfds, 2, -1) < 0) {
                if (errno == EINTR) {
                    continue;
                }
                error_report("poll: %s", g_strerror(errno));
                return EXIT_FAILED;
            }
            if (pfds[0].revents) {
                break;
            }
            Error *err = NULL;
            if (!qmp_client_poll_events(ctl->client, &err)) {
                error_report_err(err);
                return EXIT_FAILED;
            }
        }
        if (getline(&line, &cap, stdin) < 0) {
            if (tty) {
                printf("\n");
            }
            return status;
        }
        if (run_shell_line(ctl, line) != EXIT_OK) {
            status = EXIT_FAILED;
        }
    }
}

int main(int argc, char **argv)
{
    Ctl ctl = { 0 };
    int i;

    error_set_progname("vmig-ctl");
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "-j") || !strcmp(opt, "--json")) {
            ctl.raw = true;
        } else if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(opt, "-V") || !strcmp(opt, "--version")) {
            printf("vmig-ctl %s\n", VMIG_VERSION);
            return EXIT_OK;
        } else if (!strcmp(opt, "--")) {
            i++;
            break;
        } else {
            error_report("unknown option '%s' (try --help)", opt);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *address = argv[i++];

    Error *err = NULL;
    ctl.client = qmp_client_connect(address, true, &err);
    if (!ctl.client) {
        error_report_err(err);
        return EXIT_FAILED;
    }

    int status;
    if (i < argc) {
        /* One command: its output only, not events that happen to
         * arrive meanwhile (use "events" for those). */
        status = run_command(&ctl, argv[i], argv + i + 1, argc - i - 1);
    } else {
        qmp_client_set_event_handler(ctl.client, print_event, &ctl);
        status = run_shell(&ctl);
    }
    qmp_client_free(ctl.client);
    return status;
}
