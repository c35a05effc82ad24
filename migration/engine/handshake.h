/*
 * The v2 handshake's decisions (docs/devel/migration-protocol.md, 5.1):
 * what HELLO says about this machine, how a destination judges a HELLO,
 * and how a source judges the ACCEPT it gets back.
 *
 * The checks are split so each can be tested alone; the ones that take
 * their facts as arguments (layouts, configurations, UUIDs) are pure.
 * The destination runs them in the protocol's order: version, config,
 * layout (shared blocks included), UUID, resume; the first failure is the
 * REJECT.
 */
#ifndef VMIG_MIGRATION_HANDSHAKE_H
#define VMIG_MIGRATION_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "migration/config-validate.h"
#include "migration/wire/wire.h"
#include "qapi/error.h"

/* "vmig 0.1.0": the implementation string of HELLO and ACCEPT. */
const char *handshake_implementation(void);

/*
 * This machine's layout as a HELLO without configuration: its RAM
 * blocks in guest order, each block mapped shared from a named file as
 * a shared block, the machine's shape, and its devices in registration
 * order with, as version and min_version, the newest and oldest state
 * versions it can save and load, and their shapes.  Main thread (the
 * device registry).
 */
WireHello *handshake_local_layout(void);

/*
 * The source's HELLO: this machine's layout, @cfg, @flags, a new
 * session id and @vm_uuid (NULL: none).  Its shared blocks, the ones
 * the source will not send, are those of the layout with x-ignore-shared
 * on, none without.  Main thread.
 */
WireHello *handshake_hello_new(const MigrationConfig *cfg, uint32_t flags,
                               const uint8_t *vm_uuid, Error **errp);

/*
 * LayoutMismatch if @src's layout cannot load into @local's, else NULL:
 * the machine's shape, the RAM blocks, then each device (present,
 * version, shape).  Shapes are compared only when @src has them.
 */
WireReject *handshake_check_layout(const WireHello *src,
                                   const WireHello *local);

/*
 * x-ignore-shared, after handshake_check_layout(): every block @src will
 * not send must be mapped here (@local) from the very file the source
 * maps (device and inode), else LayoutMismatch naming the block.  A
 * HELLO that leaves blocks out with @ignore_shared off (the effective
 * x-ignore-shared) is IncompatibleConfig.
 */
WireReject *handshake_check_shared(const WireHello *src,
                                   const WireHello *local,
                                   bool ignore_shared);

/*
 * The guest's RAM blocks by HELLO index, NULL for the blocks @hello says
 * are not sent: what the destination loads into.  Caller unrefs.
 */
GPtrArray *handshake_blocks_sent(const WireHello *hello);

/*
 * The configuration the destination would run with: the options @sent
 * carries, the destination's defaults for the others, and the local
 * options (TLS credentials and names, cpr-exec-command) from @local
 * (full).  Validated as an incoming migration on @uri with @host.
 * Returns the REJECT (IncompatibleConfig, naming the option) or NULL and
 * *@effective.
 */
WireReject *handshake_effective_config(const MigrationConfig *sent,
                                       const MigrationConfig *local,
                                       const char *uri,
                                       const MigrationHostSupport *host,
                                       MigrationConfig **effective);

/*
 * The options a destination had set in @local (to other than their
 * default) that have another value in @effective, the configuration
 * handshake_effective_config() made: what the source's configuration
 * overrode.  Local options are never overridden.  NULL if none.
 */
MigrationConfigOverrideList *handshake_overrides(const MigrationConfig *local,
                                                const MigrationConfig *effective);

/* UuidMismatch unless @src equals @local (all zero: no UUID). */
WireReject *handshake_check_uuid(const uint8_t *src, const uint8_t *local);

/*
 * A HELLO with RESUME (5.1 step 6): SessionMismatch unless @paused, the
 * HELLO of the paused postcopy session here (NULL: none), has its
 * session id and configuration.  The layout was checked against this
 * machine's, as the paused session's was.
 */
WireReject *handshake_check_resume(const WireHello *hello,
                                   const WireHello *paused);

/*
 * All of the destination's checks of a decoded HELLO, in order.  @local
 * is the destination's configuration in effect, @uri the address it
 * receives on, @vm_uuid its UUID (NULL: none), @paused the HELLO of a
 * paused postcopy session (NULL: none).  Returns the REJECT, or NULL
 * with the chosen *@version and *@effective.  Main thread.
 */
WireReject *handshake_check_hello(const WireHello *hello,
                                  const MigrationConfig *local,
                                  const char *uri, const uint8_t *vm_uuid,
                                  const WireHello *paused,
                                  uint32_t *version,
                                  MigrationConfig **effective);

/* The ACCEPT answering @hello. */
WireAccept *handshake_accept_new(const WireHello *hello, uint32_t version,
                                 const MigrationConfig *effective);

/*
 * The source's checks of the ACCEPT to its @hello: a version it offered,
 * its session id echoed, and every option it sent unchanged.  On
 * failure *@cls (if not NULL) is the class of the ERROR to send:
 * ProtocolError, or IncompatibleConfig for a changed option.
 */
bool handshake_check_accept(const WireHello *hello, const WireAccept *acc,
                            const char **cls, Error **errp);

/* The source's error-desc for a REJECT: the destination's reason, with
 * its class and option. */
char *handshake_reject_describe(const WireReject *rej);

/* "1b4e28ba-2fa1-11d2-883f-0016d3cca427", or "none" if all zero. */
char *handshake_uuid_str(const uint8_t *uuid);

#endif
