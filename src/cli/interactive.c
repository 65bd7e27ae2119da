/*
 * interactive.c - pmirrorctl's interactive session: libedit line editing,
 * history, TAB completion of the commands the server shows this session
 * (fetched with "@commands", again after mirror-enable/-disable).
 *
 * libedit's readline emulation (<editline/readline.h>) is enough here.  The
 * history lives in memory only, and a line enters it only when it starts with
 * a command this session can see and carries no secret (mirror-enable,
 * trap-host add): a mistyped "mirror-enabel SECRET" is kept out too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "pmirrord/secret.h"

#define MAX_CMDS 256

/* The visible commands, as literal word lists. */
static struct {
    char *words[MAX_CMDS][CTL_MAX_WORDS];
    int nwords[MAX_CMDS];
    char *store;
    int n;
} vis;

/* Completion candidates for the word being completed. */
static char *cand[MAX_CMDS];
static int ncand;

static void refresh_commands(struct cc *c)
{
    enum ctl_status st;
    char *body, err[256];
    size_t len;
    free(vis.store);
    memset(&vis, 0, sizeof vis);
    if (cc_request(c, CTL_META_COMMANDS, &st, &body, &len, err, sizeof err) < 0 || st != CTL_ST_OK)
        return;
    vis.store = body;
    for (char *line = strtok(body, "\n"); line && vis.n < MAX_CMDS; line = strtok(NULL, "\n")) {
        int k = ctl_split_words(line, vis.words[vis.n], CTL_MAX_WORDS);
        if (k > 0)
            vis.nwords[vis.n++] = k;
    }
}

static char *generator(const char *text, int state)
{
    static int i;
    if (state == 0)
        i = 0;
    return i < ncand ? strdup(cand[i++]) : NULL;
}

static char **complete(const char *text, int start, int end)
{
    char buf[CTL_MAX_REQUEST], *typed[CTL_MAX_WORDS];
    int n = start < (int)sizeof buf ? start : (int)sizeof buf - 1;
    memcpy(buf, rl_line_buffer, (size_t)n);
    buf[n] = '\0';
    int ntyped = ctl_split_words(buf, typed, CTL_MAX_WORDS);
    int off = ntyped > 0 && strcmp(typed[0], "help") == 0; /* "help <command>" */
    rl_attempted_completion_over = 1;                      /* never fall back to file names */
    ncand = 0;
    if (ntyped < 0)
        return NULL;
    for (int i = 0; i < vis.n; i++) {
        int k = ntyped - off;
        if (vis.nwords[i] <= k)
            continue;
        int same = 1;
        for (int j = 0; same && j < k; j++)
            same = strcmp(vis.words[i][j], typed[off + j]) == 0;
        const char *w = vis.words[i][k];
        if (!same || strncmp(w, text, strlen(text)) != 0)
            continue;
        int dup = 0;
        for (int j = 0; j < ncand && !dup; j++)
            dup = strcmp(cand[j], w) == 0;
        if (!dup)
            cand[ncand++] = vis.words[i][k];
    }
    (void)end;
    return ncand ? rl_completion_matches(text, generator) : NULL;
}

/* May this line enter the history?  words: the line split by ctl_split_words(). */
static int history_ok(int n, char **w)
{
    if (n <= 0 || cli_secret_kind(n, w) != CLI_SECRET_NONE || strcmp(w[0], CTL_JSON_PREFIX) == 0)
        return 0;
    /* any trap-host line but "remove": a mistyped "add" still has passphrases */
    if (strcmp(w[0], "trap-host") == 0 && (n < 2 || strcmp(w[1], "remove") != 0))
        return 0;
    if (strcmp(w[0], "?") == 0 || strcmp(w[0], "help") == 0)
        return 1;
    for (int i = 0; i < vis.n; i++)
        if (strcmp(vis.words[i][0], w[0]) == 0)
            return 1;
    return 0;
}

/*
 * libedit's readline() prints the prompt in the terminal's canonical mode and
 * only then, when it reads the first key, switches to its own mode.  A key typed
 * as soon as the prompt shows would meet the kernel's line discipline instead:
 * Ctrl-D there becomes a NUL byte that the editor later reads as an ordinary key
 * (termios(3), VEOF), so end of input is lost and pmirrorctl waits forever.
 * Setting the editor's mode before the prompt (libedit keeps it until the line
 * is read, then restores the terminal) closes that window.
 */
