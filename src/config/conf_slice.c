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
#include <openssl/sha.h>

#include "pmirrord/conf.h"
#include "pmirrord/conf_mirror.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/ipc.h"

struct slice_line {
    uint32_t no;
    size_t len;
    char *text;
    char key[IPC_NAME_MAX + 1];  /* sender: the directive as the table spells it */
    unsigned dest;               /* sender: enum conf_dest bits */
    uint8_t dg[CONF_DIGEST_LEN]; /* SHA-256 of text */
};

struct conf_slice {
    char name[PM_PATH_MAX];
    int begun, complete;
    struct slice_line *v;
    size_t n, cap;
    size_t bytes;  /* text held, all lines */
    unsigned dest; /* conf_slice_set_dest(): only these directives (0: any known one) */
    const struct conf_slice *running; /* conf_slice_set_running(): a reload slice */
    size_t same;                      /* lines resolved from a SAME record */
    char *arena;                      /* conf_slice_set_arena(): the lines' text there */
    size_t arena_len, arena_used;
    int has_ports; /* the capture slice's CONF_SLICE_KEY_PORTS line */
    char ports[CONF_MIRROR_PORTS_MAX * 6 + 1];
};

void conf_line_digest(const char *text, size_t len, uint8_t out[CONF_DIGEST_LEN])
{
    SHA256((const unsigned char *)text, len, out);
}

void conf_digests_free(struct conf_digests *cd)
{
    if (cd == NULL)
        return;
    free(cd->d); /* digests only: no secret */
    cd->d = NULL;
    cd->n = 0;
}

int conf_digests_equal(const struct conf_digests *a, const struct conf_digests *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->d, b->d, a->n * CONF_DIGEST_LEN) == 0);
}

void conf_digest_hex(const uint8_t d[CONF_DIGEST_LEN], char out[CONF_DIGEST_LEN * 2 + 1])
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < CONF_DIGEST_LEN; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[CONF_DIGEST_LEN * 2] = '\0';
}

