/*
 * spawn: start the program for one connection, with the connection as its
 * stdin and stdout, the signal state tcpwarden started with, and the
 * environment given.  The one entry point hides how (a vfork-like clone,
 * or fork when prep must run first; see spawn.c).  SIGCHLD stays blocked
 * across the call, and the caller records the pid before it next reaps
 * (table.h).
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
	int want_pidfd;          /* get a pidfd for the child (reap.h) */
};

/* Descriptors from this one up are never copied into a child, not even
 * until its exec: the server keeps its many there (a pidfd per child, the
 * accept queues' sockets), and its few below. */
#define SPAWN_FD_FLOOR 64

/* Once, first: map the child stack, and make room under RLIMIT_NOFILE
 * for the server's descriptors at SPAWN_FD_FLOOR and above: high_fds of
 * its own (the accept queues) and a pidfd per child (the children get the
 * limit back).  Returns how many pidfds the server may hold at once:
 * max_children, or fewer when the hard limit is too low.  Fatal when out
 * of memory. */
unsigned long spawn_init(unsigned long max_children, unsigned long high_fds);

/* Move fd to SPAWN_FD_FLOOR or above (close-on-exec), out of every
 * child's way; returns the new descriptor, or fd itself where it is there
 * already, is negative, or finds no room up there (it still works, only a
 * child copies it). */
int spawn_fd_up(int fd);

/* A pidfd (close-on-exec, at SPAWN_FD_FLOOR or above where there is
 * room) for pid, a child not yet reaped; -1 if there is no descriptor to
 * spare. */
int spawn_pidfd(pid_t pid);

/* Start the child.  Returns its pid, or -1 when it could not be created;
 * then there is no child to reap.  *pidfd gets the child's pidfd
 * (close-on-exec), or -1 without one: when not wanted, or no descriptor
 * was left.  A child that cannot exec the program is logged and exits
 * 111. */
pid_t spawn_start(const struct spawn_req *r, int *pidfd);

#endif
