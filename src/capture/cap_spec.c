/*
 * cap_spec.c - the words of the `capture` directive (cap_source.h).
 *
 *   capture SRC [buffer MIB] [snaplen N] [filter "BPF"] [role signalling|data|both]
 *               [pace recorded|fast]
 *
 * Defaults follow the role (docs/capture-sources.md): signalling 2 MiB and
 * snaplen 65535 (RADIUS and DHCP fit, a small ring is enough at their rate);
 * data and both 8 MiB and 262144 (libpcap's MAXIMUM_SNAPLEN, so GRO
 * super-packets are kept whole).  The filter is compiled at activation, where
 * the link type is known; here it is compiled once for the link types a
 * source may have (Ethernet, Linux cooked, raw IP), so that a filter no
 * source could take is a configuration error at FILE:LINE (and `pmirrord -n`
 * says so) rather than a source that never opens.
 */
#include "pmirrord/cap_source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmirrord/errbuf.h"

#define PCAP_PREFIX "pcap:"

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_src(const char *w, struct cap_spec *out, char *err, size_t errlen)
{
    size_t n = strlen(w);
    if (strncmp(w, PCAP_PREFIX, strlen(PCAP_PREFIX)) == 0) {
        const char *file = w + strlen(PCAP_PREFIX);
        if (file[0] == '\0')
            return pm_err(err, errlen, "capture pcap: needs a file name");
        if (strlen(file) >= sizeof(out->src))
            return pm_err(err, errlen, "capture %s: file name longer than %zu bytes", w,
                          sizeof(out->src) - 1);
        out->offline = 1;
        memcpy(out->src, file, strlen(file) + 1);
        return 0;
    }
    /* IFNAMSIZ is 16 with the NUL; '/' and white space are refused by the
     * kernel's dev_valid_name() too. */
    if (n == 0 || n >= 16 || strcmp(w, ".") == 0 || strcmp(w, "..") == 0 || strpbrk(w, "/: \t"))
        return pm_err(err, errlen,
                      "capture \"%.*s\": not an interface name (1-15 characters, no '/', ':' "
                      "or space) nor pcap:FILE",
                      (int)(n > 64 ? 64 : n), w);
    memcpy(out->src, w, n + 1);
    return 0;
}

/* The filter compiles for at least one link type a source may have. */
static int filter_check(const char *src, const struct cap_spec *spec, char *err, size_t errlen)
{
    static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW};
    char why[PCAP_ERRBUF_SIZE + 64] = "";
    for (size_t i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++) {
        pcap_t *p = pcap_open_dead(dlts[i], CAP_SNAPLEN_MAX);
        struct bpf_program prog;
        if (p == NULL)
            return pm_err(err, errlen, "capture %s: filter: out of memory", src);
        int rc = pcap_compile(p, &prog, spec->filter, 1, PCAP_NETMASK_UNKNOWN);
        if (rc == 0)
            pcap_freecode(&prog);
        else if (why[0] == '\0')
            snprintf(why, sizeof(why), "%s", pcap_geterr(p));
        pcap_close(p);
        if (rc == 0)
            return 0;
    }
    return pm_err(err, errlen, "capture %s: filter \"%.200s\": %s", src, spec->filter, why);
}

