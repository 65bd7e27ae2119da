/*
 * cmd_triggers.c - the trigger commands of pmirrorctl (README "pmirrorctl"):
 *
 *   mirror TYPE VALUE analyzer ADDRESS:PORT id MIRROR-ID [...]   (trigger.h)
 *   no mirror TYPE VALUE [id MIRROR-ID]
 *   show mirror triggers
 *   show mirror subscribers [FILTER] [page N]
 *
 * All CTL_F_MIRROR: invisible before mirror-enable.  Every add and removal,
 * and every refusal, is an operator action in the mirror log (which may hold
 * identities); answers name the rule back only to the operator who gave it.
 * `show mirror subscribers` waits on the control thread for the capture
 * process's page, at most SUBSCRIBERS_WAIT_MS.
 */
#include "commands.h"
#include "rtconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "config/conf_lex.h"
#include "pmirrord/conf.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/escape.h"
#include "pmirrord/log.h"
#include "pmirrord/mirrorlog.h"
#include "pmirrord/pm_event.h"

#define SUBSCRIBERS_WAIT_MS 2000
#define SUBSCRIBERS_PAGE    20
#define INTERCEPTS_SHOWN    1000 /* rows of `show mirror triggers` (the reply's size) */
/* Text of one `show mirror triggers` reply: within what memlock.c budgets for
 * a reply (a secure-log page, PAGE_TEXT); rows beyond it are counted. */
#define SHOW_TEXT_MAX (512u * 1024)
#define MAX_WORDS     32
#define LINE_MAX_     1200 /* trig_format() of the longest rule */

static struct pm_commands_ctx tc;

static void trail(const struct ctl_reply *r, const char *action)
{
    const struct ctl_peer *p = ctl_reply_peer(r);
    pm_mirrorlog_operator(p->uid, p->gid, p->pid, action);
}

/* "mirror ..." as the operator typed it (escaped), for the mirror log. */
static void words_text(char *buf, size_t cap, const char *first, const char *second, int argc,
                       char **argv)
{
    char raw[4 * LINE_MAX_];
    size_t n = (size_t)snprintf(raw, sizeof(raw), "%s%s%s", first, second ? " " : "",
                                second ? second : "");
    for (int i = 0; i < argc && n < sizeof(raw); i++)
        n += (size_t)snprintf(raw + n, sizeof(raw) - n, " %s", argv[i]);
    if (n >= sizeof(raw))
        n = sizeof(raw) - 1;
    pm_escape(buf, cap, raw, n);
    OPENSSL_cleanse(raw, sizeof(raw));
}

static void trail_words(const struct ctl_reply *r, const char *first, const char *second, int argc,
                        char **argv, const char *outcome)
{
    char esc[4 * LINE_MAX_], what[4 * LINE_MAX_ + 200];
    words_text(esc, sizeof(esc), first, second, argc, argv);
    snprintf(what, sizeof(what), "%s%s%s", esc, outcome[0] ? " " : "", outcome);
    trail(r, what);
    OPENSSL_cleanse(esc, sizeof(esc));
    OPENSSL_cleanse(what, sizeof(what));
}

/* CliTriggerBasedMirroringFailure for a rule that cannot be applied. */
static void raise_cli_failure(const struct pm_trigger *t, int cause, const char *why)
{
    struct pm_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.trap = PM_TRAP_CLI_FAILURE;
    clock_gettime(CLOCK_REALTIME, &ev.when);
    ev.config_source = t->type == TRIG_INTERFACE ? 3 : 2;
    ev.trigger_type = (int)t->type;
    /* the value as written, cut to the MIB's sizes (the mirror log has it whole) */
    snprintf(ev.trigger, sizeof(ev.trigger), "%.*s", (int)sizeof(ev.trigger) - 1, t->text);
    snprintf(ev.user_name, sizeof(ev.user_name), "%.*s", (int)sizeof(ev.user_name) - 1, t->text);
    ev.mirror_id = t->mirror_id;
    ev.session_id = t->has_session_id ? t->session_id : 0;
    ev.error_cause = cause;
    snprintf(ev.error_string, sizeof(ev.error_string), "%.*s", (int)sizeof(ev.error_string) - 1,
             why);
    snprintf(ev.policy_name, sizeof(ev.policy_name), "spl_%08x", (unsigned)t->mirror_id);
    ev.policy_id = t->mirror_id;
    ev.direction = trig_mib_direction(t->direction);
    if (t->type == TRIG_IP && t->ip_family == 4 && t->ip_plen == 32)
        memcpy(&ev.target_ip, t->ip, 4);
    if (t->analyzer.family == 4)
        memcpy(&ev.analyzer_ip, t->analyzer.addr, 4);
    if (pm_event_raise(&ev) < 0)
        log_warnx("ctl", "a CliTriggerBasedMirroringFailure was dropped: the event queue is full");
    OPENSSL_cleanse(&ev, sizeof(ev));
}

