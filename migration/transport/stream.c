/*
 * Record I/O on a migration channel with deadlines and a wake-up: see
 * include/migration/stream.h.
 */
#include "migration/transport/stream.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "migration/transport/stream-checksum.h"
#include "util/atomic.h"
#include "util/sockets.h"
#include "util/crc32c.h"
#include "util/cutils.h"

/* Bytes asked of the channel per read: large enough for RAM_PAGES
 * records to arrive in a few calls, small enough for the handshake. */
#define READ_CHUNK (256 * 1024)

/*
 * A wake-up (migrate_cancel, a failure elsewhere) stops a write only
 * before its first byte.  A write already under way finishes the records
 * it began, within this bound, so that the stream stays whole and the
 * peer can still be told why in a record of its own (ERROR) rather than
 * finding a record cut in half.
 */
#define FINISH_RECORDS_MS 1000

struct MigStream {
    QIOChannel *ioc;
    int wake_fd;            /* eventfd: readable once woken */
    gint woken;
    gint torn;              /* a write stopped inside a record */
    /* Read buffer: bytes [start, end) are unconsumed. */
    uint8_t *buf;
    size_t cap, start, end;
    size_t last_record;     /* size of the record returned last */
    guint64 bytes_in, bytes_out;
    /* Held by every write, so that records from two threads never mix. */
    GMutex write_lock;
    /* Under write_lock: bytes_out when the write in progress began, and
     * its bound for finishing once woken (0 until then). */
    guint64 write_began_at;
    gint64 finish_deadline;
    /* mig_stream_write_between()'s record, for the write in progress to
     * send after its own (under aside_lock; aside_pending atomic). */
    GMutex aside_lock;
    uint8_t aside[MIG_STREAM_ASIDE_MAX];
    size_t aside_len;
    gint aside_pending;
    /* Record checksums (stream.h): each direction once turned on. */
    bool checksum_writes, checksum_reads;
    ChecksumWriter cw;
    GByteArray *copy;       /* what write_checksummed() sends */
    /* Reading a record in parts: where it started, for messages. */
    uint64_t part_offset;
};

MigStream *mig_stream_new(QIOChannel *ioc, Error **errp)
{
    MigStream *s;
    int fd;

    if (!qio_channel_set_blocking(ioc, false, errp)) {
        return NULL;
    }
    fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create an eventfd for "
                         "'%s'", qio_channel_get_name(ioc));
        return NULL;
    }
    s = g_new0(MigStream, 1);
    s->ioc = qio_channel_ref(ioc);
    s->wake_fd = fd;
    /* Never NULL, so offsets into it are always defined. */
    s->cap = 4096;
    s->buf = g_malloc(s->cap);
    g_mutex_init(&s->write_lock);
    g_mutex_init(&s->aside_lock);
    s->copy = g_byte_array_new();
    return s;
}

void mig_stream_free(MigStream *s)
{
    if (!s) {
        return;
    }
    qio_channel_unref(s->ioc);
    close(s->wake_fd);
    g_free(s->buf);
    g_mutex_clear(&s->write_lock);
    g_mutex_clear(&s->aside_lock);
    g_byte_array_free(s->copy, true);
    g_free(s);
}

QIOChannel *mig_stream_channel(MigStream *s)
{
    return s->ioc;
}

const char *mig_stream_name(MigStream *s)
{
    return qio_channel_get_name(s->ioc);
}

void mig_stream_wake(MigStream *s)
{
    uint64_t one = 1;

    qatomic_mb_set(&s->woken, 1);
    /* Never read back: the eventfd stays readable for every poller. */
    if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        /* The flag alone still stops the next wait. */
    }
}

bool mig_stream_is_woken(MigStream *s)
{
    return qatomic_mb_read(&s->woken);
}

bool mig_stream_is_torn(MigStream *s)
{
    return qatomic_mb_read(&s->torn);
}

uint64_t mig_stream_bytes_written(MigStream *s)
{
    return qatomic_read(&s->bytes_out);
}

uint64_t mig_stream_bytes_read(MigStream *s)
{
    return qatomic_read(&s->bytes_in);
}

uint64_t mig_stream_read_offset(MigStream *s)
{
    return s->bytes_in - (s->end - s->start) + s->last_record;
}

