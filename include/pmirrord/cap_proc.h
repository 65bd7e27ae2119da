/*
 * cap_proc.h - the capture process of the process model
 * (docs/process-model.md): `pmirrord --child capture [-f] [-D TOKENS]`,
 * started by the monitor as root with fd 3 = its channel to the monitor
 * (chan B) and fd 4 = its channel to the agent (chan C), both carrying the
 * records of docs/ipc-protocol.md.
 *
 * Start-up: log, sbx_drop_privileges("pmirrord-capture"), the configuration
 * slice and descriptors from fd 3 (at most 10 s), sources and link watcher,
 * sbx_apply_seccomp(), STATUS READY on fd 3.  Then one poll loop: sources,
 * link watcher, both channels, the test hook; once a second a STATS record
 * per source and one for the process, and a HEARTBEAT, on chan C.
 * pm_event_raise() in this process sends an EVENT record on chan C.
 */
#ifndef PMIRRORD_CAP_PROC_H
#define PMIRRORD_CAP_PROC_H

#include <stdint.h>

struct pm_daemon_hooks;

#define CAP_PROC_USER        "pmirrord-capture"
#define CAP_PROC_SLICE_MS    10000 /* the longest start-up waits for the slice */
#define CAP_PROC_SOURCES_MAX 64

/* main() of the capture child; hooks may be NULL (pmirrord itself).  Exit
 * status: 0 stopped (SIGTERM, or the monitor closed its channel), 1 start-up
 * or runtime failure (a STATUS FAILED was sent when the channel allowed), 2
 * usage.  Once the seccomp filter is in place it does not return: it ends
 * with _exit(), since exit handlers may need calls the filter forbids
 * (LeakSanitizer's leak check at exit uses clone and ptrace). */
int pm_capture_proc_main(int argc, char **argv, const struct pm_daemon_hooks *hooks);

/*
 * The clock of the capture process (for session timers): "now" is the
 * time of the last packet while the only running sources are pcap files (a
 * file replays its own time, docs/capture-sources.md), CLOCK_REALTIME
 * otherwise.  Milliseconds since the epoch.
 */
struct cap_clock {
    int offline_only; /* 1: every running source is a pcap file */
    uint64_t last_pkt_ms;
    uint64_t pass_ms; /* CLOCK_REALTIME read once per pass over the sources (0: none) */
};
void cap_clock_packet(struct cap_clock *c, int64_t ts_sec, uint32_t ts_usec);
uint64_t cap_clock_now_ms(const struct cap_clock *c);
/* The loop reads the clock once before each pass over the sources; the
 * frames of that pass share the reading (cap_clock_frame_ms), so a frame
 * costs no clock_gettime.  A pass lasts a few milliseconds at most. */
void cap_clock_pass(struct cap_clock *c);
uint64_t cap_clock_frame_ms(const struct cap_clock *c);

#endif
