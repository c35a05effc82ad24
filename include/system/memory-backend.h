/*
 * Memory backend objects: memory-backend-ram, -file and -memfd.
 *
 * A backend allocates its memory (one RAMBlock named after the backend's
 * id) when it is created.  The memory becomes guest RAM only when the
 * machine registers the block (-numa node,memdev=ID or -machine
 * memory-backend=ID); a backend whose block is guest RAM is "in use" and
 * cannot be deleted.
 */
#ifndef VMIG_SYSTEM_MEMORY_BACKEND_H
#define VMIG_SYSTEM_MEMORY_BACKEND_H

#include "qapi/error.h"
#include "system/object.h"
#include "system/ram.h"

typedef struct HostMemoryBackend {
    ObjectType type;
    RAMBlock *block;    /* owned */
} HostMemoryBackend;

extern const ObjectTypeInfo memory_backend_ram_info;
extern const ObjectTypeInfo memory_backend_file_info;
extern const ObjectTypeInfo memory_backend_memfd_info;

/* The backend object @id, or NULL with an error naming @id if there is no
 * such object or it is not a memory backend. */
HostMemoryBackend *memory_backend_find(const char *id, Error **errp);

#endif