bool mig_stream_seek_read(MigStream *s, uint64_t offset, uint64_t base,
                          Error **errp)
{
    int fd = qio_channel_get_fd(s->ioc);

    if (fd < 0 || lseek(fd, (off_t)(base + offset), SEEK_SET) < 0) {
        error_setg_errno(errp, fd < 0 ? ESPIPE : errno, "Cannot seek to "
                         "offset %" G_GUINT64_FORMAT " of '%s'", base + offset,
                         mig_stream_name(s));
        return false;
    }
    s->start = s->end = 0;
    s->last_record = 0;
    qatomic_set(&s->bytes_in, offset);
    return true;
}

static void error_woken(MigStream *s, Error **errp)
{
    error_setg(errp, "I/O on '%s' was interrupted", mig_stream_name(s));
}

/*
 * Waits for @events on the channel (fd < 0: returns at once), the
 * wake-up (unless @ignore_wake) or @deadline.  *@revents (if not NULL)
 * gets what the channel reported.  Zero-copy completions make the
 * descriptor poll POLLERR until read, so they are read here, by
 * whichever thread waits: otherwise every wait would return at once.
 */
static MigStreamResult wait_ready_ev(MigStream *s, short events,
                                     gint64 deadline, bool ignore_wake,
                                     short *revents, Error **errp)
{
    int fd = qio_channel_get_fd(s->ioc);

    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = fd, .events = events },
            { .fd = s->wake_fd, .events = POLLIN },
        };
        int timeout = poll_ms_until(deadline);
        int n;

        if (!ignore_wake && mig_stream_is_woken(s)) {
            error_woken(s, errp);
            return MIG_STREAM_WOKEN;
        }
        if (fd < 0) {
            return MIG_STREAM_OK;
        }
        n = poll(pfd, ignore_wake ? 1 : 2, timeout);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error_setg_errno(errp, errno, "Failed to wait for '%s'",
                             mig_stream_name(s));
            return MIG_STREAM_ERROR;
        }
        if (n == 0) {
            error_setg(errp, "Timed out waiting for '%s'",
                       mig_stream_name(s));
            return MIG_STREAM_TIMEOUT;
        }
        if ((pfd[0].revents & POLLERR) &&
            qio_channel_zero_copy_enabled(s->ioc) &&
            qio_channel_zero_copy_reap(s->ioc, errp) < 0) {
            return MIG_STREAM_ERROR;
        }
        if (revents) {
            *revents = pfd[0].revents;
        }
        if (!ignore_wake && pfd[1].revents) {
            continue;       /* reported at the top */
        }
        /* Ready, or hung up / failed: the next call says which. */
        return MIG_STREAM_OK;
    }
}

static MigStreamResult wait_ready(MigStream *s, short events,
                                  gint64 deadline, bool ignore_wake,
                                  Error **errp)
{
    return wait_ready_ev(s, events, deadline, ignore_wake, NULL, errp);
}

/* Drops the first @n bytes of @iov[*@idx..@niov). */
static void iov_advance(struct iovec *iov, size_t niov, size_t *idx,
                        size_t n)
{
    while (n && *idx < niov) {
        size_t k = MIN(n, iov[*idx].iov_len);

        iov[*idx].iov_base = (uint8_t *)iov[*idx].iov_base + k;
        iov[*idx].iov_len -= k;
        n -= k;
        if (!iov[*idx].iov_len) {
            (*idx)++;
        }
    }
    while (*idx < niov && !iov[*idx].iov_len) {
        (*idx)++;
    }
}

/* Waits until every zero-copy send so far has completed. */
static MigStreamResult wait_zero_copy(MigStream *s, gint64 deadline,
                                      Error **errp)
{
    for (;;) {
        QIOChannelZeroCopyStats before, after;
        short revents = 0;
        MigStreamResult r;
        int done;

        if (mig_stream_is_woken(s)) {
            error_woken(s, errp);
            return MIG_STREAM_WOKEN;
        }
        done = qio_channel_zero_copy_reap(s->ioc, errp);
        if (done < 0) {
            return MIG_STREAM_ERROR;
        }
        if (done) {
            return MIG_STREAM_OK;
        }
        qio_channel_zero_copy_stats(s->ioc, &before);
        /* Events 0: only POLLERR (completions) and hang-ups wake us. */
        r = wait_ready_ev(s, 0, deadline, false, &revents, errp);
        if (r != MIG_STREAM_OK) {
            return r;
        }
        qio_channel_zero_copy_stats(s->ioc, &after);
        /* A hang-up stays reported: without progress we would spin. */
        if ((revents & (POLLHUP | POLLNVAL)) &&
            after.completed == before.completed) {
            error_setg(errp, "'%s' hung up with %" PRIu64 " zero-copy "
                       "sends not completed", mig_stream_name(s),
                       after.sent - after.completed);
            return MIG_STREAM_ERROR;
        }
    }
}

