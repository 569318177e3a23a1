/*
 * spawn: start the program for one connection, with the connection as its
 * stdin and stdout, the signal state tcpwarden started with, and the
 * environment given.  The one entry point hides how (a vfork-like clone,
 * a clone not waited for (launch.h), or a fork when prep must run first;
 * see spawn.c).  No child holds, even
 * for one instruction, a descriptor of the server's from SPAWN_FD_FLOOR
 * up, where the listening sockets are.  SIGCHLD stays blocked across the
 * call, and the caller records the pid before it next reaps (table.h).
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "addr.h"

struct spawn_req {
	int fd;                  /* the connection: the child's fd 0 and 1 */
	const struct addr *remote;  /* its client, for the log lines */
	const struct addr *proxy;   /* the balancer it came through (with
	                             * a PROXY header), or NULL */
	char *const *argv;       /* program and arguments, for execvp: the
	                          * ones given to spawn_init */
	char *const *envp;       /* the child's whole environment, unless
	                          * prep sets it */
	/* With prep set, the child is forked and calls prep(ctx, &envp)
	 * after its descriptors and signals are set and before exec; prep
	 * may set envp, and returns 0 to go on, or an exit code for the
	 * child to end with. */
	int (*prep)(void *ctx, char *const **envp);
	/* Writes the ok line of child pid (at -v), once the program is
	 * known to start: see spawn_start. */
	void (*log_ok)(void *ctx, pid_t pid);
	void *ctx;
	int want_pidfd;          /* get a pidfd for the child (reap.h) */
};

/* Descriptors from this one up are never copied into a child, not even
 * until its exec: the server keeps its many there (a pidfd per child, the
 * listening sockets), and its few below.  A descriptor tcpwarden inherited
 * up there does not reach the program either. */
#define SPAWN_FD_FLOOR 64

/* Once, first: map the child stack (big enough for execvp of argv, which
 * never changes), and make room under RLIMIT_NOFILE for the server's
 * descriptors at SPAWN_FD_FLOOR and above: up to high_fds of its own (the
 * listener's) and a pidfd per child (the children get the limit back).
 * Fatal when out of memory. */
void spawn_init(char *const *argv, unsigned long max_children,
    unsigned long high_fds);

/* After the listener is open, holding high_fds descriptors up there: how
 * many pidfds the server may hold at once, max_children or fewer when the
 * limit on open files is too low. */
unsigned long spawn_pidfd_budget(unsigned long max_children,
    unsigned long high_fds);

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
 * then there is no child to reap, and a fork failure is logged once for
 * a run of them, with their count when a fork works again.  *pidfd gets
 * the child's pidfd (close-on-exec), or -1 without one: when not wanted,
 * or no descriptor was left.
 *
 * Logged, in this order: "pid PID from ADDRESS [via PROXY:PORT]" (at
 * -v), then either the
 * ok line (log_ok) or one warning "pid PID from ADDRESS:PORT: unable to
 * run PROGRAM: REASON", after which the child exits 111.  Without prep,
 * at -v, the exec is over when this returns, and these lines are the
 * caller's process's; below -v the only line, the warning, is written
 * once the child's exec has failed (launch.h), by the caller's process.
 * With prep the child writes them: the pid line before this returns, the
 * rest after prep, the ok line only once the program is found and
 * executable, just before the exec.
 *
 * spawn_start takes r->fd: it closes it on our side, at once when it has
 * waited for the exec, else once the child has exec'd or died. */
pid_t spawn_start(const struct spawn_req *r, int *pidfd);

/* Before the server sleeps: wait until every child started without
 * waiting has exec'd (or died), and close our side of its connection,
 * so that none stays open on our side meanwhile. */
void spawn_settle(void);

/* The warning for a program that did not start (also launch.c's). */
void spawn_log_no_run(pid_t pid, const struct spawn_req *r, int err);

#endif
