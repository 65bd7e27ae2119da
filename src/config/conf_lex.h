/*
 * conf_lex.h - split one configuration line into words (private to src/config).
 */
#ifndef PMIRRORD_CONF_LEX_H
#define PMIRRORD_CONF_LEX_H

#include <stddef.h>

#define CONF_MAX_WORDS 48

/* Splits line in place.  '#' outside quotes ends the line; "..." groups a
 * word (no escapes).  Returns the word count, or -1 with err set. */
int conf_split(char *line, char **argv, int max, char *err, size_t errlen);
/* Strict unsigned parse within [min,max]; 0 on success. */
int conf_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* The words of every on/off directive (README "Configuration reference"):
 * yes/no, on/off, true/false, enable/disable, any case; 0 with *out 1 or 0,
 * -1 for anything else (numbers too: TruthValue's false(2) would read as on). */
int conf_onoff(const char *s, int *out);

#endif