/* Whether a woken write goes on (FINISH_RECORDS_MS): only if part of it
 * went out already; then *@deadline becomes the finishing bound. */
static bool finish_after_wake(MigStream *s, gint64 *deadline)
{
    if (qatomic_read(&s->bytes_out) == s->write_began_at) {
        return false;
    }
    if (!s->finish_deadline) {
        s->finish_deadline = mig_deadline_after_ms(FINISH_RECORDS_MS);
    }
    if (!*deadline || *deadline > s->finish_deadline) {
        *deadline = s->finish_deadline;
    }
    return true;
}

/* Marks the start of a write: under write_lock. */
static void begin_write(MigStream *s)
{
    s->write_began_at = qatomic_read(&s->bytes_out);
    s->finish_deadline = 0;
}

/* Writes all of @iov, which it consumes; with @zero_copy, as zero-copy
 * sends. */
static MigStreamResult do_writev(MigStream *s, struct iovec *iov,
                                 size_t niov, gint64 deadline,
                                 bool ignore_wake, bool zero_copy,
                                 Error **errp)
{
    size_t idx = 0;
    bool done = false;
    bool flushed = false;   /* ENOBUFS was answered by a full flush */

    iov_advance(iov, niov, &idx, 0);
    while (idx < niov) {
        Error *err = NULL;
        MigStreamResult r;
        ssize_t n;

        if (!ignore_wake && mig_stream_is_woken(s)) {
            if (!finish_after_wake(s, &deadline)) {
                error_woken(s, errp);
                r = MIG_STREAM_WOKEN;
                goto fail;
            }
            ignore_wake = true;
        }
        n = zero_copy
            ? qio_channel_writev_zero_copy(s->ioc, iov + idx, niov - idx,
                                           &err)
            : qio_channel_writev(s->ioc, iov + idx, niov - idx, &err);
        if (n == QIO_CHANNEL_ERR_BLOCK) {
            r = wait_ready(s, POLLOUT, deadline, ignore_wake, &err);
            if (r == MIG_STREAM_WOKEN) {
                error_free(err);
                continue;       /* finishing, or stopping, at the top */
            }
            if (r != MIG_STREAM_OK) {
                error_propagate(errp, err);
                goto fail;
            }
            continue;
        }
        if (n == QIO_CHANNEL_ERR_NOBUFS && !flushed) {
            /* The kernel's memory for uncompleted sends is full: once
             * they all completed, there is room again. */
            r = wait_zero_copy(s, deadline, errp);
            if (r != MIG_STREAM_OK) {
                goto fail;
            }
            flushed = true;
            continue;
        }
        if (n == QIO_CHANNEL_ERR_NOBUFS) {
            error_setg(errp, "Failed to write to '%s': no buffer space for "
                       "a zero-copy send with none outstanding (is "
                       "net.core.optmem_max too small?)", mig_stream_name(s));
            r = MIG_STREAM_ERROR;
            goto fail;
        }
        if (n < 0) {
            error_propagate(errp, err);
            r = MIG_STREAM_ERROR;
            goto fail;
        }
        done |= n > 0;
        flushed = false;
        iov_advance(iov, niov, &idx, n);
        qatomic_add(&s->bytes_out, (guint64)n);
        continue;

fail:
        if (done) {
            qatomic_mb_set(&s->torn, 1);
        }
        return r;
    }
    return MIG_STREAM_OK;
}

/* Sends what write_checksummed() copied so far and empties the copy. */
static MigStreamResult send_copy(MigStream *s, gint64 deadline,
                                 bool ignore_wake, Error **errp)
{
    struct iovec out = {
        .iov_base = s->copy->data, .iov_len = s->copy->len,
    };
    MigStreamResult r = do_writev(s, &out, 1, deadline, ignore_wake, false,
                                  errp);

    g_byte_array_set_size(s->copy, 0);
    return r;
}

/*
 * @iov, which continues whole records, with their checksums, from a
 * copy (stream-checksum.h says why), so never as zero-copy sends.  A
 * write that sent nothing leaves the writer where it was, so a last
 * record (ERROR) still goes out right.
 */