/* Prepends the command's own words to argv (for trig_parse()). */
static int with_words(char **out, const char *a, const char *b, int argc, char **argv)
{
    int n = 0;
    if (argc + 2 > MAX_WORDS)
        return -1;
    out[n++] = (char *)a;
    if (b != NULL)
        out[n++] = (char *)b;
    for (int i = 0; i < argc; i++)
        out[n++] = argv[i];
    out[n] = NULL;
    return n;
}

static int c_mirror(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    char *w[MAX_WORDS + 1], err[300], dup[PM_PATH_MAX + 16];
    struct pm_trigger t;
    int rc = -1;
    if (tc.triggers == NULL) {
        ctl_reply_error(r, "no trigger table: this daemon has no capture process");
        return -1;
    }
    int n = with_words(w, "mirror", NULL, argc, argv);
    if (n < 0) {
        trail_words(r, "mirror", NULL, 0, argv, "refused: too many words");
        ctl_reply_error(r, "mirror: too many words");
        return -1;
    }
    if (trig_parse(&t, n, w, err, sizeof(err)) < 0) {
        trail_words(r, "mirror", NULL, argc, argv, "refused");
        ctl_reply_error(r, "%s", err);
        goto out;
    }
    int a = trig_table_add(tc.triggers, &t, TRIG_WHERE_CTL, dup, sizeof(dup));
    if (a == TRIG_ADD_DUP) {
        trail_words(r, "mirror", NULL, argc, argv, "refused: a duplicate");
        ctl_reply_error(r, "mirror: the same trigger and mirror ID are already defined (%s)", dup);
        goto out;
    }
    if (a == TRIG_ADD_FULL) {
        snprintf(err, sizeof(err), "maxTriggers (%zu) reached", tc.triggers->max);
        trail_words(r, "mirror", NULL, argc, argv, "refused: maxTriggers reached");
        raise_cli_failure(&t, 1 /* noResourcesAvailable */, err);
        ctl_reply_error(r, "mirror: %s; remove a trigger or raise maxTriggers", err);
        goto out;
    }
    if (tc.triggers_changed != NULL)
        tc.triggers_changed(tc.agent_arg);
    char line[LINE_MAX_], esc[4 * LINE_MAX_], what[4 * LINE_MAX_ + 16];
    if (trig_format(&t, line, sizeof(line)) < 0)
        snprintf(line, sizeof(line), "mirror (a rule)");
    pm_escape_text(esc, sizeof(esc), line, strlen(line)); /* its quotes kept */
    snprintf(what, sizeof(what), "%s added", esc);
    trail(r, what);
    ctl_reply_printf(r, "trigger added: %s\n", esc);
    if (rtconf_triggers_changed(err, sizeof(err)) < 0)
        ctl_reply_printf(r, "warning: not kept for the next start: %s\n", err);
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_cleanse(esc, sizeof(esc));
    OPENSSL_cleanse(what, sizeof(what));
    rc = 0;
out:
    OPENSSL_cleanse(&t, sizeof(t));
    return rc;
}

static int c_no_mirror(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    char *w[MAX_WORDS + 1], err[300];
    struct pm_trigger_del d;
    if (tc.triggers == NULL) {
        ctl_reply_error(r, "no trigger table: this daemon has no capture process");
        return -1;
    }
    int n = with_words(w, "no", "mirror", argc, argv);
    if (n < 0 || trig_parse_del(&d, n, w, err, sizeof(err)) < 0) {
        trail_words(r, "no", "mirror", n < 0 ? 0 : argc, argv, "refused");
        ctl_reply_error(r, "%s", n < 0 ? "no mirror: too many words" : err);
        return -1;
    }
    rtconf_trigger_removing(&d); /* the configuration file's rules it removes */
    size_t gone = trig_table_del(tc.triggers, &d);
    OPENSSL_cleanse(&d, sizeof(d));
    if (gone == 0) {
        trail_words(r, "no", "mirror", argc, argv, "refused: no such trigger");
        ctl_reply_error(r, "no mirror: no trigger matches");
        return -1;
    }
    if (tc.triggers_changed != NULL)
        tc.triggers_changed(tc.agent_arg);
    char outcome[64];
    snprintf(outcome, sizeof(outcome), "removed %zu", gone);
    trail_words(r, "no", "mirror", argc, argv, outcome);
    ctl_reply_printf(r, "%zu trigger%s removed\n", gone, gone == 1 ? "" : "s");
    if (rtconf_triggers_changed(err, sizeof(err)) < 0)
        ctl_reply_printf(r, "warning: not kept for the next start: %s\n", err);
    return 0;
}

