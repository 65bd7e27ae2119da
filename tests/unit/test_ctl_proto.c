/*
 * test_ctl_proto.c - ctl_parse_request(): what the server takes as the secret of
 * "mirror-enable SECRET" (every byte after the one separating blank).
 */
#include <string.h>

#include "check.h"
#include "ctl/ctl_proto.h"

static int secret_is(const char *line, const char *want, int json)
{
    char buf[256];
    struct ctl_request rq;
    strcpy(buf, line);
    ctl_parse_request(NULL, 0, buf, &rq);
    return rq.kind == CTL_REQ_ENABLE && rq.json == json && rq.secret_len == strlen(want) &&
           memcmp(rq.secret, want, rq.secret_len) == 0;
}

int main(void)
{
    CHECK(secret_is("mirror-enable Secr3t pass", "Secr3t pass", 0));
    /* blanks at either end belong to the secret, as hash-secret keeps them */
    CHECK(secret_is("mirror-enable  lead", " lead", 0));
    CHECK(secret_is("mirror-enable trail ", "trail ", 0));
    CHECK(secret_is("mirror-enable \t both \t", "\t both \t", 0));
    CHECK(secret_is("mirror-enable\tx", "x", 0)); /* the separator may be a tab */
    CHECK(secret_is("  @json  mirror-enable  j ", " j ", 1));
    CHECK(secret_is("mirror-enable", "", 0));
    CHECK(secret_is("mirror-enable ", "", 0));
    return 0;
}
