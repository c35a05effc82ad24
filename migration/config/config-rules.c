/*
 * The facts about migration options, as data: defaults, valid values and
 * the rules between options.  This file is the one place each of them is
 * written; the validator (config-validate.c), the default configuration
 * (config.c) and the configuration chapter of the documentation
 * (config-doc.c) all read these tables.
 *
 * Where each kind of fact lives:
 *   - that an option exists, its type, and per-option flags (may change
 *     while migrating, was a QEMU capability, deprecated, and its status:
 *     not implemented, not yet implemented, or of no effect in vmig):
 *     qapi/migration.json, as member features, which reach C through the
 *     generated MigrationConfig_info;
 *   - defaults, ranges, units, value checks: migration_options[] below,
 *     one entry per option in schema order.  QAPI has no syntax for
 *     defaults, and writing them in doc comments would make prose the
 *     source of code, so they are here; migration_options_check() (run
 *     before first use and by the unit test) makes sure this table and
 *     the schema never drift apart;
 *   - relations between options and limits of transports, contexts and
 *     hosts: migration_rules[], migration_limits[], migration_host_needs[].
 *
 * Each rule names its options and gives its reason as the end of the
 * error sentence ("Options 'a' and 'b' cannot be used together: REASON").
 * Rules are checked on the whole resulting configuration, so a rule only
 * needs to be written once, and chains of rules hold transitively (e.g.
 * zero-copy-send requires multifd, background-snapshot excludes multifd:
 * so zero-copy-send and background-snapshot cannot be used together
 * either, without an entry of its own).
 *
 * Where vmig is stricter than QEMU, the entry says "vmig:"; these close
 * cases where QEMU silently ignores an option.
 */
#include "migration/config-validate.h"


#define RANGE(lo, hi) .has_range = true, .min = (lo), .max = (hi)

/*
 * Rates are byte counts per second in signed 64-bit arithmetic, and
 * libvirt sends INT64_MAX-sized values to mean "unlimited", so that is
 * the bound of every bandwidth.
 */
#define BANDWIDTH RANGE(0, INT64_MAX), .unit = "bytes/s"

static bool is_page_power_of_two(uint64_t value, uint64_t page_size)
{
    return value && (value & (value - 1)) == 0 && value >= page_size;
}

