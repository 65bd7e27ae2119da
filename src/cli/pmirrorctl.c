/*
 * pmirrorctl.c - command-line client of pmirrord's control socket.
 *
 *   pmirrorctl [-s SOCKET] [--json] [-e] COMMAND...   one command, then exit
 *   pmirrorctl [-s SOCKET] [--json]                   interactive (libedit)
 *   pmirrorctl hash-secret [ITERATIONS]               print a mirrorSecret hash
 *
 * Secrets never come from argv (other local users read it in /proc): the mirror
 * secret and trap-host passphrases are read from the terminal without echo or
 * from stdin, and go out only to a server run by root or the daemon's user.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/secret.h"

/* The longest trigger VALUE read for "-" (trigger.h's TRIG_TEXT_MAX). */
#define TRIGGER_VALUE_READ_MAX 512

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pmirrorctl [-s SOCKET] [-j|--json] [-e] [-U USER] [COMMAND...]\n"
            "       pmirrorctl hash-secret [ITERATIONS]\n"
            "\n"
            "  -s, --socket PATH  control socket (default " CTL_DEFAULT_SOCKET ")\n"
            "  -j, --json         ask for JSON answers\n"
            "  -e, --enable       read the mirror secret (without echo on a terminal, else\n"
            "                     one line of stdin) and send mirror-enable before COMMAND\n"
            "  -U, --server-user USER\n"
            "                     the user pmirrord runs as (repeatable; default " CLI_DAEMON_USER
            "\n"
            "                     if that account exists): secrets go only to a socket\n"
            "                     served by root or USER\n"
            "  -h, --help         this text;  -V, --version\n"
            "\n"
            "trap-host add takes its passphrases as \"-\" or leaves them out, e.g.\n"
            "  pmirrorctl -e trap-host add 192.0.2.1 user U auth SHA-256 - priv AES -\n"
            "and reads them (after the mirror secret) without echo from the terminal,\n"
            "else one per line from stdin.\n"
            "\n"
            "A trigger's value (mirror TYPE VALUE, no mirror TYPE VALUE) or the FILTER of\n"
            "show mirror subscribers given as \"-\" is read the same way (after the\n"
            "mirror secret with -e), e.g.\n"
            "  pmirrorctl -e mirror username - analyzer 198.18.0.9:30030 id 7\n"
            "so that a target's identity is not in argv (other local users read it in\n"
            "/proc) nor in the shell's history; a value that is \"-\" itself is 0x2d.\n"
            "\n"
            "Without COMMAND: an interactive session (help, TAB completion).\n"
            "hash-secret reads a secret (no echo on a terminal) and prints the\n"
            "mirrorSecret string for the configuration; it refuses secrets shorter\n"
            "than %d characters.\n"
            "\n"
            "USM passphrases (trap-host add) are %d to %zu characters.\n"
            "\n"
            "Exit status: 0 ok, 1 command error or unknown command, 2 usage (a secret\n"
            "on the command line, none read, too short or too long), 3 cannot connect,\n"
            "refused, or the socket is not served by root or the daemon's user,\n"
            "4 wrong mirror secret.\n",
            CLI_SECRET_MIN, CLI_PASS_MIN, CLI_PASS_MAX_CHARS);
}

/* The terminal's mode before a no-echo prompt, for the signal handler below. */
static struct termios prompt_saved;
static const int prompt_signals[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};

/*
 * A signal that ends pmirrorctl during a no-echo prompt: the terminal's echo
 * comes back first (tcsetattr(3) is async-signal-safe), then the signal does
 * what it would have done, as readpassphrase(3) does.
 */
static void prompt_signal(int sig)
{
    int saved = errno;
    tcsetattr(STDIN_FILENO, TCSANOW, &prompt_saved);
    (void)!write(STDERR_FILENO, "\n", 1);
    signal(sig, SIG_DFL);
    raise(sig);
    errno = saved;
}

