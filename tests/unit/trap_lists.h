/*
 * trap_lists.h - expected OBJECTS of the ten notifications, written out by
 * hand from the MIB text (docs/mirror-mib.md) (never from the code's own
 * tables): count, then the sub-ids under .77.3.1, in order.
 * MID=1 SID=2 TR=3 TT=4 CS=5 EC=6 ES=7 AN=8 AA=9 UN=10 PN=11 PID=12 DT=13
 * RID=14 DIR=15 TIP=16 TRM=17.
 */
#ifndef PMIRRORD_TESTS_TRAP_LISTS_H
#define PMIRRORD_TESTS_TRAP_LISTS_H

static const int want_lists[11][14] = {
    [1] = {11, 13, 5, 4, 3, 14, 10, 1, 2, 6, 8, 7},
    [2] = {10, 13, 5, 4, 3, 14, 11, 12, 6, 8, 7},
    [3] = {10, 13, 5, 4, 3, 14, 1, 2, 11, 12, 15},
    [4] = {3, 13, 9, 14},
    [5] = {12, 13, 5, 4, 3, 14, 1, 2, 11, 12, 15, 16, 9},
    [6] = {13, 13, 5, 4, 3, 14, 1, 2, 11, 12, 15, 16, 9, 17},
    [7] = {12, 13, 5, 4, 3, 14, 1, 2, 11, 12, 15, 16, 9},
    [8] = {12, 13, 5, 4, 3, 14, 1, 2, 11, 12, 15, 16, 9},
    [9] = {10, 13, 5, 4, 3, 14, 1, 2, 11, 12, 15},
    [10] = {13, 13, 5, 4, 3, 14, 1, 2, 11, 12, 15, 16, 9, 17},
};

#endif
