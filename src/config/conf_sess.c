/*
 * conf_sess.c - the session table's directive, maxSubscribers (conf_sess.h,
 * README "Configuration reference").
 */
#include "pmirrord/conf_sess.h"

#include "conf_lex.h"
#include "pmirrord/errbuf.h"

int conf_parse_max_subscribers(int argc, char **argv, unsigned *out, char *err, size_t errlen)
{
    unsigned long v;
    if (argc != 2)
        return pm_err(err, errlen, "maxSubscribers takes 1 argument, %d given", argc - 1);
    if (conf_uint(argv[1], 1, CONF_MAX_SUBSCRIBERS_MAX, &v) < 0)
        return pm_err(err, errlen, "maxSubscribers: \"%.40s\" is not a number from 1 to %u",
                      argv[1], CONF_MAX_SUBSCRIBERS_MAX);
    *out = (unsigned)v;
    return 0;
}
