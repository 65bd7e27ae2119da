/*
 * ctl_wire.c - control-socket framing and request word splitting (see
 * pmirrord/ctl_wire.h).
 */
#include "pmirrord/ctl_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
    [CTL_ST_HELLO] = "HELLO",   [CTL_ST_OK] = "OK",           [CTL_ST_ERR] = "ERR",
    [CTL_ST_DENIED] = "DENIED", [CTL_ST_REFUSED] = "REFUSED", [CTL_ST_BYE] = "BYE",
};

const char *ctl_status_name(enum ctl_status st)
{
    if ((unsigned)st >= sizeof status_names / sizeof status_names[0])
        return "ERR";
    return status_names[st];
}

size_t ctl_frame_header(char *buf, enum ctl_status st, size_t len)
{
    int n = snprintf(buf, CTL_MAX_HEADER, "%s %zu\n", ctl_status_name(st), len);
    return n < 0 ? 0 : (size_t)n;
}

int ctl_frame_parse_header(const char *line, enum ctl_status *st, size_t *len)
{
    const char *sp = strchr(line, ' ');
    if (sp == NULL)
        return -1;
    size_t wl = (size_t)(sp - line);
    int found = -1;
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++) {
        if (strlen(status_names[i]) == wl && memcmp(status_names[i], line, wl) == 0)
            found = (int)i;
    }
    if (found < 0 || sp[1] < '0' || sp[1] > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(sp + 1, &end, 10);
    if (errno || (*end != '\0' && strcmp(end, "\n") != 0) || v > CTL_MAX_RESPONSE)
        return -1;
    *st = (enum ctl_status)found;
    *len = (size_t)v;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int ctl_split_words(char *line, char **argv, int max)
{
    int n = 0;
    char *r = line, *w = line;

    for (;;) {
        while (is_blank(*r))
            r++;
        if (*r == '\0')
            break;
        if (n == max)
            return -1;
        argv[n++] = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (*r == '\0')
                    return -1;
                if (*r == '"') {
                    r++;
                    break;
                }
                if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
                    r++;
                *w++ = *r++;
            }
            if (*r != '\0' && !is_blank(*r))
                return -1; /* "ab"cd */
        } else {
            while (*r != '\0' && !is_blank(*r))
                *w++ = *r++;
        }
        if (*r != '\0')
            r++;
        *w++ = '\0';
    }
    return n;
}

int ctl_quote_word(char *buf, size_t cap, const char *word)
{
    size_t n = strlen(buf);
    int quote = *word == '\0' || strpbrk(word, " \t\r\n\"\\") != NULL;
    /* worst case before the loop: separator + opening quote */
    if (n + 3 >= cap)
        return -1;
    if (n > 0)
        buf[n++] = ' ';
    if (quote)
        buf[n++] = '"';
    for (const char *p = word; *p; p++) {
        if (n + 3 >= cap)
            return -1;
        if (quote && (*p == '"' || *p == '\\'))
            buf[n++] = '\\';
        buf[n++] = *p;
    }
    /* room for the closing quote and the NUL */
    if (n + (quote ? 2 : 1) > cap)
        return -1;
    if (quote)
        buf[n++] = '"';
    buf[n] = '\0';
    return 0;
}
