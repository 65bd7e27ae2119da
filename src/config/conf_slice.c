/*
 * conf_slice.c - a child's part of the configuration, as CONFIG records
 * (see conf_slice.h, docs/process-model.md "Configuration slices").
 */
#include "pmirrord/conf_slice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "pmirrord/conf.h"
#include "pmirrord/conf_mirror.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/ipc.h"

struct slice_line {
    uint32_t no;
    size_t len;
    char *text;
    char key[IPC_NAME_MAX + 1]; /* sender: the directive as the table spells it */
};

struct conf_slice {
    char name[PM_PATH_MAX];
    int begun, complete;
    struct slice_line *v;
    size_t n, cap;
    size_t bytes;  /* text held, all lines */
    unsigned dest; /* conf_slice_set_dest(): only these directives (0: any known one) */
};

struct conf_slice *conf_slice_new(void)
{
    return calloc(1, sizeof(struct conf_slice));
}

void conf_slice_set_dest(struct conf_slice *s, unsigned dest)
{
    s->dest = dest;
}

void conf_slice_free(struct conf_slice *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        OPENSSL_cleanse(s->v[i].text, s->v[i].len);
        free(s->v[i].text);
    }
    free(s->v);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

int conf_slice_add(struct conf_slice *s, uint32_t line, const char *text, size_t len, char *err,
                   size_t errlen)
{
    if (line == 0 || line > CONF_SLICE_LINES_MAX)
        return pm_err(err, errlen, "configuration line number %u out of range 1..%u",
                      (unsigned)line, CONF_SLICE_LINES_MAX);
    if (s->n > 0 && line <= s->v[s->n - 1].no)
        return pm_err(err, errlen, "configuration line %u after line %u", (unsigned)line,
                      (unsigned)s->v[s->n - 1].no);
    if (len > IPC_CONFIG_MAX)
        return pm_err(err, errlen, "configuration line %u longer than %u octets", (unsigned)line,
                      IPC_CONFIG_MAX);
    if (memchr(text, '\0', len) != NULL || memchr(text, '\n', len) != NULL ||
        memchr(text, '\r', len) != NULL)
        return pm_err(err, errlen, "configuration line %u holds a NUL or a line end",
                      (unsigned)line);
    if (s->bytes + len > CONF_SLICE_BYTES_MAX)
        return pm_err(err, errlen, "configuration slice longer than %u octets",
                      CONF_SLICE_BYTES_MAX);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct slice_line *v = realloc(s->v, cap * sizeof(*v)); /* pointers only: no secret */
        if (v == NULL)
            return pm_err(err, errlen, "out of memory");
        s->v = v;
        s->cap = cap;
    }
    char *t = malloc(len + 1);
    if (t == NULL)
        return pm_err(err, errlen, "out of memory");
    memcpy(t, text, len);
    t[len] = '\0';
    s->v[s->n++] = (struct slice_line){.no = line, .len = len, .text = t};
    s->bytes += len;
    return 0;
}

int conf_slice_line_for(unsigned dest, const char *key, const char *text)
{
    unsigned d = conf_directive_dest(key);
    if (d == 0 || (dest != 0 && (d & dest) == 0))
        return 0;
    /* the key is the line's own directive: a line cannot travel under
     * another process's directive name */
    const char *v = text + strspn(text, " \t");
    size_t klen = strlen(key);
    return strncasecmp(v, key, klen) == 0 && (v[klen] == ' ' || v[klen] == '\t');
}

int conf_slice_rec(struct conf_slice *s, const struct ipc_rec *rec, char *err, size_t errlen)
{
    if (rec->type != IPC_CONFIG)
        return 0;
    const struct ipc_config *cf = &rec->u.config;
    if (s->complete)
        return pm_err(err, errlen, "CONFIG record after the slice's END");
    if (rec->flags & IPC_F_BEGIN) {
        if (s->begun)
            return pm_err(err, errlen, "a second CONFIG BEGIN record");
        if (strcmp(cf->key, CONF_SLICE_KEY_FILE) != 0 || cf->value[0] == '\0' ||
            strlen(cf->value) >= sizeof(s->name) || strchr(cf->value, '\t') != NULL)
            return pm_err(err, errlen, "CONFIG BEGIN record without a usable file name");
        memcpy(s->name, cf->value, strlen(cf->value) + 1);
        s->begun = 1;
    } else if (!s->begun) {
        return pm_err(err, errlen, "CONFIG record before BEGIN");
    } else if (!(rec->flags & IPC_F_END) && strcmp(cf->key, CONF_SLICE_KEY_PORTS) == 0) {
        return 0; /* the capture process's (cap_slice.c); nothing to parse here */
    } else if (!(rec->flags & IPC_F_END)) {
        unsigned d = conf_directive_dest(cf->key);
        if (d == 0)
            return pm_err(err, errlen, "%s:%u: a CONFIG record for an unknown directive", s->name,
                          (unsigned)cf->line);
        if (!conf_slice_line_for(s->dest, cf->key, cf->value))
            return pm_err(err, errlen, "%s:%u: a CONFIG record for %s, not this process's", s->name,
                          (unsigned)cf->line, cf->key);
        if (conf_slice_add(s, cf->line, cf->value, strlen(cf->value), err, errlen) < 0)
            return -1;
    }
    if (rec->flags & IPC_F_END) {
        if (strcmp(cf->key, CONF_SLICE_KEY_END) != 0 && !(rec->flags & IPC_F_BEGIN))
            return pm_err(err, errlen, "CONFIG END record with key other than \"end\"");
        s->complete = 1;
        return 1;
    }
    return 0;
}

