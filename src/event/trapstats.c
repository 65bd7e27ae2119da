/*
 * trapstats.c - the published trap host snapshot (see trapstats.h).
 */
#include "pmirrord/trapstats.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t ts_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct pm_trapstats ts_snap;
static int ts_valid;

void pm_trapstats_publish(const struct pm_trapstats *s)
{
    pthread_mutex_lock(&ts_mtx);
    ts_snap = *s;
    ts_valid = 1;
    pthread_mutex_unlock(&ts_mtx);
}

int pm_trapstats_get(struct pm_trapstats *out)
{
    pthread_mutex_lock(&ts_mtx);
    int valid = ts_valid;
    if (valid)
        *out = ts_snap;
    pthread_mutex_unlock(&ts_mtx);
    return valid ? 0 : -1;
}
