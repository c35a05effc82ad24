/*
 * The v2 migration stream: encoder and decoder of its records.
 *
 * The format is specified in docs/devel/migration-protocol.md; this
 * library is its one implementation.  It does no I/O: encoders append to
 * a GByteArray, decoders read (const uint8_t *, size_t) buffers, so the
 * engine can run it on sockets, files or test vectors alike.
 *
 * Decoding is in two steps:
 *   1. wire_record_decode() finds one whole record at the start of a
 *      buffer.  It returns WIRE_NEED_MORE while the record is incomplete
 *      (a streaming reader then waits for more input; rec->size says how
 *      many bytes it needs), WIRE_ERROR for bytes that can never become a
 *      valid record.
 *   2. the record's own decoder (wire_hello_decode()...) checks the body.
 *      A body is complete by then, so a short body is an error
 *      ("truncated"), never "need more".
 * Every error names the record and the field, e.g. "HELLO: RAM block 2:
 * id length 300 exceeds 255".  Nothing read from the peer is trusted:
 * every count and length is checked against both the protocol's limits
 * and the bytes actually present before it is used.
 *
 * Ownership: decoded handshake messages are heap structs (free with
 * their _free() function or g_autoptr); decoded data records are views
 * into the caller's buffer (g_auto with their _clear() function), so
 * page data is never copied on its way to guest memory.
 */
#ifndef VMIG_MIGRATION_WIRE_H
#define VMIG_MIGRATION_WIRE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qapi/error.h"
#include "qapi/qapi-types.h"
#include "util/byte-cursor.h"

/* ---- Constants (the doc's "Limits" section) -------------------------- */

/* First bytes of every channel; see the doc for why these bytes. */
#define WIRE_MAGIC "\x89VMIG\r\n\x1a"
#define WIRE_MAGIC_LEN 8
/* Framing generation in the stream header; only 2 exists. */
#define WIRE_STREAM_FORMAT 2u
#define WIRE_STREAM_HEADER_SIZE 16u

#define WIRE_RECORD_HEADER_SIZE 8u
#define WIRE_ALIGN 8u
/* Largest record body of any type. */
#define WIRE_RECORD_MAX (16u << 20)
/* Largest body of HELLO, ACCEPT, REJECT and ERROR: these arrive before
 * the peer is known, so a reader buffers less for them. */
#define WIRE_HANDSHAKE_RECORD_MAX (4u << 20)

/* Protocol versions this vmig speaks (negotiated in HELLO/ACCEPT). */
#define WIRE_VERSION_MIN 2u
#define WIRE_VERSION_MAX 2u

#define WIRE_HANDSHAKE_TIMEOUT_MS 30000u

#define WIRE_SESSION_ID_LEN 16u
#define WIRE_UUID_LEN 16u
#define WIRE_ID_MAX 255u            /* RAM block and device ids */
#define WIRE_IMPL_MAX 255u          /* implementation strings */
#define WIRE_CONFIG_MAX (1u << 20)  /* config JSON text */
#define WIRE_RAM_BLOCKS_MAX 256u
#define WIRE_DEVICES_MAX 4096u
#define WIRE_FEATURES_MAX 64u
#define WIRE_FEATURE_LEN_MAX 64u
#define WIRE_CLASS_MAX 64u
#define WIRE_OPTION_MAX 255u
#define WIRE_MESSAGE_MAX 4096u
#define WIRE_RAM_PAGES_MAX 1024u    /* pages per RAM_PAGES record */
#define WIRE_PAGE_SIZE_MIN 512u
#define WIRE_PAGE_SIZE_MAX (4u << 20)           /* RAM_PAGES page size */
#define WIRE_BLOCK_PAGE_SIZE_MAX (1ull << 30)   /* a RAM block's pages */
#define WIRE_PATH_MAX 4095u         /* file names (SHARED_RAM) */
#define WIRE_SHAPE_PROPS_MAX 16u    /* properties of one shape (SHAPE) */
#define WIRE_SHAPE_NAME_MAX 64u     /* bytes of a shape property's name */

/* ---- Record types ---------------------------------------------------- */

/* Set in the type of a record a reader may skip when it does not know
 * it; unknown types without it are an error. */
#define WIRE_RECORD_OPTIONAL 0x80000000u