static MigStreamResult write_checksummed(MigStream *s,
                                         const struct iovec *iov,
                                         size_t niov, gint64 deadline,
                                         bool ignore_wake, Error **errp)
{
    ChecksumWriter saved = s->cw;
    guint64 before = qatomic_read(&s->bytes_out);
    MigStreamResult r = MIG_STREAM_OK;

    g_byte_array_set_size(s->copy, 0);
    for (size_t i = 0; i < niov; i++) {
        size_t off = 0;

        while (off < iov[i].iov_len) {
            struct iovec piece = {
                .iov_base = (uint8_t *)iov[i].iov_base + off,
                .iov_len = MIN(iov[i].iov_len - off,
                               MIG_STREAM_CHECKSUM_BATCH - MIN(s->copy->len, MIG_STREAM_CHECKSUM_BATCH)),
            };

            checksum_writer_feed(&s->cw, &piece, 1, s->copy);
            off += piece.iov_len;
            if (s->copy->len >= MIG_STREAM_CHECKSUM_BATCH) {
                r = send_copy(s, deadline, ignore_wake, errp);
                if (r != MIG_STREAM_OK) {
                    goto out;
                }
            }
        }
    }
    r = send_copy(s, deadline, ignore_wake, errp);
out:
    /* Sent in pieces: one that failed after others went out may have
     * cut a record, though it sent nothing itself. */
    if (r != MIG_STREAM_OK && qatomic_read(&s->bytes_out) == before) {
        s->cw = saved;
    } else if (r != MIG_STREAM_OK) {
        qatomic_mb_set(&s->torn, 1);
    }
    return r;
}

static MigStreamResult do_write(MigStream *s, const uint8_t *buf,
                                size_t len, gint64 deadline,
                                bool ignore_wake, Error **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    if (s->checksum_writes) {
        return write_checksummed(s, &iov, 1, deadline, ignore_wake, errp);
    }
    return do_writev(s, &iov, 1, deadline, ignore_wake, false, errp);
}

/* The record left by mig_stream_write_between(), if any: under
 * write_lock. */
static MigStreamResult send_aside(MigStream *s, gint64 deadline,
                                  Error **errp)
{
    uint8_t rec[MIG_STREAM_ASIDE_MAX];
    size_t len;

    if (!qatomic_mb_read(&s->aside_pending)) {
        return MIG_STREAM_OK;
    }
    g_mutex_lock(&s->aside_lock);
    len = s->aside_len;
    memcpy(rec, s->aside, len);
    qatomic_mb_set(&s->aside_pending, 0);
    g_mutex_unlock(&s->aside_lock);
    return do_write(s, rec, len, deadline, false, errp);
}

/* Whole records (with their checksums when on), then the one left
 * aside meanwhile: under write_lock, so the checksum writer's state and
 * the records of two threads never interleave. */
static MigStreamResult locked_writev(MigStream *s, struct iovec *iov,
                                     size_t niov, gint64 deadline,
                                     bool ignore_wake, bool zero_copy,
                                     Error **errp)
{
    MigStreamResult r;

    g_mutex_lock(&s->write_lock);
    begin_write(s);
    r = s->checksum_writes
        ? write_checksummed(s, iov, niov, deadline, ignore_wake, errp)
        : do_writev(s, iov, niov, deadline, ignore_wake, zero_copy, errp);
    if (r == MIG_STREAM_OK && !ignore_wake) {
        r = send_aside(s, deadline, errp);
    }
    g_mutex_unlock(&s->write_lock);
    return r;
}

static bool check_not_torn(MigStream *s, Error **errp)
{
    if (mig_stream_is_torn(s)) {
        error_setg(errp, "'%s' broke off in the middle of a record",
                   mig_stream_name(s));
        return false;
    }
    return true;
}

/* do_writev() of a copy of @iov, as the caller's stays untouched. */
static MigStreamResult writev_copy(MigStream *s, const struct iovec *iov,
                                   size_t niov, gint64 deadline,
                                   bool zero_copy, Error **errp)
{
    struct iovec small[128];
    g_autofree struct iovec *big = NULL;
    struct iovec *cur = small;

    if (!check_not_torn(s, errp)) {
        return MIG_STREAM_ERROR;
    }
    if (niov > G_N_ELEMENTS(small)) {
        cur = big = g_new(struct iovec, niov);
    }
    if (niov) {
        memcpy(cur, iov, niov * sizeof(*iov));
    }
    return locked_writev(s, cur, niov, deadline, false, zero_copy, errp);
}

MigStreamResult mig_stream_writev(MigStream *s, const struct iovec *iov,
                                  size_t niov, gint64 deadline,
                                  Error **errp)
{
    return writev_copy(s, iov, niov, deadline, false, errp);
}

