/*
 * childstate: run as the program of tcpwarden, print what the child was
 * given: its signal mask, the dispositions tcpwarden changes, its open
 * descriptors, its ids, and the socket options on fd 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *
disposition(int sig)
{
	struct sigaction sa;

	if (sigaction(sig, NULL, &sa) != 0)
		return "unknown";
	if (sa.sa_handler == SIG_DFL)
		return "default";
	if (sa.sa_handler == SIG_IGN)
		return "ignore";
	return "handler";
}

int
main(void)
{
	sigset_t mask;
	int sig, nblocked = 0, one = 0, type = 0;
	socklen_t len = sizeof one;
	gid_t groups[64];
	int ngroups, i;
	DIR *d;
	struct dirent *e;

	sigprocmask(SIG_BLOCK, NULL, &mask);
	printf("mask:");
	for (sig = 1; sig < 65; sig++)
		if (sigismember(&mask, sig) == 1) {
			printf(" %d", sig);
			nblocked++;
		}
	printf("%s\n", nblocked ? "" : " empty");
	printf("SIGPIPE: %s\n", disposition(SIGPIPE));
	printf("SIGCHLD: %s\n", disposition(SIGCHLD));
	printf("SIGHUP: %s\n", disposition(SIGHUP));
	printf("SIGINT: %s\n", disposition(SIGINT));
	printf("SIGTERM: %s\n", disposition(SIGTERM));
	printf("SIGUSR1: %s\n", disposition(SIGUSR1));

	/* Descriptors, less the one opendir holds to list them. */
	printf("fds:");
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		printf(" %s", e->d_name);
	}
	printf("\n");
	if (d)
		closedir(d);

	printf("uid: %lu euid: %lu gid: %lu egid: %lu\n",
	    (unsigned long)getuid(), (unsigned long)geteuid(),
	    (unsigned long)getgid(), (unsigned long)getegid());
	ngroups = getgroups(64, groups);
	printf("groups:");
	for (i = 0; i < ngroups; i++)
		printf(" %lu", (unsigned long)groups[i]);
	printf("\n");

	len = sizeof type;
	getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len);
	printf("stdin: %s\n", type == SOCK_STREAM ? "stream socket" : "other");
	len = sizeof one;
	if (getsockopt(0, IPPROTO_TCP, TCP_NODELAY, &one, &len) == 0)
		printf("nodelay: %d\n", one != 0);
	return 0;
}