int cap_spec_parse(const char *const *words, int nwords, struct cap_spec *out, char *err,
                   size_t errlen)
{
    int have_buffer = 0, have_snaplen = 0, have_filter = 0, have_role = 0, have_pace = 0;
    unsigned long v;

    memset(out, 0, sizeof(*out));
    if (nwords < 1)
        return pm_err(err, errlen, "capture needs a source: an interface name or pcap:FILE");
    if (parse_src(words[0], out, err, errlen) < 0)
        return -1;
    const char *src = words[0];
    out->role = CAP_ROLE_BOTH;
    out->pace = CAP_PACE_FAST;

    for (int i = 1; i < nwords; i += 2) {
        const char *key = words[i];
        const char *val = i + 1 < nwords ? words[i + 1] : NULL;
        if (strcmp(key, "buffer") && strcmp(key, "snaplen") && strcmp(key, "filter") &&
            strcmp(key, "role") && strcmp(key, "pace"))
            return pm_err(err, errlen,
                          "capture %s: unknown option \"%.64s\" (buffer, snaplen, filter, role, "
                          "pace)",
                          src, key);
        if (val == NULL)
            return pm_err(err, errlen, "capture %s: %s needs a value", src, key);
        if (!strcmp(key, "buffer")) {
            if (have_buffer++)
                return pm_err(err, errlen, "capture %s: buffer given twice", src);
            if (parse_uint(val, 1, CAP_BUFFER_MIB_MAX, &v) < 0)
                return pm_err(err, errlen, "capture %s: buffer \"%.32s\" is not 1..%u MiB", src,
                              val, CAP_BUFFER_MIB_MAX);
            out->buffer_mib = (unsigned)v;
        } else if (!strcmp(key, "snaplen")) {
            if (have_snaplen++)
                return pm_err(err, errlen, "capture %s: snaplen given twice", src);
            if (parse_uint(val, CAP_SNAPLEN_MIN, CAP_SNAPLEN_MAX, &v) < 0)
                return pm_err(err, errlen, "capture %s: snaplen \"%.32s\" is not %u..%u", src, val,
                              CAP_SNAPLEN_MIN, CAP_SNAPLEN_MAX);
            out->snaplen = (unsigned)v;
        } else if (!strcmp(key, "filter")) {
            if (have_filter++)
                return pm_err(err, errlen, "capture %s: filter given twice", src);
            if (strlen(val) >= sizeof(out->filter))
                return pm_err(err, errlen, "capture %s: filter longer than %zu bytes", src,
                              sizeof(out->filter) - 1);
            memcpy(out->filter, val, strlen(val) + 1);
        } else if (!strcmp(key, "role")) {
            if (have_role++)
                return pm_err(err, errlen, "capture %s: role given twice", src);
            if (!strcmp(val, "signalling"))
                out->role = CAP_ROLE_SIGNALLING;
            else if (!strcmp(val, "data"))
                out->role = CAP_ROLE_DATA;
            else if (!strcmp(val, "both"))
                out->role = CAP_ROLE_BOTH;
            else
                return pm_err(err, errlen,
                              "capture %s: role \"%.32s\" is not signalling, data or both", src,
                              val);
        } else {
            if (have_pace++)
                return pm_err(err, errlen, "capture %s: pace given twice", src);
            if (!out->offline)
                return pm_err(err, errlen, "capture %s: pace is for pcap:FILE sources only", src);
            if (!strcmp(val, "recorded"))
                out->pace = CAP_PACE_RECORDED;
            else if (!strcmp(val, "fast"))
                out->pace = CAP_PACE_FAST;
            else
                return pm_err(err, errlen, "capture %s: pace \"%.32s\" is not recorded or fast",
                              src, val);
        }
    }
    if (out->filter[0] != '\0' && filter_check(src, out, err, errlen) < 0)
        return -1;
    if (out->offline && have_buffer)
        return pm_err(err, errlen, "capture %s: buffer is for interfaces, not pcap files", src);
    if (!have_buffer)
        out->buffer_mib =
            out->role == CAP_ROLE_SIGNALLING ? CAP_BUFFER_MIB_SIGNALLING : CAP_BUFFER_MIB_DATA;
    if (!have_snaplen)
        out->snaplen = out->role == CAP_ROLE_SIGNALLING ? CAP_SNAPLEN_SIGNALLING : CAP_SNAPLEN_DATA;
    return 0;
}

const char *cap_role_name(enum cap_role role)
{
    switch (role) {
    case CAP_ROLE_SIGNALLING:
        return "signalling";
    case CAP_ROLE_DATA:
        return "data";
    case CAP_ROLE_BOTH:
        return "both";
    }
    return "?";
}

const char *cap_state_name(enum cap_state state)
{
    switch (state) {
    case CAP_STATE_INIT:
        return "init";
    case CAP_STATE_UP:
        return "up";
    case CAP_STATE_DOWN:
        return "down";
    case CAP_STATE_MISSING:
        return "missing";
    case CAP_STATE_EOF:
        return "eof";
    }
    return "?";
}

const char *cap_cause_name(enum cap_cause cause)
{
    static const char *const names[] = {
        [CAP_CAUSE_NONE] = "none",         [CAP_CAUSE_OPENED] = "opened",
        [CAP_CAUSE_ABSENT] = "absent",     [CAP_CAUSE_NOT_UP] = "not-up",
        [CAP_CAUSE_DELETED] = "deleted",   [CAP_CAUSE_ERROR] = "error",
        [CAP_CAUSE_REPLACED] = "replaced", [CAP_CAUSE_GONE] = "gone",
        [CAP_CAUSE_END] = "end",
    };
    if ((unsigned)cause < sizeof(names) / sizeof(names[0]) && names[cause] != NULL)
        return names[cause];
    return "?";
}

void cap_spec_format(const struct cap_spec *spec, char *buf, size_t buflen)
{
    int n;
    if (spec->offline)
        n = snprintf(buf, buflen, "capture pcap:%s snaplen %u", spec->src, spec->snaplen);
    else
        n = snprintf(buf, buflen, "capture %s buffer %u snaplen %u", spec->src, spec->buffer_mib,
                     spec->snaplen);
    if (n < 0 || (size_t)n >= buflen)
        return;
    if (spec->filter[0])
        n += snprintf(buf + n, buflen - (size_t)n, " filter \"%s\"", spec->filter);
    if (n < 0 || (size_t)n >= buflen)
        return;
    n += snprintf(buf + n, buflen - (size_t)n, " role %s", cap_role_name(spec->role));
    if (spec->offline && spec->pace == CAP_PACE_RECORDED && n > 0 && (size_t)n < buflen)
        snprintf(buf + n, buflen - (size_t)n, " pace recorded");
}
