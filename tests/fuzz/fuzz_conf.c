/*
 * fuzz_conf.c - libFuzzer target for the configuration parser
 * (src/config/conf.c, conf_lex.c, conf_traphost.c).
 *
 * Two modes, chosen by the first byte:
 * - anything but 0x00: the input is a configuration file, parsed with
 *   conf_load_buffer("fuzz.conf", ...);
 * - 0x00: the rest is trapHost words separated by NUL bytes (words that
 *   conf_split() can never produce: empty, with blanks or quotes), parsed
 *   with conf_parse_traphost() behind argv[0] = "trapHost".
 * Properties: an error names "NAME:LINE:" with a plausible line; a success
 * leaves only values the directives accept (every host has a user, auth and
 * priv, queue_size >= 32, an AgentX TCP address is numeric with its port, a
 * controlGroup exists, ...); the mirror triggers are at most maxTriggers,
 * no two the same, and each one's canonical line parses back to the same
 * rule; a refused trapHost leaves no passphrase in h.
 */
#include "config/conf_lex.h"
#include "pmirrord/conf.h"
#include "pmirrord/log.h"

#include <arpa/inet.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_conf: property failed: %s: ", #cond);                            \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define NAME  "fuzz.conf"
#define WHERE "fuzz.conf:7"

static void quiet_sink(int prio, const char *token, const char *msg, void *arg)
{
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_sink(quiet_sink, NULL); /* SHA-1 warnings would flood the output */
    return 0;
}

static int terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static void check_host(const struct pm_traphost_conf *h, const char *where_prefix)
{
    CHECK(terminated(h->address, sizeof(h->address)) && h->address[0] != '\0', "address");
    CHECK(terminated(h->transport, sizeof(h->transport)), "transport");
    CHECK(strncmp(h->transport, "udp:", 4) == 0 || strncmp(h->transport, "udp6:[", 6) == 0,
          "transport \"%s\"", h->transport);
    CHECK(terminated(h->user, sizeof(h->user)) && h->user[0] != '\0', "user");
    CHECK(h->auth >= TH_AUTH_SHA1 && h->auth <= TH_AUTH_SHA512, "auth %d", (int)h->auth);
    CHECK(h->priv >= TH_PRIV_AES128 && h->priv <= TH_PRIV_AES256, "priv %d", (int)h->priv);
    /* a passphrase of 8 or more, or none when the key was given (authKey, privKey) */
    CHECK(terminated(h->auth_pass, sizeof(h->auth_pass)) &&
              (strlen(h->auth_pass) >= 8 || h->auth_pass[0] == '\0'),
          "auth_pass");
    CHECK(terminated(h->priv_pass, sizeof(h->priv_pass)) &&
              (strlen(h->priv_pass) >= 8 || h->priv_pass[0] == '\0'),
          "priv_pass");
    /* the master keys always, as long as the auth hash (conf_traphost.c) */
    CHECK(h->auth_ku_len == conf_ku_len(h->auth) && h->priv_ku_len == h->auth_ku_len,
          "key lengths %zu %zu", h->auth_ku_len, h->priv_ku_len);
    CHECK(h->engine_id_len == 0 || (h->engine_id_len >= 5 && h->engine_id_len <= 32),
          "engine_id_len %zu", h->engine_id_len);
    CHECK(h->severity >= 0 && h->severity <= 7, "severity %d", h->severity);
    CHECK(h->queue_size >= 32 && h->queue_size <= (1u << 20), "queue_size %u", h->queue_size);
    CHECK(h->drain_rate <= 1000000, "drain_rate %u", h->drain_rate);
    CHECK(h->queue_full == TH_DROP_LAST_IN || h->queue_full == TH_DROP_FIRST_IN, "queue_full");
    CHECK(h->timeout_s >= 1 && h->timeout_s <= 300, "timeout %u", h->timeout_s);
    CHECK(h->retries <= 100, "retries %u", h->retries);
    CHECK(strncmp(h->where, where_prefix, strlen(where_prefix)) == 0, "where \"%s\"", h->where);
}

/* tcp:A.B.C.D:PORT, the one form the parser stores (a numeric address, the port always set). */
static int numeric_tcp(const char *s)
{
    char host[64];
    unsigned port;
    int end = 0;
    struct in6_addr a;
    if (sscanf(s, "tcp:[%63[0-9a-fA-F:.]]:%5u%n", host, &port, &end) == 2 && s[end] == '\0')
        return inet_pton(AF_INET6, host, &a) == 1 && port >= 1 && port <= 65535;
    end = 0;
    if (sscanf(s, "tcp:%63[0-9.]:%5u%n", host, &port, &end) != 2 || s[end] != '\0')
        return 0;
    return inet_pton(AF_INET, host, &a) == 1 && port >= 1 && port <= 65535;
}

/* "NAME:LINE: " with 1 <= LINE <= maxline. */
static void check_error(const char *err, long maxline)
{
    CHECK(strncmp(err, NAME ":", strlen(NAME) + 1) == 0, "error \"%s\"", err);
    char *end;
    long line = strtol(err + strlen(NAME) + 1, &end, 10);
    CHECK(end != err + strlen(NAME) + 1 && end[0] == ':' && end[1] == ' ', "error \"%s\"", err);
    CHECK(line >= 1 && line <= maxline, "line %ld of at most %ld: \"%s\"", line, maxline, err);
    /* conf.c once wiped the host before naming it: "trapHost  is already defined" */
    CHECK(strncmp(end + 2, "trapHost  is already", 20) != 0, "error \"%s\"", err);
}

