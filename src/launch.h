/*
 * launch: start the program for a connection without waiting for its
 * exec.  spawn's clone (spawn.c) holds the server until the child has
 * exec'd, since the child runs in our memory until then: a third of the
 * time of a connection on 2 cores.  Here the server goes on at once, and
 * the children still on their way to exec are the slots in flight.
 *
 * The invariant: a slot, and all that its child reads (its stack, its
 * environment, its connection's descriptor in our table), stays untouched
 * until the kernel has cleared the slot's word, which it does when the
 * child lets go of our memory (at its exec, or at its death); only then
 * is the slot finished: the connection closed on our side, a failed exec
 * counted and logged.  And the child itself writes nothing of ours but
 * its slot: it makes raw system calls only (rawsys.h), so not even errno
 * changes under the server.
 *
 * Used where nothing needs the exec's outcome at once: no prep, no pid
 * and ok lines (below -v), and signal dispositions the child can set
 * back with one raw call (sig.h).  Everywhere else spawn waits, as
 * before.
 */
#ifndef LAUNCH_H
#define LAUNCH_H

#include <sys/resource.h>
#include <sys/types.h>

#include "spawn.h"

/* Once, from spawn_init, after sig_init: whether launching can be used
 * in this build on this machine (a raw system call instruction, no
 * sanitizer, a kernel that can share and unshare a descriptor table, no
 * signal disposition to set back but SIGPIPE's).  stack_size: for each
 * slot's stack, as spawn's.  nofile: the limit on open files to give the
 * children, or NULL to leave theirs as it is. */
int launch_init(char *const *argv, size_t stack_size,
    const struct rlimit *nofile);

/* Whether this request can be launched rather than spawned. */
int launch_fits(const struct spawn_req *r);

/* Start r's child in a free slot (waiting for one if all are in flight),
 * and yield the processor if another child is still in flight; the slot
 * takes r->fd and closes it once the child has it.  Returns the
 * pid, or -1 with errno when no child was made (r->fd is then still the
 * caller's).  *pidfd as spawn_start's, when want_pidfd. */
pid_t launch_start(const struct spawn_req *r, int want_pidfd, int *pidfd);

/* Finish every slot whose child has exec'd or died, without waiting. */
void launch_reap_slots(void);

/* Finish every slot, waiting for those in flight: before the server
 * sleeps, so that no connection stays open on our side while we do. */
void launch_settle(void);

#endif
