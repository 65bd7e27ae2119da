/*
 * intercept.h - one active intercept: a mirror ID running on one
 * subscriber session, with the analyzer it goes to.  The session engine
 * (sess_engine.h) creates and ends them; the capture process reports every
 * RADIUS-provisioned one to the agent (INTERCEPT records,
 * docs/ipc-protocol.md), which keeps them and hands them back to a restarted
 * capture process so that the intercept is not lost (docs/sessions.md,
 * "Restart").  Plain data: no functions.
 */
#ifndef PMIRRORD_INTERCEPT_H
#define PMIRRORD_INTERCEPT_H

#include <stdint.h>

#include "pmirrord/sig_fact.h"
#include "pmirrord/trigger.h"

#define PM_ICPT_TRIGGER_MAX 255 /* juniPacketMirrorTrigger, DisplayString */

struct pm_intercept {
    struct sig_ident id; /* the session's identities when the intercept began */
    uint32_t mirror_id;  /* 30 bits */
    uint32_t session_id; /* juniPacketMirrorSessionIdentifier, as derived */
    struct trig_analyzer analyzer;
    enum trig_dir direction;
    int config_source; /* MIB ConfigurationSource: radiusLogin(0), radiusCoa(1) */
    int trigger_type;  /* MIB TriggerType */
    char trigger[PM_ICPT_TRIGGER_MAX + 1]; /* escaped text of the trigger value */
    uint32_t router_id;                    /* MIB RouterId */
    int64_t since_sec;                     /* when it began (packet time) */
};

#endif
