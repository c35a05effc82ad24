/* Flow control of postcopy's main channel: see postcopy-flow.h. */
#include "postcopy-flow.h"

#include <assert.h>

void postcopy_flow_init(PostcopyFlow *f, uint64_t window)
{
    assert(window > 0);
    *f = (PostcopyFlow) { .window = window };
}

void postcopy_flow_sent(PostcopyFlow *f, uint64_t bytes)
{
    f->sent += bytes;
}

bool postcopy_flow_mark_due(const PostcopyFlow *f)
{
    /* A full ring waits for answers: a mark more would say nothing
     * that the window does not already stop. */
    return f->sent - f->last_mark >= f->window / POSTCOPY_FLOW_MARKS &&
           f->count < POSTCOPY_FLOW_MARKS + 1;
}

void postcopy_flow_marked(PostcopyFlow *f, uint64_t seq)
{
    unsigned slot;

    assert(f->count < POSTCOPY_FLOW_MARKS + 1);
    slot = (f->head + f->count) % (POSTCOPY_FLOW_MARKS + 1);
    f->marks[slot] = (PostcopyFlowMark) { .seq = seq, .offset = f->sent };
    f->count++;
    f->last_mark = f->sent;
}

void postcopy_flow_confirmed(PostcopyFlow *f, uint64_t pong_seq)
{
    /* PINGs of the heartbeat are not marks: a PONG confirms every mark
     * numbered at or below it. */
    while (f->count && f->marks[f->head].seq <= pong_seq) {
        f->confirmed = f->marks[f->head].offset;
        f->head = (f->head + 1) % (POSTCOPY_FLOW_MARKS + 1);
        f->count--;
    }
}

bool postcopy_flow_may_send(const PostcopyFlow *f)
{
    return f->sent - f->confirmed < f->window;
}