const MigrationOptionInfo migration_options[] = {
    /* Former capabilities: all off by default. */
    { .name = "xbzrle", .def = "off" },
    { .name = "rdma-pin-all", .def = "off" },
    { .name = "auto-converge", .def = "off" },
    { .name = "zero-blocks", .def = "off" },
    { .name = "compress", .def = "off" },
    { .name = "events", .def = "off" },
    { .name = "postcopy-ram", .def = "off" },
    { .name = "x-colo", .def = "off" },
    { .name = "release-ram", .def = "off" },
    { .name = "return-path", .def = "off" },
    { .name = "pause-before-switchover", .def = "off" },
    { .name = "multifd", .def = "off" },
    { .name = "dirty-bitmaps", .def = "off" },
    { .name = "postcopy-blocktime", .def = "off" },
    { .name = "late-block-activate", .def = "off" },
    { .name = "x-ignore-shared", .def = "off" },
    { .name = "validate-uuid", .def = "off" },
    { .name = "background-snapshot", .def = "off" },
    { .name = "zero-copy-send", .def = "off" },
    { .name = "postcopy-preempt", .def = "off" },
    { .name = "switchover-ack", .def = "off" },
    { .name = "dirty-limit", .def = "off" },
    { .name = "mapped-ram", .def = "off" },

    /* Former parameters. */
    { .name = "announce-initial", .def = "50", RANGE(0, 100000),
      .unit = "ms" },
    { .name = "announce-max", .def = "550", RANGE(0, 100000), .unit = "ms" },
    { .name = "announce-rounds", .def = "5", RANGE(0, 1000) },
    { .name = "announce-step", .def = "100", RANGE(1, 10000), .unit = "ms" },
    { .name = "compress-level", .def = "1", RANGE(0, 9) },
    { .name = "compress-threads", .def = "8", RANGE(1, 255) },
    { .name = "compress-wait-thread", .def = "on" },
    { .name = "decompress-threads", .def = "2", RANGE(1, 255) },
    { .name = "throttle-trigger-threshold", .def = "50", RANGE(1, 100),
      .unit = "%" },
    { .name = "cpu-throttle-initial", .def = "20", RANGE(1, 99),
      .unit = "%" },
    { .name = "cpu-throttle-increment", .def = "10", RANGE(1, 99),
      .unit = "%" },
    { .name = "cpu-throttle-tailslow", .def = "off" },
    { .name = "tls-creds", .def = "" },
    { .name = "tls-hostname", .def = "" },
    { .name = "tls-authz", .def = "" },
    { .name = "max-bandwidth", .def = "128M", BANDWIDTH },
    { .name = "avail-switchover-bandwidth", .def = "0", BANDWIDTH },
    /* QEMU's bound: 2000 seconds. */
    { .name = "downtime-limit", .def = "300", RANGE(0, 2000000),
      .unit = "ms" },
    { .name = "x-checkpoint-delay", .def = "20000", .unit = "ms" },
    { .name = "multifd-channels", .def = "2",
      RANGE(1, MIGRATION_MULTIFD_CHANNELS_MAX) },
    { .name = "multifd-compression", .def = "none" },
    { .name = "multifd-zlib-level", .def = "1", RANGE(0, 9) },
    { .name = "multifd-qatzip-level", .def = "1", RANGE(1, 9) },
    { .name = "multifd-zstd-level", .def = "1", RANGE(0, 20) },
    /* The cache holds whole pages and is indexed by a hash mask. */
    { .name = "xbzrle-cache-size", .def = "64M", .unit = "bytes",
      .valid = is_page_power_of_two,
      .valid_desc = "a power of two, at least the guest page size" },
    { .name = "max-postcopy-bandwidth", .def = "0", BANDWIDTH },
    { .name = "max-cpu-throttle", .def = "99", RANGE(1, 99), .unit = "%" },
    { .name = "block-bitmap-mapping", .def = NULL },
    { .name = "x-vcpu-dirty-limit-period", .def = "1000", RANGE(1, 1000),
      .unit = "ms" },
    { .name = "vcpu-dirty-limit", .def = "1", RANGE(1, UINT64_MAX),
      .unit = "MiB/s" },
    { .name = "mode", .def = "normal" },
    { .name = "zero-page-detection", .def = "multifd" },
    { .name = "checksum", .def = "crc32c" },
    { .name = "direct-io", .def = "off" },
    { .name = "cpr-exec-command", .def = NULL },
    /* Long enough for a slow link's socket buffers to drain, short
     * enough that a dead peer does not hold the VM for long. */
    { .name = "liveness-timeout", .def = "30", RANGE(1, 3600), .unit = "s" },
    /* Long enough for a source across the world, short enough that a
     * flood of silent strangers cannot hold the listener's slots. */
    { .name = "accept-timeout", .def = "5000", RANGE(100, 600000),
      .unit = "ms" },
};

/* The option count is MigrationConfig_info.n_members; this checks it. */
const size_t migration_n_options = G_N_ELEMENTS(migration_options);

/*
 * A wider schema type for multifd-channels would let the validator's
 * message and the type disagree about the limit: change both together.
 */
_Static_assert(_Generic(((MigrationConfig *)0)->multifd_channels,
                        uint8_t: UINT8_MAX, default: 0) ==
               MIGRATION_MULTIFD_CHANNELS_MAX,
               "multifd-channels: the schema's type is not the limit's");

#define EXCLUDES(x, y, why) \
    { .kind = MIGRATION_RULE_EXCLUDES, .a = (x), .b = (y), .reason = (why) }
#define REQUIRES(x, y, why) \
    { .kind = MIGRATION_RULE_REQUIRES, .a = (x), .b = (y), .reason = (why) }
#define NOT_ABOVE(x, y, why) \
    { .kind = MIGRATION_RULE_NOT_ABOVE, .a = (x), .b = (y), .reason = (why) }

