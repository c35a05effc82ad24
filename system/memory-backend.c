/*
 * Memory backend objects and query-memdev.
 * See include/system/memory-backend.h.
 */
#include "system/memory-backend.h"

#include "qapi/qapi-commands.h"

static HostMemoryBackend *backend_new(ObjectType type, RAMBlock *block,
                                      const MemoryBackendProperties *p,
                                      Error **errp)
{
    HostMemoryBackend *backend;

    if (!block) {
        return NULL;
    }
    if (p->has_prealloc && p->prealloc && !ram_block_prealloc(block, errp)) {
        ram_block_free(block);
        return NULL;
    }
    backend = g_new0(HostMemoryBackend, 1);
    backend->type = type;
    backend->block = block;
    return backend;
}

/* The generated structs start with their base's members (struct-info.h). */
#define as_base(p) ((const MemoryBackendProperties *)(p))

static void *ram_create(const ObjectOptions *opts, Error **errp)
{
    const MemoryBackendProperties *p = &opts->u.memory_backend_ram;
    bool share = p->has_share && p->share;

    return backend_new(opts->qom_type,
                       ram_block_new_anon(opts->id, p->size, share, errp),
                       p, errp);
}

static void *file_create(const ObjectOptions *opts, Error **errp)
{
    const MemoryBackendFileProperties *p = &opts->u.memory_backend_file;
    bool share = p->has_share && p->share;

    return backend_new(opts->qom_type,
                       ram_block_new_file(opts->id, p->mem_path, p->size,
                                          share, errp),
                       as_base(p), errp);
}

static void *memfd_create_backend(const ObjectOptions *opts, Error **errp)
{
    const MemoryBackendMemfdProperties *p = &opts->u.memory_backend_memfd;
    /* A memfd exists to be shared, so unlike the others it shares by
     * default (as in QEMU). */
    bool share = p->has_share ? p->share : true;
    bool seal = p->has_seal ? p->seal : true;

    return backend_new(opts->qom_type,
                       ram_block_new_memfd(opts->id, p->size, share, seal,
                                           errp),
                       as_base(p), errp);
}

static void backend_destroy(void *impl)
{
    HostMemoryBackend *backend = impl;

    ram_block_free(backend->block);
    g_free(backend);
}

static bool backend_in_use(void *impl)
{
    HostMemoryBackend *backend = impl;

    return backend->block->registered;
}

const ObjectTypeInfo memory_backend_ram_info = {
    .create = ram_create,
    .destroy = backend_destroy,
    .in_use = backend_in_use,
    .in_use_reason = "it provides guest RAM",
};

const ObjectTypeInfo memory_backend_file_info = {
    .create = file_create,
    .destroy = backend_destroy,
    .in_use = backend_in_use,
    .in_use_reason = "it provides guest RAM",
};

const ObjectTypeInfo memory_backend_memfd_info = {
    .create = memfd_create_backend,
    .destroy = backend_destroy,
    .in_use = backend_in_use,
    .in_use_reason = "it provides guest RAM",
};

/* Whether objects of @type are HostMemoryBackends: those implemented by
 * the infos above. */
static bool is_memory_backend(ObjectType type)
{
    const ObjectTypeInfo *info = object_type_info(type);

    return info == &memory_backend_ram_info ||
           info == &memory_backend_file_info ||
           info == &memory_backend_memfd_info;
}

HostMemoryBackend *memory_backend_find(const char *id, Error **errp)
{
    ObjectType type;

    if (!object_find_type(id, &type)) {
        error_setg(errp, "memory backend '%s' not found", id);
        return NULL;
    }
    if (!is_memory_backend(type)) {
        error_setg(errp, "object '%s' is a %s, not a memory backend", id,
                   ObjectType_str(type));
        return NULL;
    }
    return object_find(id, type);
}

static void add_memdev(const char *id, ObjectType type, void *impl,
                       void *opaque)
{
    MemdevList ***tail = opaque;
    HostMemoryBackend *backend = impl;
    Memdev *m;

    if (!is_memory_backend(type)) {
        return;
    }
    m = g_new0(Memdev, 1);
    m->id = g_strdup(id);
    m->qom_type = type;
    m->size = backend->block->size;
    m->share = backend->block->shared;
    m->page_size = backend->block->page_size;
    m->guest_ram = backend->block->registered;
    m->mem_path = g_strdup(backend->block->mem_path);

    **tail = g_new0(MemdevList, 1);
    (**tail)->value = m;
    *tail = &(**tail)->next;
}

MemdevList *qmp_query_memdev(Error **errp)
{
    MemdevList *head = NULL;
    MemdevList **tail = &head;

    object_foreach(add_memdev, &tail);
    return head;
}
