/*
 * pmirrord.c - the daemon's entry point (everything else is in src/daemon).
 */
#include <stddef.h>

#include "pmirrord/daemon.h"

int main(int argc, char **argv)
{
    return pm_daemon_main(argc, argv, NULL);
}