typedef enum WireRecordType {
    /* handshake */
    WIRE_REC_HELLO = 0x01,
    WIRE_REC_ACCEPT = 0x02,
    WIRE_REC_REJECT = 0x03,
    WIRE_REC_CHANNEL_HEADER = 0x04,
    /* source -> destination data */
    WIRE_REC_RAM_PAGES = 0x10,
    WIRE_REC_DEVICE_STATE = 0x11,
    WIRE_REC_SYNC = 0x12,
    WIRE_REC_END = 0x13,
    WIRE_REC_POSTCOPY_LISTEN = 0x14,
    WIRE_REC_POSTCOPY_RUN = 0x15,
    WIRE_REC_MAPPED_RAM_BLOCK = 0x16,
    /* Before END, after a REPLY_OPTIONAL HELLO that had no answer yet:
     * the source waits for nothing, so the destination sends nothing
     * more (no SHUTDOWN). */
    WIRE_REC_ONE_WAY = 0x17,
    /* Pages as XBZRLE deltas: sent only with xbzrle on and, when an
     * answer comes, a destination whose ACCEPT lists "xbzrle". */
    WIRE_REC_RAM_XBZRLE = 0x18,
    /* The source's heartbeat (liveness-timeout): answered with PONG. */
    WIRE_REC_PING = 0x19,
    /* mapped-ram with checksum crc32c: each block's regions' CRC32C,
     * after the last region. */
    WIRE_REC_MAPPED_RAM_CHECKSUMS = 0x1A,
    /* postcopy-ram: pages the destination must drop at the switch. */
    WIRE_REC_POSTCOPY_DISCARD = 0x1B,
    /* destination -> source (return path) */
    WIRE_REC_SWITCHOVER_ACK = 0x20,
    WIRE_REC_PAGE_REQUEST = 0x21,
    WIRE_REC_RECEIVED_BITMAP = 0x22,
    WIRE_REC_RESUME_REQUEST = 0x23,
    WIRE_REC_SHUTDOWN = 0x24,
    /* either direction */
    WIRE_REC_ERROR = 0x25,
    /* destination -> source: the answer to PING, echoing its number */
    WIRE_REC_PONG = 0x26,
    WIRE_REC_NOP = WIRE_RECORD_OPTIONAL | 0x01,
} WireRecordType;

/* Error classes of REJECT and ERROR (a reader maps unknown ones to
 * GenericError). */
#define WIRE_ERR_GENERIC "GenericError"
#define WIRE_ERR_PROTOCOL "ProtocolError"
#define WIRE_ERR_UNSUPPORTED_VERSION "UnsupportedVersion"
#define WIRE_ERR_UNSUPPORTED_FEATURE "UnsupportedFeature"
#define WIRE_ERR_INCOMPATIBLE_CONFIG "IncompatibleConfig"
#define WIRE_ERR_LAYOUT_MISMATCH "LayoutMismatch"
#define WIRE_ERR_UUID_MISMATCH "UuidMismatch"
#define WIRE_ERR_SESSION_MISMATCH "SessionMismatch"

/* Flags words (HELLO, ACCEPT): a reader refuses an unknown bit in the
 * critical half and ignores one in the advisory half. */
#define WIRE_FLAGS_CRITICAL 0x0000ffffu

typedef enum WireStatus {
    WIRE_OK,
    WIRE_NEED_MORE,     /* a prefix of something valid: read more */
    WIRE_ERROR,         /* errp says why */
} WireStatus;

/* "HELLO", or NULL for a type this library does not know. */
const char *wire_record_type_name(uint32_t type);
bool wire_record_type_known(uint32_t type);

static inline bool wire_record_type_is_optional(uint32_t type)
{
    return type & WIRE_RECORD_OPTIONAL;
}

/* Largest body a record of @type may have. */
uint32_t wire_record_max_len(uint32_t type);

/* ---- Stream header --------------------------------------------------- */

void wire_stream_header_encode(GByteArray *out);
/*
 * Checks the stream header at the start of @buf.  Mismatching magic is
 * reported as soon as the first differing byte is there, so garbage (or
 * a TLS or QEMU v1 stream, which get their own messages) fails fast.
 */
WireStatus wire_stream_header_decode(const uint8_t *buf, size_t len,
                                     Error **errp);

/* Whether @buf (@len bytes, at least one) starts the way a TLS
 * handshake does (16 03) rather than with the stream magic. */
bool wire_stream_header_is_tls(const uint8_t *buf, size_t len);

/* ---- Record framing --------------------------------------------------- */

typedef struct WireRecord {
    uint32_t type;
    uint32_t len;           /* body length, without padding */
    const uint8_t *body;    /* into the decoded buffer; NULL until whole */
    /* Bytes the record takes (header, body, padding).  After
     * WIRE_NEED_MORE: the bytes needed before decoding again. */
    size_t size;
} WireRecord;

/* Record size for a body of @len bytes. */
static inline size_t wire_record_size(size_t len)
{
    return WIRE_RECORD_HEADER_SIZE + ((len + WIRE_ALIGN - 1) &
                                      ~(size_t)(WIRE_ALIGN - 1));
}

/* Decodes only the 8-byte header (body stays NULL). */
WireStatus wire_record_header_decode(const uint8_t *buf, size_t len,
                                     WireRecord *rec, Error **errp);
/* Decodes one whole record, padding checked (it must be zero). */
WireStatus wire_record_decode(const uint8_t *buf, size_t len,
                              WireRecord *rec, Error **errp);

/*
 * For a record the reader has no use for: true if it may be skipped (its
 * type is optional), false with an error naming the type otherwise.
 */
bool wire_record_skip_unknown(uint32_t type, Error **errp);

/* False with "expected HELLO, got RAM_PAGES" unless @rec has @type. */
bool wire_record_expect(const WireRecord *rec, uint32_t type, Error **errp);

/*
 * Encoding a record whose body is built in place: begin() appends a
 * header with a placeholder length and returns where the record starts;
 * the caller appends the body; end() fills in the length and pads.  If
 * the body exceeds the type's maximum, end() truncates @out back to
 * @start and fails.
 */
