/*
 * passphrase.c - requests that carry a secret: which ones they are, and the
 * USM passphrases of "trap-host add", which pmirrorctl reads from a no-echo
 * prompt or from stdin instead of taking them from argv (any local user can
 * read another process's argv in /proc/PID/cmdline).
 *
 * The words follow the trapHost grammar of the configuration file (README,
 * "Trap hosts"): "auth PROTO PASSPHRASE" and "priv PROTO PASSPHRASE".  In place
 * of a passphrase pmirrorctl accepts "-", or nothing at all (the next word is a
 * keyword, or there is none).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "cli.h"

/* Keywords of the trapHost grammar and how many values follow each. */
static const struct {
    const char *kw;
    int nval;
} th_keywords[] = {
    {"user", 1},
    {"auth", 2},
    {"priv", 2},
    {"inform", 0},
    {"engineId", 1},
    {"severity", 1},
    {"queueSize", 1},
    {"drainRate", 1},
    {"queueFull", 1},
    {"timeout", 1},
    {"retries", 1},
    {"version", 0},
    {"community", 0},
    {"v1", 0},
    {"v2c", 0},
    /* a master key is as secret as a passphrase: never from argv either (the
     * daemon refuses keys at run time) */
    {"authKey", 2},
    {"privKey", 2},
};

static int th_keyword(const char *w)
{
    for (size_t i = 0; i < sizeof th_keywords / sizeof th_keywords[0]; i++)
        if (strcasecmp(w, th_keywords[i].kw) == 0)
            return (int)i;
    return -1;
}

enum cli_secret_kind cli_secret_kind(int argc, char **argv)
{
    int off = argc > 0 && strcmp(argv[0], CTL_JSON_PREFIX) == 0;
    if (argc <= off)
        return CLI_SECRET_NONE;
    if (strcmp(argv[off], "mirror-enable") == 0)
        return CLI_SECRET_ENABLE;
    if (argc > off + 1 && strcmp(argv[off], "trap-host") == 0 && strcmp(argv[off + 1], "add") == 0)
        return CLI_SECRET_TRAPHOST;
    return CLI_SECRET_NONE;
}

int cli_th_scan(int argc, char **argv, struct cli_th *th)
{
    memset(th, 0, sizeof *th);
    int off = argc > 0 && strcmp(argv[0], CTL_JSON_PREFIX) == 0;
    if (cli_secret_kind(argc, argv) != CLI_SECRET_TRAPHOST)
        return 0;
    /* words[off+2] is the address; keywords follow */
    for (int i = off + 3; i < argc; i++) {
        int k = th_keyword(argv[i]);
        if (k < 0)
            continue; /* the server names what is wrong */
        if (th_keywords[k].nval != 2) {
            i += th_keywords[k].nval;
            continue;
        }
        if (th->n == CLI_TH_MAX_PASS || i + 1 >= argc)
            continue; /* again, the server's error says what is missing */
        struct cli_th_slot *s = &th->slot[th->n++];
        s->what = strncasecmp(argv[i], "auth", 4) == 0 ? "auth" : "priv";
        s->proto = i + 1;
        if (i + 2 >= argc || th_keyword(argv[i + 2]) >= 0) {
            s->how = CLI_PASS_OMITTED;
            i += 1;
        } else {
            s->how = strcmp(argv[i + 2], "-") == 0 ? CLI_PASS_DASH : CLI_PASS_GIVEN;
            i += 2;
        }
    }
    return 1;
}

int cli_th_given(const struct cli_th *th)
{
    for (int i = 0; i < th->n; i++)
        if (th->slot[i].how == CLI_PASS_GIVEN)
            return 1;
    return 0;
}

int cli_th_to_read(const struct cli_th *th)
{
    int n = 0;
    for (int i = 0; i < th->n; i++)
        n += th->slot[i].how != CLI_PASS_GIVEN;
    return n;
}

int cli_th_line(int argc, char **argv, const struct cli_th *th, const char *prefix, char *line,
                size_t cap, char *err, size_t errlen)
{
    char pass[CLI_TH_MAX_PASS][CLI_PASS_MAX];
    int rc = -1;

    line[0] = '\0';
    if (prefix != NULL && ctl_quote_word(line, cap, prefix) < 0)
        goto too_long;
    for (int i = 0; i < th->n; i++) {
        const struct cli_th_slot *s = &th->slot[i];
        if (s->how == CLI_PASS_GIVEN)
            continue;
        char prompt[64];
        snprintf(prompt, sizeof prompt, "%c%s passphrase: ", s->what[0] == 'a' ? 'A' : 'P',
                 s->what + 1);
        long n = cli_read_secret(prompt, pass[i], sizeof pass[i]);
        if (n < 0) {
            snprintf(err, errlen,
                     "trap-host add: no %s passphrase read (end of input, or more than %zu "
                     "characters)",
                     s->what, CLI_PASS_MAX_CHARS);
            goto out;
        }
        /* the daemon's limits, checked before anything is sent */
        if (n < CLI_PASS_MIN || (size_t)n > CLI_PASS_MAX_CHARS) {
            snprintf(err, errlen, "trap-host add: %s passphrase must be %d to %zu characters",
                     s->what, CLI_PASS_MIN, CLI_PASS_MAX_CHARS);
            goto out;
        }
    }
    for (int w = 0; w < argc; w++) {
        const struct cli_th_slot *s = NULL;
        for (int i = 0; i < th->n; i++)
            if (th->slot[i].how != CLI_PASS_GIVEN && th->slot[i].proto == w)
                s = &th->slot[i];
        if (ctl_quote_word(line, cap, argv[w]) < 0)
            goto too_long;
        if (s == NULL)
            continue;
        if (ctl_quote_word(line, cap, pass[s - th->slot]) < 0)
            goto too_long;
        if (s->how == CLI_PASS_DASH)
            w++; /* the "-" */
    }
    rc = 0;
    goto out;
too_long:
    snprintf(err, errlen, "command too long");
out:
    OPENSSL_cleanse(pass, sizeof pass);
    if (rc < 0)
        OPENSSL_cleanse(line, cap);
    return rc;
}