static const char *dir_name(enum trig_dir d)
{
    return d == TRIG_DIR_INGRESS ? "ingress" : d == TRIG_DIR_EGRESS ? "egress" : "both";
}

static void fmt_utc(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t == 0 || gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "-");
}

static void intercept_rows(struct ctl_reply *r, size_t *budget)
{
    struct pm_intercept *ic = calloc(1, sizeof(*ic));
    if (ic == NULL)
        return;
    uint64_t seq = 0;
    size_t shown = 0, more = 0;
    while ((seq = icpt_table_next(tc.intercepts, seq, ic)) != 0) {
        if (shown == INTERCEPTS_SHOWN || *budget == 0) {
            more++;
            continue;
        }
        char v[4][24], trig[4 * PM_ICPT_TRIGGER_MAX + 1], user[4 * SIG_STR_MAX + 1];
        char an[INET6_ADDRSTRLEN + 10], since[32];
        snprintf(v[0], sizeof(v[0]), "%u", (unsigned)ic->mirror_id);
        snprintf(v[1], sizeof(v[1]), "%u", (unsigned)ic->session_id);
        snprintf(v[2], sizeof(v[2]), "%d", ic->trigger_type);
        pm_escape(trig, sizeof(trig), ic->trigger, strnlen(ic->trigger, sizeof(ic->trigger)));
        pm_escape(user, sizeof(user), (const char *)ic->id.user.v, ic->id.user.len);
        if (trig_analyzer_format(&ic->analyzer, an, sizeof(an)) < 0)
            snprintf(an, sizeof(an), "-");
        fmt_utc(ic->since_sec, since, sizeof(since));
        ctl_reply_row(r, v[0], v[1], ic->config_source == 1 ? "radiusCoa" : "radiusLogin", v[2],
                      trig, user, an, dir_name(ic->direction), since, (char *)NULL);
        size_t used = strlen(trig) + strlen(user) + 160;
        *budget = *budget > used ? *budget - used : 0;
        shown++;
        OPENSSL_cleanse(trig, sizeof(trig));
        OPENSSL_cleanse(user, sizeof(user));
    }
    OPENSSL_cleanse(ic, sizeof(*ic));
    free(ic);
    if (more > 0)
        ctl_reply_printf(r, "%zu more intercepts not shown\n", more);
}

static int c_show_triggers(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    if (tc.triggers == NULL) {
        ctl_reply_error(r, "no trigger table: this daemon has no capture process");
        return -1;
    }
    size_t n = 0, max = 0;
    struct trig_entry *e = trig_table_copy(tc.triggers, &n, &max);
    if (e == NULL && n > 0) {
        ctl_reply_error(r, "out of memory");
        return -1;
    }
    ctl_reply_kv_int(r, "trigger_count|Triggers", (long long)n);
    ctl_reply_kv_int(r, "max_triggers|maxTriggers", (long long)max);
    ctl_reply_table(r, "triggers", "rule|Rule", "source|Source", "#mirror_id|Mirror ID",
                    "type|Type", "window|Window", (char *)NULL);
    int64_t now = (int64_t)time(NULL);
    size_t budget = SHOW_TEXT_MAX, cut = 0;
    for (size_t i = 0; i < n; i++) {
        if (budget == 0) {
            cut++;
            continue;
        }
        char line[LINE_MAX_], esc[4 * LINE_MAX_], where[4 * (PM_PATH_MAX + 16)], id[16];
        if (trig_format(&e[i].rule, line, sizeof(line)) < 0)
            snprintf(line, sizeof(line), "-");
        pm_escape_text(esc, sizeof(esc), line, strlen(line)); /* its quotes kept */
        pm_escape(where, sizeof(where), e[i].where, strnlen(e[i].where, sizeof(e[i].where)));
        snprintf(id, sizeof(id), "%u", (unsigned)e[i].rule.mirror_id);
        const char *win = e[i].rule.from == 0 && e[i].rule.until == 0 ? "always"
                          : trig_window_open(&e[i].rule, now)         ? "open"
                                                                      : "closed";
        ctl_reply_row(r, esc, where, id, trig_type_label(e[i].rule.type), win, (char *)NULL);
        size_t used = strlen(esc) + strlen(where) + 80;
        budget = budget > used ? budget - used : 0;
        OPENSSL_cleanse(line, sizeof(line));
        OPENSSL_cleanse(esc, sizeof(esc));
    }
    if (e != NULL) {
        OPENSSL_cleanse(e, n * sizeof(*e));
        free(e);
    }
    if (cut > 0)
        ctl_reply_printf(r, "%zu more triggers not shown\n", cut);
    if (tc.intercepts != NULL) {
        struct icpt_counts c;
        icpt_table_counts(tc.intercepts, &c);
        ctl_reply_kv_int(r, "intercept_count|RADIUS-provisioned intercepts", (long long)c.n);
        ctl_reply_table(r, "intercepts", "#mirror_id|Mirror ID", "#session_id|Session ID",
                        "config_source|Source", "#trigger_type|Trigger type", "trigger|Trigger",
                        "user|User-Name", "analyzer|Analyzer", "direction|Direction", "since|Since",
                        (char *)NULL);
        intercept_rows(r, &budget);
    }
    return 0;
}