size_t wire_record_begin(GByteArray *out, uint32_t type);
bool wire_record_end(GByteArray *out, size_t start, Error **errp);
/*
 * Like wire_record_end(), for a body whose last @data_len bytes are not
 * in @out but sent after it (with writev): the length counts them, and
 * *@pad_len is the zero padding to send after them.
 */
bool wire_record_end_external(GByteArray *out, size_t start,
                              size_t data_len, size_t *pad_len,
                              Error **errp);
/* The whole record in one call. */
bool wire_record_encode(GByteArray *out, uint32_t type, const void *body,
                        size_t len, Error **errp);

/* ---- Checksums (the protocol's section "Checksums") ------------------- */

/*
 * With checksum "crc32c", every record the source sends after HELLO ends
 * its body with this many bytes: the CRC32C (util/crc32c.h) of the
 * record's header, as sent, and of the body before them.
 */
#define WIRE_CHECKSUM_LEN 4u

/* Whether @cfg's checksum is "crc32c".  Absent, as from a source older
 * than checksums, it is not: such a source sends none. */
bool wire_checksum_on(const MigrationConfig *cfg);

/* The CRC32C of the record at @rec (header, then @len body bytes). */
uint32_t wire_record_checksum(const uint8_t *rec, size_t len);
/* False with "RAM_PAGES at offset 123: checksum mismatch (expected
 * 0x..., got 0x...)" unless @stored equals @computed. */
bool wire_record_checksum_check(uint32_t type, uint64_t offset,
                                uint32_t stored, uint32_t computed,
                                Error **errp);
/*
 * The whole records from @start to the end of @out in their checksummed
 * form: each body grows by its CRC, its padding follows.  Used where
 * records bypass a MigStream (mapped-ram's pwrite()s, tests).
 */
void wire_records_add_checksum(GByteArray *out, size_t start);
/*
 * wire_record_header_decode() and wire_record_decode() of a checksummed
 * record: the length may exceed the type's limit by the CRC, and
 * rec->len is the body without it.  The full decode also checks the CRC
 * (before the padding, which a corrupted length moves too), naming the
 * record's stream @offset if it does not match; a header refused is
 * also named by its @offset.
 */
WireStatus wire_record_header_decode_checksummed(const uint8_t *buf,
                                                 size_t len, uint64_t offset,
                                                 WireRecord *rec,
                                                 Error **errp);
WireStatus wire_record_decode_checksummed(const uint8_t *buf, size_t len,
                                          uint64_t offset, WireRecord *rec,
                                          Error **errp);

/* ---- Version negotiation ---------------------------------------------- */

/*
 * The version a destination speaking @dst_min..@dst_max picks for a
 * source offering @src_min..@src_max: the highest both speak.  Fails,
 * giving both ranges, when they do not overlap or a range is empty.
 */
bool wire_negotiate_version(uint32_t src_min, uint32_t src_max,
                            uint32_t dst_min, uint32_t dst_max,
                            uint32_t *chosen, Error **errp);

/* ---- Field encoding (big endian, packed) ------------------------------ */

void wire_put_u8(GByteArray *out, uint8_t v);
void wire_put_u16(GByteArray *out, uint16_t v);
void wire_put_u32(GByteArray *out, uint32_t v);
void wire_put_u64(GByteArray *out, uint64_t v);
void wire_put_bytes(GByteArray *out, const void *data, size_t len);
/* u16 length + bytes; fails (appending nothing) if @s is longer than
 * @max or not valid UTF-8.  @field names it in the error. */
bool wire_put_str(GByteArray *out, const char *field, const char *s,
                  size_t max, Error **errp);
/* u32 length + bytes; fails (appending nothing) beyond @max. */
bool wire_put_blob(GByteArray *out, const char *field, const void *data,
                   size_t len, size_t max, Error **errp);

/* Big-endian loads of possibly unaligned bytes. */
uint32_t wire_load_u32(const uint8_t *p);
uint64_t wire_load_u64(const uint8_t *p);

/* ---- Field decoding: a bounds-checked cursor over one body ------------ */

/*
 * util's ByteCursor, which checks the bounds; the getters below add the
 * stream's byte order and name the field in their errors.
 */
typedef ByteCursor WireReader;

static inline void wire_reader_init(WireReader *r, const uint8_t *buf,
                                    size_t len)
{
    byte_cursor_init(r, buf, len);
}

static inline size_t wire_reader_left(const WireReader *r)
{
    return byte_cursor_remaining(r);
}

/* Each getter names @field in its error ("truncated: need 8 bytes for
 * size, 3 left"); the record decoders prefix the record. */
bool wire_get_u8(WireReader *r, const char *field, uint8_t *v, Error **errp);
bool wire_get_u16(WireReader *r, const char *field, uint16_t *v,
                  Error **errp);
bool wire_get_u32(WireReader *r, const char *field, uint32_t *v,
                  Error **errp);
bool wire_get_u64(WireReader *r, const char *field, uint64_t *v,
                  Error **errp);
/* @n bytes; *p points into the buffer. */
bool wire_get_bytes(WireReader *r, const char *field, size_t n,
                    const uint8_t **p, Error **errp);
/* A u16-length string of at most @max bytes, valid UTF-8 without NUL;
 * with @nonempty, "" is refused.  *s is newly allocated. */
