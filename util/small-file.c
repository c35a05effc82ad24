/*
 * Reading a whole small file: see include/util/small-file.h.
 */
#include "util/small-file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

/* The first buffer: most such files (a key, a PEM certificate) fit. */
#define SMALL_FILE_CHUNK 8192

/* The callers read secrets: a buffer given up is wiped first. */
static void wipe_free(char *buf, size_t len)
{
    explicit_bzero(buf, len);
    g_free(buf);
}

bool small_file_read(const char *path, size_t max, char **contents,
                     size_t *len, Error **errp)
{
    size_t size = MIN(max, SMALL_FILE_CHUNK) + 1;
    char *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot read %s", path);
        return false;
    }
    buf = g_malloc(size);
    /* Reads up to one byte past @max, to tell "exactly max" from "too
     * big". */
    while (got <= max) {
        ssize_t n;

        if (got == size) {
            char *bigger = g_malloc(MIN(size * 2, max + 1));

            memcpy(bigger, buf, got);
            wipe_free(buf, got);
            buf = bigger;
            size = MIN(size * 2, max + 1);
        }
        n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int err = errno;

            close(fd);
            wipe_free(buf, got);
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
        wipe_free(buf, got);
        error_setg(errp, "%s is larger than %zu bytes", path, max);
        return false;
    }
    if (got == size) {
        char *bigger = g_malloc(got + 1);

        memcpy(bigger, buf, got);
        wipe_free(buf, got);
        buf = bigger;
    }
    buf[got] = '\0';
    *len = got;
    *contents = buf;
    return true;
}
