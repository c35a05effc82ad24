/*
 * The object types implemented in system/ besides the memory backends,
 * for the registry's table in system/object.c.
 */
#ifndef VMIG_SYSTEM_OBJECT_TYPES_H
#define VMIG_SYSTEM_OBJECT_TYPES_H

#include "system/object.h"

extern const ObjectTypeInfo secret_info;
extern const ObjectTypeInfo authz_simple_info;
extern const ObjectTypeInfo authz_list_info;
extern const ObjectTypeInfo tls_creds_anon_info;
extern const ObjectTypeInfo tls_creds_psk_info;
extern const ObjectTypeInfo tls_creds_x509_info;

#endif
