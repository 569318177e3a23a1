/*
 * spawn: start the program for one connection, with the connection as its
 * stdin and stdout.  The one entry point hides how: posix_spawn where the
 * child needs nothing but the exec (the fast path), fork where tcpwarden's
 * own code must run in the child first.  The caller blocks SIGCHLD around
 * the call and records the pid before letting it in again (table.h).
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct spawn_req {
	int fd;                  /* the connection: the child's fd 0 and 1 */
	char *const *argv;       /* program and arguments, for execvp */
	char *const *envp;       /* the child's whole environment */
	/* With prep set, the child is forked and calls prep(ctx, &envp)
	 * after its descriptors and signals are set and before exec; prep
	 * may replace envp, and returns 0 to go on, or an exit code for the
	 * child to end with. */
	int (*prep)(void *ctx, char *const **envp);
	void *ctx;
};

/* Start the child.  Returns its pid, or -1 with errno set when it could
 * not be created or (posix_spawn path) could not exec the program; then
 * there is no child to reap.  Failures to run the program are logged here,
 * by whichever process sees them. */
pid_t spawn_start(const struct spawn_req *r);

#endif
