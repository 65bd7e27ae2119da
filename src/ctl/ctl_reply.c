/*
 * ctl_reply.c - reply items of control commands, rendered as text or JSON
 * (RFC 8259).  kv = key/value pair.
 *
 * Names are written "[#?]json_key|Text heading" (see ctl_server.h): text shows
 * the heading, JSON the key; '#' marks a number, '?' a boolean.
 */
#include "ctl_reply.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define MAX_COLS 32 /* columns of one table */

enum item_kind { IT_TEXT, IT_KV, IT_KVINT, IT_KVBOOL, IT_TABLE };
enum val_type { VT_STR, VT_NUM, VT_BOOL };

/* A parsed name: JSON key, text heading (both point into one allocation). */
struct name {
    char *json;
    const char *label;
    enum val_type type;
};

struct reply_item {
    enum item_kind kind;
    struct name key; /* kv key, table name */
    char *val;       /* text, kv value (text form) */
    long long num;
    struct name *cols; /* table: ncols names */
    size_t ncols;
    char **cells; /* table: nrows * ncols values */
    size_t nrows, rowcap;
};

/* ---- sbuf ---- */

void sbuf_add(struct sbuf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = malloc(cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        if (b->p) {
            memcpy(p, b->p, b->len);
            OPENSSL_cleanse(b->p, b->cap);
            free(b->p);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sbuf_addstr(struct sbuf *b, const char *s)
{
    sbuf_add(b, s, strlen(s));
}

static void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap) PM_PRINTF(2, 0);
static void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(small, sizeof small, fmt, aq);
    va_end(aq);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        sbuf_add(b, small, (size_t)n);
        OPENSSL_cleanse(small, sizeof small);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        b->oom = 1;
        return;
    }
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    sbuf_add(b, big, (size_t)n);
    OPENSSL_cleanse(big, (size_t)n);
    free(big);
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Length of a valid UTF-8 sequence at s (RFC 3629 §4), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void sbuf_json_str(struct sbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    sbuf_add(b, "\"", 1);
    while (*p) {
        size_t n = utf8_len(p);
        if (n == 0) {
            sbuf_addstr(b, "\\ufffd");
            p++;
        } else if (*p == '"' || *p == '\\') {
            sbuf_add(b, "\\", 1);
            sbuf_add(b, p++, 1);
        } else if (*p == '\n') {
            sbuf_addstr(b, "\\n");
            p++;
        } else if (*p == '\t') {
            sbuf_addstr(b, "\\t");
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            sbuf_printf(b, "\\u%04x", *p++);
        } else {
            sbuf_add(b, p, n);
            p += n;
        }
    }
    sbuf_add(b, "\"", 1);
}

void sbuf_free(struct sbuf *b)
{
    if (b->p) {
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    memset(b, 0, sizeof *b);
}

/* ---- items ---- */

static char *wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
    return NULL;
}

void ctl_reply_init(struct ctl_reply *r, int json)
{
    memset(r, 0, sizeof *r);
    r->json = json;
}

void ctl_reply_clear(struct ctl_reply *r)
{
    for (size_t i = 0; i < r->nitems; i++) {
        struct reply_item *it = &r->items[i];
        wipe_free(it->key.json);
        wipe_free(it->val);
        for (size_t c = 0; c < it->ncols; c++)
            wipe_free(it->cols[c].json);
        for (size_t c = 0; c < it->nrows * it->ncols; c++)
            wipe_free(it->cells[c]);
        free(it->cols);
        free(it->cells);
    }
    free(r->items);
    wipe_free(r->error);
    int json = r->json;
    ctl_reply_init(r, json);
}

int ctl_reply_is_json(const struct ctl_reply *r)
{
    return r->json;
}

const struct ctl_peer *ctl_reply_peer(const struct ctl_reply *r)
{
    return &r->peer;
}

static struct reply_item *new_item(struct ctl_reply *r, enum item_kind kind)
{
    if (r->oom)
        return NULL;
    if (r->nitems == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct reply_item *n = realloc(r->items, cap * sizeof *n);
        if (n == NULL) {
            r->oom = 1;
            return NULL;
        }
        r->items = n;
        r->cap = cap;
    }
    struct reply_item *it = &r->items[r->nitems++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    return it;
}

static char *vfmt(struct ctl_reply *r, const char *fmt, va_list ap) PM_PRINTF(2, 0);
static char *vfmt(struct ctl_reply *r, const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        r->oom = 1;
        return NULL;
    }
    return s;
}

static char *xdup(struct ctl_reply *r, const char *s)
{
    char *d = strdup(s ? s : "");
    if (d == NULL)
        r->oom = 1;
    return d;
}

/* "[#?]json_key|Heading" or "[#?]key" (the key is the heading too). */
static int parse_name(struct ctl_reply *r, const char *spec, struct name *n)
{
    n->type = VT_STR;
    if (spec[0] == '#' || spec[0] == '?') {
        n->type = spec[0] == '#' ? VT_NUM : VT_BOOL;
        spec++;
    }
    n->json = xdup(r, spec);
    if (n->json == NULL)
        return -1;
    char *bar = strchr(n->json, '|');
    n->label = n->json;
    if (bar != NULL) {
        *bar = '\0';
        n->label = bar + 1;
    }
    return 0;
}

void ctl_reply_printf(struct ctl_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vfmt(r, fmt, ap);
    va_end(ap);
    struct reply_item *it = s ? new_item(r, IT_TEXT) : NULL;
    if (it == NULL) {
        wipe_free(s);
        return;
    }
    it->val = s;
}

void ctl_reply_kv(struct ctl_reply *r, const char *key, const char *fmt, ...)
{
    va_list ap;
    struct name k = {0};
    va_start(ap, fmt);
    char *s = vfmt(r, fmt, ap);
    va_end(ap);
    struct reply_item *it = s && parse_name(r, key, &k) == 0 ? new_item(r, IT_KV) : NULL;
    if (it == NULL) {
        wipe_free(s);
        wipe_free(k.json);
        return;
    }
    it->key = k;
    it->val = s;
}

void ctl_reply_kv_int(struct ctl_reply *r, const char *key, long long v)
{
    struct name k = {0};
    struct reply_item *it = parse_name(r, key, &k) == 0 ? new_item(r, IT_KVINT) : NULL;
    if (it == NULL) {
        wipe_free(k.json);
        return;
    }
    it->key = k;
    it->num = v;
}

void ctl_reply_kv_bool(struct ctl_reply *r, const char *key, int v, const char *text_true,
                       const char *text_false)
{
    struct name k = {0};
    char *s = xdup(r, v ? text_true : text_false);
    struct reply_item *it = s && parse_name(r, key, &k) == 0 ? new_item(r, IT_KVBOOL) : NULL;
    if (it == NULL) {
        wipe_free(s);
        wipe_free(k.json);
        return;
    }
    it->key = k;
    it->val = s;
    it->num = v != 0;
}

void ctl_reply_table(struct ctl_reply *r, const char *name, ...)
{
    va_list ap;
    size_t n = 0;
    va_start(ap, name);
    while (va_arg(ap, const char *) != NULL)
        n++;
    va_end(ap);
    n = n < MAX_COLS ? n : MAX_COLS;
    struct name k = {0};
    struct name *cols = parse_name(r, name, &k) == 0 ? calloc(n ? n : 1, sizeof *cols) : NULL;
    struct reply_item *it = cols ? new_item(r, IT_TABLE) : NULL;
    if (it == NULL) {
        r->oom = 1;
        free(cols);
        wipe_free(k.json);
        return;
    }
    it->key = k;
    it->cols = cols;
    va_start(ap, name);
    for (size_t i = 0; i < n; i++) {
        if (parse_name(r, va_arg(ap, const char *), &cols[i]) < 0)
            break;
        it->ncols++;
    }
    va_end(ap);
}

void ctl_reply_row(struct ctl_reply *r, ...)
{
    struct reply_item *it = r->nitems ? &r->items[r->nitems - 1] : NULL;
    if (r->oom || it == NULL || it->kind != IT_TABLE || it->ncols == 0)
        return; /* a row without a table: a handler bug, dropped */
    if (it->nrows == it->rowcap) {
        size_t cap = it->rowcap ? it->rowcap * 2 : 8;
        char **c = realloc(it->cells, cap * it->ncols * sizeof *c);
        if (c == NULL) {
            r->oom = 1;
            return;
        }
        it->cells = c;
        it->rowcap = cap;
    }
    char **row = &it->cells[it->nrows * it->ncols];
    va_list ap;
    va_start(ap, r);
    const char *v = "";
    for (size_t i = 0; i < it->ncols; i++) {
        if (v != NULL)
            v = va_arg(ap, const char *);
        row[i] = xdup(r, v);
    }
    va_end(ap);
    it->nrows++;
}

void ctl_reply_error(struct ctl_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vfmt(r, fmt, ap);
    va_end(ap);
    wipe_free(r->error);
    r->error = s;
    r->failed = 1;
}

/* ---- rendering ---- */

static void pad(struct sbuf *b, size_t n)
{
    static const char sp[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
        sbuf_add(b, sp, k);
        n -= k;
    }
}

static void render_table_text(const struct reply_item *it, struct sbuf *out)
{
    size_t w[MAX_COLS];
    size_t nc = it->ncols;
    for (size_t c = 0; c < nc; c++) {
        w[c] = strlen(it->cols[c].label);
        for (size_t row = 0; row < it->nrows; row++) {
            size_t l = strlen(it->cells[row * it->ncols + c]);
            w[c] = l > w[c] ? l : w[c];
        }
    }
    for (size_t row = 0; row < it->nrows + 2; row++) {
        for (size_t c = 0; c < nc; c++) {
            const char *v = row == 0   ? it->cols[c].label
                            : row == 1 ? NULL
                                       : it->cells[(row - 2) * it->ncols + c];
            size_t l;
            if (v == NULL) {
                for (l = 0; l < w[c]; l++)
                    sbuf_add(out, "-", 1);
            } else {
                l = strlen(v);
                sbuf_addstr(out, v);
            }
            if (c + 1 < nc)
                pad(out, w[c] - l + 2);
        }
        sbuf_add(out, "\n", 1);
    }
}

static void render_text(const struct ctl_reply *r, struct sbuf *out)
{
    for (size_t i = 0; i < r->nitems; i++) {
        const struct reply_item *it = &r->items[i];
        if (it->kind == IT_TEXT) {
            sbuf_addstr(out, it->val);
        } else if (it->kind == IT_TABLE) {
            render_table_text(it, out);
        } else {
            /* align the keys of a run of kv items */
            size_t w = 0, j;
            for (j = i;
                 j < r->nitems && r->items[j].kind != IT_TEXT && r->items[j].kind != IT_TABLE;
                 j++) {
                size_t l = strlen(r->items[j].key.label);
                w = l > w ? l : w;
            }
            for (; i < j; i++) {
                it = &r->items[i];
                sbuf_printf(out, "%s:", it->key.label);
                pad(out, w - strlen(it->key.label) + 1);
                if (it->kind == IT_KV || it->kind == IT_KVBOOL)
                    sbuf_printf(out, "%s\n", it->val);
                else
                    sbuf_printf(out, "%lld\n", it->num);
            }
            i--;
        }
    }
}

/*
 * A JSON value of the given type from a value's text: a number is the
 * integer the text begins with ("3 - error" gives 3), a boolean is true for
 * "true"; text that does not fit becomes null.
 */
static void json_value(struct sbuf *out, enum val_type t, const char *v)
{
    if (t == VT_STR) {
        sbuf_json_str(out, v);
    } else if (t == VT_BOOL) {
        sbuf_addstr(out, strcmp(v, "true") == 0    ? "true"
                         : strcmp(v, "false") == 0 ? "false"
                                                   : "null");
    } else {
        size_t n = v[0] == '-' ? 1 : 0;
        size_t d = strspn(v + n, "0123456789");
        if (d == 0 || d > 20 || (v[n] == '0' && d > 1) || (v[n + d] != '\0' && v[n + d] != ' '))
            sbuf_addstr(out, "null");
        else
            sbuf_add(out, v, n + d);
    }
}

static void render_json(const struct ctl_reply *r, const char *status_word, struct sbuf *out)
{
    sbuf_addstr(out, "{\"status\":");
    sbuf_json_str(out, status_word);
    int ntext = 0;
    for (size_t i = 0; i < r->nitems; i++) {
        const struct reply_item *it = &r->items[i];
        if (it->kind == IT_TEXT) {
            ntext++;
            continue;
        }
        sbuf_add(out, ",", 1);
        sbuf_json_str(out, it->key.json);
        sbuf_add(out, ":", 1);
        if (it->kind == IT_KV) {
            json_value(out, it->key.type, it->val);
        } else if (it->kind == IT_KVINT) {
            sbuf_printf(out, "%lld", it->num);
        } else if (it->kind == IT_KVBOOL) {
            sbuf_addstr(out, it->num ? "true" : "false");
        } else {
            sbuf_add(out, "[", 1);
            for (size_t row = 0; row < it->nrows; row++) {
                sbuf_addstr(out, row ? ",{" : "{");
                for (size_t c = 0; c < it->ncols; c++) {
                    if (c)
                        sbuf_add(out, ",", 1);
                    sbuf_json_str(out, it->cols[c].json);
                    sbuf_add(out, ":", 1);
                    json_value(out, it->cols[c].type, it->cells[row * it->ncols + c]);
                }
                sbuf_add(out, "}", 1);
            }
            sbuf_add(out, "]", 1);
        }
    }
    if (ntext) {
        struct sbuf t = {0};
        for (size_t i = 0; i < r->nitems; i++)
            if (r->items[i].kind == IT_TEXT)
                sbuf_addstr(&t, r->items[i].val);
        sbuf_addstr(out, ",\"text\":");
        if (t.oom)
            out->oom = 1;
        else
            sbuf_json_str(out, t.p);
        sbuf_free(&t);
    }
    sbuf_addstr(out, "}\n");
}

void ctl_reply_render_error(int json, const char *status_word, const char *msg, struct sbuf *out)
{
    if (json) {
        sbuf_addstr(out, "{\"status\":");
        sbuf_json_str(out, status_word);
        sbuf_addstr(out, ",\"error\":");
        sbuf_json_str(out, msg);
        sbuf_addstr(out, "}\n");
    } else {
        sbuf_printf(out, "%% %s\n", msg);
    }
}

void ctl_reply_render(const struct ctl_reply *r, const char *status_word, struct sbuf *out)
{
    if (r->oom) {
        ctl_reply_render_error(r->json, "error", "Out of memory.", out);
    } else if (r->failed) {
        ctl_reply_render_error(r->json, "error", r->error ? r->error : "Command failed.", out);
    } else if (r->json) {
        render_json(r, status_word, out);
    } else {
        render_text(r, out);
    }
}
