/*
 * errbuf.h - the caller-supplied error buffer convention: a function that
 * fails fills err with one human sentence and returns -1.
 */
#ifndef PMIRRORD_ERRBUF_H
#define PMIRRORD_ERRBUF_H

#include <stddef.h>

#include "pmirrord/log.h"

/* Formats into err (if err and errlen) and returns -1. */
int pm_err(char *err, size_t errlen, const char *fmt, ...) PM_PRINTF(3, 4);

#endif
