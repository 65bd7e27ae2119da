/*
 * rtconf.h - run-time changes kept only if asked (persistRuntimeChanges).
 *
 * With `persistRuntimeChanges on`, the trap hosts and triggers added or
 * removed through pmirrorctl are written to <persistentDir>/runtime.conf
 * (RTCONF_NAME), mode 0600, atomically (pm_write_atomic(), fsutil.h), in the
 * configuration file's own syntax, and read at the agent's start right after
 * the configuration (conf_load_more(), conf.h): an error there fails the
 * start with "DIR/runtime.conf:LINE: message", as one in the configuration
 * file does.  The file holds:
 *   - `no mirror TYPE VALUE id N` for every rule of the configuration file
 *     removed at run time, `no trapHost ADDRESS` for every host of it removed
 *     (first: they remove only the file's objects);
 *   - `trapHost ... authKey PROTO 0xKU privKey PROTO 0xKU ...` for every trap
 *     host added at run time: the master keys, never the passphrases;
 *   - `mirror ...` for every trigger added at run time.
 * Off (the default), nothing is read or written.  The agent process only
 * (it owns persistentDir, docs/process-model.md); the control thread calls
 * the change hooks, one mutex guards the state.
 */
#ifndef PMIRRORD_DAEMON_RTCONF_H
#define PMIRRORD_DAEMON_RTCONF_H

#include <stddef.h>

#include "pmirrord/conf.h"
#include "pmirrord/trigger.h"
#include "trig_table.h"

#define RTCONF_NAME     "runtime.conf"
#define RTCONF_LINE_MAX 1200 /* a trapHost line with two 64-octet keys, a mirror line */

struct ctl_server;

/*
 * Agent thread, after agent_init() made persistentDir and before the trap
 * hosts and triggers start: remembers the settings for `show mirror
 * running-config`, and with persistRuntimeChanges on reads runtime.conf into
 * c (its objects' where is "DIR/runtime.conf:LINE").  0, or -1 with err.
 */
int rtconf_start(struct pm_conf *c, char *err, size_t errlen) __attribute__((warn_unused_result));
/* The settings shown by `show mirror running-config` again (after a reload). */
void rtconf_note_conf(const struct pm_conf *c);
void rtconf_stop(void);
int rtconf_enabled(void);

/* The trigger table the file's `mirror` lines come from. */
void rtconf_set_triggers(struct trig_table *t);

/*
 * Control thread, after a change was applied.  Each rewrites the file when
 * persistRuntimeChanges is on; 0 (also when off), or -1 with why the change
 * was not saved in err (the change itself stands).
 */
int rtconf_host_added(const struct pm_traphost_conf *hc, char *err, size_t errlen);
/* transport: conf_traphost_transport() of the address removed.  *from_file
 * is set to 1 when the host was not one added at run time (then kept removed
 * with a `no trapHost` line). */
int rtconf_host_removed(const char *transport, int *from_file, char *err, size_t errlen);
/* Before trig_table_del(t, d): notes the configuration file's rules d removes. */
void rtconf_trigger_removing(const struct pm_trigger_del *d);
int rtconf_triggers_changed(char *err, size_t errlen);

/*
 * Reload (agent_reload_apply()), before the file's objects are compared with
 * the running ones: removes from next the rules and trap hosts that the kept
 * `no mirror` and `no trapHost` lines remove, so that what was removed at run
 * time stays removed across a reload as across a restart.  Returns how many
 * rules were removed.  Then,
 * once applied, rtconf_note_conf(next) for `show mirror running-config`.
 */
size_t rtconf_reload_filter(struct pm_conf *next);

/* `show mirror running-config` (CTL_F_MIRROR). */
int rtconf_register(struct ctl_server *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The runtime.conf line of a trap host (keys, no passphrase): length, or -1
 * if it cannot be written (a user name with both blanks and quotes). */
int rtconf_host_line(const struct pm_traphost_conf *hc, char *buf, size_t cap);

#endif
