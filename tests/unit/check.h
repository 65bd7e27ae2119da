/*
 * check.h - the unit tests' one assertion: print FILE:LINE and the failed
 * expression, exit 1.  No framework: each test is a program, one ctest each.
 */
#ifndef PMIRRORD_TESTS_CHECK_H
#define PMIRRORD_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#endif
