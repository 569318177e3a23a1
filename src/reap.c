#define _GNU_SOURCE
#include "reap.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static int epfd = -1;

int
reap_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd;
}

long
reap_children_now(void)
{
	char path[64], buf[4096];
	siginfo_t si;
	long count = 0;
	ssize_t n;
	size_t i;
	int fd, in_pid = 0;

	/* The main thread's list, which holds every child once the threads
	 * of the program before the exec are gone. */
	snprintf(path, sizeof path, "/proc/self/task/%ld/children",
	    (long)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* Space-separated pids. */
		while ((n = read(fd, buf, sizeof buf)) > 0)
			for (i = 0; i < (size_t)n; i++) {
				int digit = buf[i] >= '0' && buf[i] <= '9';
				if (digit && !in_pid)
					count++;
				in_pid = digit;
			}
		close(fd);
		if (n == 0)
			return count;
	}
	/* Without /proc: some child or none. */
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 ?
	    -1 : 0;
}

int
reap_orphans(void)
{
	int subreaper = 0;

	if (getpid() == 1)
		return 1;
	return prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0L, 0L, 0L) == 0 &&
	    subreaper != 0;
}

int
reap_ended(pid_t pid, int status)
{
	long sig;

	if (WIFEXITED(status) || WIFSIGNALED(status))
		return 1;
	if (WIFSTOPPED(status)) {
		/* No WUNTRACED is ever asked for, so this is a tracee of
		 * ours.  Should the detach fail, the child has died
		 * meanwhile, and its end comes as any other. */
		sig = WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status);
		ptrace(PTRACE_DETACH, pid, (void *)0, (void *)sig);
	}
	/* A continue is reported only with WCONTINUED, never asked for;
	 * whatever else, the child lives. */
	return 0;
}

/* The child's pid and pidfd travel in the event itself, so an event
 * needs no look-up to know whose it is. */
static void
pack(struct epoll_event *e, pid_t pid, int pidfd)
{
	/* One-shot: a pidfd turns readable once, and stays so; after the
	 * one event it is of no more use, and a stale copy (reap.h) can
	 * report once at most. */
	e->events = EPOLLIN | EPOLLONESHOT;
	e->data.u64 = (uint64_t)(uint32_t)pid << 32 | (uint32_t)pidfd;
}

int
reap_watch(pid_t pid, int pidfd)
{
	struct epoll_event e;

	pack(&e, pid, pidfd);
	return epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &e);
}

size_t
reap_ready(struct reap_event *ev, size_t max)
{
	struct epoll_event e[64];
	size_t i;
	int n;

	if (max > sizeof e / sizeof e[0])
		max = sizeof e / sizeof e[0];
	n = epoll_wait(epfd, e, (int)max, 0);
	if (n <= 0)
		return 0;
	for (i = 0; i < (size_t)n; i++) {
		ev[i].pid = (pid_t)(e[i].data.u64 >> 32);
		ev[i].pidfd = (int)(uint32_t)e[i].data.u64;
	}
	return (size_t)n;
}