bool wire_get_str(WireReader *r, const char *field, size_t max,
                  bool nonempty, char **s, Error **errp);
/* A u32-length blob of at most @max bytes; *p points into the buffer. */
bool wire_get_blob(WireReader *r, const char *field, size_t max,
                   const uint8_t **p, uint32_t *len, Error **errp);
/* Fails if bytes are left. */
bool wire_reader_finish(WireReader *r, Error **errp);
/*
 * Refuses a count @n of @what above @max, or one the bytes left cannot
 * hold at @min_size bytes an entry: a lying count fails before anything
 * is looped over or allocated for it.
 */
bool wire_check_count(WireReader *r, const char *what, uint32_t n,
                      uint32_t max, size_t min_size, Error **errp);

/* Extension types (the optional bit as for records). */
typedef enum WireExtensionType {
    /* HELLO: the RAM blocks not sent (x-ignore-shared), section 6.1. */
    WIRE_EXT_SHARED_RAM = 0x01,
    /* HELLO: what the device state depends on (the machine's and each
     * device's shape), section 6.1.  Optional: a reader that does not
     * know it finds a mismatch only when the state loads. */
    WIRE_EXT_SHAPE = WIRE_RECORD_OPTIONAL | 0x03,
    /* HELLO with checksum crc32c: the CRC32C of the HELLO before it. */
    WIRE_EXT_CHECKSUM = 0x02,
} WireExtensionType;

/*
 * The decoder of the extensions a record knows: sets *@handled and
 * decodes @data (all of it) for a type it knows, leaves *@handled false
 * for others.
 */
typedef bool WireExtensionFunc(void *opaque, uint32_t type, WireReader *data,
                               bool *handled, Error **errp);

/*
 * The extensions ending HELLO, ACCEPT, REJECT and ERROR: (u32 type, u32
 * length, data) until the end of the body.  Those @fn (may be NULL)
 * does not handle are skipped when optional and refused when mandatory
 * (then *unsupported, if not NULL, is set: the body is well formed, this
 * vmig is too old for it).  Consumes the rest of @r.
 */
bool wire_extensions_decode_with(WireReader *r, WireExtensionFunc *fn,
                                 void *opaque, bool *unsupported,
                                 Error **errp);
/* For records with no extension defined. */
bool wire_extensions_decode(WireReader *r, bool *unsupported, Error **errp);
/* Appends one extension entry whose data is @data. */
void wire_put_extension(GByteArray *out, uint32_t type,
                        const GByteArray *data);

/* ---- The configuration's wire form ------------------------------------ */

/*
 * Whether option @name is local to each end (TLS credentials and names,
 * cpr-exec-command) and so is never sent.
 */
bool wire_config_option_is_local(const char *name);

/*
 * @cfg as the JSON object text sent in HELLO and ACCEPT: the options
 * present in @cfg, without local ones and without deprecated ones at
 * their default.  Caller frees.
 */
char *wire_config_to_json(const MigrationConfig *cfg, size_t *len);

/*
 * Parses a received configuration.  Every member goes through the JSON
 * input visitor for its schema type.  A member this vmig does not know
 * is dropped when it is off (false, null, 0, "", [] or {}) and its name
 * added to @ignored (if not NULL), refused when on; a local option is
 * refused.  On failure *bad_option (if not NULL) is the offending
 * option's name, or NULL when the text as a whole is bad.
 */
bool wire_config_from_json(const uint8_t *json, size_t len,
                           MigrationConfig **cfg, GPtrArray *ignored,
                           char **bad_option, Error **errp);

/* ---- REJECT and ERROR (same body) ------------------------------------- */

typedef struct WireReject {
    /* The versions the sender speaks, so a source refused with
     * UnsupportedVersion can say what would work. */
    uint32_t min_version, max_version;
    char *error_class;      /* WIRE_ERR_* (non-empty) */
    char *option;           /* offending option, "" for none */
    char *message;          /* for people */
} WireReject;

/* @option may be NULL; versions are set to WIRE_VERSION_MIN..MAX. */
WireReject *wire_reject_new(const char *error_class, const char *option,
                            const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void wire_reject_free(WireReject *rej);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WireReject, wire_reject_free)

/* @type is WIRE_REC_REJECT or WIRE_REC_ERROR. */
bool wire_reject_encode(const WireReject *rej, uint32_t type,
                        GByteArray *out, Error **errp);
bool wire_reject_decode(uint32_t type, const uint8_t *body, size_t len,
                        WireReject **out, Error **errp);

/* ---- HELLO ------------------------------------------------------------ */

enum {
    /* No reverse direction (file): no ACCEPT. */
    WIRE_HELLO_UNIDIRECTIONAL = 1u << 0,
    /* Check everything, answer ACCEPT or REJECT, send no state. */
    WIRE_HELLO_DRY_RUN = 1u << 1,
    /* Reconnect to the paused postcopy session of session_id. */
    WIRE_HELLO_RESUME = 1u << 2,
    /* Advisory: the answer may never come (exec: of a command that
     * may only consume the stream), so the source does not wait for
     * it; ONE_WAY says, before END, when none had come.  One version
     * offered, as for UNIDIRECTIONAL. */
    WIRE_HELLO_REPLY_OPTIONAL = 1u << 16,
};
#define WIRE_HELLO_KNOWN_FLAGS (WIRE_HELLO_UNIDIRECTIONAL | \
                                WIRE_HELLO_DRY_RUN | WIRE_HELLO_RESUME | \
                                WIRE_HELLO_REPLY_OPTIONAL)