const MigrationRule migration_rules[] = {
    /* Postcopy. */
    REQUIRES("postcopy-preempt", "postcopy-ram",
             "the preempt channel carries the pages postcopy requests"),
    /* vmig: QEMU ignores release-ram outside postcopy. */
    REQUIRES("release-ram", "postcopy-ram",
             "pages are released only once postcopy has sent them"),
    /* vmig: QEMU accepts it and measures nothing. */
    REQUIRES("postcopy-blocktime", "postcopy-ram",
             "it measures how long vCPUs wait for postcopy pages"),
    EXCLUDES("postcopy-ram", "compress",
             "postcopy must send any single page on request, which the "
             "compression threads cannot do"),
    EXCLUDES("postcopy-ram", "x-ignore-shared",
             "the destination would wait forever for faults on shared "
             "memory that the source never sends"),

    /* Multifd. */
    EXCLUDES("multifd", "compress",
             "multifd channels compress pages themselves "
             "(multifd-compression)"),
    /* vmig: QEMU silently skips xbzrle with multifd. */
    EXCLUDES("multifd", "xbzrle",
             "multifd channels send whole pages, never xbzrle deltas"),
    REQUIRES("zero-copy-send", "multifd",
             "only multifd channels send pages from guest memory"),
    EXCLUDES("zero-copy-send", "multifd-compression",
             "pages are sent straight from guest memory, so there is no "
             "compressed copy to send"),
    /* vmig: "set" is the non-default "none". */
    REQUIRES("zero-copy-send", "checksum",
             "the kernel reads the pages from guest memory after the call, "
             "so a running guest could change them after their CRC32C was "
             "computed; checksum \"none\" sends them unchecked"),
    EXCLUDES("zero-copy-send", "tls-creds",
             "TLS encrypts pages into a buffer of its own, so they cannot "
             "be sent straight from guest memory"),

    /* Mapped-ram. */
    EXCLUDES("mapped-ram", "xbzrle",
             "mapped-ram writes each page at a fixed file offset, which "
             "xbzrle's delta pages cannot have"),
    EXCLUDES("mapped-ram", "postcopy-ram",
             "mapped-ram writes a file, and a file cannot request pages "
             "during postcopy"),
    EXCLUDES("mapped-ram", "multifd-compression",
             "each page has a slot of page size in the file, which a "
             "compressed page of varying size cannot use"),
    EXCLUDES("mapped-ram", "tls-creds",
             "mapped-ram writes a file, where there is no peer to run TLS "
             "with"),
    /* vmig: QEMU ignores direct-io without mapped-ram and multifd. */
    REQUIRES("direct-io", "mapped-ram",
             "O_DIRECT needs page-aligned writes at fixed offsets, which "
             "only mapped-ram does"),
    REQUIRES("direct-io", "multifd",
             "only the multifd channels write pages with O_DIRECT"),

    /* Background snapshots. */
    EXCLUDES("background-snapshot", "postcopy-ram",
             "a snapshot is written to storage, which cannot run the VM "
             "and request pages"),
    EXCLUDES("background-snapshot", "dirty-bitmaps",
             "a snapshot does not save block dirty bitmaps"),
    EXCLUDES("background-snapshot", "postcopy-blocktime",
             "a snapshot never enters postcopy, so there is nothing to "
             "measure"),
    EXCLUDES("background-snapshot", "late-block-activate",
             "it acts on a destination VM, which a snapshot does not have"),
    EXCLUDES("background-snapshot", "return-path",
             "a snapshot's storage cannot send anything back"),
    EXCLUDES("background-snapshot", "multifd",
             "pages are saved one at a time as the guest first writes "
             "them, on the main channel"),
    EXCLUDES("background-snapshot", "pause-before-switchover",
             "a snapshot has no switchover to pause before"),
    EXCLUDES("background-snapshot", "auto-converge",
             "a background snapshot saves each page once, so there is "
             "nothing to converge"),
    EXCLUDES("background-snapshot", "release-ram",
             "the VM keeps running on this host and needs its memory"),
    EXCLUDES("background-snapshot", "rdma-pin-all",
             "a snapshot is not sent over RDMA"),
    EXCLUDES("background-snapshot", "compress",
             "pages saved as the guest writes them cannot wait for the "
             "compression threads"),
    EXCLUDES("background-snapshot", "xbzrle",
             "each page is saved once, so there is no earlier copy to send "
             "a delta against"),
    EXCLUDES("background-snapshot", "x-colo",
             "COLO needs a secondary VM, which a snapshot does not have"),
    EXCLUDES("background-snapshot", "validate-uuid",
             "there is no destination VM whose UUID could be compared"),

    /* Everything else. */
    REQUIRES("switchover-ack", "return-path",
             "the destination's acknowledgement travels on the return "
             "path"),
    EXCLUDES("dirty-limit", "auto-converge",
             "both slow the vCPUs down to make migration converge and "
             "would work against each other"),
    NOT_ABOVE("cpu-throttle-initial", "max-cpu-throttle",
              "auto-converge starts at cpu-throttle-initial and never "
              "throttles more than max-cpu-throttle"),
};

const size_t migration_n_rules = G_N_ELEMENTS(migration_rules);

#define NOT_IN(opt, w, why) \
    { .option = (opt), .where = (w), .reason = (why) }
#define ONLY_WITH(opt, w, with, why) \
    { .option = (opt), .where = (w), .unless = (with), .reason = (why) }