static int prep_terminal(void)
{
    rl_prep_terminal(1);
    return 0;
}

/*
 * Copies the raw word at *p (up to a blank, quote characters and backslashes
 * dropped) to w and moves *p past it and the blanks after it.
 */
static void raw_word(const char **p, char *w, size_t cap)
{
    size_t n = 0;
    for (; **p != '\0' && **p != ' ' && **p != '\t'; (*p)++)
        if (**p != '"' && **p != '\\' && n + 1 < cap)
            w[n++] = **p;
    w[n] = '\0';
    *p += strspn(*p, " \t");
}

/*
 * Does the line carry a secret?  Read from the raw text, not from the split
 * words: a line that does not split (an unbalanced quote, too many words) may
 * still hold a secret, and must then go nowhere but to a trusted server.
 */
static enum cli_secret_kind raw_secret_kind(const char *line)
{
    char w[32];
    const char *p = line + strspn(line, " \t");
    raw_word(&p, w, sizeof w);
    if (strcmp(w, CTL_JSON_PREFIX) == 0)
        raw_word(&p, w, sizeof w);
    if (strcmp(w, "mirror-enable") == 0)
        return CLI_SECRET_ENABLE;
    if (strcmp(w, "trap-host") == 0) {
        raw_word(&p, w, sizeof w);
        if (strcmp(w, "add") == 0)
            return CLI_SECRET_TRAPHOST;
    }
    return CLI_SECRET_NONE;
}

/* "mirror-enable" typed alone: ask for the secret without echo. */
static int send_enable(struct cc *c, int json, const char *inline_secret, enum ctl_status *st,
                       char **body, size_t *len, char *err, size_t errlen)
{
    char secret[SECRET_MAX_LEN + 2], line[CTL_MAX_REQUEST];
    if (inline_secret != NULL) {
        snprintf(secret, sizeof secret, "%s", inline_secret);
    } else if (cli_read_secret("Mirror secret: ", secret, sizeof secret) <= 0) {
        snprintf(err, errlen, "no secret read");
        return 1;
    }
    snprintf(line, sizeof line, "%smirror-enable %s", json ? CTL_JSON_PREFIX " " : "", secret);
    OPENSSL_cleanse(secret, sizeof secret);
    int rc = cc_request(c, line, st, body, len, err, errlen);
    OPENSSL_cleanse(line, sizeof line);
    return rc;
}

