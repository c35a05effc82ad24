/*
 * Fuzz target: the v2 wire codec (migration/wire/).  The input is a
 * stream header (checked, then skipped if it is one) followed by
 * records: each whole record found by wire_record_decode() goes to the
 * body decoder of its type, so the fuzzer reaches every decoder through
 * the one framing a peer's bytes pass.  A handshake message that decodes
 * must also encode again and decode from that (the two halves agree).
 */
#include <stdlib.h>

#include "migration/wire/wire.h"
#include "tests/fuzz/fuzz.h"

typedef void BodyDecoder(uint32_t type, const uint8_t *body, size_t len);

static void hello(uint32_t type, const uint8_t *body, size_t len)
{
    g_autoptr(WireHello) h = NULL;
    g_autoptr(WireHello) again = NULL;
    g_autoptr(WireReject) rej = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();

    if (!wire_hello_decode(body, len, &h, &rej, NULL)) {
        return;
    }
    if (!wire_hello_encode(h, out, NULL) ||
        !wire_hello_decode(out->data + WIRE_RECORD_HEADER_SIZE,
                           wire_load_u32(out->data + 4), &again, &rej,
                           NULL)) {
        abort();    /* a HELLO we accept but cannot send on */
    }
}

static void accept_(uint32_t type, const uint8_t *body, size_t len)
{
    g_autoptr(WireAccept) a = NULL;
    g_autoptr(WireAccept) again = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();

    if (!wire_accept_decode(body, len, &a, NULL)) {
        return;
    }
    if (!wire_accept_encode(a, out, NULL) ||
        !wire_accept_decode(out->data + WIRE_RECORD_HEADER_SIZE,
                            wire_load_u32(out->data + 4), &again, NULL)) {
        abort();
    }
}

static void reject(uint32_t type, const uint8_t *body, size_t len)
{
    g_autoptr(WireReject) r = NULL;

    wire_reject_decode(type, body, len, &r, NULL);
}

static void channel_header(uint32_t type, const uint8_t *body, size_t len)
{
    WireChannelHeader ch;
    g_autoptr(WireChannelSet) set = NULL;

    if (!wire_channel_header_decode(body, len, &ch, NULL)) {
        return;
    }
    /* A small set, so foreign, invalid and duplicate binds all occur. */
    set = wire_channel_set_new(ch.session_id, 2, 1);
    wire_channel_bind(set, &ch, NULL);
    wire_channel_bind(set, &ch, NULL);
}

static void ram_pages(uint32_t type, const uint8_t *body, size_t len)
{
    WireRamPages p;
    size_t head = wire_ram_pages_head_size(body, len);

    if (wire_ram_pages_decode(body, len, &p, NULL)) {
        for (uint32_t i = 0; i < p.h.count; i++) {
            (void)wire_ram_pages_offset(&p, i);
        }
    }
    /* As the streaming loader reads it: the head alone first. */
    if (head && head <= len) {
        wire_ram_pages_decode_head(body, head, len, &p, NULL);
    }
}

static void ram_xbzrle(uint32_t type, const uint8_t *body, size_t len)
{
    WireRamXbzrle x;

    if (wire_ram_xbzrle_decode(body, len, &x, NULL)) {
        for (uint32_t i = 0; i < x.h.count; i++) {
            (void)wire_ram_xbzrle_offset(&x, i);
            (void)wire_ram_xbzrle_length(&x, i);
        }
    }
}

static void mapped_ram_block(uint32_t type, const uint8_t *body, size_t len)
{
    WireMappedRamBlock mb;

    wire_mapped_ram_block_decode(body, len, &mb, NULL);
}

static void device_state(uint32_t type, const uint8_t *body, size_t len)
{
    g_auto(WireDeviceState) ds = { 0 };

    wire_device_state_decode(body, len, &ds, NULL);
}

static void sync_(uint32_t type, const uint8_t *body, size_t len)
{
    uint64_t n;

    wire_sync_decode(body, len, &n, NULL);
}

static void empty(uint32_t type, const uint8_t *body, size_t len)
{
    wire_empty_decode(type, body, len, NULL);
}

static void page_request(uint32_t type, const uint8_t *body, size_t len)
{
    WirePageRequest req;

    wire_page_request_decode(body, len, &req, NULL);
}

static void shutdown_(uint32_t type, const uint8_t *body, size_t len)
{
    uint32_t status;

    wire_shutdown_decode(body, len, &status, NULL);
}

static void heartbeat(uint32_t type, const uint8_t *body, size_t len)
{
    uint64_t seq;

    wire_heartbeat_decode(type, body, len, &seq, NULL);
}

static void mapped_ram_checksums(uint32_t type, const uint8_t *body,
                                 size_t len)
{
    uint32_t crcs[WIRE_RAM_BLOCKS_MAX];
    uint32_t n = MIN(len / 4, WIRE_RAM_BLOCKS_MAX);

    /* The count the file's blocks would give, and one off it. */
    wire_mapped_ram_checksums_decode(body, len, n, crcs, NULL);
    wire_mapped_ram_checksums_decode(body, len, n ? n - 1 : 1, crcs, NULL);
}

