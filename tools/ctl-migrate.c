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

/* Runs @command with @args (borrowed; NULL: none); false on any error,
 * said on stderr when @report. */
static bool run_command(Ctl *ctl, const char *command, json_t *args,
                        json_t **ret, bool report)
{
    Error *err = NULL;
    json_t *rsp = qmp_client_execute(ctl->client, command, args, &err);

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
    return run_command(ctl, command, NULL, ret, true);
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

/* What watch() carries from one poll to the next. */
typedef struct Watch {
    Ctl *ctl;
    const WatchOpts *opts;
    Screen scr;
    gint64 start;
    /* The previous poll's figures, for the rate between two polls. */
    gint64 prev_time;
    int64_t prev_sent;
    /* query-migrate-config, asked once multifd shows up: query-migrate
     * gives the compression ratio but not the method. */
    json_t *config;
    bool config_asked;
    int handled;            /* Ctrl-Cs acted upon */
} Watch;

/*
 * Acts on a new Ctrl-C: the first one cancels a migration we started,
 * any other stops watching.  False: stop watching.
 */
static bool watch_check_interrupt(Watch *w)
{
    if (interrupts <= w->handled) {
        return true;
    }
    w->handled = interrupts;
    screen_end(&w->scr);
    if (w->opts->cancel_on_int && w->handled == 1) {
        fprintf(stderr, "vmig-ctl: cancelling the migration "
                "(Ctrl-C again to stop watching)\n");
        return simple_command(w->ctl, "migrate_cancel", NULL);
    }
    error_report("stopped watching; the migration goes on");
    return false;
}

/* One query-migrate into @info, taken at *@now; false if it failed. */
static bool watch_poll(Watch *w, CtlMigInfo *info, gint64 *now)
{
    json_t *ret = NULL;

    if (!simple_command(w->ctl, "query-migrate", &ret)) {
        screen_end(&w->scr);
        return false;
    }
    *now = g_get_monotonic_time();
    if (w->ctl->raw) {
        ctl_print_return("query-migrate", ret, true);
        fflush(stdout);
    }
    ctl_mig_info_parse(ret, info);
    json_decref(ret);
    if (info->has_multifd && !w->ctl->raw && !w->config_asked) {
        /* Only a name to show: a vmig that cannot say goes on
         * without it, and a lost connection is the next poll's
         * to report. */
        w->config_asked = true;
        run_command(w->ctl, "query-migrate-config", NULL, &w->config,
                    false);
    }
    ctl_mig_info_set_config(info, w->config);
    return true;
}

/* No migration has run (yet): whether to wait for one. */
static bool watch_may_wait(const Watch *w, gint64 now)
{
    return w->opts->wait_start ||
           (w->opts->started && now - w->start < START_TIMEOUT_MS * 1000LL);
}

/*
 * The rate to show, in bytes/s, or -1.  The rate between two polls is
 * what the link does now; the engine's own mbps covers the first poll.
 * Once it has ended nothing moves: the summary gives the average
 * instead.
 */
static double watch_rate(Watch *w, const CtlMigInfo *info, gint64 now,
                         bool final)
{
    double rate = -1;

    if (!final && info->has_ram && w->prev_sent >= 0 &&
        now > w->prev_time && info->transferred >= w->prev_sent) {
        rate = (info->transferred - w->prev_sent) * 1e6 /
               (double)(now - w->prev_time);
    } else if (!final && info->mbps > 0) {
        rate = info->mbps * 1e6 / 8;
    }
    if (info->has_ram) {
        w->prev_sent = info->transferred;
        w->prev_time = now;
    }
    return rate;
}

/* The summary of an ended migration; the exit status. */
static int watch_finish(Watch *w, const CtlMigInfo *info)
{
    screen_end(&w->scr);
    if (!w->ctl->raw) {
        g_autofree char *summary = ctl_mig_summary(info);
        printf("%s", summary);
        fflush(stdout);
    }
    return final_status(info);
}

static int watch(Ctl *ctl, const WatchOpts *opts)
{
    Watch w = {
        .ctl = ctl,
        .opts = opts,
        .scr = { .width = ctl->raw ? 0 : tty_width() },
        .start = g_get_monotonic_time(),
        .prev_sent = -1,
    };
    struct sigaction sa = { .sa_handler = on_sigint }, old_sa;
    int status = EXIT_FAILED;

    /* No SA_RESTART: the nap between polls ends at once on Ctrl-C. */
    interrupts = 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_sa);

    for (;;) {
        g_auto(CtlMigInfo) info = { 0 };
        gint64 now;
        double rate;
        bool final;

        if (!watch_check_interrupt(&w) || !watch_poll(&w, &info, &now)) {
            break;
        }
        if (!info.status || !strcmp(info.status, "none")) {
            if (!watch_may_wait(&w, now)) {
                if (!ctl->raw) {
                    printf("No migration has run\n");
                }
                break;
            }
            nap(opts->interval_ms);
            continue;
        }

        final = ctl_mig_status_is_final(info.status);
        rate = watch_rate(&w, &info, now, final);
        if (!ctl->raw) {
            g_autofree char *line =
                ctl_mig_progress_line(&info, rate, (now - w.start) / 1000,
                                      w.scr.width);
            screen_show(&w.scr, line);
        }
        if (final) {
            status = watch_finish(&w, &info);
            break;
        }
        nap(opts->interval_ms);
    }
    sigaction(SIGINT, &old_sa, NULL);
    json_decref(w.config);
    return status;
}

int ctl_run_migrate(Ctl *ctl, char **words, int nwords)
{
    WatchOpts opts = { .interval_ms = DEFAULT_INTERVAL_MS,
                       .cancel_on_int = true, .started = true };
    g_autofree char **rest = g_new0(char *, nwords + 1);
    int nrest = 0, status = EXIT_OK;
    bool dry_run = false, no_watch = false, started;
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

    started = run_command(ctl, "migrate", args, NULL, true);
    json_decref(args);
    if (!started) {
        return EXIT_FAILED;
    }
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
