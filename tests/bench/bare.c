/*
 * bare: the least a server that spawns a program per connection can do,
 * as a reference row of the benchmark (issue 4).  It listens on
 * 127.0.0.1, prints its port, and for each connection: accept4, vfork,
 * dup2 onto 0 and 1, exec; the parent closes the connection and reaps
 * with waitpid(-1, WNOHANG).  No limits, no table, no environment, no
 * logging, nothing any real server could leave out.
 *
 * Its rate against the spawn ceiling (spawnloop) is what the network and
 * the load generator cost on this machine; tcpwarden's against it is what
 * tcpwarden itself costs.  Ended by SIGTERM.
 *
 *     bare [-b backlog] program [arg ...]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char **prog;   /* static: the vfork child shares our stack */

static void
die(const char *what)
{
	fprintf(stderr, "bare: %s: %s\n", what, strerror(errno));
	exit(111);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int lfd, backlog = 128, one = 1;

	if (argc > 2 && strcmp(argv[1], "-b") == 0) {
		backlog = atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc < 2) {
		fprintf(stderr, "bare: usage: bare [-b backlog] program [arg ...]\n");
		return 100;
	}
	prog = argv + 1;
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(lfd, backlog) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) != 0)
		die("listen");
	printf("%u\n", ntohs(sa.sin_port));
	fflush(stdout);
	if (freopen("/dev/null", "w", stdout) == NULL)
		die("/dev/null");

	for (;;) {
		struct pollfd p = { lfd, POLLIN, 0 };
		int i;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		/* A short timeout: children that end while no connection
		 * comes are reaped all the same. */
		if (poll(&p, 1, 10) < 0 && errno != EINTR)
			die("poll");
		for (i = 0; i < 64; i++) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			pid_t pid;

			if (fd < 0)
				break;
			pid = vfork();
			if (pid == 0) {
				dup2(fd, 0);
				dup2(fd, 1);
				signal(SIGPIPE, SIG_DFL);
				execve(prog[0], prog, environ);
				_exit(111);
			}
			close(fd);
		}
	}
}
