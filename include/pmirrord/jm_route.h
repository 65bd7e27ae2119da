/*
 * jm_route.h - the path MTU towards an analyzer, from the kernel's routing
 * table (rtnetlink RTM_GETROUTE: the route's MTU metric if it has one, else
 * the MTU of its output interface, RTM_GETLINK), so that the data path can
 * count the datagrams the kernel fragments (docs/jmirror.md).
 *
 * The NETLINK_ROUTE socket is opened by jm_route_new() before the capture
 * sandbox; queries are sent with send() (no address: to the kernel) and
 * answered synchronously (a bounded wait, jm_route_mtu() never blocks
 * longer than JMR_WAIT_MS).  Answers are cached per destination for
 * JMR_CACHE_MS; jm_route_flush() forgets them (a link changed).  With
 * mirrorInterface set the interface's MTU is the answer.
 */
#ifndef PMIRRORD_JM_ROUTE_H
#define PMIRRORD_JM_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/trigger.h"

#define JMR_WAIT_MS   50
#define JMR_CACHE_MS  10000
#define JMR_CACHE_MAX 256

struct jm_route;

/* ifname: mirrorInterface ("" or NULL none). */
struct jm_route *jm_route_new(const char *ifname, char *err, size_t errlen);
void jm_route_free(struct jm_route *r);
/* The path MTU to a (0 unknown: no route, no answer).  now_ms: any monotonic ms. */
unsigned jm_route_mtu(struct jm_route *r, const struct trig_analyzer *a, int64_t now_ms);
void jm_route_flush(struct jm_route *r);
/* The rtnetlink socket, for sbx_set_route_fd() (send() only); -1 none. */
int jm_route_fd(const struct jm_route *r);

#endif
