/*
 * lookupcheck: drives src/lookup.c for tests/lookup.bats.
 *
 *	lookupcheck host [-p] [-t SEC] IP             -> "host NAME" or "nohost"
 *	lookupcheck ident [-t SEC] LIP LPORT RIP RPORT -> "info X" or "noinfo"
 *	lookupcheck sanitize TEXT                     -> "text X"
 *
 * After a look-up it also checks what lookup.h promises to leave alone: no
 * child process left, no descriptor left open, SIGALRM and SIGCHLD at their
 * dispositions, no alarm pending.  A breach is reported on stderr, exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "lookup.h"

#define FD_SCAN 256

static void
usage(void)
{
	fputs("usage: lookupcheck host [-p] [-t SEC] IP\n"
	    "       lookupcheck ident [-t SEC] LOCALIP LOCALPORT REMOTEIP "
	    "REMOTEPORT\n"
	    "       lookupcheck sanitize TEXT\n", stderr);
	exit(100);
}

static unsigned
number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		usage();
	return (unsigned)v;
}

static void
address(struct addr *a, const char *ip, const char *port)
{
	if (addr_parse(a, ip) == -1)
		usage();
	a->port = port != NULL ? (uint16_t)number(port, 65535) : 0;
}

/* Which descriptors are open, so that a leak shows as a difference. */
static void
open_fds(char open[FD_SCAN])
{
	int fd;

	for (fd = 0; fd < FD_SCAN; fd++)
		open[fd] = fcntl(fd, F_GETFD) != -1;
}

static int
check_left_alone(const char before[FD_SCAN])
{
	char after[FD_SCAN];
	struct sigaction sa;
	int fd, bad = 0;

	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD) {
		fputs("lookupcheck: a child process was left behind\n", stderr);
		bad = 1;
	}
	open_fds(after);
	for (fd = 0; fd < FD_SCAN; fd++)
		if (after[fd] != before[fd]) {
			fprintf(stderr, "lookupcheck: descriptor %d changed\n", fd);
			bad = 1;
		}
	if (sigaction(SIGALRM, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL) {
		fputs("lookupcheck: SIGALRM disposition changed\n", stderr);
		bad = 1;
	}
	if (sigaction(SIGCHLD, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL) {
		fputs("lookupcheck: SIGCHLD disposition changed\n", stderr);
		bad = 1;
	}
	if (alarm(0) != 0) {
		fputs("lookupcheck: an alarm was left pending\n", stderr);
		bad = 1;
	}
	return bad;
}

int
main(int argc, char **argv)
{
	char text[LOOKUP_TEXT_MAX], before[FD_SCAN];
	unsigned timeout = 26;
	struct addr local, remote;
	int paranoid = 0, i = 2, found;

	if (argc < 3)
		usage();
	if (strcmp(argv[1], "sanitize") == 0) {
		if (argc != 3)
			usage();
		lookup_sanitize(argv[2]);
		printf("text %s\n", argv[2]);
		return 0;
	}
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-p") == 0 && strcmp(argv[1], "host") == 0)
			paranoid = 1;
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			timeout = number(argv[++i], UINT_MAX);
		else
			usage();
	}
	/* The disposition check below must see what the look-up left, not
	 * what our own caller gave us. */
	signal(SIGALRM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	open_fds(before);
	if (strcmp(argv[1], "host") == 0) {
		if (argc - i != 1)
			usage();
		address(&remote, argv[i], NULL);
		found = lookup_host(&remote, paranoid, timeout, text, sizeof text);
		if (found)
			printf("host %s\n", text);
		else
			puts("nohost");
	} else if (strcmp(argv[1], "ident") == 0) {
		if (argc - i != 4)
			usage();
		address(&local, argv[i], argv[i + 1]);
		address(&remote, argv[i + 2], argv[i + 3]);
		found = lookup_ident(&local, &remote, timeout, text, sizeof text);
		if (found)
			printf("info %s\n", text);
		else
			puts("noinfo");
	} else
		usage();
	return check_left_alone(before);
}
