/*
 * Dealloc visitor: frees a C object built by generated code or by the input
 * visitor; every qapi_free_FOO() is a walk with it.
 *
 * It must cope with partially built objects (an input visitor failed half
 * way): any pointer may be NULL, and lists may end early.  It never fails.
 */
#include "qapi/visitor-impl.h"

static bool dealloc_start_struct(Visitor *v, const char *name, void **obj,
                                 size_t size, Error **errp)
{
    return true;
}

/* Containers are freed on the way out, after their members. */
static void dealloc_end_container(Visitor *v, void **obj)
{
    if (obj) {
        g_free(*obj);
        *obj = NULL;
    }
}

static bool dealloc_start_list(Visitor *v, const char *name,
                               GenericList **list, size_t size, Error **errp)
{
    return true;
}

/* The walk has finished with @tail: free it and move on. */
static GenericList *dealloc_next_list(Visitor *v, GenericList *tail,
                                      size_t size)
{
    GenericList *next = tail->next;
    g_free(tail);
    return next;
}

/*
 * By the time the walk ends every node went through next_list() and is
 * gone; only the caller's head pointer still points at the first one.
 */
static void dealloc_end_list(Visitor *v, void **list)
{
    if (list) {
        *list = NULL;
    }
}

static bool dealloc_start_alternate(Visitor *v, const char *name,
                                    GenericAlternate **obj, size_t size,
                                    Error **errp)
{
    return true;
}

static bool dealloc_type_int64(Visitor *v, const char *name, int64_t *obj,
                               Error **errp)
{
    return true;
}

static bool dealloc_type_uint64(Visitor *v, const char *name, uint64_t *obj,
                                Error **errp)
{
    return true;
}

static bool dealloc_type_bool(Visitor *v, const char *name, bool *obj,
                              Error **errp)
{
    return true;
}

static bool dealloc_type_str(Visitor *v, const char *name, char **obj,
                             Error **errp)
{
    if (obj) {
        g_free(*obj);
        *obj = NULL;
    }
    return true;
}

static bool dealloc_type_number(Visitor *v, const char *name, double *obj,
                                Error **errp)
{
    return true;
}

static bool dealloc_type_any(Visitor *v, const char *name, json_t **obj,
                             Error **errp)
{
    if (obj) {
        json_decref(*obj);
        *obj = NULL;
    }
    return true;
}

static bool dealloc_type_null(Visitor *v, const char *name, Error **errp)
{
    return true;
}

static void dealloc_free(Visitor *v)
{
    g_free(v);
}

Visitor *qapi_dealloc_visitor_new(void)
{
    Visitor *v = g_new0(Visitor, 1);

    v->type = VISITOR_DEALLOC;
    v->start_struct = dealloc_start_struct;
    v->end_struct = dealloc_end_container;
    v->start_list = dealloc_start_list;
    v->next_list = dealloc_next_list;
    v->end_list = dealloc_end_list;
    v->start_alternate = dealloc_start_alternate;
    v->end_alternate = dealloc_end_container;
    v->type_int64 = dealloc_type_int64;
    v->type_uint64 = dealloc_type_uint64;
    v->type_size = dealloc_type_uint64;
    v->type_bool = dealloc_type_bool;
    v->type_str = dealloc_type_str;
    v->type_number = dealloc_type_number;
    v->type_any = dealloc_type_any;
    v->type_null = dealloc_type_null;
    v->free = dealloc_free;
    return v;
}
