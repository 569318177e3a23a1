/*
 * reap: which children have ended, without asking the kernel about all of
 * them.  waitpid(-1) walks every live child of ours in the kernel to find
 * an ended one, and the loop that ends each reaping walks them all again:
 * with 5,000 connections held open, that walk was three quarters of the
 * server's time.  So each child comes with a pidfd (spawn.h), which turns
 * readable when the child ends; the pidfds sit in an epoll set, one-shot,
 * and each event names its child, which waitpid(pid) then reaps at a cost
 * that does not grow with the others.
 *
 * A child without a pidfd (none was left under the descriptor limit, or
 * the process had children before it exec'd tcpwarden) is reaped the
 * old way, by the waitpid(-1) loop on SIGCHLD (server.c).
 */
#ifndef REAP_H
#define REAP_H

#include <stddef.h>
#include <sys/types.h>

struct reap_event {
	pid_t pid;
	int pidfd;
};

/* Create the epoll set (close-on-exec).  Returns its descriptor, to poll
 * for POLLIN, or -1. */
int reap_init(void);

/* How many children the process has, before the server starts any: those
 * it had before it exec'd tcpwarden.  From /proc; where that cannot be
 * read, 0 if it has none and -1 (unknown) if it has some. */
long reap_children_now(void);

/* Watch the pidfd of child pid.  Returns 0, or -1 when it cannot be
 * watched; the caller then closes the pidfd and reaps pid the old way. */
int reap_watch(pid_t pid, int pidfd);

/* Watch it again: an event came, but the child was not yet reapable. */
void reap_rearm(pid_t pid, int pidfd);

/* Up to max children whose pidfd turned readable, without waiting.
 * Returns how many; max means there may be more.  An event may be stale:
 * a forked child (spawn.h) holds copies of our pidfds until it execs, so
 * a pidfd the server has closed may still report once.  The caller checks
 * each against its table (table_pidfd), and reaps with WNOHANG. */
size_t reap_ready(struct reap_event *ev, size_t max);

#endif