/* Flags whose stream is written in one version, picked by nobody. */
#define WIRE_HELLO_ONE_VERSION (WIRE_HELLO_UNIDIRECTIONAL | \
                                WIRE_HELLO_REPLY_OPTIONAL)

typedef struct WireRamBlock {
    char *id;
    uint64_t size;          /* bytes, a multiple of page_size */
    uint64_t page_size;     /* a power of two */
} WireRamBlock;

/* One property of a shape: "vCPU count" = 2. */
typedef struct WireShapeProp {
    char *name;
    uint64_t value;
} WireShapeProp;

typedef struct WireDevice {
    char *id;
    uint32_t version;       /* the version its state is saved as */
    uint32_t min_version;   /* the oldest its source could load */
    /* Of WireShapeProp *, from SHAPE; NULL where HELLO has none. */
    GPtrArray *shape;
} WireDevice;

/*
 * A RAM block the source does not send because both ends map it from
 * one shared file (x-ignore-shared): the file, as the source sees it.
 */
typedef struct WireSharedBlock {
    uint32_t block;         /* index in HELLO's RAM blocks */
    char *path;             /* its name (for people) */
    uint64_t dev, ino;      /* its identity: st_dev, st_ino */
} WireSharedBlock;

typedef struct WireHello {
    uint32_t min_version, max_version;
    uint32_t flags;
    uint8_t session_id[WIRE_SESSION_ID_LEN];
    uint8_t vm_uuid[WIRE_UUID_LEN];     /* all zero: no UUID */
    char *implementation;
    MigrationConfig *config;
    GPtrArray *ram_blocks;              /* of WireRamBlock *, in order */
    GPtrArray *devices;                 /* of WireDevice *, in order */
    /* The machine's shape (of WireShapeProp *) from extension SHAPE,
     * sent when not NULL; NULL: the source did not describe shapes. */
    GPtrArray *machine_shape;
    /* Blocks not sent, by increasing index (extension SHARED_RAM, sent
     * when not empty). */
    GPtrArray *shared_blocks;           /* of WireSharedBlock * */
    /* Decoded only: unknown config members dropped because off. */
    GPtrArray *ignored_options;         /* of char * */
} WireHello;

/* Versions WIRE_VERSION_MIN..MAX, no flags, empty config and layout. */
WireHello *wire_hello_new(void);
void wire_hello_free(WireHello *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WireHello, wire_hello_free)

void wire_hello_add_ram_block(WireHello *h, const char *id, uint64_t size,
                              uint64_t page_size);
/* The device added, to give it a shape. */
WireDevice *wire_hello_add_device(WireHello *h, const char *id,
                                  uint32_t version, uint32_t min_version);
/* An empty shape; properties are added with wire_shape_add(). */
GPtrArray *wire_shape_new(void);
void wire_shape_add(GPtrArray *shape, const char *name, uint64_t value);
/* The property @name of @shape (NULL: none), or NULL. */
const WireShapeProp *wire_shape_find(const GPtrArray *shape,
                                     const char *name);
void wire_hello_add_shared_block(WireHello *h, uint32_t block,
                                 const char *path, uint64_t dev,
                                 uint64_t ino);

/* 16 bytes from the kernel's CSPRNG: the id is what lets an extra
 * channel join, so it must not be guessable. */
bool wire_session_id_generate(uint8_t id[WIRE_SESSION_ID_LEN], Error **errp);

/*
 * Extension SHAPE's data, for wire-hello.c: appends it (nothing when
 * @h->machine_shape is NULL), or decodes it into @h, whose devices are
 * decoded already.
 */
bool wire_hello_shape_encode(const WireHello *h, GByteArray *out,
                             Error **errp);
bool wire_hello_shape_decode(WireReader *r, WireHello *h, Error **errp);

/*
 * Appends the HELLO record.  The encoder runs the decoder's checks on
 * what it built, so it never sends what a destination must refuse.
 */
bool wire_hello_encode(const WireHello *h, GByteArray *out, Error **errp);
/*
 * Decodes a HELLO body.  On failure, when @reject is not NULL, *reject
 * is the REJECT to answer with (class and option filled in).
 */
bool wire_hello_decode(const uint8_t *body, size_t len, WireHello **out,
                       WireReject **reject, Error **errp);

/* ---- ACCEPT ----------------------------------------------------------- */

typedef struct WireAccept {
    uint32_t version;                   /* the chosen version */
    uint32_t flags;                     /* none defined: 0 */
    uint8_t session_id[WIRE_SESSION_ID_LEN];    /* HELLO's, echoed */
    char *implementation;
    MigrationConfig *config;            /* the effective configuration */
    GPtrArray *features;                /* of char *: "zstd", "multifd"... */
    GPtrArray *ignored_options;         /* decoded only, as in WireHello */
} WireAccept;