bool mig_stream_enable_zerocopy(MigStream *s, Error **errp)
{
    return qio_channel_enable_zero_copy(s->ioc, errp);
}

MigStreamResult mig_stream_writev_zerocopy(MigStream *s,
                                           const struct iovec *iov,
                                           size_t niov, gint64 deadline,
                                           Error **errp)
{
    return writev_copy(s, iov, niov, deadline, true, errp);
}

MigStreamResult mig_stream_flush_zerocopy(MigStream *s, gint64 deadline,
                                          Error **errp)
{
    return wait_zero_copy(s, deadline, errp);
}

static MigStreamResult write_records(MigStream *s, const void *buf,
                                     size_t len, gint64 deadline,
                                     bool ignore_wake, Error **errp)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    if (!check_not_torn(s, errp)) {
        return MIG_STREAM_ERROR;
    }
    return locked_writev(s, &iov, 1, deadline, ignore_wake, false, errp);
}

MigStreamResult mig_stream_write(MigStream *s, const void *buf, size_t len,
                                 gint64 deadline, Error **errp)
{
    return write_records(s, buf, len, deadline, false, errp);
}

MigStreamResult mig_stream_write_last(MigStream *s, const void *buf,
                                      size_t len, gint64 deadline,
                                      Error **errp)
{
    return write_records(s, buf, len, deadline, true, errp);
}

MigStreamResult mig_stream_write_between(MigStream *s, const void *buf,
                                         size_t len, gint64 deadline,
                                         Error **errp)
{
    MigStreamResult r;

    g_assert(len <= MIG_STREAM_ASIDE_MAX);
    g_mutex_lock(&s->aside_lock);
    memcpy(s->aside, buf, len);
    s->aside_len = len;
    qatomic_mb_set(&s->aside_pending, 1);
    g_mutex_unlock(&s->aside_lock);
    /* Busy: the write in progress sends it after its records. */
    if (!g_mutex_trylock(&s->write_lock)) {
        return MIG_STREAM_OK;
    }
    begin_write(s);
    r = check_not_torn(s, errp) ? send_aside(s, deadline, errp)
                                : MIG_STREAM_ERROR;
    g_mutex_unlock(&s->write_lock);
    return r;
}

bool mig_stream_set_liveness(MigStream *s, unsigned seconds, Error **errp)
{
    int fd = qio_channel_get_fd(s->ioc);

    if (fd >= 0 && !socket_set_liveness(fd, seconds)) {
        error_setg_errno(errp, errno, "Cannot set the TCP keepalive and "
                         "user timeout of '%s'", mig_stream_name(s));
        return false;
    }
    return true;
}

static size_t buffered(const MigStream *s)
{
    return s->end - s->start;
}

/* Room for at least @need unconsumed bytes plus a read chunk. */
static void make_room(MigStream *s, size_t need)
{
    size_t have = buffered(s);
    size_t want = MAX(need, have + READ_CHUNK);

    if (s->start && (s->cap - s->start < want || s->start > s->cap / 2)) {
        memmove(s->buf, s->buf + s->start, have);
        s->start = 0;
        s->end = have;
    }
    if (s->cap - s->start < want) {
        s->cap = s->start + want;
        s->buf = g_realloc(s->buf, s->cap);
    }
}

/*
 * Reads until at least @need bytes are buffered, never buffering more
 * than @limit (0: as much as has arrived).  MIG_STREAM_EOF if the
 * stream ends first (the bytes read stay buffered).
 */
/*
 * One readv that waits until something arrives: the byte count (> 0,
 * counted in bytes_in), 0 at the end of the stream, or -1 with *@r and
 * errp set (woken, timed out, failed).
 */
static ssize_t read_some(MigStream *s, struct iovec *iov, size_t niov,
                         gint64 deadline, MigStreamResult *r, Error **errp)
{
    for (;;) {
        Error *err = NULL;
        ssize_t n;

        if (mig_stream_is_woken(s)) {
            error_woken(s, errp);
            *r = MIG_STREAM_WOKEN;
            return -1;
        }
        n = qio_channel_readv(s->ioc, iov, niov, &err);
        if (n == QIO_CHANNEL_ERR_BLOCK) {
            *r = wait_ready(s, POLLIN, deadline, false, errp);
            if (*r != MIG_STREAM_OK) {
                return -1;
            }
            continue;
        }
        if (n < 0) {
            error_propagate(errp, err);
            *r = MIG_STREAM_ERROR;
            return -1;
        }
        qatomic_add(&s->bytes_in, (guint64)n);
        return n;
    }
}

