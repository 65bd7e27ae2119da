/*
 * ctl_proto.c - the control server's request parser (see ctl_proto.h).
 */
#include "ctl_proto.h"

#include <string.h>

long ctl_find_request(const char *buf, size_t len, size_t cap, size_t *used)
{
    const char *nl = memchr(buf, '\n', len);
    if (nl == NULL)
        return len < cap ? CTL_LINE_MORE : CTL_LINE_TOO_LONG;
    size_t n = (size_t)(nl - buf);
    *used = n + 1;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    return (long)n;
}

int ctl_request_wants_json(const char *buf, size_t len)
{
    size_t i = 0, jl = strlen(CTL_JSON_PREFIX);
    while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
        i++;
    return len - i > jl && memcmp(buf + i, CTL_JSON_PREFIX, jl) == 0 &&
           (buf[i + jl] == ' ' || buf[i + jl] == '\t');
}

/* Skips "@json" (sets *json) and returns what follows "mirror-enable", or NULL. */
static const char *enable_request(const char *line, int *json)
{
    static const char kw[] = "mirror-enable";
    size_t jl = strlen(CTL_JSON_PREFIX);
    const char *p = line + strspn(line, " \t");
    *json = 0;
    if (strncmp(p, CTL_JSON_PREFIX, jl) == 0 && (p[jl] == ' ' || p[jl] == '\t')) {
        *json = 1;
        p += jl;
        p += strspn(p, " \t");
    }
    if (strncmp(p, kw, sizeof kw - 1) == 0 &&
        (p[sizeof kw - 1] == '\0' || p[sizeof kw - 1] == ' ' || p[sizeof kw - 1] == '\t'))
        return p + sizeof kw - 1;
    return NULL;
}

void ctl_parse_request(const struct ctl_registry *reg, int mirror, char *line,
                       struct ctl_request *rq)
{
    memset(rq, 0, sizeof *rq);
    rq->argv = rq->words;
    const char *rest = enable_request(line, &rq->json);
    if (rest != NULL) {
        /* The secret is every byte after the one blank that separates it from the
         * keyword, blanks included, as pmirrorctl hash-secret and its prompts keep
         * them (docs/control-protocol.md, "Mirror mode"). */
        if (*rest != '\0')
            rest++;
        rq->kind = CTL_REQ_ENABLE;
        rq->secret = rest;
        rq->secret_len = strlen(rest);
        return;
    }
    int argc = ctl_split_words(line, rq->words, CTL_MAX_WORDS);
    if (argc < 0) {
        rq->kind = CTL_REQ_MALFORMED;
        return;
    }
    int skip = argc > 0 && strcmp(rq->words[0], CTL_JSON_PREFIX) == 0;
    if (skip)
        rq->json = 1;
    argc -= skip;
    char **av = rq->words + skip;
    av[argc] = NULL;
    rq->argv = av;
    rq->argc = argc;
    if (argc == 0) {
        rq->kind = CTL_REQ_EMPTY;
        return;
    }
    if (strcmp(av[0], CTL_META_COMMANDS) == 0) {
        rq->kind = CTL_REQ_META;
        return;
    }
    const struct ctl_cmd *cmd = ctl_registry_match(reg, mirror, argc, av);
    if (cmd == NULL) {
        struct sbuf probe = {0};
        int prefix = ctl_registry_next_words(reg, mirror, argc, av, &probe) > 0;
        sbuf_free(&probe);
        rq->kind = prefix ? CTL_REQ_PREFIX : CTL_REQ_UNKNOWN;
        return;
    }
    rq->cmd = cmd;
    rq->argc = argc - cmd->nwords;
    rq->argv = av + cmd->nwords;
    if (cmd->builtin == CTL_B_ENABLE) {
        rq->kind = CTL_REQ_ENABLE;
        /* not one argument: an empty secret (the NUL after the keyword), which fails */
        rq->secret =
            rq->argc == 1 ? rq->argv[0] : av[cmd->nwords - 1] + strlen(av[cmd->nwords - 1]);
        rq->secret_len = strlen(rq->secret);
        return;
    }
    rq->kind = CTL_REQ_COMMAND;
    /* help takes any command's words; every other command refuses what it does not take */
    if (cmd->builtin != CTL_B_HELP && cmd->max_args >= 0 && rq->argc > cmd->max_args) {
        rq->kind = CTL_REQ_EXTRA;
        rq->argv += cmd->max_args;
        rq->argc -= cmd->max_args;
    }
}
