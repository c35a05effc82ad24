/*
 * Flow control of postcopy's main channel, as pure arithmetic.
 *
 * After the switch a faulting vCPU waits for its page, and a page on the
 * main channel (all of them without postcopy-preempt; with it, those
 * whose background copy was already under way) arrives behind whatever
 * the connection holds.  Left alone, an unlimited background stream
 * fills the socket buffers on both ends, tens of megabytes on loopback,
 * since the destination places pages more slowly than the source reads
 * them: tens of milliseconds of waiting for every fault.
 *
 * So the source keeps at most a window of background bytes that the
 * destination has not yet placed.  Every quarter window it writes a
 * PING as a mark; the PONG answering it says that everything before the
 * mark was read and placed (the destination handles the main channel's
 * records in order and answers a PING when it reads it).  Marks are
 * PINGs, so the destination needs nothing new (protocol section 6.14).
 */
#ifndef VMIG_MIGRATION_POSTCOPY_FLOW_H
#define VMIG_MIGRATION_POSTCOPY_FLOW_H

#include <stdbool.h>
#include <stdint.h>

/* Bytes in flight at most: at the destination's placing rate (several
 * hundred MiB/s here) about a millisecond of waiting. */
#define POSTCOPY_FLOW_WINDOW (512 * 1024)
/* Marks per window: the next quarter goes while a PONG is on its way. */
#define POSTCOPY_FLOW_MARKS 4

typedef struct PostcopyFlowMark {
    uint64_t seq;           /* the PING's */
    uint64_t offset;        /* bytes sent before it */
} PostcopyFlowMark;

typedef struct PostcopyFlow {
    uint64_t window;
    uint64_t sent;          /* bytes written on main since the switch */
    uint64_t confirmed;     /* of which the destination has placed */
    uint64_t last_mark;     /* offset of the last mark written */
    /* Marks written, not yet answered, oldest first (a ring). */
    PostcopyFlowMark marks[POSTCOPY_FLOW_MARKS + 1];
    unsigned head, count;
} PostcopyFlow;

/* A window of @window bytes (> 0). */
void postcopy_flow_init(PostcopyFlow *f, uint64_t window);
/* @bytes more were written on the main channel. */
void postcopy_flow_sent(PostcopyFlow *f, uint64_t bytes);
/* Whether a mark is due: a quarter window written since the last. */
bool postcopy_flow_mark_due(const PostcopyFlow *f);
/* A PING numbered @seq was just written after everything sent. */
void postcopy_flow_marked(PostcopyFlow *f, uint64_t seq);
/* The PONGs up to @pong_seq have arrived: the marks they answer are
 * passed, and so is everything before them. */
void postcopy_flow_confirmed(PostcopyFlow *f, uint64_t pong_seq);
/* Whether more may be written now: less than a window unconfirmed. */
bool postcopy_flow_may_send(const PostcopyFlow *f);

#endif