WireAccept *wire_accept_new(void);
void wire_accept_free(WireAccept *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WireAccept, wire_accept_free)

void wire_accept_add_feature(WireAccept *a, const char *feature);
bool wire_accept_has_feature(const WireAccept *a, const char *feature);

bool wire_accept_encode(const WireAccept *a, GByteArray *out, Error **errp);
bool wire_accept_decode(const uint8_t *body, size_t len, WireAccept **out,
                        Error **errp);

/* ---- CHANNEL_HEADER and binding extra channels ------------------------ */

typedef enum WireChannelRole {
    WIRE_CHANNEL_MULTIFD = 1,
    WIRE_CHANNEL_POSTCOPY_PREEMPT = 2,
    WIRE_CHANNEL__MAX,
} WireChannelRole;

/* "multifd", or NULL for an unknown role. */
const char *wire_channel_role_name(uint32_t role);

typedef struct WireChannelHeader {
    uint8_t session_id[WIRE_SESSION_ID_LEN];
    uint32_t role;          /* WireChannelRole */
    uint32_t index;         /* 0..count-1 within the role */
} WireChannelHeader;

bool wire_channel_header_encode(const WireChannelHeader *ch,
                                GByteArray *out, Error **errp);
bool wire_channel_header_decode(const uint8_t *body, size_t len,
                                WireChannelHeader *out, Error **errp);

/*
 * The destination's table of the extra channels one session expects:
 * channels bind by (session id, role, index) whatever order they
 * connect in.
 */
typedef struct WireChannelSet {
    uint8_t session_id[WIRE_SESSION_ID_LEN];
    uint32_t expected[WIRE_CHANNEL__MAX];   /* per role ([0] unused) */
    uint32_t n_bound[WIRE_CHANNEL__MAX];
    bool *bound[WIRE_CHANNEL__MAX];         /* per role, per index */
} WireChannelSet;

WireChannelSet *wire_channel_set_new(const uint8_t *session_id,
                                     uint32_t n_multifd, uint32_t n_preempt);
void wire_channel_set_free(WireChannelSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WireChannelSet, wire_channel_set_free)

typedef enum WireBindResult {
    WIRE_BIND_OK,
    /* Not this session: close the connection, the migration goes on. */
    WIRE_BIND_FOREIGN,
    /* This session, but wrong (role, index, duplicate): fail it. */
    WIRE_BIND_INVALID,
} WireBindResult;

WireBindResult wire_channel_bind(WireChannelSet *set,
                                 const WireChannelHeader *ch, Error **errp);
/* Whether every expected channel has bound. */
bool wire_channel_set_complete(const WireChannelSet *set);
/* (@role, @index), bound, may bind once more: its connection is gone
 * and a recovery opens it again (protocol section 6.12, step 3). */
void wire_channel_reopen(WireChannelSet *set, uint32_t role,
                         uint32_t index);

/* ---- RAM_PAGES -------------------------------------------------------- */

enum {
    WIRE_PAGE_ZERO = 0,     /* all zero: no data */
    WIRE_PAGE_NORMAL = 1,   /* page_size bytes of data */
};

enum {
    /* The data is the normal pages compressed as one stream, with the
     * effective config's multifd-compression. */
    WIRE_RAM_PAGES_COMPRESSED = 1u << 0,
};
#define WIRE_RAM_PAGES_KNOWN_FLAGS WIRE_RAM_PAGES_COMPRESSED

typedef struct WireRamPagesHeader {
    uint32_t block;         /* index in HELLO's RAM blocks */
    uint32_t count;         /* pages, 1..WIRE_RAM_PAGES_MAX */
    uint32_t page_size;     /* a power of two */
    uint32_t flags;
    /* This record's number among the channel's RAM_PAGES, from 0: a
     * reader refuses a gap or a repeat (a lost or replayed batch). */
    uint64_t packet;
} WireRamPagesHeader;

/* The checks of a RAM_PAGES-style header any reader makes: a count of 1
 * to WIRE_RAM_PAGES_MAX, a power-of-two page size within the limits, no
 * flag outside @known_flags. */
bool wire_ram_header_check(const WireRamPagesHeader *h, uint32_t known_flags,
                           Error **errp);

/*
 * Appends a RAM_PAGES record up to its data: header, @offsets[count]
 * (bytes into the block) and @kinds[count].  The caller appends the data
 * and calls wire_record_end(out, *start).
 */
bool wire_ram_pages_begin(GByteArray *out, const WireRamPagesHeader *h,
                          const uint64_t *offsets, const uint8_t *kinds,
                          size_t *start, Error **errp);
/* The whole record, @data being the normal pages in order. */
bool wire_ram_pages_encode(GByteArray *out, const WireRamPagesHeader *h,
                           const uint64_t *offsets, const uint8_t *kinds,
                           const void *data, size_t data_len, Error **errp);

/* A decoded RAM_PAGES record: a view into its body. */
typedef struct WireRamPages {
    WireRamPagesHeader h;
    const uint8_t *offsets;     /* count big-endian u64 */
    const uint8_t *kinds;       /* count bytes */
    uint32_t n_normal;
    const uint8_t *data;
    size_t data_len;            /* n_normal * page_size unless compressed */
} WireRamPages;