static int c_show_subscribers(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    char err[300];
    unsigned long page = 1;
    const char *filter = "";
    if (argc >= 2 && strcasecmp(argv[argc - 2], "page") == 0) {
        if (conf_uint(argv[argc - 1], 1, 1000000, &page) < 0) {
            ctl_reply_error(r, "show mirror subscribers: page is a number from 1");
            return -1;
        }
        argc -= 2;
    }
    if (argc > 1) { /* as the server says it of a command without arguments */
        char word[4 * 64 + 1];
        pm_escape(word, sizeof(word), argv[1], strnlen(argv[1], 64));
        ctl_reply_error(r, "show mirror subscribers: unexpected word \"%s%s\"", word,
                        strlen(argv[1]) > 64 ? "..." : "");
        return -1;
    }
    if (argc == 1)
        filter = argv[0];
    if (strlen(filter) > IPC_FILTER_MAX) {
        ctl_reply_error(r, "show mirror subscribers: the filter is longer than %u octets",
                        IPC_FILTER_MAX);
        return -1;
    }
    if (tc.list == NULL) {
        ctl_reply_error(r, "no capture process: this daemon does not run one");
        return -1;
    }
    struct pm_list_out *out = calloc(1, sizeof(*out));
    if (out == NULL) {
        ctl_reply_error(r, "out of memory");
        return -1;
    }
    int rc = tc.list("subscribers", filter, (uint32_t)((page - 1) * SUBSCRIBERS_PAGE),
                     SUBSCRIBERS_PAGE, SUBSCRIBERS_WAIT_MS, out, err, sizeof(err), tc.agent_arg);
    if (rc < 0) {
        ctl_reply_error(r, "show mirror subscribers: %s", err);
    } else {
        if (out->has_count)
            ctl_reply_kv_int(r, "sessions|Sessions", (long long)out->count);
        if (out->has_total)
            ctl_reply_kv_int(r, "matching|Matching", (long long)out->total);
        ctl_reply_kv_int(r, "page|Page", (long long)page);
        ctl_reply_kv_bool(r, "more|More pages", out->more, "true", "false");
        ctl_reply_table(r, "subscribers", "session|Session", (char *)NULL);
        for (size_t i = 0; i < out->nrows && i < IPC_ROWS_MAX; i++) {
            char esc[4 * IPC_ROW_MAX + 1];
            /* quoted and escaped by the capture process: not escaped twice */
            pm_escape_text(esc, sizeof(esc), out->rows[i], strnlen(out->rows[i], IPC_ROW_MAX));
            ctl_reply_row(r, esc, (char *)NULL);
            OPENSSL_cleanse(esc, sizeof(esc));
        }
    }
    OPENSSL_cleanse(out, sizeof(*out));
    free(out);
    return rc;
}

int pm_trigger_commands_register(struct ctl_server *s, const struct pm_commands_ctx *ctx, char *err,
                                 size_t errlen)
{
    static const struct {
        const char *words;
        const char *help;
        ctl_cmd_fn fn;
    } table[] = {
        {"mirror <type> <value> analyzer <address:port> id <mirror-id> [options...]",
         "Add a mirror trigger (session, direction, from, until as in pmirrord.conf)", c_mirror},
        {"no mirror <type> <value> [id <mirror-id>]", "Remove mirror triggers", c_no_mirror},
        {"show mirror triggers", "Show the mirror triggers and the RADIUS-provisioned intercepts",
         c_show_triggers},
        {"show mirror subscribers [<filter>] [page <n>]",
         "Show the sessions the capture process tracks (20 a page), targets marked",
         c_show_subscribers},
    };
    tc = *ctx;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (ctl_server_add_command(s, table[i].words, CTL_F_MIRROR, table[i].help, table[i].fn,
                                   NULL, err, errlen) < 0)
            return -1;
    return 0;
}
