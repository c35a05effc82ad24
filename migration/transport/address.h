/*
 * Migration addresses: the URI strings of QEMU's migrate/-incoming
 * ("tcp:HOST:PORT", "unix:PATH", "fd:NAME", "exec:CMD",
 * "file:PATH[,offset=N]", "rdma:HOST:PORT") and the structured
 * MigrationAddress (qapi/migration.json) they stand for.
 *
 * URI forms:
 *   tcp:HOST:PORT[,OPTION...]   as socket_parse() reads it: HOST may be
 *                               empty or [IPV6]; OPTIONs are the
 *                               optional members of InetSocketAddress
 *                               (migration_address_tcp_options()).
 *                               "tcp:" is required here.
 *   unix:PATH                   the rest is the path, commas included
 *   fd:NAME                     a socket passed with getfd, or a number
 *   exec:CMD                    args = ["/bin/sh", "-c", CMD]
 *   file:PATH[,offset=N]        N a size (decimal, 0x hex, or with a
 *                               k/M/G... suffix); a ",offset=" that is
 *                               not the last one is part of PATH
 *   rdma:HOST:PORT              parsed, but not implemented: refused by
 *                               migration_address_check()
 */
#ifndef VMIG_MIGRATION_ADDRESS_H
#define VMIG_MIGRATION_ADDRESS_H

#include <stdbool.h>

#include "qapi/error.h"
#include "qapi/qapi-types.h"

/* Parses @uri.  Only the syntax is checked: nothing is resolved or
 * opened. */
MigrationAddress *migration_address_parse(const char *uri, Error **errp);

/*
 * The canonical URI of @addr, for messages and for the configuration
 * validator (which tells transports apart by URI scheme).  Parsing it
 * gives @addr back, except: an exec argument list that is not
 * ["/bin/sh", "-c", CMD] becomes a shell-quoted CMD (running the same
 * program), and an abstract Unix socket reads "unix:@NAME".
 */
char *migration_address_to_string(const MigrationAddress *addr);

/*
 * The main address of a migrate / migrate-incoming command from its
 * two alternative arguments: exactly one of @uri and @channels must be
 * given; @channels must hold exactly one channel of type "main", and
 * types that are not implemented (cpr) are refused.  Returns a new
 * copy.
 */
MigrationAddress *migration_address_from_args(const char *uri,
                                              const MigrationChannelList *channels,
                                              Error **errp);

/*
 * Whether @addr can be used: refuses transports with feature
 * 'unimplemented' (rdma) and empty exec commands and file names, which
 * the structured form can express.  Call it where the address is
 * accepted, to fail the command rather than the migration.
 */
bool migration_address_check(const MigrationAddress *addr, Error **errp);

/*
 * The option names a tcp: URI takes after the port, NULL-terminated,
 * in schema order ("numeric", "to", "ipv4", ...): for command lines
 * that mix them with other options (-incoming tcp:0:4444,ipv4=on,...).
 */
const char *const *migration_address_tcp_options(void);
bool migration_address_is_tcp_option(const char *name);

#endif
