/*
 * vmig-ctl migrate / watch-migration: start a migration and follow it.
 *
 *     vmig-ctl SOCK migrate tcp:dst:4444 multifd=on max-bandwidth=0
 *     vmig-ctl SOCK watch-migration --wait       (e.g. on the destination)
 *
 * Progress comes from polling query-migrate, not from MIGRATION events:
 * polling works whatever the "events" option says, and every poll carries
 * the figures the line shows.  Text output is built by ctl-progress.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ctl-progress.h"
#include "util/cutils.h"
#include "vmig-ctl.h"

#define DEFAULT_INTERVAL_MS 500
/* After migrate returns, how long query-migrate may still say "none". */
#define START_TIMEOUT_MS 10000

typedef struct WatchOpts {
    int interval_ms;
    bool wait_start;        /* watch-migration --wait */
    bool cancel_on_int;     /* migrate: the first Ctrl-C cancels */
    bool started;           /* we just started it: "none" is transient */
} WatchOpts;

static volatile sig_atomic_t interrupts;

static void on_sigint(int sig)
{
    interrupts++;
}

/* Handles the flags both subcommands take; false if @word is not one. */
static bool parse_watch_flag(const char *word, WatchOpts *opts, int *status)
{
    const char *val;

    if (g_str_has_prefix(word, "--interval=")) {
        double secs;
        val = word + strlen("--interval=");
        if (!parse_double(val, &secs, NULL) || secs < 0.01 || secs > 3600) {
            error_report("--interval wants seconds from 0.01 to 3600, not "
                         "'%s'", val);
            *status = EXIT_USAGE;
        }
        opts->interval_ms = (int)(secs * 1000);
        return true;
    }
    return false;
}

/* Columns available for the progress line, or 0 when not a terminal. */
static int tty_width(void)
{
    struct winsize ws;

    if (!isatty(STDOUT_FILENO)) {
        return 0;
    }
    /* Stay off the last column: some terminals wrap when it is used. */
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) {
        return ws.ws_col - 1;
    }
    return 79;
}

/* Sleeps @ms, returning early when a signal arrives. */
static void nap(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

    nanosleep(&ts, NULL);
}

/* Runs @command without arguments; false on any error, said on stderr
 * when @report. */
static bool run_command(Ctl *ctl, const char *command, json_t **ret,
                        bool report)
{
    Error *err = NULL;
    json_t *rsp = qmp_client_execute(ctl->client, command, NULL, &err);

    if (!rsp) {
        if (report) {
            error_report_err(err);
        } else {
            error_free(err);
        }
        return false;
    }
    json_t *error = json_object_get(rsp, "error");
    if (error) {
        if (report) {
            ctl_print_error(error);
        }
        json_decref(rsp);
        return false;
    }
    if (ret) {
        *ret = json_incref(json_object_get(rsp, "return"));
    }
    json_decref(rsp);
    return true;
}

static bool simple_command(Ctl *ctl, const char *command, json_t **ret)
{
    return run_command(ctl, command, ret, true);
}

typedef struct Screen {
    int width;              /* > 0: a terminal, redraw in place */
    size_t drawn;           /* length of the line on screen */
} Screen;

static void screen_show(Screen *scr, const char *line)
{
    if (scr->width > 0) {
        size_t len = strlen(line);
        /* Pad over what a longer previous line left behind. */
        printf("\r%s%*s", line,
               (int)(scr->drawn > len ? scr->drawn - len : 0), "");
        scr->drawn = len;
    } else {
        printf("%s\n", line);
    }
    fflush(stdout);
}

/* Ends the redrawn line so what follows starts on a fresh one. */
static void screen_end(Screen *scr)
{
    if (scr->width > 0 && scr->drawn) {
        printf("\n");
        fflush(stdout);
        scr->drawn = 0;
    }
}

static int final_status(const CtlMigInfo *info)
{
    if (!strcmp(info->status, "completed")) {
        return EXIT_OK;
    }
    if (info->error_desc) {
        error_report("migration %s: %s", info->status, info->error_desc);
    } else {
        error_report("migration %s", info->status);
    }
    return EXIT_FAILED;
}

