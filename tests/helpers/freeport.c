/*
 * freeport: print a TCP port that was free on an address a moment ago,
 * for the tests that must give a fixed port to a program that cannot
 * print its own (systemd-socket-activate).  Another process may take it
 * before the caller does: the caller retries on a failed bind.
 *
 *   freeport ADDRESS      (an IPv4 or IPv6 literal); exit 1 if it cannot
 *                         bind there (no IPv6, say)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: freeport ADDRESS\n");
		return 2;
	}
	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, argv[1], &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		len = sizeof *s4;
	} else if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		len = sizeof *s6;
	} else {
		fprintf(stderr, "freeport: not an address: %s\n", argv[1]);
		return 2;
	}
	/* Bound, never listening: the port is free again at close, with
	 * no TIME_WAIT to wait out. */
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		perror("freeport");
		return 1;
	}
	printf("%u\n", ntohs(ss.ss_family == AF_INET ? s4->sin_port :
	    s6->sin6_port));
	close(fd);
	return 0;
}