const MigrationLimit migration_limits[] = {
    /* Transports. */
    NOT_IN("postcopy-ram", MIGRATION_WHERE_FILE,
           "a file cannot request pages"),
    NOT_IN("postcopy-preempt", MIGRATION_WHERE_FILE | MIGRATION_WHERE_STREAM,
           "its channel is an extra connection, which only a tcp:, unix: "
           "or vsock: URI can open"),
    NOT_IN("return-path", MIGRATION_WHERE_FILE,
           "a file cannot send anything back"),
    NOT_IN("multifd", MIGRATION_WHERE_STREAM,
           "its channels are extra connections, which only a tcp:, unix: "
           "or vsock: URI can open"),
    ONLY_WITH("multifd", MIGRATION_WHERE_FILE, "mapped-ram",
              "a migration file is one stream unless mapped-ram gives "
              "every page its own place in it"),
    NOT_IN("mapped-ram", MIGRATION_WHERE_SOCKET | MIGRATION_WHERE_STREAM,
           "pages are written at fixed offsets, which needs a file: URI"),
    NOT_IN("zero-copy-send", MIGRATION_WHERE_FILE,
           "MSG_ZEROCOPY works on sockets only"),
    NOT_IN("tls-creds", MIGRATION_WHERE_FILE,
           "a file has no peer to run TLS with"),
    NOT_IN("liveness-timeout", MIGRATION_WHERE_FILE,
           "a file has no peer whose silence could be timed"),
    /* vmig: a file is read long after it was written, by a reader
     * nobody watches; only a checksum finds its flipped bits. */
    NOT_IN("checksum", MIGRATION_WHERE_FILE,
           "a file always carries checksums, as nothing else would notice "
           "a flipped bit in it"),

    /* Snapshots (which also get the file limits above). */
    NOT_IN("auto-converge", MIGRATION_WHERE_SNAPSHOT,
           "a snapshot copies memory in one pass, so there is nothing to "
           "converge"),
    NOT_IN("xbzrle", MIGRATION_WHERE_SNAPSHOT,
           "a snapshot saves each page once, so there is no earlier copy "
           "to send a delta against"),
    NOT_IN("pause-before-switchover", MIGRATION_WHERE_SNAPSHOT,
           "a snapshot has no switchover to pause before"),
    NOT_IN("late-block-activate", MIGRATION_WHERE_SNAPSHOT,
           "it acts on a destination VM, which a snapshot does not have"),
};

const size_t migration_n_limits = G_N_ELEMENTS(migration_limits);

#define SENDS   MIGRATION_CONFIG_CTX_BIT(MIGRATION_CONFIG_OUTGOING) | \
                MIGRATION_CONFIG_CTX_BIT(MIGRATION_CONFIG_SNAPSHOT)
#define RECEIVES MIGRATION_CONFIG_CTX_BIT(MIGRATION_CONFIG_INCOMING)

const char *const migration_host_feature_names[MIGRATION_HOST__MAX] = {
    [MIGRATION_HOST_USERFAULTFD] = "userfaultfd",
    [MIGRATION_HOST_USERFAULTFD_WP] = "userfaultfd write protection",
    [MIGRATION_HOST_ZERO_COPY] = "MSG_ZEROCOPY",
    [MIGRATION_HOST_DIRECT_IO] = "O_DIRECT",
    [MIGRATION_HOST_ZLIB] = "zlib",
    [MIGRATION_HOST_ZSTD] = "zstd",
};

const MigrationHostNeed migration_host_needs[] = {
    /* The destination catches the VM's faults on pages not yet there. */
    { "postcopy-ram", NULL, MIGRATION_HOST_USERFAULTFD, RECEIVES },
    /* The source catches the guest's first write to each page. */
    { "background-snapshot", NULL, MIGRATION_HOST_USERFAULTFD_WP, SENDS },
    { "zero-copy-send", NULL, MIGRATION_HOST_ZERO_COPY,
      MIGRATION_CONFIG_CTX_BIT(MIGRATION_CONFIG_OUTGOING) },
    { "direct-io", NULL, MIGRATION_HOST_DIRECT_IO, SENDS | RECEIVES },
    { "multifd-compression", "zlib", MIGRATION_HOST_ZLIB, SENDS | RECEIVES },
    { "multifd-compression", "zstd", MIGRATION_HOST_ZSTD, SENDS | RECEIVES },
};

const size_t migration_n_host_needs = G_N_ELEMENTS(migration_host_needs);
