/*
 * pm_event.h - the event interface between whoever detects a mirroring
 * event (the capture side, a test program) and the agent thread that turns
 * it into Juniper-PACKET-MIRROR-MIB notifications.
 *
 * pm_event_raise() may be called from any thread.  It copies the event into
 * a bounded queue and wakes the agent thread through an eventfd; it never
 * blocks and never calls Net-SNMP.  When the queue is full the event is
 * dropped and counted.
 *
 * Field values follow Juniper-PACKET-MIRROR-MIB (docs/mirror-mib.md): enumerations are the MIB's
 * numbers, addresses are IPv4 in network byte order, strings are NUL-terminated and cut to the
 * MIB's SIZE when the varbinds are built.
 */
#ifndef PMIRRORD_PM_EVENT_H
#define PMIRRORD_PM_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The ten notifications, numbered as their last sub-identifier (.77.3.0.N). */
enum pm_trap {
    PM_TRAP_RADIUS_FAILURE = 1,       /* juniPacketMirrorRadiusBasedMirroringFailure */
    PM_TRAP_CLI_FAILURE = 2,          /* juniPacketMirrorCliTriggerBasedMirroringFailure */
    PM_TRAP_INTERFACE_DELETED = 3,    /* juniPacketMirrorInterfaceDeleted */
    PM_TRAP_ANALYZER_UNREACHABLE = 4, /* juniPacketMirrorAnalyzerUnreachable */
    PM_TRAP_SESSION_START = 5,        /* juniPacketMirrorSessionStart */
    PM_TRAP_SESSION_END = 6,          /* juniPacketMirrorSessionEnd */
    PM_TRAP_IFSESS_ACTIVATED = 7,     /* juniPacketMirrorInterfaceSessionActivated */
    PM_TRAP_IFSESS_DEACTIVATED = 8,   /* juniPacketMirrorInterfaceSessionDeactivated */
    PM_TRAP_SESSION_REJECT = 9,       /* juniPacketMirrorSessionReject */
    PM_TRAP_SESSION_FAILED = 10,      /* juniPacketMirrorSessionFailed */
};
#define PM_TRAP_MIN 1
#define PM_TRAP_MAX 10

/* Sizes include the NUL; the MIB limits are 255, 64 and 40 octets. */
#define PM_EV_TRIGGER_MAX 256
#define PM_EV_USER_MAX    65
#define PM_EV_ERRSTR_MAX  256
#define PM_EV_POLICY_MAX  41

struct pm_event {
    enum pm_trap trap;
    struct timespec when; /* CLOCK_REALTIME of the event */
    int config_source;    /* radiusLogin(0) radiusCoa(1) cliTrigger(2) cliStatic(3) */
    int trigger_type;     /* interfaceString(0) .. agentRemoteId(8) */
    char trigger[PM_EV_TRIGGER_MAX];
    uint32_t router_id;
    char user_name[PM_EV_USER_MAX];
    uint32_t mirror_id;
    uint32_t session_id;
    int error_cause; /* genericFailure(0) .. nameLengthExceeded(9) */
    int application; /* policyManager(0) */
    char error_string[PM_EV_ERRSTR_MAX];
    char policy_name[PM_EV_POLICY_MAX];
    uint32_t policy_id;
    int direction;          /* ingress(0) egress(1) */
    uint32_t target_ip;     /* network byte order; 0.0.0.0 for an access session */
    uint32_t analyzer_ip;   /* network byte order */
    int termination_reason; /* 0..22, = RADIUS Acct-Terminate-Cause for 1..22 */
};

/* Queue between producers and the agent thread. */
struct pm_evq;

struct pm_evq *pm_evq_new(size_t capacity, char *err, size_t errlen);
void pm_evq_free(struct pm_evq *q);
/* The eventfd the consumer polls; readable while events are queued. */
int pm_evq_fd(const struct pm_evq *q);
/* Producer side: 0 on success, -1 if the queue was full (event dropped, counted). */
int pm_evq_push(struct pm_evq *q, const struct pm_event *ev) __attribute__((warn_unused_result));
/* Consumer side: pops up to max events into out[]; returns how many. */
size_t pm_evq_pop(struct pm_evq *q, struct pm_event *out, size_t max);
uint64_t pm_evq_dropped(const struct pm_evq *q);

/* The daemon's queue; pm_event_raise() pushes into it (set by the daemon). */
void pm_event_set_queue(struct pm_evq *q);
int pm_event_raise(const struct pm_event *ev) __attribute__((warn_unused_result));

/*
 * A process without the agent's queue (the capture process) sends its events
 * elsewhere: while a sink is set, pm_event_raise() hands each event to
 * fn(ev, arg) instead of the queue, and returns what fn returns (0, or -1
 * when the path is full: the sink drops and counts it).  fn is called under
 * the same lock as the queue push and must not block.  NULL: back to the
 * queue.
 */
typedef int (*pm_event_sink_fn)(const struct pm_event *ev, void *arg);
void pm_event_set_sink(pm_event_sink_fn fn, void *arg);

#endif
