/*
 * QIOChannel over a file: see io/channel-file.h.
 */
#include "io/channel-file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-io.h"
#include "io/channel-impl.h"

typedef struct QIOChannelFile {
    QIOChannel parent;
    int fd;
    bool readable;
    bool writable;
} QIOChannelFile;

static QIOChannelFile *to_file(QIOChannel *ioc)
{
    return (QIOChannelFile *)ioc;
}

static ssize_t file_readv(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, Error **errp)
{
    QIOChannelFile *f = to_file(ioc);

    /* Clearer than the EBADF the kernel would give. */
    if (!f->readable) {
        error_setg(errp, "Channel '%s' is open for writing only",
                   ioc->name);
        return -1;
    }
    return qio_fd_readv(f->fd, iov, niov, ioc->name, errp);
}

static ssize_t file_writev(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp)
{
    QIOChannelFile *f = to_file(ioc);

    if (!f->writable) {
        error_setg(errp, "Channel '%s' is open for reading only",
                   ioc->name);
        return -1;
    }
    return qio_fd_writev(f->fd, false, iov, niov, ioc->name, errp);
}

static bool file_set_blocking(QIOChannel *ioc, bool blocking, Error **errp)
{
    /* Regular files ignore it; pipes passed as descriptors do not. */
    return qio_fd_set_blocking(to_file(ioc)->fd, blocking, ioc->name, errp);
}

static bool file_close(QIOChannel *ioc, Error **errp)
{
    return qio_fd_close(&to_file(ioc)->fd, ioc->name, errp);
}

static int file_get_fd(QIOChannel *ioc)
{
    return to_file(ioc)->fd;
}

static const QIOChannelClass file_class = {
    .kind = "file",
    .readv = file_readv,
    .writev = file_writev,
    .set_blocking = file_set_blocking,
    .close = file_close,
    .get_fd = file_get_fd,
};

QIOChannel *qio_channel_file_new_fd(int fd, const char *name)
{
    QIOChannelFile *f = g_new0(QIOChannelFile, 1);
    int mode = fcntl(fd, F_GETFL) & O_ACCMODE;

    qio_channel_init(&f->parent, &file_class, name);
    f->fd = fd;
    f->readable = mode == O_RDONLY || mode == O_RDWR;
    f->writable = mode == O_WRONLY || mode == O_RDWR;
    return &f->parent;
}

static char *file_name(const char *path, uint64_t offset)
{
    if (offset) {
        return g_strdup_printf("file:%s,offset=%" PRIu64, path, offset);
    }
    return g_strdup_printf("file:%s", path);
}

/* off_t is signed: larger offsets cannot be sought to. */
static bool offset_fits(uint64_t offset, const char *name, Error **errp)
{
    if (offset > (uint64_t)INT64_MAX) {
        error_setg(errp, "Offset %" PRIu64 " of '%s' is too large", offset,
                   name);
        return false;
    }
    return true;
}

static bool seek_to(int fd, uint64_t offset, const char *name,
                    Error **errp)
{
    if (offset && lseek(fd, offset, SEEK_SET) < 0) {
        error_setg_errno(errp, errno, "Cannot start '%s' at offset %" PRIu64,
                         name, offset);
        return false;
    }
    return true;
}

QIOChannel *qio_channel_file_open_write(const char *path, uint64_t offset,
                                        Error **errp)
{
    g_autofree char *name = file_name(path, offset);
    /* O_TRUNC, not ftruncate(), for offset 0: it is also accepted by
     * files that cannot be truncated, such as /dev/null. */
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (offset ? 0 : O_TRUNC);
    struct stat st;
    int fd;

    if (!offset_fits(offset, name, errp)) {
        return NULL;
    }
    fd = open(path, flags, 0600);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to open '%s' for writing",
                         name);
        return NULL;
    }
    /* A longer stream saved there before must not outlive this one:
     * whoever reads the file up to its end would get its tail. */
    if (offset && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size > offset && ftruncate(fd, offset) < 0) {
        error_setg_errno(errp, errno, "Failed to truncate '%s' at offset %"
                         PRIu64, name, offset);
        close(fd);
        return NULL;
    }
    if (!seek_to(fd, offset, name, errp)) {
        close(fd);
        return NULL;
    }
    return qio_channel_file_new_fd(fd, name);
}

QIOChannel *qio_channel_file_open_read(const char *path, uint64_t offset,
                                       Error **errp)
{
    g_autofree char *name = file_name(path, offset);
    struct stat st;
    int fd;

    if (!offset_fits(offset, name, errp)) {
        return NULL;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to open '%s' for reading",
                         name);
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "Failed to examine '%s'", name);
        close(fd);
        return NULL;
    }
    /* lseek() would allow it, and every read would then see the end. */
    if (S_ISREG(st.st_mode) && offset > (uint64_t)st.st_size) {
        error_setg(errp, "Offset %" PRIu64 " is beyond the end of '%s' "
                   "(%jd bytes)", offset, name, (intmax_t)st.st_size);
        close(fd);
        return NULL;
    }
    if (!seek_to(fd, offset, name, errp)) {
        close(fd);
        return NULL;
    }
    return qio_channel_file_new_fd(fd, name);
}
