/*
 * pending: connections from a trusted balancer (--proxy-from) whose PROXY
 * header has not all arrived.  Each waits here without a process and
 * without a slot of the table, in a set sized once at start and watched
 * through one epoll descriptor of the main loop, until its header is whole
 * (then it goes on as any connection), malformed, or late (then it is
 * closed and logged).  The set never grows: at its bound the oldest waiting
 * connection is dropped for the new one, so a flood of half-sent headers
 * pushes out only its own.  The server never waits on a client here.
 */
#ifndef PENDING_H
#define PENDING_H

#include <stddef.h>
#include <time.h>

#include "addr.h"
#include "proxy.h"

/* One connection whose header is whole, and consumed: the next byte read
 * from fd is the client's first. */
struct pending_conn {
	int fd;
	struct addr peer;          /* the balancer */
	struct proxy_result hdr;   /* what its header says */
};

/* Once, at start: room for cap connections, each given timeout seconds
 * from accept for its header.  Returns the descriptor for the main loop
 * to poll for POLLIN, or -1 with errno. */
int pending_init(size_t cap, unsigned long timeout);

/* A connection just accepted from the balancer peer.  Returns 1 when its
 * header is whole (c is filled, c->fd is fd), 0 when it now waits in the
 * set (the set owns fd), -1 when it was refused (fd closed, logged). */
int pending_take(int fd, const struct addr *peer, struct pending_conn *c);

/* Up to max connections of the set whose header has turned whole, into
 * c; those that turned out malformed or closed are dropped meanwhile.
 * Never waits.  Returns how many. */
size_t pending_ready(struct pending_conn *c, size_t max);

/* The server stops (SIGTERM, SIGINT): drop every waiting connection. */
void pending_stop(void);

/* Drop every connection past its deadline, and give in *left the time
 * until the next deadline; NULL when none waits. */
const struct timespec *pending_expire(struct timespec *left);

#endif
