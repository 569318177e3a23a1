#define _GNU_SOURCE
#include "activate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"

/* Room for the socket's name: systemd allows 255 bytes. */
static char fd_name[256];

static void passed_fatal(const char *what, const char *why)
    __attribute__((__noreturn__));

static void
passed_fatal(const char *what, const char *why)
{
	log_fatal(100, "the socket systemd passed (fd 3) ", what, why, NULL);
}

/* Fatal unless fd is a listening TCP socket. */
static void
check(int fd)
{
	int domain, type, proto, listening;
	socklen_t len = sizeof domain;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
		passed_fatal("cannot be used: ", strerror(errno));
	if (domain == AF_UNIX)
		passed_fatal("is a Unix socket, not TCP: ",
		    "ListenStream= takes an address and a port for tcpwarden");
	if (domain != AF_INET && domain != AF_INET6)
		passed_fatal("is not an IPv4 or IPv6 socket", "");
	len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    type != SOCK_STREAM)
		passed_fatal("is not a stream socket: ",
		    "ListenStream=, not ListenDatagram=");
	len = sizeof proto;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0 ||
	    proto != IPPROTO_TCP)
		passed_fatal("is not TCP", "");
	len = sizeof listening;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
	    !listening)
		passed_fatal("is not listening: ", "with Accept=yes systemd "
		    "passes each connection; tcpwarden accepts its own, "
		    "Accept=no");
}

int
activate_take(const char **name)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	unsigned long n;
	int fd = -1, flags;

	*name = NULL;
	/* Not for us unless LISTEN_PID is our pid: the variables may have
	 * been inherited through a process that did not unset them. */
	if (pid && fds && parse_uint(pid, 1, INT_MAX, &n) == 0 &&
	    n == (unsigned long)getpid()) {
		if (parse_uint(fds, 0, INT_MAX - ACTIVATE_FD, &n) != 0)
			log_fatal(100, "LISTEN_FDS='", fds, "' from systemd "
			    "is not a number", NULL);
		if (n > 1)
			log_fatal(100, "systemd passed ", fds, " sockets "
			    "(LISTEN_FDS); tcpwarden serves one: one "
			    "ListenStream= in the .socket unit", NULL);
		if (n == 1)
			fd = ACTIVATE_FD;
	}
	if (fd >= 0) {
		check(fd);
		flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
			log_fatal(111, "unable to set up the socket systemd "
			    "passed: ", strerror(errno), NULL);
		if (names && *names) {
			size_t len = strcspn(names, ":"), i;
			if (len >= sizeof fd_name)
				len = sizeof fd_name - 1;
			memcpy(fd_name, names, len);
			fd_name[len] = '\0';
			/* It goes into a log line: one line. */
			for (i = 0; i < len; i++)
				if ((unsigned char)fd_name[i] < 32 ||
				    fd_name[i] == 127)
					fd_name[i] = '?';
			*name = fd_name;
		}
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return fd;
}
