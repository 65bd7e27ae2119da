/*
 * agent_list.c - `show mirror subscribers` in the agent (agent_list.h): the
 * capture process holds the sessions, so the control thread asks for one
 * page and waits for the answer the intake thread hands over.
 */
#include "agent_list.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static pthread_once_t cv_once = PTHREAD_ONCE_INIT;
static uint32_t waited_id; /* the request waited for, 0 none */
static int done;
static struct pm_list_out *waiter_out;

static void cv_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &a);
    pthread_condattr_destroy(&a);
}

void agent_list_on_page(const struct ipc_rec *rec, void *arg)
{
    (void)arg;
    const struct ipc_list_page *p = &rec->u.list_page;
    pthread_once(&cv_once, cv_init);
    pthread_mutex_lock(&mu);
    if (waited_id != 0 && p->request_id == waited_id && !done) {
        struct pm_list_out *o = waiter_out;
        o->offset = p->offset;
        o->more = p->more;
        o->has_total = p->has_total;
        o->total = p->total;
        o->has_count = p->has_count;
        o->count = p->count;
        o->nrows = p->nrows < IPC_ROWS_MAX ? p->nrows : IPC_ROWS_MAX;
        for (size_t i = 0; i < o->nrows; i++) {
            size_t l = p->rows[i].len < IPC_ROW_MAX ? p->rows[i].len : IPC_ROW_MAX;
            memcpy(o->rows[i], p->rows[i].s, l);
            o->rows[i][l] = '\0';
        }
        done = 1;
        pthread_cond_signal(&cv);
    }
    pthread_mutex_unlock(&mu);
}

/* Would the intake's channel take req?  A request it cannot encode (a filter
 * that is not text) would only be dropped there and the wait run to its end. */
static int encodable(const struct ipc_list_req *req)
{
    struct ipc_rec *probe = calloc(1, sizeof(*probe));
    uint8_t wire[IPC_REC_HDR + 1024];
    char why[160];
    if (probe == NULL)
        return 0;
    probe->type = IPC_LIST_REQ;
    probe->u.list_req = *req;
    probe->u.list_req.request_id = 1;
    ssize_t enc = ipc_rec_encode(probe, wire, sizeof(wire), why, sizeof(why));
    OPENSSL_cleanse(probe, sizeof(*probe));
    free(probe);
    OPENSSL_cleanse(wire, sizeof(wire));
    return enc >= 0;
}

int agent_list_request(agent_list_send_fn send, const char *list, const char *filter,
                       uint32_t offset, uint32_t max_rows, int timeout_ms, struct pm_list_out *out,
                       char *err, size_t errlen)
{
    static uint32_t next_id;
    struct ipc_list_req req;
    memset(&req, 0, sizeof(req));
    snprintf(req.list, sizeof(req.list), "%s", list);
    snprintf(req.filter, sizeof(req.filter), "%s", filter);
    req.offset = offset;
    req.max_rows = max_rows;
    if (!encodable(&req)) {
        OPENSSL_cleanse(&req, sizeof(req));
        snprintf(err, errlen, "the filter is not text (UTF-8 without control characters)");
        return -1;
    }
    pthread_once(&cv_once, cv_init);
    pthread_mutex_lock(&mu);
    /* The first ID is random: chan C outlives an agent, and a page answering
     * the predecessor's request of the same ID (both counting from 1) would
     * be taken for this one's (in the socket, or answered after it died). */
    if (next_id == 0 && getrandom(&next_id, sizeof(next_id), 0) != (ssize_t)sizeof(next_id))
        next_id = (uint32_t)getpid() << 16 ^ (uint32_t)time(NULL);
    req.request_id = ++next_id != 0 ? next_id : ++next_id;
    waited_id = req.request_id;
    done = 0;
    waiter_out = out;
    pthread_mutex_unlock(&mu);
    int rc = send(&req, err, errlen);
    OPENSSL_cleanse(&req, sizeof(req));
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&mu);
    while (rc == 0 && !done)
        if (pthread_cond_timedwait(&cv, &mu, &until) != 0 && !done) {
            snprintf(err, errlen, "the capture process did not answer within %d ms", timeout_ms);
            rc = -1;
        }
    waited_id = 0;
    waiter_out = NULL;
    pthread_mutex_unlock(&mu);
    return rc;
}
