/*
 * tracer: what the reaping tests (tests/reap.bats) need of ptrace and
 * prctl, which no shell tool offers without side effects of its own.
 *
 *   tracer seize PID
 *       trace PID (PTRACE_SEIZE) and never wait for it, so that when it
 *       dies it stays a zombie its parent cannot reap; print "seized",
 *       hold on until stdin reaches EOF, then exit, which lets it go.
 *   tracer traceme
 *       ask to be traced by the parent (PTRACE_TRACEME), print "ready",
 *       stop (SIGSTOP), then read stdin to EOF and exit 0.
 *   tracer subreaper PROG ARG...
 *       become a child subreaper (PR_SET_CHILD_SUBREAPER) and exec PROG.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <unistd.h>

static void
die(const char *what)
{
	fprintf(stderr, "tracer: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Read fd 0 until EOF or an error. */
static void
drain_stdin(void)
{
	char buf[512];

	while (read(0, buf, sizeof buf) > 0)
		;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "seize")) {
		pid_t pid = (pid_t)atol(argv[2]);
		if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) != 0)
			die("PTRACE_SEIZE");
		printf("seized\n");
		fflush(stdout);
		drain_stdin();
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "traceme")) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
			die("PTRACE_TRACEME");
		if (write(1, "ready\n", 6) != 6)
			die("write");
		raise(SIGSTOP);
		drain_stdin();
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "subreaper")) {
		if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) != 0)
			die("PR_SET_CHILD_SUBREAPER");
		execvp(argv[2], argv + 2);
		die(argv[2]);
	}
	fprintf(stderr, "usage: tracer seize PID | traceme | "
	    "subreaper PROG ARG...\n");
	return 2;
}