long cli_read_secret(const char *prompt, char *buf, size_t cap)
{
    struct termios old, noecho;
    struct sigaction sa = {.sa_handler = prompt_signal}, prev[4];
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        noecho.c_lflag |= ICANON;
        prompt_saved = old;
        sigemptyset(&sa.sa_mask);
        for (int i = 0; i < 4; i++)
            sigaction(prompt_signals[i], &sa, &prev[i]);
        /* Echo off before the prompt: what is typed once it shows is never echoed.
         * TCSAFLUSH drops only what was typed before the prompt (getpass(3) does too). */
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) < 0) {
            for (int i = 0; i < 4; i++)
                sigaction(prompt_signals[i], &prev[i], NULL);
            return -1;
        }
        fprintf(stderr, "%s", prompt);
        fflush(stderr);
    }
    /* read(2) byte by byte: no stdio buffer keeps a copy of the secret.  A line
     * longer than buf is read to its end and refused: what is left of a secret
     * must not be read later as a command or as the next secret. */
    size_t n = 0;
    int ok = 0, over = 0;
    for (;;) {
        char ch;
        ssize_t r = read(STDIN_FILENO, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ok = n > 0 && !over; /* last line without LF */
            break;
        }
        if (ch == '\n') {
            ok = !over;
            break;
        }
        if (n + 1 >= cap) {
            over = 1;
            OPENSSL_cleanse(&ch, sizeof ch);
            continue;
        }
        buf[n++] = ch;
    }
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSADRAIN, &old); /* keeps what is typed after the secret */
        for (int i = 0; i < 4; i++)
            sigaction(prompt_signals[i], &prev[i], NULL);
        fprintf(stderr, "\n");
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (!ok) {
        OPENSSL_cleanse(buf, cap);
        return -1;
    }
    return (long)n;
}

void cli_print(int json, int st, const char *body, size_t len)
{
    FILE *f = !json && st != CTL_ST_OK && st != CTL_ST_BYE ? stderr : stdout;
    fwrite(body, 1, len, f);
    fflush(f);
}

int cli_exit_status(int st)
{
    switch (st) {
    case CTL_ST_OK:
    case CTL_ST_BYE:
    case CTL_ST_HELLO:
        return EX_CTL_OK;
    case CTL_ST_DENIED:
        return EX_CTL_SECRET;
    case CTL_ST_REFUSED:
        return EX_CTL_CONNECT;
    default:
        return EX_CTL_CMD;
    }
}

static int hash_secret(int argc, char **argv)
{
    unsigned long iter = 0;
    if (argc > 2) {
        usage(stderr);
        return EX_CTL_USAGE;
    }
    if (argc == 2) {
        char *end;
        iter = strtoul(argv[1], &end, 10);
        if (*end || iter < SECRET_MIN_ITER || iter > SECRET_MAX_ITER) {
            fprintf(stderr, "pmirrorctl: ITERATIONS must be %u..%u\n", SECRET_MIN_ITER,
                    SECRET_MAX_ITER);
            return EX_CTL_USAGE;
        }
    }
    char s1[SECRET_MAX_LEN + 2], s2[SECRET_MAX_LEN + 2], out[SECRET_HASH_MAX], err[200];
    int rc = EX_CTL_USAGE; /* no secret, or not one to use */
    long n = cli_read_secret("Mirror secret: ", s1, sizeof s1);
    if (n <= 0) {
        fprintf(stderr,
                "pmirrorctl: no secret read (empty, more than %u characters or end of "
                "input)\n",
                SECRET_MAX_LEN);
        goto out;
    }
    if (n < CLI_SECRET_MIN) {
        fprintf(stderr, "pmirrorctl: the secret must be at least %d characters\n", CLI_SECRET_MIN);
        goto out;
    }
    rc = EX_CTL_CMD;
    if (isatty(STDIN_FILENO)) {
        long m = cli_read_secret("Again: ", s2, sizeof s2);
        if (m != n || CRYPTO_memcmp(s1, s2, (size_t)n) != 0) {
            fprintf(stderr, "pmirrorctl: the secrets differ\n");
            goto out;
        }
    }
    if (secret_make(s1, (size_t)n, (unsigned)iter, out, sizeof out, err, sizeof err) < 0) {
        fprintf(stderr, "pmirrorctl: %s\n", err);
        goto out;
    }
    printf("%s\n", out);
    rc = EX_CTL_OK;
out:
    OPENSSL_cleanse(s1, sizeof s1);
    OPENSSL_cleanse(s2, sizeof s2);
    return rc;
}