bool wire_ram_pages_decode(const uint8_t *body, size_t len,
                           WireRamPages *out, Error **errp);

/*
 * For a reader placing the data straight into memory, with only the
 * first @avail bytes of a @len-byte body at hand:
 * wire_ram_pages_head_size() is how many bytes of the body come before
 * the data (24 while the fixed header is not all there: ask again with
 * that much), wire_ram_pages_decode_head() decodes and checks everything
 * but the data from min(@len, head size) bytes.  out->data is then NULL
 * unless the whole body is there.
 */
size_t wire_ram_pages_head_size(const uint8_t *body, size_t avail);
bool wire_ram_pages_decode_head(const uint8_t *body, size_t avail,
                                size_t len, WireRamPages *out,
                                Error **errp);

static inline uint64_t wire_ram_pages_offset(const WireRamPages *p,
                                             uint32_t i)
{
    return wire_load_u64(p->offsets + 8 * (size_t)i);
}

/* ---- RAM_XBZRLE -------------------------------------------------------- */

/*
 * Pages of one RAM block as XBZRLE deltas (migration/xbzrle.h) against
 * the copy the destination already holds.  The header is RAM_PAGES's,
 * with no flags defined, and the packet number counts in the same
 * sequence as the channel's RAM_PAGES.  Then @count offsets, @count
 * delta lengths (each 1..page_size-1: an unchanged page is not sent, and
 * a delta as large as the page is sent whole in RAM_PAGES instead) and
 * the deltas, back to back; the body ends with the last delta.
 */
bool wire_ram_xbzrle_encode(GByteArray *out, const WireRamPagesHeader *h,
                            const uint64_t *offsets,
                            const uint32_t *lengths, const void *data,
                            size_t data_len, Error **errp);

/* A decoded RAM_XBZRLE record: a view into its body.  The decoder has
 * checked the lengths against the page size and that they add up to
 * data_len, not the deltas themselves. */
typedef struct WireRamXbzrle {
    WireRamPagesHeader h;
    const uint8_t *offsets;     /* count big-endian u64 */
    const uint8_t *lengths;     /* count big-endian u32 */
    const uint8_t *data;        /* the deltas, in order */
    size_t data_len;
} WireRamXbzrle;

bool wire_ram_xbzrle_decode(const uint8_t *body, size_t len,
                            WireRamXbzrle *out, Error **errp);

static inline uint64_t wire_ram_xbzrle_offset(const WireRamXbzrle *x,
                                              uint32_t i)
{
    return wire_load_u64(x->offsets + 8 * (size_t)i);
}

static inline uint32_t wire_ram_xbzrle_length(const WireRamXbzrle *x,
                                              uint32_t i)
{
    return wire_load_u32(x->lengths + 4 * (size_t)i);
}

/* ---- MAPPED_RAM_BLOCK ------------------------------------------------- */

/* Where a mapped-ram file puts its regions: every bitmap and page region
 * starts at a multiple of this from the start of the stream. */
#define WIRE_MAPPED_RAM_ALIGN (1u << 20)

/*
 * The place of one RAM block's pages in a mapped-ram file.  Offsets
 * count from the start of the stream.  Page i of the block lives at
 * pages_offset + i * page_size; bit i of the bitmap (byte i / 8, least
 * significant bit first) says it was written, a clear bit means zero.
 */
typedef struct WireMappedRamBlock {
    uint32_t block;             /* index in HELLO's RAM blocks */
    uint32_t page_size;
    uint64_t bitmap_offset;
    uint64_t bitmap_len;        /* ceil(pages_len / page_size / 8) */
    uint64_t pages_offset;
    uint64_t pages_len;         /* the block's size */
    uint64_t next_offset;       /* where the record stream goes on */
} WireMappedRamBlock;

bool wire_mapped_ram_block_encode(const WireMappedRamBlock *mb,
                                  GByteArray *out, Error **errp);
/* Checks the layout rules (alignment, sizes, order, no overflow); the
 * caller checks the block against the machine and the offsets against
 * where the record was and the file's size. */
bool wire_mapped_ram_block_decode(const uint8_t *body, size_t len,
                                  WireMappedRamBlock *out, Error **errp);

/*
 * MAPPED_RAM_CHECKSUMS, with checksum "crc32c": right after the last
 * block's regions, the CRC32C of each block's bitmap followed by its
 * contents as loaded (a page whose bit is clear counts as zeros), one
 * per MAPPED_RAM_BLOCK in order.  The decoder wants exactly @n_blocks
 * into @crcs.
 */
bool wire_mapped_ram_checksums_encode(GByteArray *out, const uint32_t *crcs,
                                      uint32_t n, Error **errp);
bool wire_mapped_ram_checksums_decode(const uint8_t *body, size_t len,
                                      uint32_t n_blocks, uint32_t *crcs,
                                      Error **errp);

/* ---- DEVICE_STATE ----------------------------------------------------- */

enum {
    /* More of this device's state follows in the next DEVICE_STATE
     * record with the same id (state beyond one record's size). */
    WIRE_DEVICE_STATE_MORE = 1u << 0,
};
#define WIRE_DEVICE_STATE_KNOWN_FLAGS WIRE_DEVICE_STATE_MORE