static void fuzz_file(const uint8_t *data, size_t size)
{
    struct pm_conf c;
    char err[1024];
    long maxline = 1 + (long)(size / 4095); /* a NUL can end a line inside a 4095-byte chunk */

    for (size_t i = 0; i < size; i++)
        maxline += data[i] == '\n';
    memset(err, 'X', sizeof(err));
    err[sizeof(err) - 1] = '\0';
    if (conf_load_buffer(NAME, (const char *)data, size, &c, err, sizeof(err)) < 0) {
        check_error(err, maxline);
        CHECK(c.hosts == NULL && c.nhosts == 0, "hosts kept after an error");
        return;
    }
    CHECK(strcmp(c.path, NAME) == 0, "path");
    CHECK(terminated(c.agentx_socket, sizeof(c.agentx_socket)), "agentx_socket");
    CHECK(c.agentx_socket[0] == '/' || strncmp(c.agentx_socket, "unix:/", 6) == 0 ||
              numeric_tcp(c.agentx_socket),
          "agentx_socket \"%s\"", c.agentx_socket);
    CHECK(c.agentx_ping_interval >= 1 && c.agentx_ping_interval <= 3600, "ping");
    CHECK(terminated(c.persistent_dir, sizeof(c.persistent_dir)) && c.persistent_dir[0] == '/',
          "persistent_dir");
    CHECK(c.trap_enable == 0 || c.trap_enable == 1, "trap_enable %d", c.trap_enable);
    CHECK(c.engine_id_len == 0 || (c.engine_id_len >= 5 && c.engine_id_len <= 32), "engine_id");
    CHECK(c.global_severity >= 0 && c.global_severity <= 7, "global_severity");
    for (int t = 1; t <= 10; t++)
        CHECK(c.trap_severity[t] >= 0 && c.trap_severity[t] <= 7, "trap_severity[%d]", t);
    CHECK(c.event_queue_size >= 16 && c.event_queue_size <= (1u << 20), "event_queue_size");
    CHECK(c.secure_log_size >= 1 && c.secure_log_size <= 100000, "secure_log_size");
    CHECK(c.mirror_log_size >= 1 && c.mirror_log_size <= 100000, "mirror_log_size");
    CHECK(c.secure_log == 0 || c.secure_log == 1, "secure_log");
    CHECK(terminated(c.control_socket, sizeof(c.control_socket)) && c.control_socket[0] == '/',
          "control_socket");
    CHECK(terminated(c.control_group, sizeof(c.control_group)), "control_group");
    CHECK(c.control_group[0] == '\0' || getgrnam(c.control_group) != NULL, "control_group \"%s\"",
          c.control_group);
    CHECK(terminated(c.mirror_secret, sizeof(c.mirror_secret)) &&
              (c.mirror_secret[0] == '\0' || c.mirror_secret[0] == '$'),
          "mirror_secret");
    CHECK((c.nhosts == 0) == (c.hosts == NULL), "nhosts %zu", c.nhosts);
    for (size_t i = 0; i < c.nhosts; i++) {
        check_host(&c.hosts[i], NAME ":");
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(c.hosts[i].transport, c.hosts[k].transport) != 0, "duplicate host %s",
                  c.hosts[i].transport);
    }
    CHECK(c.ntriggers <= c.max_triggers && c.max_triggers >= 1, "ntriggers %zu", c.ntriggers);
    for (size_t i = 0; i < c.ntriggers; i++) {
        static char line[2048];
        char *argv[CONF_MAX_WORDS], lexerr[128], err2[300];
        struct pm_trigger back;
        for (size_t k = 0; k < i; k++)
            CHECK(!trig_same(&c.triggers[i].rule, &c.triggers[k].rule), "duplicate trigger");
        CHECK(trig_format(&c.triggers[i].rule, line, sizeof(line)) > 0, "trig_format");
        int argc = conf_split(line, argv, CONF_MAX_WORDS, lexerr, sizeof(lexerr));
        CHECK(argc > 0, "the canonical line does not split: %s", lexerr);
        CHECK(trig_parse(&back, argc, argv, err2, sizeof(err2)) == 0, "reparse: %s", err2);
        CHECK(trig_same(&back, &c.triggers[i].rule), "the canonical line is another rule");
    }
    conf_free(&c);
}

static void fuzz_traphost_words(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char *argv[64];
    int argc = 0;
    if (copy == NULL)
        return;
    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[argc++] = "trapHost";
    for (size_t i = 0; i <= size && argc < (int)(sizeof(argv) / sizeof(argv[0]));) {
        argv[argc++] = copy + i;
        i += strlen(copy + i) + 1;
    }
    if (size == 0)
        argc = 1; /* no words at all: "missing address" */

    struct pm_traphost_conf h;
    char err[1024];
    if (conf_parse_traphost(&h, argc, argv, WHERE, err, sizeof(err)) < 0) {
        CHECK(strncmp(err, WHERE ": trapHost: ", strlen(WHERE ": trapHost: ")) == 0, "error \"%s\"",
              err);
        static const struct pm_traphost_conf zero;
        CHECK(memcmp(&h, &zero, sizeof(h)) == 0, "a refused host was not wiped");
    } else {
        check_host(&h, WHERE);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 0)
        fuzz_traphost_words(data + 1, size - 1);
    else
        fuzz_file(data, size);
    return 0;
}