/*
 * Reads until at least @need bytes are buffered, never buffering more
 * than @limit (0: as much as has arrived).  MIG_STREAM_EOF if the
 * stream ends first (the bytes read stay buffered).
 */
bool mig_stream_peer_started_tls(MigStream *s)
{
    return wire_stream_header_is_tls(s->buf + s->start, buffered(s));
}

static MigStreamResult fill_limit(MigStream *s, size_t need, size_t limit,
                                  gint64 deadline, Error **errp)
{
    while (buffered(s) < need) {
        MigStreamResult r;
        struct iovec iov;
        ssize_t n;

        make_room(s, need);
        iov.iov_base = s->buf + s->end;
        iov.iov_len = limit ? MIN(s->cap - s->end, limit - buffered(s))
                            : s->cap - s->end;
        n = read_some(s, &iov, 1, deadline, &r, errp);
        if (n < 0) {
            return r;
        }
        if (n == 0) {
            return MIG_STREAM_EOF;
        }
        s->end += n;
    }
    return MIG_STREAM_OK;
}

static MigStreamResult fill(MigStream *s, size_t need, gint64 deadline,
                            Error **errp)
{
    return fill_limit(s, need, 0, deadline, errp);
}

static void error_truncated(MigStream *s, size_t have, size_t need,
                            const char *what, Error **errp)
{
    error_setg(errp, "Migration stream '%s' is truncated: EOF after %zu of "
               "%zu bytes of %s", mig_stream_name(s), have, need, what);
}

/* EOF after @have of the @rec->size bytes of @rec. */
static void error_record_truncated(MigStream *s, const WireRecord *rec,
                                   size_t have, Error **errp)
{
    g_autofree char *what = NULL;

    if (have < WIRE_RECORD_HEADER_SIZE) {
        what = g_strdup("a record header");
    } else {
        const char *name = wire_record_type_name(rec->type);

        what = name ? g_strdup_printf("a%s %s record",
                                      strchr("AEIOU", name[0])
                                      ? "n" : "", name)
                    : g_strdup_printf("a record of type 0x%08x",
                                      rec->type);
    }
    if (s->checksum_reads && have >= WIRE_RECORD_HEADER_SIZE) {
        /* Its checksum lies past the end: a flipped bit in the length
         * reads as this too. */
        char *whole = g_strdup_printf("%s at offset %" PRIu64 " (or a "
                                      "corrupted length: its checksum "
                                      "lies past the end)", what,
                                      mig_stream_read_offset(s));

        g_free(what);
        what = whole;
    }
    error_truncated(s, have, rec->size, what, errp);
}

MigStreamResult mig_stream_read_header(MigStream *s, gint64 deadline,
                                       Error **errp)
{
    for (;;) {
        size_t have = buffered(s);
        MigStreamResult r;

        switch (wire_stream_header_decode(s->buf + s->start, have, errp)) {
        case WIRE_OK:
            s->start += WIRE_STREAM_HEADER_SIZE;
            return MIG_STREAM_OK;
        case WIRE_ERROR:
            error_prepend(errp, "'%s': ", mig_stream_name(s));
            return MIG_STREAM_ERROR;
        case WIRE_NEED_MORE:
            break;
        }
        /* One more byte at a time is enough: decode fails on the first
         * wrong magic byte, fill() reads whatever has arrived. */
        r = fill(s, have + 1, deadline, errp);
        if (r == MIG_STREAM_EOF) {
            if (have == 0) {
                return MIG_STREAM_EOF;
            }
            error_truncated(s, have, WIRE_STREAM_HEADER_SIZE,
                            "the stream header", errp);
            return MIG_STREAM_ERROR;
        }
        if (r != MIG_STREAM_OK) {
            return r;
        }
    }
}

/*
 * What a failed fill() means while reading a record: the end of the
 * stream between records is a clean EOF, anywhere else a truncation.
 */
static MigStreamResult record_fill_failed(MigStream *s,
                                          const WireRecord *rec,
                                          MigStreamResult r, Error **errp)
{
    if (r == MIG_STREAM_EOF && buffered(s) != 0) {
        error_record_truncated(s, rec, buffered(s), errp);
        return MIG_STREAM_ERROR;
    }
    return r;
}

/* The record (@whole) or its header at the front of what is buffered,
 * framed as this stream's records are (with checksums or not). */
