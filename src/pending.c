#define _GNU_SOURCE
#include "pending.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "spawn.h"
#include "stats.h"

#define NONE UINT32_MAX

/* A waiting connection.  The slots in use are linked in the order they
 * came, which is also the order of their deadlines (one timeout for
 * all): the oldest is the head, the first to expire and the one dropped
 * at the bound.  Free slots are chained through next. */
struct slot {
	int fd;
	uint32_t gen;              /* bumped on each reuse, so an event
	                            * fetched for the slot's last tenant is
	                            * known stale */
	uint32_t prev, next;
	struct addr peer;
	struct timespec deadline;
};

static struct slot *slots;
static uint32_t cap, head = NONE, tail = NONE, free_list = NONE;
static time_t timeout_s;
static int epfd = -1;

int
pending_init(size_t n, unsigned long timeout)
{
	uint32_t i;

	if (n == 0 || n > UINT32_MAX - 1) {
		errno = EINVAL;
		return -1;
	}
	slots = calloc(n, sizeof *slots);
	if (!slots)
		return -1;
	cap = (uint32_t)n;
	for (i = 0; i < cap; i++)
		slots[i].next = i + 1 < cap ? i + 1 : NONE;
	free_list = 0;
	timeout_s = (time_t)timeout;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd;
}

static void
log_drop(const struct addr *peer, const char *why)
{
	struct log_line l;

	stats.refused[STATS_PROXY]++;
	if (log_level < LOG_VERBOSE)
		return;
	log_start(&l, "deny ");
	log_addr_port(&l, peer);
	log_str(&l, " proxy ");
	log_str(&l, why);
	log_flush(&l);
}

/*
 * Look at what fd holds without taking it (MSG_PEEK), and take exactly the
 * header once it is whole.  hup: the peer has closed its side, so what is
 * there is all there will be.  Returns 1 (header taken, r filled), 0 (not
 * whole yet) or -1 (*why set).
 */
static int
read_header(int fd, int hup, struct proxy_result *r, const char **why)
{
	uint8_t buf[PROXY_HEADER_MAX];
	ssize_t n;

	n = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		*why = "error";
		return -1;
	}
	if (n == 0) {
		*why = "truncated";
		return -1;
	}
	switch (proxy_parse(buf, (size_t)n, r)) {
	case PROXY_MORE:
		if (!hup)
			return 0;
		*why = "truncated";
		return -1;
	case PROXY_BAD:
		*why = r->reason;
		return -1;
	case PROXY_DONE:
		break;
	}
	/* The bytes peeked are in the socket: this takes them all, and
	 * nothing after them. */
	if (recv(fd, buf, r->len, MSG_DONTWAIT) != (ssize_t)r->len) {
		*why = "error";
		return -1;
	}
	return 1;
}

static void
unlink_slot(uint32_t i)
{
	struct slot *s = &slots[i];

	if (s->prev != NONE)
		slots[s->prev].next = s->next;
	else
		head = s->next;
	if (s->next != NONE)
		slots[s->next].prev = s->prev;
	else
		tail = s->prev;
	s->next = free_list;
	free_list = i;
	s->gen++;
	/* Closing it takes it out of the epoll set too: the set holds the
	 * only descriptor of that socket. */
	s->fd = -1;
}

static void
drop(uint32_t i, const char *why)
{
	int fd = slots[i].fd;
	struct addr peer = slots[i].peer;

	unlink_slot(i);
	close(fd);
	log_drop(&peer, why);
}

int
pending_take(int fd, const struct addr *peer, struct pending_conn *c)
{
	struct epoll_event ev;
	const char *why = NULL;
	struct slot *s;
	uint32_t i;
	int got = read_header(fd, 0, &c->hdr, &why);

	if (got != 0) {
		if (got < 0) {
			close(fd);
			log_drop(peer, why);
			return -1;
		}
		c->fd = fd;
		c->peer = *peer;
		return 1;
	}
	if (free_list == NONE)
		drop(head, "crowded");
	i = free_list;
	s = &slots[i];
	/* Above the children's floor: a waiting socket is never copied
	 * into a child. */
	s->fd = spawn_fd_up(fd);
	s->peer = *peer;
	deadline_in(&s->deadline, timeout_s, 0);
	/* Edge-triggered: peeking leaves the bytes in the socket, so it
	 * would stay readable, and a level-triggered set would report it on
	 * every turn.  An edge comes with each new segment, and at the add
	 * if bytes came since the peek above. */
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
	ev.data.u64 = (uint64_t)s->gen << 32 | i;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
		close(s->fd);
		s->fd = -1;   /* still free */
		log_drop(peer, "error");
		return -1;
	}
	free_list = s->next;
	s->prev = tail;
	s->next = NONE;
	if (tail != NONE)
		slots[tail].next = i;
	else
		head = i;
	tail = i;
	return 0;
}

size_t
pending_ready(struct pending_conn *c, size_t max)
{
	struct epoll_event ev[64];
	size_t done = 0;
	int n, k, want;

	/* Never more events than connections it may hand on: an event
	 * fetched is not reported again, while one left in the set is. */
	while (done < max) {
		want = max - done < 64 ? (int)(max - done) : 64;
		n = epoll_wait(epfd, ev, want, 0);
		if (n <= 0)
			break;
		for (k = 0; k < n; k++) {
			uint32_t i = (uint32_t)ev[k].data.u64;
			struct slot *s = &slots[i];
			const char *why = NULL;
			int got;

			if (s->fd < 0 || s->gen != (uint32_t)(ev[k].data.u64 >>
			    32))
				continue;
			got = read_header(s->fd, (ev[k].events & (EPOLLRDHUP |
			    EPOLLHUP | EPOLLERR)) != 0, &c[done].hdr, &why);
			if (got < 0) {
				drop(i, why);
			} else if (got > 0) {
				c[done].fd = s->fd;
				c[done].peer = s->peer;
				done++;
				/* It goes on; the spawn closes it. */
				epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
				unlink_slot(i);
			}
		}
		if (n < want)
			break;
	}
	return done;
}

void
pending_stop(void)
{
	while (head != NONE)
		drop(head, "stopping");
}

const struct timespec *
pending_expire(struct timespec *left)
{
	/* The oldest first: its deadline is the nearest. */
	while (head != NONE && !deadline_left(&slots[head].deadline, left))
		drop(head, "timeout");
	return head == NONE ? NULL : left;
}