int conf_slice_complete(const struct conf_slice *s)
{
    return s->complete;
}

const char *conf_slice_name(const struct conf_slice *s)
{
    return s->name;
}

size_t conf_slice_lines(const struct conf_slice *s)
{
    return s->n;
}

int conf_slice_load(const struct conf_slice *s, const char *name, struct pm_conf *c, char *err,
                    size_t errlen)
{
    if (name == NULL)
        name = s->name[0] != '\0' ? s->name : "(configuration)";
    /* Every line at its number: blank lines for those of the other process. */
    size_t last = s->n > 0 ? s->v[s->n - 1].no : 0;
    size_t cap = s->bytes + last + 1, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        conf_defaults(c);
        return pm_err(err, errlen, "%s: out of memory", name);
    }
    uint32_t at = 1;
    for (size_t i = 0; i < s->n; i++) {
        for (; at < s->v[i].no; at++)
            buf[len++] = '\n';
        memcpy(buf + len, s->v[i].text, s->v[i].len);
        len += s->v[i].len;
        buf[len++] = '\n';
        at++;
    }
    int q = conf_set_quiet(1); /* the monitor has said it */
    int rc = conf_load_buffer(name, buf, len, c, err, errlen);
    conf_set_quiet(q);
    OPENSSL_cleanse(buf, cap);
    free(buf);
    return rc;
}

/* ---- sender (the monitor) ------------------------------------------------ */

struct send_ctx {
    struct conf_slice *s;
    unsigned dest;
};

static int collect(void *arg, unsigned dest, int line, const char *directive, const char *text)
{
    struct send_ctx *x = arg;
    char e[128];
    if ((dest & x->dest) == 0)
        return 0;
    if (conf_slice_add(x->s, (uint32_t)line, text, strlen(text), e, sizeof(e)) < 0)
        return -1;
    snprintf(x->s->v[x->s->n - 1].key, sizeof(x->s->v[0].key), "%s", directive);
    return 0;
}

static int put_config(struct ipc_chan *ch, struct ipc_rec *r, uint16_t flags, const char *key,
                      const char *value, uint32_t line, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->type = IPC_CONFIG;
    r->flags = flags;
    snprintf(r->u.config.key, sizeof(r->u.config.key), "%s", key);
    snprintf(r->u.config.value, sizeof(r->u.config.value), "%s", value);
    r->u.config.line = line;
    int rc = ipc_chan_put(ch, r, err, errlen);
    OPENSSL_cleanse(r, sizeof(*r));
    return rc;
}

int conf_slice_send(struct ipc_chan *ch, const char *path, unsigned dest, struct pm_conf *c,
                    char *err, size_t errlen)
{
    struct pm_conf local;
    struct conf_slice *s = conf_slice_new();
    if (s == NULL)
        return pm_err(err, errlen, "out of memory");
    struct send_ctx x = {s, dest};
    struct pm_conf *pc = c != NULL ? c : &local;
    int q = conf_set_quiet(1); /* validated, and warned about, already */
    int lrc = conf_load_lines(path, pc, collect, &x, err, errlen);
    conf_set_quiet(q);
    if (lrc < 0) {
        conf_slice_free(s);
        return -1;
    }
    /* the capture process opens a socket per analyzer port of the rules */
    uint16_t ports[CONF_MIRROR_PORTS_MAX];
    size_t nports = 0;
    for (size_t i = 0; (dest & CONF_DEST_CAPTURE) && i < pc->ntriggers; i++)
        conf_mirror_ports_add(ports, &nports, CONF_MIRROR_PORTS_MAX,
                              pc->triggers[i].rule.analyzer.port);
    if (c == NULL) {
        conf_free(&local);
        OPENSSL_cleanse(&local, sizeof(local)); /* the mirror secret's hash */
    }
    struct ipc_rec *r = malloc(sizeof(*r));
    char why[256];
    int rc = -1;
    if (r == NULL) {
        pm_err(err, errlen, "out of memory");
        goto out;
    }
    if (put_config(ch, r, IPC_F_BEGIN, CONF_SLICE_KEY_FILE, path, 0, why, sizeof(why)) < 0) {
        pm_err(err, errlen, "%s: cannot send the configuration: %s", path, why);
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (put_config(ch, r, 0, s->v[i].key, s->v[i].text, s->v[i].no, why, sizeof(why)) < 0) {
            pm_err(err, errlen, "%s:%u: cannot send the line: %s", path, (unsigned)s->v[i].no, why);
            goto out;
        }
    }
    if (nports > 0) {
        char v[CONF_MIRROR_PORTS_MAX * 6 + 1];
        conf_mirror_ports_format(ports, nports, v, sizeof(v));
        if (put_config(ch, r, 0, CONF_SLICE_KEY_PORTS, v, 0, why, sizeof(why)) < 0) {
            pm_err(err, errlen, "%s: cannot send the analyzer ports: %s", path, why);
            goto out;
        }
    }
    rc = 0;
out:
    free(r);
    conf_slice_free(s);
    if (rc < 0 && c != NULL)
        conf_free(c);
    return rc;
}

int conf_slice_send_end(struct ipc_chan *ch, char *err, size_t errlen)
{
    struct ipc_rec r;
    char why[256];
    if (put_config(ch, &r, IPC_F_END, CONF_SLICE_KEY_END, "", 0, why, sizeof(why)) < 0)
        return pm_err(err, errlen, "cannot send the configuration's end: %s", why);
    return 0;
}