static WireStatus decode_front(MigStream *s, WireRecord *rec, bool whole,
                               Error **errp)
{
    const uint8_t *front = s->buf + s->start;
    size_t have = buffered(s);
    uint64_t offset = mig_stream_read_offset(s);

    if (whole) {
        return s->checksum_reads
               ? wire_record_decode_checksummed(front, have, offset, rec,
                                                errp)
               : wire_record_decode(front, have, rec, errp);
    }
    return s->checksum_reads
           ? wire_record_header_decode_checksummed(front, have, offset, rec,
                                                   errp)
           : wire_record_header_decode(front, have, rec, errp);
}

/* The caller is done with the previous record's body. */
static void release_last_record(MigStream *s)
{
    s->start += s->last_record;
    s->last_record = 0;
}

MigStreamResult mig_stream_read_record(MigStream *s, WireRecord *rec,
                                       gint64 deadline, Error **errp)
{
    release_last_record(s);
    for (;;) {
        MigStreamResult r;

        switch (decode_front(s, rec, true, errp)) {
        case WIRE_OK:
            s->last_record = rec->size;
            return MIG_STREAM_OK;
        case WIRE_ERROR:
            return MIG_STREAM_ERROR;
        case WIRE_NEED_MORE:
            break;
        }
        r = fill(s, rec->size, deadline, errp);
        if (r != MIG_STREAM_OK) {
            return record_fill_failed(s, rec, r, errp);
        }
    }
}

MigStreamResult mig_stream_read_record_header(MigStream *s, WireRecord *rec,
                                              gint64 deadline, Error **errp)
{
    release_last_record(s);
    for (;;) {
        MigStreamResult r;

        switch (decode_front(s, rec, false, errp)) {
        case WIRE_OK:
            s->part_offset = mig_stream_read_offset(s);
            rec->body = NULL;
            return MIG_STREAM_OK;
        case WIRE_ERROR:
            return MIG_STREAM_ERROR;
        case WIRE_NEED_MORE:
            break;
        }
        /* No more than a RAM_PAGES header: its data may go elsewhere. */
        r = fill_limit(s, WIRE_RECORD_HEADER_SIZE,
                       WIRE_RECORD_HEADER_SIZE + 16, deadline, errp);
        if (r != MIG_STREAM_OK) {
            return record_fill_failed(s, rec, r, errp);
        }
    }
}

MigStreamResult mig_stream_read_record_prefix(MigStream *s, WireRecord *rec,
                                              size_t n, gint64 deadline,
                                              Error **errp)
{
    size_t need = WIRE_RECORD_HEADER_SIZE + n;
    MigStreamResult r;

    g_assert(n <= rec->len);
    r = fill_limit(s, need, need, deadline, errp);
    if (r == MIG_STREAM_EOF) {
        error_record_truncated(s, rec, buffered(s), errp);
        return MIG_STREAM_ERROR;
    }
    if (r != MIG_STREAM_OK) {
        return r;
    }
    rec->body = s->buf + s->start + WIRE_RECORD_HEADER_SIZE;
    return MIG_STREAM_OK;
}

/* @crc continued over the first @n bytes of @iov: what a read just put
 * there, while it is in the cache. */
static uint32_t crc_landed(uint32_t crc, const struct iovec *iov, size_t n)
{
    for (; n; iov++) {
        size_t k = MIN(n, iov->iov_len);

        crc = crc32c(crc, iov->iov_base, k);
        n -= k;
    }
    return crc;
}

/* Bytes readv() may put in the buffer after a record's data: the next
 * record's header and RAM_PAGES offsets, saving reads for them. */
#define READ_AHEAD 4096