static void postcopy_discard(uint32_t type, const uint8_t *body, size_t len)
{
    static WireDiscardRange r[WIRE_DISCARD_RANGES_MAX];
    uint32_t block, n;

    wire_postcopy_discard_decode(body, len, &block, r, &n, NULL);
}

/* Known types with no decoder in this vmig (recovery, skipped NOP). */
static void none(uint32_t type, const uint8_t *body, size_t len)
{
}

static const struct {
    uint32_t type;
    BodyDecoder *decode;
} decoders[] = {
    { WIRE_REC_HELLO, hello },
    { WIRE_REC_ACCEPT, accept_ },
    { WIRE_REC_REJECT, reject },
    { WIRE_REC_CHANNEL_HEADER, channel_header },
    { WIRE_REC_RAM_PAGES, ram_pages },
    { WIRE_REC_DEVICE_STATE, device_state },
    { WIRE_REC_SYNC, sync_ },
    { WIRE_REC_END, empty },
    { WIRE_REC_POSTCOPY_LISTEN, empty },
    { WIRE_REC_POSTCOPY_RUN, empty },
    { WIRE_REC_MAPPED_RAM_BLOCK, mapped_ram_block },
    { WIRE_REC_ONE_WAY, empty },
    { WIRE_REC_RAM_XBZRLE, ram_xbzrle },
    { WIRE_REC_SWITCHOVER_ACK, empty },
    { WIRE_REC_PAGE_REQUEST, page_request },
    { WIRE_REC_RECEIVED_BITMAP, none },
    { WIRE_REC_RESUME_REQUEST, none },
    { WIRE_REC_SHUTDOWN, shutdown_ },
    { WIRE_REC_ERROR, reject },
    { WIRE_REC_NOP, none },
    { WIRE_REC_PING, heartbeat },
    { WIRE_REC_PONG, heartbeat },
    { WIRE_REC_MAPPED_RAM_CHECKSUMS, mapped_ram_checksums },
    { WIRE_REC_POSTCOPY_DISCARD, postcopy_discard },
};

static BodyDecoder *decoder_of(uint32_t type)
{
    for (size_t i = 0; i < G_N_ELEMENTS(decoders); i++) {
        if (decoders[i].type == type) {
            return decoders[i].decode;
        }
    }
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Every type the codec knows is fuzzed: a new record type without
     * an entry above stops the harness (and its regression test). */
    for (uint32_t t = 0; t < 0x100; t++) {
        uint32_t types[] = { t, t | WIRE_RECORD_OPTIONAL };

        for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
            if (wire_record_type_known(types[i]) && !decoder_of(types[i])) {
                g_error("fuzz-wire: record type %s has no decoder here",
                        wire_record_type_name(types[i]));
            }
        }
    }
    return 0;
}

/*
 * One record at @buf.  After a HELLO whose configuration turns checksums
 * on, or a channel's CHANNEL_HEADER, records carry a CRC (protocol
 * section 11): the CRC is checked as
 * the engine does, but the body is decoded whatever it says, or a
 * mutated body would almost never get past it to its decoder.
 */
static bool next_record(const uint8_t *buf, size_t len, uint64_t offset,
                        bool checksummed, WireRecord *rec)
{
    WireRecord whole;

    if (!checksummed) {
        return wire_record_decode(buf, len, rec, NULL) == WIRE_OK;
    }
    if (wire_record_header_decode_checksummed(buf, len, offset, rec, NULL) !=
        WIRE_OK || rec->size > len) {
        return false;
    }
    rec->body = buf + WIRE_RECORD_HEADER_SIZE;
    wire_record_decode_checksummed(buf, len, offset, &whole, NULL);
    return true;
}

/* A multifd channel's records follow its CHANNEL_HEADER checksummed
 * when the session's are (the seeds' are: checksum is on by default). */
static bool turns_checksums_on(const WireRecord *rec)
{
    g_autoptr(WireHello) h = NULL;
    g_autoptr(WireReject) rej = NULL;

    if (rec->type == WIRE_REC_CHANNEL_HEADER) {
        return true;
    }
    return rec->type == WIRE_REC_HELLO &&
           wire_hello_decode(rec->body, rec->len, &h, &rej, NULL) &&
           wire_checksum_on(h->config);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    bool checksummed = false;

    if (wire_stream_header_decode(data, size, NULL) == WIRE_OK) {
        pos = WIRE_STREAM_HEADER_SIZE;
    }
    while (pos < size) {
        WireRecord rec;
        BodyDecoder *decode;

        if (!next_record(data + pos, size - pos, pos, checksummed, &rec)) {
            break;
        }
        decode = decoder_of(rec.type);
        if (decode) {
            decode(rec.type, rec.body, rec.len);
        } else {
            wire_record_skip_unknown(rec.type, NULL);
        }
        checksummed = checksummed || turns_checksums_on(&rec);
        pos += rec.size;
    }
    return 0;
}
