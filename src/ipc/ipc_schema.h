/*
 * ipc_schema.h - internal to src/ipc/: the schema of every record type
 * (which tags, their types and ranges), shared by the codec (ipc_msg.c) and
 * its tables (ipc_schema.c).  docs/ipc-protocol.md lists the same in prose.
 */
#ifndef PMIRRORD_IPC_SCHEMA_H
#define PMIRRORD_IPC_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/ipc.h"
#include "pmirrord/pm_codec.h"

/* Field types (FT). */
enum ft {
    FT_U8 = 1,
    FT_U16,
    FT_U32,
    FT_U64,
    FT_I64,
    FT_IP4,
    FT_IP6,
    FT_TEXT,
    FT_NAMED_U64,
    FT_LINE,   /* a config line: any octet but NUL, CR and LF */
    FT_OCTETS, /* an event's string: any octet but NUL (the agent escapes it for display) */
    FT_BYTES,  /* an identity or match value: any octet, NUL included (never displayed raw) */
};

/* One tag of a record type's schema. */
struct field_def {
    uint8_t tag;
    uint8_t ft;
    uint8_t required;
    uint16_t repeat;  /* 0: at most once; n: a list of at most n */
    uint64_t lo, hi;  /* integer range, or text length range */
    enum pm_obj mib;  /* nonzero: range (or SIZE) from pm_obj_def() */
    const char *name; /* for error messages */
};

struct type_def {
    const char *name;
    const struct field_def *defs;
    size_t ndefs;
    uint16_t flags; /* the flags the type defines */
    size_t size;    /* of its member of ipc_rec.u: cleared and wiped */
};

/* The schema of a record type; NULL when the type is unknown. */
const struct type_def *ipc_schema_type(unsigned type);

#endif
