/*
 * listener: the listening sockets.  The host is resolved once, at start;
 * "0" means every local address, dual-stack where the system has IPv6.
 * With --queues=N above 1 there are N sockets on the one address and port
 * (SO_REUSEPORT), and a filter in the kernel puts each connection in the
 * queue of its client prefix, so that a client flooding us fills only its
 * own queue; the server takes one connection from each waiting queue in
 * turn.  Started by systemd with a listening socket (activate.h), it serves
 * that one instead, if it is where host and port say.  Failures here end
 * tcpwarden: 100 for what the user can fix in the command line, 111 for
 * what may pass (a port in use, no memory).
 */
#ifndef LISTENER_H
#define LISTENER_H

#include <sys/socket.h>

#include "addr.h"
#include "config.h"

/* Bind and listen on cfg's host and port, with cfg's backlog for each
 * queue.  Returns the descriptor to wait on: readable while a connection
 * waits in some queue (the socket itself when there is one queue).  All
 * descriptors are non-blocking and close-on-exec.  bound receives the
 * address actually bound (port 0 replaced by the kernel's choice), and
 * *wildcard whether it is an any-address, so that each connection's local
 * address must be asked for.  Every descriptor of the listener is at
 * SPAWN_FD_FLOOR or above where the limit on open files leaves room
 * (spawn.h), so that no child holds one. */
int listener_open(const struct config *cfg, struct addr *bound,
    int *wildcard);

/* The next waiting connection, as accept4(..., SOCK_CLOEXEC) would give
 * it: one from each queue that holds any per pass over the queues, so a
 * full queue delays the others by one accept at most.  -1 with errno
 * EAGAIN when no connection waits. */
int listener_accept(struct sockaddr_storage *ss, socklen_t *len);

/* At -v, the line that says what the server listens on: "start: bound
 * ADDR:PORT queues N", bound for a socket tcpwarden bound itself, with
 * the number of queues it opened; "start: passed ADDR:PORT queues 1
 * [name NAME]" for the socket systemd passed (activate.h), with its name
 * from LISTEN_FDNAMES. */
void listener_log_start(const struct addr *bound);

/* How many descriptors listener_open holds: a socket per queue, and the
 * epoll set over them where there are more than one. */
unsigned listener_fds(void);

/* Close every listening descriptor. */
void listener_close(void);

#endif