static int watch(Ctl *ctl, const WatchOpts *opts)
{
    Screen scr = { .width = ctl->raw ? 0 : tty_width() };
    gint64 start = g_get_monotonic_time();
    gint64 prev_time = 0;
    int64_t prev_sent = -1;
    /* query-migrate-config, asked once multifd shows up: query-migrate
     * gives the compression ratio but not the method. */
    json_t *config = NULL;
    bool config_asked = false;
    int handled = 0;
    struct sigaction sa = { .sa_handler = on_sigint }, old_sa;
    int status = EXIT_FAILED;

    /* No SA_RESTART: the nap between polls ends at once on Ctrl-C. */
    interrupts = 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_sa);

    for (;;) {
        json_t *ret = NULL;
        g_auto(CtlMigInfo) info = { 0 };
        gint64 now;
        double rate = -1;
        bool final;

        if (interrupts > handled) {
            handled = interrupts;
            if (opts->cancel_on_int && handled == 1) {
                screen_end(&scr);
                fprintf(stderr, "vmig-ctl: cancelling the migration "
                        "(Ctrl-C again to stop watching)\n");
                if (!simple_command(ctl, "migrate_cancel", NULL)) {
                    status = EXIT_FAILED;
                    break;
                }
            } else {
                screen_end(&scr);
                error_report("stopped watching; the migration goes on");
                status = EXIT_FAILED;
                break;
            }
        }

        if (!simple_command(ctl, "query-migrate", &ret)) {
            screen_end(&scr);
            status = EXIT_FAILED;
            break;
        }
        now = g_get_monotonic_time();
        if (ctl->raw) {
            ctl_print_return("query-migrate", ret, true);
            fflush(stdout);
        }
        ctl_mig_info_parse(ret, &info);
        json_decref(ret);
        if (info.has_multifd && !ctl->raw && !config_asked) {
            /* Only a name to show: a vmig that cannot say goes on
             * without it, and a lost connection is the next poll's
             * to report. */
            config_asked = true;
            run_command(ctl, "query-migrate-config", &config, false);
        }
        ctl_mig_info_set_config(&info, config);

        if (!info.status || !strcmp(info.status, "none")) {
            bool may_wait = opts->wait_start ||
                (opts->started && now - start < START_TIMEOUT_MS * 1000LL);
            if (!may_wait) {
                if (!ctl->raw) {
                    printf("No migration has run\n");
                }
                status = EXIT_FAILED;
                break;
            }
            nap(opts->interval_ms);
            continue;
        }

        final = ctl_mig_status_is_final(info.status);
        /* The rate between two polls is what the link does now; the
         * engine's own mbps covers the first poll.  Once it has ended
         * nothing moves: the summary gives the average instead. */
        if (final) {
            rate = -1;
        } else if (info.has_ram && prev_sent >= 0 && now > prev_time &&
                   info.transferred >= prev_sent) {
            rate = (info.transferred - prev_sent) * 1e6 /
                   (double)(now - prev_time);
        } else if (info.mbps > 0) {
            rate = info.mbps * 1e6 / 8;
        }
        if (info.has_ram) {
            prev_sent = info.transferred;
            prev_time = now;
        }

        if (!ctl->raw) {
            g_autofree char *line =
                ctl_mig_progress_line(&info, rate, (now - start) / 1000,
                                      scr.width);
            screen_show(&scr, line);
        }
        if (final) {
            screen_end(&scr);
            if (!ctl->raw) {
                g_autofree char *summary = ctl_mig_summary(&info);
                printf("%s", summary);
                fflush(stdout);
            }
            status = final_status(&info);
            break;
        }
        nap(opts->interval_ms);
    }
    sigaction(SIGINT, &old_sa, NULL);
    json_decref(config);
    return status;
}

int ctl_run_migrate(Ctl *ctl, char **words, int nwords)
{
    WatchOpts opts = { .interval_ms = DEFAULT_INTERVAL_MS,
                       .cancel_on_int = true, .started = true };
    g_autofree char **rest = g_new0(char *, nwords + 1);
    int nrest = 0, status = EXIT_OK;
    bool dry_run = false, no_watch = false;
    Error *err = NULL;
    json_t *args;

    for (int i = 0; i < nwords; i++) {
        if (parse_watch_flag(words[i], &opts, &status)) {
            continue;
        } else if (!strcmp(words[i], "--dry-run")) {
            dry_run = true;
        } else if (!strcmp(words[i], "--no-watch")) {
            no_watch = true;
        } else if (g_str_has_prefix(words[i], "--")) {
            error_report("migrate: unknown flag '%s' (try --help)",
                         words[i]);
            return EXIT_USAGE;
        } else {
            rest[nrest++] = words[i];
        }
    }
    if (status != EXIT_OK) {
        return status;
    }
    if (!nrest) {
        error_report("migrate needs a destination URI (try --help)");
        return EXIT_USAGE;
    }

    if (rest[0][0] == '{') {
        /* Whole QMP arguments, for what the short form cannot say
         * (channels, resume). */
        args = ctl_build_args(ctl->client, "migrate", rest, nrest, &err);
    } else {
        args = ctl_build_member_args(ctl->client, "migrate", "config",
                                     rest + 1, nrest - 1, &err);
        if (!err) {
            if (!args) {
                args = json_object();   /* no config: the one in effect */
            }
            json_object_set_new(args, "uri", json_string(rest[0]));
        }
    }
    if (err) {
        error_report_err(err);
        return EXIT_FAILED;
    }
    if (dry_run) {
        json_object_set_new(args, "dry-run", json_true());
    }

    json_t *rsp = qmp_client_execute(ctl->client, "migrate", args, &err);
    json_decref(args);
    if (!rsp) {
        error_report_err(err);
        return EXIT_FAILED;
    }
    json_t *error = json_object_get(rsp, "error");
    if (error) {
        ctl_print_error(error);
        json_decref(rsp);
        return EXIT_FAILED;
    }
    json_decref(rsp);
    return no_watch ? EXIT_OK : watch(ctl, &opts);
}

int ctl_run_watch_migration(Ctl *ctl, char **words, int nwords)
{
    WatchOpts opts = { .interval_ms = DEFAULT_INTERVAL_MS };
    int status = EXIT_OK;

    for (int i = 0; i < nwords; i++) {
        if (parse_watch_flag(words[i], &opts, &status)) {
            continue;
        } else if (!strcmp(words[i], "--wait")) {
            opts.wait_start = true;
        } else {
            error_report("watch-migration: unknown argument '%s' (try "
                         "--help)", words[i]);
            return EXIT_USAGE;
        }
    }
    return status != EXIT_OK ? status : watch(ctl, &opts);
}
