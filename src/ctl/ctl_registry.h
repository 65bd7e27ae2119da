/*
 * ctl_registry.h - internal: the control server's commands (built-in and
 * registered), request matching, help, and the words that may follow an
 * incomplete command.  No sockets, no threads.
 */
#ifndef PMIRRORD_CTL_REGISTRY_H
#define PMIRRORD_CTL_REGISTRY_H

#include <stddef.h>

#include "ctl_reply.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/ctl_wire.h"

#define CTL_MAX_COMMANDS 256

enum ctl_builtin {
    CTL_B_NONE,
    CTL_B_HELP,
    CTL_B_EXIT,
    CTL_B_QUIT,
    CTL_B_DISABLE,
    CTL_B_MDISABLE,
    CTL_B_ENABLE,
};

struct ctl_cmd {
    char *spec; /* as registered, for help */
    char *wbuf; /* storage of words[] */
    char *words[CTL_MAX_WORDS];
    int nwords;   /* literal words */
    int max_args; /* words the spec allows after the literal ones; -1: any number ("...") */
    unsigned flags;
    char *help;
    ctl_cmd_fn fn;
    void *arg;
    enum ctl_builtin builtin;
};

struct ctl_registry {
    struct ctl_cmd *cmds;
    size_t ncmds;
};

/* An empty registry with the built-in commands.  Returns 0, or -1 with err. */
int ctl_registry_init(struct ctl_registry *reg, char *err, size_t errlen);
void ctl_registry_free(struct ctl_registry *reg);

/* See ctl_server_add_command(); b is CTL_B_NONE for a registered command. */
int ctl_registry_add(struct ctl_registry *reg, const char *spec, unsigned flags, const char *help,
                     ctl_cmd_fn fn, void *arg, enum ctl_builtin b, char *err, size_t errlen);

/* Is cmd visible to a session (mirror: it has passed mirror-enable)? */
int ctl_cmd_visible(const struct ctl_cmd *cmd, int mirror);

/* The visible command with the longest run of literal words equal to argv's first. */
const struct ctl_cmd *ctl_registry_match(const struct ctl_registry *reg, int mirror, int argc,
                                         char *const *argv);

/*
 * argv (argc >= 1 whole words) is the start of visible commands but names
 * none: appends "w1 w2: one of: a, b, c" (the distinct next words, sorted) to
 * out and returns how many; 0 (out untouched) if no visible command starts so.
 */
size_t ctl_registry_next_words(const struct ctl_registry *reg, int mirror, int argc,
                               char *const *argv, struct sbuf *out);

/*
 * help [words...] (meta 0) or @commands (meta 1) for a session: renders the
 * body into out.  Returns 0, or -1 (out untouched) if no visible command
 * starts with those words.
 */
int ctl_registry_help(const struct ctl_registry *reg, int mirror, int json, int argc,
                      char *const *argv, int meta, struct sbuf *out);

#endif
