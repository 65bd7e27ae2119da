/*
 * test_cap_reload_rec.c - the capture process's reload slice as it arrives
 * (cp_reload_rec(), src/capture/cap_slice.c): a slice longer than the start
 * slice's bound (CP_SLICE_LINES records) is refused with one answer at its
 * END, as a restart of the process would refuse those lines; the running
 * lines stay.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture/cap_proc_priv.h"
#include "check.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/ipc.h"
#include "pmirrord/log.h"

static struct ipc_rec r;
static struct ipc_status got;
static int answers;

static void feed(struct cap_proc *p, uint16_t flags, const char *key, const char *value,
                 uint32_t line)
{
    memset(&r, 0, sizeof(r));
    r.type = IPC_CONFIG;
    r.flags = flags;
    snprintf(r.u.config.key, sizeof(r.u.config.key), "%s", key);
    snprintf(r.u.config.value, sizeof(r.u.config.value), "%s", value);
    r.u.config.line = line;
    cp_reload_rec(p, &r);
}

static void on_rec(struct ipc_rec *rec, void *arg)
{
    (void)arg;
    if (rec->type == IPC_STATUS) {
        got = rec->u.status;
        answers++;
    }
}

int main(void)
{
    static struct cap_proc p;
    static struct cp_slice sl;
    char err[256];
    int sv[2];

    log_init("test_cap_reload_rec", LOG_TARGET_STDERR);
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    p.chan_b = ipc_chan_new(sv[0], 0, NULL, NULL, err, sizeof(err));
    struct ipc_chan *mon = ipc_chan_new(sv[1], 0, NULL, NULL, err, sizeof(err));
    CHECK(p.chan_b != NULL && mon != NULL);

    snprintf(sl.file, sizeof(sl.file), "/etc/p.conf");
    snprintf(sl.line[0].key, sizeof(sl.line[0].key), "signallingLatency");
    sl.line[0].value = strdup("signallingLatency 5");
    sl.line[0].line = 1;
    sl.nlines = 1;
    CHECK(cp_slice_keep(&p, &sl, err, sizeof(err)) == 0);
    cp_slice_clear(&sl);

    /* one line more than a start slice may hold */
    feed(&p, IPC_F_BEGIN, "reload", "/etc/p.conf", 0);
    for (uint32_t i = 1; i <= CP_SLICE_LINES + 1; i++)
        feed(&p, 0, "signallingLatency", "signallingLatency 7", i);
    CHECK(answers == 0);
    feed(&p, IPC_F_END, "end", "", 0);
    CHECK(ipc_chan_recv(mon, on_rec, NULL) > 0);
    CHECK(answers == 1 && got.state == IPC_STATUS_RELOAD_FAILED);
    CHECK(strstr(got.text, "more than") != NULL);
    CHECK(p.reload_failed == 1 && p.reloads == 0);
    CHECK(conf_slice_lines(p.running) == 1); /* the running lines stay */

    cp_reload_free(&p);
    ipc_chan_free(p.chan_b);
    ipc_chan_free(mon);
    printf("test_cap_reload_rec: ok\n");
    return 0;
}
