/*
 * CHANNEL_HEADER, the first record of every extra channel, and the
 * destination's binding of extra channels to the session: by the ids in
 * the header, never by the order connections arrive in.
 */
#include "migration/wire/wire.h"

#include <string.h>

static const char *const role_names[WIRE_CHANNEL__MAX] = {
    [WIRE_CHANNEL_MULTIFD] = "multifd",
    [WIRE_CHANNEL_POSTCOPY_PREEMPT] = "postcopy-preempt",
};

const char *wire_channel_role_name(uint32_t role)
{
    return role < WIRE_CHANNEL__MAX ? role_names[role] : NULL;
}

bool wire_channel_header_encode(const WireChannelHeader *ch,
                                GByteArray *out, Error **errp)
{
    size_t start = wire_record_begin(out, WIRE_REC_CHANNEL_HEADER);

    wire_put_bytes(out, ch->session_id, WIRE_SESSION_ID_LEN);
    wire_put_u32(out, ch->role);
    wire_put_u32(out, ch->index);
    return wire_record_end(out, start, errp);
}

/* Roles and indexes are the binder's business: it knows what the
 * session expects. */
bool wire_channel_header_decode(const uint8_t *body, size_t len,
                                WireChannelHeader *out, Error **errp)
{
    const uint8_t *p;
    WireReader r;

    wire_reader_init(&r, body, len);
    if (!wire_get_bytes(&r, "session id", WIRE_SESSION_ID_LEN, &p, errp) ||
        !wire_get_u32(&r, "role", &out->role, errp) ||
        !wire_get_u32(&r, "index", &out->index, errp) ||
        !wire_reader_finish(&r, errp)) {
        error_prepend(errp, "CHANNEL_HEADER: ");
        return false;
    }
    memcpy(out->session_id, p, WIRE_SESSION_ID_LEN);
    return true;
}

WireChannelSet *wire_channel_set_new(const uint8_t *session_id,
                                     uint32_t n_multifd, uint32_t n_preempt)
{
    WireChannelSet *set = g_new0(WireChannelSet, 1);

    memcpy(set->session_id, session_id, WIRE_SESSION_ID_LEN);
    set->expected[WIRE_CHANNEL_MULTIFD] = n_multifd;
    set->expected[WIRE_CHANNEL_POSTCOPY_PREEMPT] = n_preempt;
    for (int role = 1; role < WIRE_CHANNEL__MAX; role++) {
        set->bound[role] = g_new0(bool, set->expected[role]);
    }
    return set;
}

void wire_channel_set_free(WireChannelSet *set)
{
    if (set) {
        for (int role = 0; role < WIRE_CHANNEL__MAX; role++) {
            g_free(set->bound[role]);
        }
        g_free(set);
    }
}

/* Constant time: the id is the one secret an extra channel shows, so
 * the comparison must not tell a prober how much of it was right. */
static bool session_equal(const uint8_t *a, const uint8_t *b)
{
    uint8_t diff = 0;

    for (size_t i = 0; i < WIRE_SESSION_ID_LEN; i++) {
        diff |= a[i] ^ b[i];
    }
    return diff == 0;
}

WireBindResult wire_channel_bind(WireChannelSet *set,
                                 const WireChannelHeader *ch, Error **errp)
{
    const char *name = wire_channel_role_name(ch->role);

    if (!session_equal(set->session_id, ch->session_id)) {
        error_setg(errp, "extra channel of an unknown session");
        return WIRE_BIND_FOREIGN;
    }
    if (!name) {
        error_setg(errp, "extra channel with unknown role %u", ch->role);
        return WIRE_BIND_INVALID;
    }
    if (ch->index >= set->expected[ch->role]) {
        error_setg(errp, "%s channel index %u out of range (%u expected)",
                   name, ch->index, set->expected[ch->role]);
        return WIRE_BIND_INVALID;
    }
    if (set->bound[ch->role][ch->index]) {
        error_setg(errp, "%s channel %u connected twice", name, ch->index);
        return WIRE_BIND_INVALID;
    }
    set->bound[ch->role][ch->index] = true;
    set->n_bound[ch->role]++;
    return WIRE_BIND_OK;
}

bool wire_channel_set_complete(const WireChannelSet *set)
{
    for (int role = 1; role < WIRE_CHANNEL__MAX; role++) {
        if (set->n_bound[role] < set->expected[role]) {
            return false;
        }
    }
    return true;
}

void wire_channel_reopen(WireChannelSet *set, uint32_t role, uint32_t index)
{
    g_assert(role > 0 && role < WIRE_CHANNEL__MAX &&
             index < set->expected[role]);
    if (set->bound[role][index]) {
        set->bound[role][index] = false;
        set->n_bound[role]--;
    }
}
