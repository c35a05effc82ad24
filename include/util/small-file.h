/*
 * Reading a whole small local file (credentials, keys, secrets) with
 * errors that name it.
 */
#ifndef VMIG_UTIL_SMALL_FILE_H
#define VMIG_UTIL_SMALL_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "qapi/error.h"

/*
 * Reads @path into a new NUL-terminated buffer (*@contents, caller
 * frees; *@len excludes the NUL).  Fails naming the file: "cannot read
 * PATH: No such file or directory", "PATH is larger than MAX bytes"
 * (a file that big is not what was meant, and not worth holding).
 */
bool small_file_read(const char *path, size_t max, char **contents,
                     size_t *len, Error **errp);

#endif
