#define _GNU_SOURCE
#include "listener.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"

static unsigned
resolve_port(const char *port)
{
	unsigned long n;
	struct servent *se;
	const char *p;

	if (parse_uint(port, 0, 65535, &n) == 0)
		return (unsigned)n;
	for (p = port; *p >= '0' && *p <= '9'; p++)
		;
	if (*port && !*p)
		log_fatal(100, "port ", port, " is out of range (0 to 65535)",
		    NULL);
	se = getservbyname(port, "tcp");
	if (!se)
		log_fatal(100, "unknown port ", port,
		    " (not a number, nor a tcp service in /etc/services)",
		    NULL);
	return ntohs((uint16_t)se->s_port);
}

/* Fill ss from host; returns its length. */
static socklen_t
resolve_host(const char *host, unsigned port, struct sockaddr_storage *ss)
{
	struct addrinfo hints, *res;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	socklen_t len;
	int e;

	memset(ss, 0, sizeof *ss);
	if (strcmp(host, "0") == 0) {
		/* Every local address: IPv6 with mapped IPv4 where the
		 * system has IPv6, checked by making a socket of the kind. */
		int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0) {
			close(probe);
			s6->sin6_family = AF_INET6;
			s6->sin6_addr = in6addr_any;
			s6->sin6_port = htons((uint16_t)port);
			return sizeof *s6;
		}
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_port = htons((uint16_t)port);
		return sizeof *s4;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	e = getaddrinfo(host, NULL, &hints, &res);
	if (e == EAI_AGAIN || e == EAI_MEMORY || (e == EAI_SYSTEM &&
	    errno != ENOENT))
		log_fatal(111, "temporarily unable to figure out IP address "
		    "for ", host, ": ", gai_strerror(e), NULL);
	if (e != 0)
		log_fatal(100, "unable to figure out IP address for ", host,
		    ": ", gai_strerror(e), NULL);
	len = (socklen_t)res->ai_addrlen;
	memcpy(ss, res->ai_addr, len);
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		s4->sin_port = htons((uint16_t)port);
	else
		s6->sin6_port = htons((uint16_t)port);
	return len;
}

int
listener_open(const char *host, const char *port, unsigned long backlog,
    struct addr *bound, int *wildcard)
{
	struct sockaddr_storage ss;
	socklen_t len = resolve_host(host, resolve_port(port), &ss);
	char text[ADDR_TEXT_MAX + 8];
	int fd, one = 1, zero = 0;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		log_fatal(111, "unable to create socket: ", strerror(errno),
		    NULL);
	/* As every UCSPI server: a restart must not wait out TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		/* The any-address takes IPv4 clients too (as mapped
		 * addresses, unmapped again per connection); a specific
		 * IPv6 address is its own. */
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			    sizeof zero);
	}
	addr_from_sockaddr(bound, (struct sockaddr *)&ss);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		int e = errno;
		size_t n = addr_format(bound, 1, text);
		text[n++] = ':';
		text[n] = '\0';
		log_fatal(111, "unable to bind to ", text,
		    port, ": ", strerror(e), NULL);
	}
	if (listen(fd, (int)backlog) != 0)
		log_fatal(111, "unable to listen: ", strerror(errno), NULL);
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		log_fatal(111, "unable to read the bound address: ",
		    strerror(errno), NULL);
	addr_from_sockaddr(bound, (struct sockaddr *)&ss);
	*wildcard = 1;
	for (size_t i = 0; i < sizeof bound->bytes; i++)
		if (bound->bytes[i])
			*wildcard = 0;
	return fd;
}
