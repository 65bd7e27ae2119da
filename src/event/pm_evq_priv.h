/*
 * pm_evq_priv.h - what tests may see of the event queue beyond its API
 * (pm_event.h).  Not for the daemon.
 */
#ifndef PMIRRORD_PM_EVQ_PRIV_H
#define PMIRRORD_PM_EVQ_PRIV_H

#include <stddef.h>

#include "pmirrord/pm_event.h"

/* The whole locked ring allocation (page-rounded), for scanning what is left in it. */
const void *pm_evq_mem(const struct pm_evq *q, size_t *len);

#endif
