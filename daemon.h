/* daemon.h -- detaching, and telling the launcher how it went */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_DAEMON_H
#define INSPECT_DAEMON_H

#include <stddef.h>

/* daemon_detach(): failed, and the launcher was told why. */
#define DAEMON_TOLD	(-2)

/*
 * Detach: the calling process waits until the detached one says it is
 * ready (exit 0) or why it is not (the reason on stderr, exit 1); only
 * the detached process returns, in a session of its own, with its
 * working directory at / and standard input, output and error on
 * /dev/null.  Returns the descriptor to pass to daemon_ready(); or -1
 * with the reason in err, nothing detached; or DAEMON_TOLD, in a process
 * that could not detach after all, the launcher told the reason (in
 * err too): it has only to clean up and exit.
 */
int	daemon_detach(char *err, size_t errlen);

/*
 * Tell the process that started the daemon that it is serving (why NULL)
 * or why it is not, and close fd.
 */
void	daemon_ready(int fd, const char *why);

#endif