MigStreamResult mig_stream_read_record_into(MigStream *s, WireRecord *rec,
                                            size_t skip,
                                            const struct iovec *iov,
                                            size_t niov, gint64 deadline,
                                            Error **errp)
{
    /* With checksums the CRC comes first, checked below. */
    size_t trailer = s->checksum_reads ? WIRE_CHECKSUM_LEN : 0;
    size_t pad = rec->size - WIRE_RECORD_HEADER_SIZE - rec->len;
    size_t want = 0, idx = 0, done;
    g_autofree struct iovec *cur = g_new(struct iovec, niov + 1);
    uint32_t crc = 0;
    MigStreamResult r;

    for (size_t i = 0; i < niov; i++) {
        want += iov[i].iov_len;
    }
    g_assert(skip <= rec->len && want == rec->len - skip);
    g_assert(buffered(s) >= WIRE_RECORD_HEADER_SIZE + skip);
    if (niov) {
        memcpy(cur, iov, niov * sizeof(*iov));
    }
    rec->body = NULL;
    if (trailer) {
        crc = crc32c(0, s->buf + s->start, WIRE_RECORD_HEADER_SIZE + skip);
    }
    s->start += WIRE_RECORD_HEADER_SIZE + skip;
    done = WIRE_RECORD_HEADER_SIZE + skip;

    /* What is buffered already first. */
    iov_advance(cur, niov, &idx, 0);
    while (idx < niov && buffered(s)) {
        size_t k = MIN(buffered(s), cur[idx].iov_len);

        if (trailer) {
            crc = crc32c_copy(crc, cur[idx].iov_base, s->buf + s->start, k);
        } else {
            memcpy(cur[idx].iov_base, s->buf + s->start, k);
        }
        s->start += k;
        done += k;
        iov_advance(cur, niov, &idx, k);
    }
    /* Then straight into place, the buffer catching what follows. */
    while (idx < niov) {
        size_t left = 0;
        ssize_t n;

        make_room(s, 0);
        cur[niov].iov_base = s->buf + s->end;
        cur[niov].iov_len = MIN(s->cap - s->end, READ_AHEAD);
        n = read_some(s, cur + idx, niov + 1 - idx, deadline, &r, errp);
        if (n < 0) {
            return r;
        }
        if (n == 0) {
            error_record_truncated(s, rec, done, errp);
            return MIG_STREAM_ERROR;
        }
        for (size_t i = idx; i < niov; i++) {
            left += cur[i].iov_len;
        }
        if ((size_t)n > left) {
            s->end += n - left;
        }
        if (trailer) {
            crc = crc_landed(crc, cur + idx, MIN((size_t)n, left));
        }
        done += MIN((size_t)n, left);
        iov_advance(cur, niov, &idx, MIN((size_t)n, left));
    }
    /* The padding, which must be zero. */
    r = fill(s, pad, deadline, errp);
    if (r == MIG_STREAM_EOF) {
        error_record_truncated(s, rec, done + buffered(s), errp);
        return MIG_STREAM_ERROR;
    }
    if (r != MIG_STREAM_OK) {
        return r;
    }
    if (trailer) {
        if (!wire_record_checksum_check(rec->type, s->part_offset,
                                        wire_load_u32(s->buf + s->start),
                                        crc, errp)) {
            return MIG_STREAM_ERROR;
        }
    }
    for (size_t i = trailer; i < pad; i++) {
        if (s->buf[s->start + i]) {
            const char *name = wire_record_type_name(rec->type);

            error_setg(errp, "%s: non-zero padding",
                       name ? name : "record");
            return MIG_STREAM_ERROR;
        }
    }
    s->start += pad;
    return MIG_STREAM_OK;
}

void mig_stream_checksum_writes(MigStream *s)
{
    s->checksum_writes = true;
}

void mig_stream_checksum_reads(MigStream *s)
{
    s->checksum_reads = true;
}

bool mig_stream_sleep_until(MigStream *s, gint64 until)
{
    for (;;) {
        struct pollfd pfd = { .fd = s->wake_fd, .events = POLLIN };
        int timeout;

        if (mig_stream_is_woken(s)) {
            return false;
        }
        timeout = poll_ms_until(until);
        if (timeout == 0) {
            return true;
        }
        if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
            return !mig_stream_is_woken(s);
        }
    }
}

bool mig_stream_close(MigStream *s, Error **errp)
{
    return qio_channel_close(s->ioc, errp);
}

void mig_stream_close_after_failure(MigStream *s, Error **err)
{
    Error *closing = NULL;
    Error *both = NULL;

    if (mig_stream_close(s, &closing)) {
        return;
    }
    if (!*err) {
        *err = closing;
        return;
    }
    error_setg(&both, "%s (%s)", error_get_pretty(*err),
               error_get_pretty(closing));
    error_free(*err);
    error_free(closing);
    *err = both;
}

unsigned mig_handshake_timeout_ms(void)
{
    const char *env = getenv("VMIG_TEST_HANDSHAKE_TIMEOUT_MS");
    guint64 v;

    if (env && g_ascii_string_to_unsigned(env, 10, 1, G_MAXUINT, &v,
                                          NULL)) {
        return (unsigned)v;
    }
    return WIRE_HANDSHAKE_TIMEOUT_MS;
}
