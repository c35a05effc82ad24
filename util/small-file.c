/*
 * Reading a whole small file: see include/util/small-file.h.
 */
#include "util/small-file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib.h>
#include <string.h>

bool small_file_read(const char *path, size_t max, char **contents,
                     size_t *len, Error **errp)
{
    g_autofree char *buf = g_malloc(max + 1);
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot read %s", path);
        return false;
    }
    /* Read one byte past @max to tell "exactly max" from "too big". */
    while (got <= max) {
        ssize_t n = read(fd, buf + got, max + 1 - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int err = errno;

            close(fd);
            explicit_bzero(buf, got);
            error_setg_errno(errp, err, "cannot read %s", path);
            return false;
        }
        if (n == 0) {
            break;
        }
        got += n;
    }
    close(fd);
    if (got > max) {
        /* The callers read secrets: leave no copy behind. */
        explicit_bzero(buf, got);
        error_setg(errp, "%s is larger than %zu bytes", path, max);
        return false;
    }
    buf[got] = '\0';
    *len = got;
    *contents = g_steal_pointer(&buf);
    return true;
}
