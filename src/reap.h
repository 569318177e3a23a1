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
 * old way, by the waitpid(-1) loop on SIGCHLD (server.c).  So are every
 * child where orphans come to us (reap_orphans), and a child whose pidfd
 * turned readable while it could not yet be reaped: one traced by another
 * process, whose tracer must let it go first.  The loop never spins on a
 * readable pidfd.
 *
 * A pidfd costs four system calls a child (made, moved up, watched,
 * closed), an inode the kernel makes and frees, and a second wake-up
 * beside SIGCHLD; with few children the sweep walks so few that it costs
 * less.  So children get no pidfd while fewer than REAP_PIDFD_FROM live,
 * and once that many do, every child that lives gets one: those already
 * live without one get theirs then (pidfd_open), so the sweep never walks
 * a full table, and each new child once it has lived YOUNG_MS (young.h:
 * one that ends sooner is found by its pid).  Back under half of it, new
 * children go without again.
 */
#ifndef REAP_H
#define REAP_H

#include <stddef.h>
#include <sys/types.h>

#define REAP_PIDFD_FROM 256

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

/* Whether orphans are given to this process: it is PID 1 of its pid
 * namespace, or a child subreaper (prctl PR_SET_CHILD_SUBREAPER, kept
 * across exec).  Then children the server never started come and die,
 * and only the waitpid(-1) sweep can reap them. */
int reap_orphans(void);

/* Whether a status that waitpid gave for pid is an end (exited, or
 * killed).  A stop is reported only for a child that asked to be traced
 * by its parent (PTRACE_TRACEME): tcpwarden is no debugger, so it lets
 * the child go (PTRACE_DETACH), passing on the signal that stopped it,
 * but SIGTRAP, which the kernel raises for tracers only; the child then
 * runs, or stays stopped, as it would untraced, and holds its slot. */
int reap_ended(pid_t pid, int status);

/* Watch the pidfd of child pid.  Returns 0, or -1 when it cannot be
 * watched; the caller then closes the pidfd and reaps pid the old way. */
int reap_watch(pid_t pid, int pidfd);

/* Up to max children whose pidfd turned readable, without waiting.
 * Returns how many; max means there may be more.  An event may be stale:
 * where the kernel cannot share a descriptor table for a moment (before
 * 5.9, or under valgrind: spawn.c), a forked child holds copies of our
 * pidfds until its first act, so a pidfd the server has closed may still
 * report once.  The caller checks each against its table (table_pidfd),
 * and reaps with WNOHANG. */
size_t reap_ready(struct reap_event *ev, size_t max);

#endif