/* Sends mirror-enable with a secret read from stdin; returns an exit status. */
static int enable(struct cc *c, int json)
{
    char line[CTL_MAX_REQUEST], secret[SECRET_MAX_LEN + 2], err[256];
    long n = cli_read_secret("Mirror secret: ", secret, sizeof secret);
    if (n <= 0) {
        /* An empty secret would only count as a failure and delay everyone. */
        fprintf(stderr, "pmirrorctl: -e: no secret on stdin\n");
        return EX_CTL_USAGE;
    }
    snprintf(line, sizeof line, "%smirror-enable %s", json ? CTL_JSON_PREFIX " " : "", secret);
    OPENSSL_cleanse(secret, sizeof secret);
    enum ctl_status st;
    char *body;
    size_t len;
    int rc = cc_request(c, line, &st, &body, &len, err, sizeof err);
    OPENSSL_cleanse(line, sizeof line);
    if (rc < 0) {
        fprintf(stderr, "pmirrorctl: %s\n", err);
        return EX_CTL_CONNECT;
    }
    if (st != CTL_ST_OK)
        cli_print(json, st, body, len);
    free(body);
    return cli_exit_status(st);
}

/* Refuses secrets on argv before anything is sent; returns an exit status or -1. */
static int refuse_argv_secrets(int argc, char **argv, struct cli_th *th)
{
    switch (cli_secret_kind(argc, argv)) {
    case CLI_SECRET_ENABLE:
        fprintf(stderr,
                "pmirrorctl: mirror-enable: the secret is never taken from the command line, "
                "and mirror mode ends with this connection: use -e COMMAND (the secret is "
                "read without echo from the terminal, or from stdin), or an interactive "
                "session\n");
        return EX_CTL_USAGE;
    case CLI_SECRET_TRAPHOST:
        cli_th_scan(argc, argv, th);
        if (cli_th_given(th)) {
            fprintf(stderr, "pmirrorctl: trap-host add: passphrases are not taken from the command "
                            "line (other users can read it): write - in their place, or leave them "
                            "out, and give them without echo at the prompt, or on stdin one per "
                            "line (after the mirror secret with -e)\n");
            return EX_CTL_USAGE;
        }
        return -1;
    default:
        return -1;
    }
}

/* The word that is a target's identity: VALUE of `mirror TYPE VALUE ...` /
 * `no mirror TYPE VALUE ...`, FILTER of `show mirror subscribers FILTER`; -1
 * for another command. */
static int trigger_value_word(int argc, char **argv)
{
    if (argc >= 3 && strcasecmp(argv[0], "mirror") == 0)
        return 2;
    if (argc >= 4 && strcasecmp(argv[0], "no") == 0 && strcasecmp(argv[1], "mirror") == 0)
        return 3;
    if (argc >= 4 && strcasecmp(argv[0], "show") == 0 && strcasecmp(argv[1], "mirror") == 0 &&
        strcasecmp(argv[2], "subscribers") == 0)
        return 3;
    return -1;
}

/*
 * A trigger's VALUE given as "-" is read (without echo from the terminal, else
 * one line of stdin, after the mirror secret): a target's identity then stays
 * out of argv (/proc/PID/cmdline, which other local users read) and out of
 * the shell's history.  A VALUE that is "-" itself is written 0x2d.
 */
static int read_trigger_value(char **argv, int vi, char *val, size_t cap)
{
    if (vi < 0 || strcmp(argv[vi], "-") != 0)
        return 0;
    long n = cli_read_secret(strcasecmp(argv[0], "show") == 0 ? "Filter: " : "Trigger value: ", val,
                             cap);
    if (n <= 0) {
        fprintf(stderr,
                "pmirrorctl: %s: no value read (empty, more than %zu characters "
                "or end of input)\n",
                argv[0], cap - 2);
        return -1;
    }
    return 1;
}

