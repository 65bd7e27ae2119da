/*
 * conf_dhcp.c - the dhcpServer directive (dhcp_conf.h, docs/dhcp.md).
 *
 * A server is named by its IPv4 address in dotted-quad form, no name and no
 * port: trust is decided on the IP source of the DHCPACK (DHCPv4 servers
 * answer from UDP port 67, RFC 2131 section 4.1), and the capture process
 * never resolves names.
 */
#include "pmirrord/dhcp_conf.h"
#include "conf_lex.h"
#include "pmirrord/conf.h"
#include "pmirrord/errbuf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

_Static_assert(PM_MAX_DHCP_SERVERS == DH_SERVERS_MAX, "conf.h and dhcp_track.h agree");

int conf_dhcp_server(uint32_t *servers, size_t *n, int argc, char **argv, char *err, size_t errlen)
{
    struct in_addr a;
    if (argc != 2)
        return pm_err(err, errlen, "dhcpServer takes 1 argument (an IPv4 address), %d given",
                      argc - 1);
    if (inet_pton(AF_INET, argv[1], &a) != 1)
        return pm_err(err, errlen, "dhcpServer: \"%.64s\" is not an IPv4 address", argv[1]);
    if (a.s_addr == 0 || a.s_addr == 0xffffffffu || (ntohl(a.s_addr) >> 28) == 0xe)
        return pm_err(err, errlen,
                      "dhcpServer: %s cannot be a server's address (unspecified, broadcast or "
                      "multicast)",
                      argv[1]);
    for (size_t i = 0; i < *n; i++)
        if (servers[i] == a.s_addr)
            return pm_err(err, errlen, "dhcpServer: %s is already a DHCP server", argv[1]);
    if (*n >= DH_SERVERS_MAX)
        return pm_err(err, errlen, "dhcpServer: at most %d DHCP servers", DH_SERVERS_MAX);
    servers[(*n)++] = a.s_addr;
    return 0;
}

void conf_dhcp_init(struct dh_conf *c, uint32_t max_bindings)
{
    memset(c, 0, sizeof(*c));
    c->max_bindings = max_bindings;
}

/* Is the line's first word dhcpServer (any case)?  The name alone is one
 * (strchr() finds the terminating NUL): conf_dhcp_server() says what is missing. */
static int is_dhcp_line(const char *text)
{
    static const char name[] = "dhcpServer";
    text += strspn(text, " \t");
    if (text[0] == '"')
        text++;
    return strncasecmp(text, name, sizeof(name) - 1) == 0 &&
           strchr(" \t\"", text[sizeof(name) - 1]) != NULL;
}

int conf_dhcp_line(struct dh_conf *c, const char *text, char *err, size_t errlen)
{
    char buf[4096], *argv[CONF_MAX_WORDS], lexerr[128];
    int rc = 0;
    if (!is_dhcp_line(text))
        return 0;
    if (strlen(text) >= sizeof(buf)) /* conf.c refuses such lines too */
        return pm_err(err, errlen, "dhcpServer: line longer than %zu characters", sizeof(buf) - 1);
    snprintf(buf, sizeof(buf), "%s", text);
    int argc = conf_split(buf, argv, CONF_MAX_WORDS, lexerr, sizeof(lexerr));
    if (argc < 0)
        rc = pm_err(err, errlen, "dhcpServer: %s", lexerr);
    else if (argc > 0 && strcasecmp(argv[0], "dhcpServer") == 0)
        rc = conf_dhcp_server(c->server, &c->nservers, argc, argv, err, errlen) < 0 ? -1 : 1;
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

void conf_dhcp_from(const struct pm_conf *pc, struct dh_conf *c)
{
    c->nservers = pc->ndhcp_servers;
    memcpy(c->server, pc->dhcp_server, pc->ndhcp_servers * sizeof(c->server[0]));
}
