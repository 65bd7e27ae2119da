/*
 * trapstats.h - a snapshot of the secure trap hosts and their counters,
 * published by the agent thread and read by the control thread (`show snmp
 * trap`).  The agent thread owns the live counters (traphost.c); this copy
 * is what other threads may read, under a mutex.
 */
#ifndef PMIRRORD_TRAPSTATS_H
#define PMIRRORD_TRAPSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/conf.h"

#define PM_TRAPSTATS_MAX_HOSTS PM_MAX_TRAPHOSTS

struct pm_trapstats_host {
    char address[128];
    char user[64];
    int inform;
    int severity;
    unsigned queue_size;
    unsigned drain_rate;
    enum th_full queue_full;
    unsigned timeout_s, retries;
    uint64_t sent, filtered, queue_full_discards, no_response_discards, bad_encoding_discards;
    uint64_t send_failed_discards; /* the socket refused the message (sendto) */
    uint64_t no_memory_discards;   /* dropped for want of memory */
    uint64_t queued, inflight;
    char where[PM_PATH_MAX + 16]; /* "file:line" of the definition (show mirror running-config) */
    int auth, priv;               /* enum th_auth, enum th_priv */
};

struct pm_trapstats {
    char engine_id[2 * 32 + 3]; /* our snmpEngineID as 0x<hex>: receivers' createUser -e */
    int trap_enable;            /* juniPacketMirrorTrapEnable */
    int global_severity;
    int trap_severity[11];
    uint64_t events;          /* events taken from the queue */
    uint64_t disabled_drops;  /* not sent: juniPacketMirrorTrapEnable false */
    uint64_t global_filtered; /* below globalTrapSeverity */
    uint64_t invalid;         /* events that failed pm_event_check() */
    uint64_t event_queue_drops;
    uint64_t no_memory_drops; /* events dropped for want of memory before any host */
    size_t nhosts;
    struct pm_trapstats_host hosts[PM_TRAPSTATS_MAX_HOSTS];
};

void pm_trapstats_publish(const struct pm_trapstats *s);
/* Copies the latest snapshot; returns 0, or -1 if none was published yet. */
int pm_trapstats_get(struct pm_trapstats *out);

#endif