static int one_shot(struct cc *c, int json, int argc, char **argv, const struct cli_th *th)
{
    char line[CTL_MAX_REQUEST] = "", err[256];
    char val[TRIGGER_VALUE_READ_MAX + 2] = "";
    int vi = trigger_value_word(argc, argv), rv = 0;
    if (th->n == 0 && (rv = read_trigger_value(argv, vi, val, sizeof val)) < 0)
        return EX_CTL_USAGE;
    if (th->n > 0) {
        if (cli_th_line(argc, argv, th, json ? CTL_JSON_PREFIX : NULL, line, sizeof line, err,
                        sizeof err) < 0) {
            fprintf(stderr, "pmirrorctl: %s\n", err);
            return EX_CTL_USAGE;
        }
    } else {
        if (json)
            snprintf(line, sizeof line, "%s", CTL_JSON_PREFIX);
        for (int i = 0; i < argc; i++) {
            if (ctl_quote_word(line, sizeof line, rv > 0 && i == vi ? val : argv[i]) < 0) {
                fprintf(stderr, "pmirrorctl: command too long\n");
                OPENSSL_cleanse(val, sizeof val);
                OPENSSL_cleanse(line, sizeof line);
                return EX_CTL_USAGE;
            }
        }
        OPENSSL_cleanse(val, sizeof val);
    }
    enum ctl_status st;
    char *body;
    size_t len;
    int rc = cc_request(c, line, &st, &body, &len, err, sizeof err);
    OPENSSL_cleanse(line, sizeof line); /* may hold passphrases */
    if (rc < 0) {
        fprintf(stderr, "pmirrorctl: %s\n", err);
        return EX_CTL_CONNECT;
    }
    cli_print(json, st, body, len);
    OPENSSL_cleanse(body, len);
    free(body);
    return cli_exit_status(st);
}

/* -U USER: a name or a numeric uid. */
static int add_server_user(struct cc_trust *t, const char *user)
{
    const struct passwd *pw = getpwnam(user);
    char *end;
    unsigned long uid = strtoul(user, &end, 10);
    if (pw == NULL && (*user == '\0' || *end != '\0')) {
        fprintf(stderr, "pmirrorctl: --server-user: there is no user \"%s\"\n", user);
        return -1;
    }
    if (t->n == CC_MAX_SERVER_UIDS) {
        fprintf(stderr, "pmirrorctl: --server-user: at most %d users\n", CC_MAX_SERVER_UIDS);
        return -1;
    }
    t->uid[t->n++] = pw != NULL ? pw->pw_uid : (uid_t)uid;
    size_t l = strlen(t->names);
    snprintf(t->names + l, sizeof t->names - l, "%s%s", l > 0 ? " or " : "", user);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"enable", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"server-user", required_argument, NULL, 'U'},
        {NULL, 0, NULL, 0},
    };
    struct cli_session ses = {.path = CTL_DEFAULT_SOCKET};
    int en = 0, ch;

    while ((ch = getopt_long(argc, argv, "+s:jehVU:", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            ses.path = optarg;
            break;
        case 'j':
            ses.json = 1;
            break;
        case 'U':
            if (add_server_user(&ses.trust, optarg) < 0)
                return EX_CTL_USAGE;
            break;
        case 'e':
            en = 1;
            break;
        case 'h':
            usage(stdout);
            return EX_CTL_OK;
        case 'V':
            printf("pmirrorctl %s\n", PM_VERSION);
            return EX_CTL_OK;
        default:
            usage(stderr);
            return EX_CTL_USAGE;
        }
    }
    argc -= optind;
    argv += optind;
    if (argc > 0 && strcmp(argv[0], "hash-secret") == 0)
        return hash_secret(argc, argv);
    if (en && argc == 0) {
        fprintf(stderr,
                "pmirrorctl: -e needs a COMMAND (interactive sessions use mirror-enable)\n");
        return EX_CTL_USAGE;
    }

    /* Without -U: the daemon's own account, when the system has one. */
    ses.trust.fallback = CLI_DAEMON_USER;
    struct cli_th th = {0};
    int rc = refuse_argv_secrets(argc, argv, &th);
    if (rc >= 0)
        return rc;

    struct cc c;
    char err[512];
    if (cc_connect(&c, ses.path, err, sizeof err) < 0) {
        fprintf(stderr, "pmirrorctl: %s\n", err);
        return EX_CTL_CONNECT;
    }
    if (argc == 0) {
        rc = cli_interactive(&c, &ses);
    } else if ((en || th.n > 0) && cc_check_server(&c, &ses.trust, ses.path, err, sizeof err) < 0) {
        fprintf(stderr, "pmirrorctl: %s\n", err);
        rc = EX_CTL_CONNECT;
    } else {
        rc = en ? enable(&c, ses.json) : EX_CTL_OK;
        if (rc == EX_CTL_OK)
            rc = one_shot(&c, ses.json, argc, argv, &th);
    }
    cc_close(&c);
    return rc;
}