int cli_interactive(struct cc *c, const struct cli_session *s)
{
    const char *path = s->path;
    int json = s->json;
    int tty = isatty(STDIN_FILENO);
    rl_readline_name = "pmirrorctl";
    rl_attempted_completion_function = complete;
    if (tty)
        rl_pre_input_hook = prep_terminal;
    refresh_commands(c);
    if (tty)
        printf("Connected to %s. Type 'help' for the commands, TAB to complete.\n", path);

    int rc = EX_CTL_OK, mirror = 0;
    for (;;) {
        char *in = readline(!tty ? "" : mirror ? "pmirrorctl(mirror)# " : "pmirrorctl> ");
        if (in == NULL)
            break;
        char *line = in + strspn(in, " \t");
        size_t l = strlen(line);
        while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
            line[--l] = '\0';
        if (l == 0) {
            free(in);
            continue;
        }
        char copy[CTL_MAX_REQUEST], *w[CTL_MAX_WORDS];
        snprintf(copy, sizeof copy, "%s", line);
        int nw = ctl_split_words(copy, w, CTL_MAX_WORDS);
        enum cli_secret_kind kind = nw > 0 ? cli_secret_kind(nw, w) : CLI_SECRET_NONE;
        struct cli_th th = {0};
        if (kind == CLI_SECRET_TRAPHOST)
            cli_th_scan(nw, w, &th);
        /* "[@json] mirror-enable ...", read from the text: the words may not split */
        const char *en = line;
        int en_json = json;
        if (strncmp(en, CTL_JSON_PREFIX, strlen(CTL_JSON_PREFIX)) == 0 &&
            (en[strlen(CTL_JSON_PREFIX)] == ' ' || en[strlen(CTL_JSON_PREFIX)] == '\t')) {
            en += strlen(CTL_JSON_PREFIX);
            en += strspn(en, " \t");
            en_json = 1;
        }
        /* From the split words (a quoted "mirror-enable" is the same command to the
         * server: ctl_proto.c), and from the raw text for a line that does not split. */
        int enable_words = nw > 0 && strcmp(w[0], CTL_JSON_PREFIX) == 0 ? 2 : 1;
        int is_enable =
            kind == CLI_SECRET_ENABLE || (strncmp(en, "mirror-enable", 13) == 0 &&
                                          (en[13] == '\0' || en[13] == ' ' || en[13] == '\t'));
        int enable_inline =
            is_enable && (kind == CLI_SECRET_ENABLE ? nw > enable_words : en[13] != '\0');
        if (kind == CLI_SECRET_ENABLE && enable_words == 2)
            en_json = 1;
        if (tty && history_ok(nw, w))
            add_history(line);
        const char *cmd = strcmp(line, "?") == 0 ? "help" : line;

        enum ctl_status st;
        char *body = NULL, err[512], req[CTL_MAX_REQUEST];
        size_t len = 0;
        int r;
        if ((kind == CLI_SECRET_ENABLE || th.n > 0 || raw_secret_kind(line) != CLI_SECRET_NONE) &&
            cc_check_server(c, &s->trust, s->path, err, sizeof err) < 0) {
            r = 1; /* nothing is sent */
        } else if (enable_inline) {
            /* A secret typed on the line was echoed: it is not sent (one-shot mode never
             * takes it from argv either). */
            snprintf(err, sizeof err,
                     "mirror-enable: not sent: the secret was typed on the line, so it %s; type "
                     "mirror-enable alone and give the secret at its prompt, which does not echo "
                     "(and change the secret if others may have seen it)",
                     tty ? "is already on the screen" : "may be in a script or on a screen");
            r = 1;
        } else if (cli_th_given(&th)) {
            snprintf(err, sizeof err,
                     "trap-host add: not sent: a passphrase was typed on the line, so it %s; "
                     "write - in its place, or leave it out, and give it at the prompt, which "
                     "does not echo",
                     tty ? "is already on the screen" : "may be in a script or on a screen");
            r = 1;
        } else if (nw < 0) {
            /* unbalanced quotes: nothing tells whether a secret is in it; not sent */
            snprintf(err, sizeof err, "Malformed request (unbalanced quotes or too many words).");
            r = 1;
        } else if (is_enable) {
            r = send_enable(c, en_json, NULL, &st, &body, &len, err, sizeof err);
        } else if (cli_th_to_read(&th) > 0) {
            r = cli_th_line(nw, w, &th, json ? CTL_JSON_PREFIX : NULL, req, sizeof req, err,
                            sizeof err) < 0
                    ? 1
                    : cc_request(c, req, &st, &body, &len, err, sizeof err);
        } else {
            snprintf(req, sizeof req, "%s%s", json ? CTL_JSON_PREFIX " " : "", cmd);
            r = cc_request(c, req, &st, &body, &len, err, sizeof err);
        }
        OPENSSL_cleanse(copy, sizeof copy);
        OPENSSL_cleanse(req, sizeof req);
        int disable =
            !is_enable && (strcmp(line, "disable") == 0 || strcmp(line, "mirror-disable") == 0);
        OPENSSL_cleanse(in, strlen(in));
        free(in);
        if (r == 1) {
            fprintf(stderr, "%% %s\n", err);
            continue;
        }
        if (r < 0) {
            fprintf(stderr, "pmirrorctl: %s\n", err);
            rc = EX_CTL_CONNECT;
            break;
        }
        cli_print(json, st, body, len);
        OPENSSL_cleanse(body, len);
        free(body);
        if (st == CTL_ST_BYE)
            break;
        if ((is_enable || disable) && st == CTL_ST_OK) {
            mirror = is_enable;
            refresh_commands(c);
        }
    }
    free(vis.store);
    memset(&vis, 0, sizeof vis);
    return rc;
}
