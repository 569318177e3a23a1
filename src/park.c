#define _GNU_SOURCE
#include "park.h"

#include <stdlib.h>
#include <string.h>

#include "deadline.h"

/* One parked connection. */
struct park_entry {
	struct park_conn conn;
	int due;                       /* a child of its client ended */
	struct timespec deadline;      /* CLOCK_MONOTONIC: the grace ends */
	struct addr_key client;
};

/* set[0 .. used-1] are parked, dense: a handful at most, so a scan is
 * cheap, and none happens while nothing is parked. */
static struct park_entry *set;
static size_t size, used;

int
park_init(unsigned long max)
{
	size = max < PARK_MAX ? (size_t)max : PARK_MAX;
	if (size == 0)
		return 0;
	set = malloc(size * sizeof *set);
	return set ? 0 : -1;
}

/* The entry of client's parked connection, or NULL. */
static struct park_entry *
find(const struct addr_key *client)
{
	size_t i;

	for (i = 0; i < used; i++)
		if (addr_key_equal(&set[i].client, client))
			return &set[i];
	return NULL;
}

int
park_room(const struct addr_key *client)
{
	return used < size && !find(client);
}

void
park_add(int fd, const struct addr_key *client,
    const struct addr *remote, const struct addr *local,
    const struct addr *proxy)
{
	struct park_entry *e = &set[used++];

	memset(&e->conn, 0, sizeof e->conn);
	e->conn.fd = fd;
	e->conn.remote = *remote;
	if (local) {
		e->conn.local = *local;
		e->conn.has_local = 1;
	}
	if (proxy) {
		e->conn.proxy = *proxy;
		e->conn.has_proxy = 1;
	}
	e->due = 0;
	e->client = *client;
	deadline_in(&e->deadline, 0, PARK_GRACE_MS * 1000000L);
}

int
park_any(void)
{
	return used > 0;
}

void
park_child_ended(const struct addr_key *client)
{
	struct park_entry *e = client ? find(client) : NULL;

	if (e)
		e->due = 1;
}

const struct timespec *
park_timeout(const struct timespec *t, struct timespec *buf)
{
	struct timespec left;
	size_t i;

	if (used == 0)
		return t;
	for (i = 0; i < used; i++) {
		if (set[i].due) {
			/* Due now: no wait at all. */
			buf->tv_sec = buf->tv_nsec = 0;
			return buf;
		}
		deadline_left(&set[i].deadline, &left);
		if (i == 0 || deadline_first(buf, &left) == &left)
			*buf = left;
	}
	return deadline_first(t, buf);
}

int
park_take(struct park_conn *c, int all)
{
	struct timespec left;
	size_t i;

	for (i = 0; i < used; i++) {
		if (!all && !set[i].due &&
		    deadline_left(&set[i].deadline, &left))
			continue;
		*c = set[i].conn;
		/* Keep the set dense: the last entry fills the hole. */
		set[i] = set[--used];
		return 0;
	}
	return -1;
}
