/*
 * qapi_clone(): serialise with the output visitor, rebuild with the input
 * visitor.  Slower than a dedicated copying visitor, but it reuses code
 * that is tested anyway, and the private clone encoding of the two
 * visitors (visitor-impl.h) keeps the round trip exact.
 */
#include "qapi/clone.h"

#include "qapi/visitor-impl.h"

void *qapi_clone(const void *src, QAPIVisitFunc *visit_type)
{
    g_autoptr(Visitor) out = NULL;
    g_autoptr(Visitor) in = NULL;
    json_t *tree = NULL;
    void *copy = NULL;

    if (!src) {
        return NULL;
    }

    /* The output walk only reads *obj; the cast drops const for the
     * visit_type_FOO() signature. */
    void *obj = (void *)src;
    out = json_output_visitor_new_clone();
    visit_type(out, NULL, &obj, &error_abort);
    visit_complete(out, &tree);

    /* Anything we wrote, we can read: failure here is a bug. */
    in = json_input_visitor_new_clone(tree);
    visit_type(in, NULL, &copy, &error_abort);
    json_decref(tree);
    return copy;
}
