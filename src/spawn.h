/*
 * spawn: start the program for one connection, with the connection as its
 * stdin and stdout, the signal state tcpwarden started with, and the
 * environment given.  The one entry point hides how (vfork, or fork when
 * prep must run first; see spawn.c).  SIGCHLD stays blocked across the
 * call, and the caller records the pid before it next reaps (table.h).
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct spawn_req {
	int fd;                  /* the connection: the child's fd 0 and 1 */
	char *const *argv;       /* program and arguments, for execvp */
	char *const *envp;       /* the child's whole environment, unless
	                          * prep sets it */
	/* With prep set, the child calls prep(ctx, &envp) after its
	 * descriptors and signals are set and before exec; prep may set
	 * envp, and returns 0 to go on, or an exit code for the child to
	 * end with. */
	int (*prep)(void *ctx, char *const **envp);
	void *ctx;
};

/* Start the child.  Returns its pid, or -1 with errno set when it could
 * not be created; then there is no child to reap.  A child that cannot
 * exec the program logs why and exits 111. */
pid_t spawn_start(const struct spawn_req *r);

#endif
