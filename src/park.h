/*
 * park: connections that found their client at its per-client limit,
 * held back for a short grace instead of refused.  A program's socket
 * closes as it exits, a moment before the server can reap it, so a client
 * that reconnects at once may look one connection over for that moment.
 *
 * The invariant: a parked connection has no process and no slot in the
 * table; there is at most one per client, and at most the size chosen at
 * start in all (nothing is allocated per connection); each leaves the set
 * within PARK_GRACE_MS, to be judged again (served, or refused as it
 * would have been at once), sooner when one of its client's children
 * ends.  A client that already has one parked, or finds the set full, is
 * refused at once, so a flood costs what it cost without the set.
 */
#ifndef PARK_H
#define PARK_H

#include <time.h>

#include "addr.h"

/* How long a connection may wait for a child of its client to end. */
#define PARK_GRACE_MS 200

/* The most connections parked at once, whatever -c. */
#define PARK_MAX 32

/* A parked connection, as the server is to judge it again. */
struct park_conn {
	int fd;
	struct addr remote;        /* the client */
	struct addr local;         /* a PROXY header's destination ... */
	struct addr proxy;         /* ... and the balancer it came from */
	int has_local, has_proxy;  /* whether those two were given */
};

/* Once, at start: room for the smaller of max and PARK_MAX connections.
 * Returns 0, or -1 when memory is short. */
int park_init(unsigned long max);

/* Whether a connection of this client may be parked: it has none parked
 * and the set has room.  O(1) when the set is full or empty. */
int park_room(const struct addr_key *client);

/* Park connection fd of client (park_room said yes), from remote, and
 * with local and proxy where not NULL.  The set owns fd until park_take
 * gives it back. */
void park_add(int fd, const struct addr_key *client,
    const struct addr *remote, const struct addr *local,
    const struct addr *proxy);

/* Whether any connection is parked (so a child's end may concern one). */
int park_any(void);

/* A child of this client has ended (NULL: not one in the table): its
 * parked connection, if any, is to be judged again now. */
void park_child_ended(const struct addr_key *client);

/* The earlier of t (NULL for none) and the time until a parked connection
 * is due (zero when one is due now); NULL when neither.  buf holds the
 * result when it is the set's. */
const struct timespec *park_timeout(const struct timespec *t,
    struct timespec *buf);

/* Take out into *c one connection that is due (its client's child ended,
 * or its grace is over), or with all any one: 0, or -1 when there is
 * none. */
int park_take(struct park_conn *c, int all);

#endif
