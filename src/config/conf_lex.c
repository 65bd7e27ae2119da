/*
 * conf_lex.c - word splitting and number parsing for the config file.
 */
#include "conf_lex.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

int conf_split(char *line, char **argv, int max, char *err, size_t errlen)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p != '\0' && isspace((unsigned char)*p))
            p++;
        if (*p == '\0' || *p == '#')
            break;
        if (n == max) {
            snprintf(err, errlen, "too many words (more than %d)", max);
            return -1;
        }
        if (*p == '"') {
            argv[n++] = ++p;
            while (*p != '\0' && *p != '"')
                p++;
            if (*p != '"') {
                snprintf(err, errlen, "unterminated quoted string");
                return -1;
            }
            *p++ = '\0';
            if (*p != '\0' && !isspace((unsigned char)*p)) {
                snprintf(err, errlen, "text directly after a closing quote");
                return -1;
            }
            continue;
        }
        argv[n++] = p;
        while (*p != '\0' && !isspace((unsigned char)*p))
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
    return n;
}

int conf_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    if (s == NULL || !isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int conf_onoff(const char *s, int *out)
{
    static const char *const on[] = {"yes", "on", "true", "enable"};
    static const char *const off[] = {"no", "off", "false", "disable"};
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        if (strcasecmp(s, on[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, off[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}