/* A decoded DEVICE_STATE: id owned, data a view into the body. */
typedef struct WireDeviceState {
    char *id;
    uint32_t version;
    uint32_t flags;
    const uint8_t *data;
    uint32_t len;
} WireDeviceState;

void wire_device_state_clear(WireDeviceState *ds);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WireDeviceState, wire_device_state_clear)

bool wire_device_state_encode(GByteArray *out, const char *id,
                              uint32_t version, uint32_t flags,
                              const void *data, size_t len, Error **errp);
bool wire_device_state_decode(const uint8_t *body, size_t len,
                              WireDeviceState *out, Error **errp);

/* ---- Small records ---------------------------------------------------- */

/* SYNC: the dirty-sync point ending pass @iteration (from 1). */
bool wire_sync_encode(GByteArray *out, uint64_t iteration, Error **errp);
bool wire_sync_decode(const uint8_t *body, size_t len, uint64_t *iteration,
                      Error **errp);

/* Records without a body: END, POSTCOPY_LISTEN, POSTCOPY_RUN,
 * SWITCHOVER_ACK. */
bool wire_empty_encode(GByteArray *out, uint32_t type, Error **errp);
bool wire_empty_decode(uint32_t type, const uint8_t *body, size_t len,
                       Error **errp);

/*
 * POSTCOPY_DISCARD: byte ranges of RAM block @block (HELLO's index) that
 * were dirty when postcopy started; 1..WIRE_DISCARD_RANGES_MAX ranges,
 * each of a positive length that does not overflow.  The decoder fills
 * @ranges (room for WIRE_DISCARD_RANGES_MAX) and *@count; the reader
 * checks them against the block.
 */
#define WIRE_DISCARD_RANGES_MAX 4096u
typedef struct WireDiscardRange {
    uint64_t offset;
    uint64_t length;
} WireDiscardRange;

bool wire_postcopy_discard_encode(GByteArray *out, uint32_t block,
                                  const WireDiscardRange *ranges,
                                  uint32_t count, Error **errp);
bool wire_postcopy_discard_decode(const uint8_t *body, size_t len,
                                  uint32_t *block, WireDiscardRange *ranges,
                                  uint32_t *count, Error **errp);

typedef struct WirePageRequest {
    uint32_t block;         /* index in HELLO's RAM blocks */
    uint64_t offset;        /* bytes into the block */
    uint64_t length;        /* bytes, > 0 */
} WirePageRequest;

bool wire_page_request_encode(const WirePageRequest *req, GByteArray *out,
                              Error **errp);
bool wire_page_request_decode(const uint8_t *body, size_t len,
                              WirePageRequest *out, Error **errp);

/* PING or PONG (@type): heartbeat number @seq, from 1; a PONG echoes
 * the PING it answers. */
bool wire_heartbeat_encode(GByteArray *out, uint32_t type, uint64_t seq,
                           Error **errp);
bool wire_heartbeat_decode(uint32_t type, const uint8_t *body, size_t len,
                           uint64_t *seq, Error **errp);

/*
 * RECEIVED_BITMAP (postcopy recovery): which pages of RAM block @block a
 * paused destination holds, bits @first_bit .. @first_bit + @n_bits - 1
 * (bit i: byte i/8, least significant bit first).  @first_bit is a
 * multiple of 64; one piece fits a record, a bigger block takes several.
 * The decoder points @bitmap into the body; the reader checks the block
 * and the range against its layout.
 */
#define WIRE_RECEIVED_BITMAP_HEADER 24u
#define WIRE_RECEIVED_BITMAP_BITS_MAX \
    ((uint64_t)(WIRE_RECORD_MAX - WIRE_RECEIVED_BITMAP_HEADER) * 8)
/* What a writer puts in one piece: a 1 MiB bitmap, 32 GiB of 4 KiB pages. */
#define WIRE_RECEIVED_BITMAP_PIECE_BITS (8ull << 20)
typedef struct WireReceivedBitmap {
    uint32_t block;
    uint32_t page_size;
    uint64_t first_bit;
    uint64_t n_bits;
    const uint8_t *bitmap;  /* ceil(n_bits / 8) bytes */
} WireReceivedBitmap;

bool wire_received_bitmap_encode(const WireReceivedBitmap *rb,
                                 GByteArray *out, Error **errp);
bool wire_received_bitmap_decode(const uint8_t *body, size_t len,
                                 WireReceivedBitmap *out, Error **errp);
/* Bit @i (< n_bits) of the piece: page first_bit + @i has arrived. */
bool wire_received_bitmap_test(const WireReceivedBitmap *rb, uint64_t i);

/* RESUME_REQUEST: the @n_bitmaps RECEIVED_BITMAPs before it are all;
 * the source may carry on. */
bool wire_resume_request_encode(GByteArray *out, uint32_t n_bitmaps,
                                Error **errp);
bool wire_resume_request_decode(const uint8_t *body, size_t len,
                                uint32_t *n_bitmaps, Error **errp);

/* SHUTDOWN: the destination is done; @status 0 means it owns the VM. */
bool wire_shutdown_encode(GByteArray *out, uint32_t status, Error **errp);
bool wire_shutdown_decode(const uint8_t *body, size_t len, uint32_t *status,
                          Error **errp);

#endif