/* Lowercase hex only, exactly 64 digits.  0, or -1. */
static int digest_unhex(const char *hex, uint8_t out[CONF_DIGEST_LEN])
{
    if (strlen(hex) != CONF_DIGEST_LEN * 2)
        return -1;
    for (size_t i = 0; i < CONF_DIGEST_LEN * 2; i++) {
        char c = hex[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return 0;
}

int conf_slice_set_arena(struct conf_slice *s, void *arena, size_t len)
{
    if (s->n > 0)
        return -1;
    s->arena = arena;
    s->arena_len = len;
    s->arena_used = 0;
    return 0;
}

void conf_slice_set_running(struct conf_slice *s, const struct conf_slice *running)
{
    s->running = running;
}

int conf_slice_is_reload(const struct conf_slice *s)
{
    return s->running != NULL;
}

size_t conf_slice_same(const struct conf_slice *s)
{
    return s->same;
}

const char *conf_slice_ports(const struct conf_slice *s)
{
    return s->has_ports ? s->ports : NULL;
}

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
        if (s->arena == NULL)
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
    char *t;
    if (s->arena != NULL) {
        if (s->arena_len - s->arena_used < len + 1)
            return pm_err(err, errlen, "configuration slice longer than the %zu octets kept for it",
                          s->arena_len);
        t = s->arena + s->arena_used;
        s->arena_used += len + 1;
    } else if ((t = malloc(len + 1)) == NULL) {
        return pm_err(err, errlen, "out of memory");
    }
    memcpy(t, text, len);
    t[len] = '\0';
    s->v[s->n] = (struct slice_line){.no = line, .len = len, .text = t};
    conf_line_digest(t, len, s->v[s->n].dg);
    s->n++;
    s->bytes += len;
    return 0;
}

int conf_slice_copy(struct conf_slice *dst, const struct conf_slice *src, char *err, size_t errlen)
{
    snprintf(dst->name, sizeof(dst->name), "%s", src->name);
    for (size_t i = 0; i < src->n; i++)
        if (conf_slice_add(dst, src->v[i].no, src->v[i].text, src->v[i].len, err, errlen) < 0)
            return -1;
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

/* A SAME record: the text of the running line with that digest, under its own
 * directive, at the record's line number. */
static int same_line(struct conf_slice *s, const struct ipc_config *cf, char *err, size_t errlen)
{
    uint8_t d[CONF_DIGEST_LEN];
    if (digest_unhex(cf->value, d) < 0)
        return pm_err(err, errlen, "%s:%u: a CONFIG SAME record without a SHA-256 in hex", s->name,
                      (unsigned)cf->line);
    const struct slice_line *hit = NULL;
    for (size_t i = 0; i < s->running->n && hit == NULL; i++)
        if (memcmp(s->running->v[i].dg, d, CONF_DIGEST_LEN) == 0)
            hit = &s->running->v[i];
    if (hit == NULL)
        return pm_err(err, errlen,
                      "%s:%u: an unchanged line (SAME) whose text this process does not hold",
                      s->name, (unsigned)cf->line);
    if (!conf_slice_line_for(s->dest, cf->key, hit->text))
        return pm_err(err, errlen, "%s:%u: a CONFIG SAME record for %s, not that line's directive",
                      s->name, (unsigned)cf->line, cf->key);
    if (conf_slice_add(s, cf->line, hit->text, hit->len, err, errlen) < 0)
        return -1;
    s->same++;
    return 0;
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
        const char *want = s->running != NULL ? CONF_SLICE_KEY_RELOAD : CONF_SLICE_KEY_FILE;
        if (strcmp(cf->key, want) != 0 || cf->value[0] == '\0' ||
            strlen(cf->value) >= sizeof(s->name) || strchr(cf->value, '\t') != NULL)
            return pm_err(err, errlen,
                          "CONFIG BEGIN record without key \"%s\" and a usable file name", want);
        memcpy(s->name, cf->value, strlen(cf->value) + 1);
        s->begun = 1;
    } else if (!s->begun) {
        return pm_err(err, errlen, "CONFIG record before BEGIN");
    } else if ((rec->flags & IPC_F_SAME) && (s->running == NULL || (rec->flags & IPC_F_END))) {
        return pm_err(err, errlen, "%s:%u: a CONFIG SAME record outside a reload slice", s->name,
                      (unsigned)cf->line);
    } else if (!(rec->flags & IPC_F_END) && strcmp(cf->key, CONF_SLICE_KEY_PORTS) == 0) {
        /* the capture process's analyzer ports (cap_slice.c): kept as they came */
        if (s->has_ports || (rec->flags & IPC_F_SAME) || strlen(cf->value) >= sizeof(s->ports))
            return pm_err(err, errlen, "a CONFIG %s record twice, or too long",
                          CONF_SLICE_KEY_PORTS);
        memcpy(s->ports, cf->value, strlen(cf->value) + 1);
        s->has_ports = 1;
        return 0;
    } else if (rec->flags & IPC_F_SAME) {
        return same_line(s, cf, err, errlen);
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

static int collect(void *arg, unsigned dest, int line, const char *directive, const char *text)
{
    struct conf_slice *s = arg;
    char e[128];
    if (conf_slice_add(s, (uint32_t)line, text, strlen(text), e, sizeof(e)) < 0)
        return -1;
    snprintf(s->v[s->n - 1].key, sizeof(s->v[0].key), "%s", directive);
    s->v[s->n - 1].dest = dest;
    return 0;
}

struct conf_slice *conf_slice_read(const char *path, struct pm_conf *c, char *err, size_t errlen)
{
    struct conf_slice *s = conf_slice_new();
    if (s == NULL) {
        pm_err(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(s->name, sizeof(s->name), "%s", path);
    int q = conf_set_quiet(1); /* validated, and warned about, already */
    int lrc = conf_load_lines(path, c, collect, s, err, errlen);
    conf_set_quiet(q);
    if (lrc < 0) {
        conf_slice_free(s);
        return NULL;
    }
    /* the capture process opens a socket per analyzer port of the rules */
    uint16_t ports[CONF_MIRROR_PORTS_MAX];
    size_t nports = 0;
    for (size_t i = 0; i < c->ntriggers; i++)
        conf_mirror_ports_add(ports, &nports, CONF_MIRROR_PORTS_MAX,
                              c->triggers[i].rule.analyzer.port);
    if (nports > 0) {
        conf_mirror_ports_format(ports, nports, s->ports, sizeof(s->ports));
        s->has_ports = 1;
    }
    return s;
}

/* The ports line's digest: its key and value (never sent as SAME). */
static void ports_digest(const struct conf_slice *s, uint8_t out[CONF_DIGEST_LEN])
{
    char t[sizeof(s->ports) + sizeof(CONF_SLICE_KEY_PORTS) + 1];
    snprintf(t, sizeof(t), "%s %s", CONF_SLICE_KEY_PORTS, s->ports);
    conf_line_digest(t, strlen(t), out);
}

int conf_slice_digests(const struct conf_slice *all, unsigned dest, struct conf_digests *out)
{
    size_t n = 0;
    out->d = NULL;
    out->n = 0;
    for (size_t i = 0; i < all->n; i++)
        n += (all->v[i].dest & dest) != 0;
    int ports = (dest & CONF_DEST_CAPTURE) && all->has_ports;
    if (n + (size_t)ports == 0)
        return 0;
    out->d = malloc((n + (size_t)ports) * CONF_DIGEST_LEN);
    if (out->d == NULL)
        return -1;
    for (size_t i = 0; i < all->n; i++)
        if (all->v[i].dest & dest)
            memcpy(out->d[out->n++], all->v[i].dg, CONF_DIGEST_LEN);
    if (ports)
        ports_digest(all, out->d[out->n++]);
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

static int known(const struct conf_digests *prev, const uint8_t d[CONF_DIGEST_LEN])
{
    for (size_t i = 0; prev != NULL && i < prev->n; i++)
        if (memcmp(prev->d[i], d, CONF_DIGEST_LEN) == 0)
            return 1;
    return 0;
}

/* BEGIN (key), the lines of dest (SAME for those whose digest prev holds),
 * the ports line.  nsame (may be NULL) counts the SAME records. */
static int send_lines(struct ipc_chan *ch, const struct conf_slice *s, const char *begin_key,
                      unsigned dest, const struct conf_digests *prev, size_t *nsame, char *err,
                      size_t errlen)
{
    struct ipc_rec *r = malloc(sizeof(*r));
    char why[256], hex[CONF_DIGEST_LEN * 2 + 1];
    int rc = -1;
    if (nsame != NULL)
        *nsame = 0;
    if (r == NULL)
        return pm_err(err, errlen, "out of memory");
    if (put_config(ch, r, IPC_F_BEGIN, begin_key, s->name, 0, why, sizeof(why)) < 0) {
        pm_err(err, errlen, "%s: cannot send the configuration: %s", s->name, why);
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct slice_line *l = &s->v[i];
        if ((l->dest & dest) == 0)
            continue;
        int same = known(prev, l->dg);
        if (same)
            conf_digest_hex(l->dg, hex);
        if (put_config(ch, r, same ? IPC_F_SAME : 0, l->key, same ? hex : l->text, l->no, why,
                       sizeof(why)) < 0) {
            pm_err(err, errlen, "%s:%u: cannot send the line: %s", s->name, (unsigned)l->no, why);
            goto out;
        }
        if (same && nsame != NULL)
            (*nsame)++;
    }
    if ((dest & CONF_DEST_CAPTURE) && s->has_ports &&
        put_config(ch, r, 0, CONF_SLICE_KEY_PORTS, s->ports, 0, why, sizeof(why)) < 0) {
        pm_err(err, errlen, "%s: cannot send the analyzer ports: %s", s->name, why);
        goto out;
    }
    rc = 0;
out:
    free(r);
    return rc;
}

int conf_slice_send_digests(struct ipc_chan *ch, const char *path, unsigned dest, struct pm_conf *c,
                            struct conf_digests *dg, char *err, size_t errlen)
{
    struct pm_conf local;
    struct pm_conf *pc = c != NULL ? c : &local;
    struct conf_slice *s = conf_slice_read(path, pc, err, errlen);
    if (s == NULL)
        return -1;
    if (c == NULL) {
        conf_free(&local);
        OPENSSL_cleanse(&local, sizeof(local)); /* the mirror secret's hash */
    }
    int rc = send_lines(ch, s, CONF_SLICE_KEY_FILE, dest, NULL, NULL, err, errlen);
    if (rc == 0 && dg != NULL && conf_slice_digests(s, dest, dg) < 0)
        rc = pm_err(err, errlen, "out of memory");
    conf_slice_free(s);
    if (rc < 0 && c != NULL)
        conf_free(c);
    return rc;
}

int conf_slice_send(struct ipc_chan *ch, const char *path, unsigned dest, struct pm_conf *c,
                    char *err, size_t errlen)
{
    return conf_slice_send_digests(ch, path, dest, c, NULL, err, errlen);
}

int conf_slice_send_reload(struct ipc_chan *ch, const struct conf_slice *all, unsigned dest,
                           const struct conf_digests *prev, size_t *nsame, char *err, size_t errlen)
{
    if (send_lines(ch, all, CONF_SLICE_KEY_RELOAD, dest, prev, nsame, err, errlen) < 0)
        return -1;
    return conf_slice_send_end(ch, err, errlen);
}

int conf_slice_send_end(struct ipc_chan *ch, char *err, size_t errlen)
{
    struct ipc_rec r;
    char why[256];
    if (put_config(ch, &r, IPC_F_END, CONF_SLICE_KEY_END, "", 0, why, sizeof(why)) < 0)
        return pm_err(err, errlen, "cannot send the configuration's end: %s", why);
    return 0;
}
