/*
 * listener: the listening socket.  The host is resolved once, at start;
 * "0" means every local address, dual-stack where the system has IPv6.
 * Failures here end tcpwarden: 100 for what the user can fix in the
 * command line, 111 for what may pass (a port in use, no memory).
 */
#ifndef LISTENER_H
#define LISTENER_H

#include "addr.h"

/* Bind and listen; the socket is non-blocking and close-on-exec.  bound
 * receives the address actually bound (port 0 replaced by the kernel's
 * choice), and *wildcard whether it is an any-address, so that each
 * connection's local address must be asked for. */
int listener_open(const char *host, const char *port, unsigned long backlog,
    struct addr *bound, int *wildcard);

#endif
