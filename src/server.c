#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "addr.h"
#include "deadline.h"
#include "drain.h"
#include "env.h"
#include "listener.h"
#include "log.h"
#include "lookup.h"
#include "park.h"
#include "pending.h"
#include "proxy.h"
#include "rate.h"
#include "reap.h"
#include "rules.h"
#include "sig.h"
#include "spawn.h"
#include "stats.h"
#include "table.h"
#include "young.h"

/* Connections taken from the backlog per wake-up, before the loop looks
 * at signals again: enough to empty a burst, few enough that reaping and
 * SIGTERM never wait long. */
#define ACCEPT_BURST 64

/* How long to stop accepting after the system ran out of descriptors or
 * memory, so a full backlog cannot make the loop spin. */
#define PAUSE_NS 100000000L

static const struct config *cfg;
static int lfd = -1;               /* readable while a connection waits
                                    * (listener.h) */
static int sfd = -1;               /* the signalfd (sig.h) */
static int rfd = -1;               /* the pidfds' epoll set (reap.h) */
static int pfd = -1;               /* the connections waiting for their
                                    * PROXY header (pending.h), with
                                    * --proxy-from */
static unsigned long pidfd_budget; /* pidfds we may hold (spawn.h) */
static int pidfd_mode;             /* children get a pidfd: the table
                                    * has reached REAP_PIDFD_FROM, and
                                    * not fallen under half of it since
                                    * (reap.h) */
static long foreign_children;      /* children from before our exec that
                                    * live; -1 for some.  SIGCHLD sweeps
                                    * for them (reap_all) */
static int orphans;                /* orphans are given to us: SIGCHLD
                                    * always sweeps (reap.h) */
static struct addr bound;          /* the listening address */
static int bound_wildcard;         /* so each connection's local address
                                    * must be asked of the socket */
static struct table table;
static unsigned long client_limit; /* -C or MAXCONNIP, capped at -c */
static int count_nets;             /* -N, MAXCONNC, or rules that may
                                    * set MAXCONNC */
static int paused;                 /* accepting stopped until resume_at */
static struct timespec resume_at;
static int starved;                /* accept failed for want of resources,
                                    * and has not worked since */

/* One connection as the parent hands it on.  With -h, -r or -B the
 * forked child (child_prep) also sets the socket options, makes the
 * look-ups, decides what the rules could not decide without them, writes
 * the banner and builds the environment: work that may wait on the
 * network, never the parent's. */
struct child_work {
	struct addr local;
	const struct addr *remote;
	const struct addr *proxy;      /* the balancer, or NULL */
	uint32_t client_count;         /* the client's children before it */
	uint32_t net_count;            /* the network's, where counted */
	struct access_result access;   /* ALLOW (decided) or LATER */
	const char *host, *info;       /* the look-ups' answers, or NULL */
};

/* The look-ups' answers, in the forked child only. */
static char hostbuf[LOOKUP_TEXT_MAX], infobuf[LOOKUP_TEXT_MAX];

static void
log_status(void)
{
	struct log_line l;

	if (log_level < LOG_VERBOSE)
		return;
	log_start(&l, "status: ");
	log_uint(&l, table.used);
	log_str(&l, "/");
	log_uint(&l, cfg->max_conns);
	log_flush(&l);
}

/* Refuse a connection over a limit: the message if the socket takes it
 * at once (never wait on a client that does not read), close, and log.
 * Under --dry-run the refusal is only logged, as would-deny, and the
 * connection goes on.  Returns -1 when refused, 1 when only logged. */
static int
refuse(int fd, const struct addr *remote, enum stats_refusal why,
    unsigned long count, unsigned long max, const char *msg, size_t len)
{
	struct log_line l;

	if (!cfg->dry_run) {
		stats.refused[why]++;
		if (len > 0 &&
		    send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			/* Nothing to do: the client is refused either way. */
		}
		close(fd);
	}
	if (log_level >= LOG_VERBOSE) {
		log_start(&l, cfg->dry_run ? "would-deny " : "deny ");
		log_addr_port(&l, remote);
		log_str(&l, " ");
		log_str(&l, stats_refusal_name(why));
		log_str(&l, " ");
		log_uint(&l, count);
		log_str(&l, "/");
		log_uint(&l, max);
		log_flush(&l);
	}
	return cfg->dry_run ? 1 : -1;
}

static void
log_deny_rule(const struct addr *remote, const char *key)
{
	struct log_line l;

	if (log_level < LOG_VERBOSE)
		return;
	log_start(&l, "deny ");
	log_addr_port(&l, remote);
	log_str(&l, " rule ");
	/* The default rule has an empty address; say so. */
	log_str(&l, key && *key ? key : "default");
	log_flush(&l);
}

static void
log_ok(pid_t pid, const struct addr *local, const struct addr *remote,
    const char *host, const char *info)
{
	struct log_line l;

	if (log_level < LOG_VERBOSE)
		return;
	/* ok PID LOCALHOST:LOCALIP:LOCALPORT REMOTEHOST:REMOTEIP:INFO:PORT */
	log_start(&l, "ok ");
	log_uint(&l, (unsigned long)pid);
	log_str(&l, " ");
	if (cfg->local_name)
		log_str(&l, cfg->local_name);
	log_str(&l, ":");
	log_addr_port(&l, local);
	log_str(&l, " ");
	if (host)
		log_str(&l, host);
	log_str(&l, ":");
	log_addr(&l, remote);
	log_str(&l, ":");
	if (info)
		log_str(&l, info);
	log_str(&l, ":");
	log_uint(&l, remote->port);
	log_flush(&l);
}

static uint32_t
clamp32(unsigned long n)
{
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The server's own limits, before any rule changes them. */
static void
default_limits(struct access_limits *lim)
{
	lim->client_max = client_limit;
	lim->net_on = cfg->per_net.on;
	lim->net_max = cfg->per_net.max;
	lim->msg = cfg->per_client.msg;
	lim->msg_len = cfg->per_client.msg_len;
	lim->net_msg = cfg->per_net.msg;
	lim->net_msg_len = cfg->per_net.msg_len;
	lim->rate_on = cfg->rate.on;
	lim->rate_max = cfg->rate.max;
	lim->rate_window = cfg->rate_window;
	lim->rate_msg = cfg->rate.msg;
	lim->rate_msg_len = cfg->rate.msg_len;
}

/* Check the counts against lim: 0 within the limits, else refuse()'s
 * answer for the first one passed. */
static int
over_limit(int fd, const struct addr *remote, const struct access_limits *lim,
    uint32_t client_count, uint32_t net_count)
{
	if (client_count >= lim->client_max)
		return refuse(fd, remote, STATS_PER_CLIENT, client_count,
		    lim->client_max, lim->msg, lim->msg_len);
	if (lim->net_on && net_count >= lim->net_max)
		return refuse(fd, remote, STATS_PER_NET, net_count, lim->net_max,
		    lim->net_msg, lim->net_msg_len);
	return 0;
}

/* The client's new connections in lim's window (rate.h): refuse()'s
 * answer if it has had its share, else 0, and this one is counted. */
static int
over_rate(int fd, const struct addr *remote, const struct addr_key *client,
    const struct access_limits *lim)
{
	struct timespec now;
	struct rate_entry *e;
	uint32_t recent;

	clock_gettime(CLOCK_MONOTONIC, &now);
	e = rate_find(client, lim->rate_window, (uint64_t)now.tv_sec * 1000 +
	    (uint64_t)now.tv_nsec / 1000000, &recent);
	if (recent >= lim->rate_max)
		return refuse(fd, remote, STATS_RATE, lim->rate_max,
		    lim->rate_window, lim->rate_msg, lim->rate_msg_len);
	rate_admit(e);
	return 0;
}

/* The connection's local address: the bound one, or, for an
 * any-address, the socket's. */
static void
local_address(int fd, struct addr *local)
{
	struct sockaddr_storage ls;
	socklen_t len = sizeof ls;

	*local = bound;
	if (bound_wildcard &&
	    getsockname(fd, (struct sockaddr *)&ls, &len) == 0)
		addr_from_sockaddr(local, (struct sockaddr *)&ls);
}

/* -D, and -O: drop any IP options (source routes) the client sent, so
 * replies cannot be steered by them; this works on the IPv4-mapped
 * connections of a dual-stack socket too. */
static void
socket_options(int fd, const struct addr *remote)
{
	int one = 1;

	if (cfg->nodelay)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!cfg->keep_ip_options && remote->family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_OPTIONS, NULL, 0);
}

/* The child's environment; host and info are the look-ups' or NULL. */
static char *const *
child_env(const struct child_work *w, const char *host, const char *info)
{
	struct env_conn ec;

	memset(&ec, 0, sizeof ec);
	ec.local = &w->local;
	ec.remote = w->remote;
	ec.proxy = w->proxy;
	ec.concurrency = w->client_count + 1;
	ec.host = host;
	ec.info = info;
	ec.rule = w->access.data;
	ec.rule_len = w->access.len;
	return env_build(&ec);
}

/* In the forked child, before exec.  Returns 0 or the exit code. */
static int
child_prep(void *ctx, char *const **envp)
{
	struct child_work *w = ctx;
	struct access_result *r = &w->access;

	socket_options(1, w->remote);
	if (cfg->lookup_host && lookup_host(w->remote, cfg->paranoid,
	    (unsigned)cfg->timeout, hostbuf, sizeof hostbuf))
		w->host = hostbuf;
	if (cfg->ident && lookup_ident(&w->local, w->remote,
	    (unsigned)cfg->timeout, infobuf, sizeof infobuf))
		w->info = infobuf;
	if (r->verdict == ACCESS_LATER) {
		struct access_limits lim;
		access_check(w->remote, w->host, w->info, 1, r);
		if (r->verdict == ACCESS_DENY) {
			log_deny_rule(w->remote, r->key);
			return 100;
		}
		if (r->verdict == ACCESS_DROP)
			return 111;
		/* A rule found only now may still lower the limits; this
		 * child already holds its slot, as tcpserver's would. */
		default_limits(&lim);
		access_apply_limits(r, &lim);
		if (over_limit(1, w->remote, &lim, w->client_count,
		    w->net_count) < 0)
			return 100;
	}
	/* The banner goes to allowed connections only, so after the
	 * decision; a client that does not take it within -t is dropped. */
	if (cfg->banner_len > 0 && !lookup_send(1, cfg->banner,
	    cfg->banner_len, (unsigned)cfg->timeout))
		return 111;
	*envp = child_env(w, w->host, w->info);
	return 0;
}

/* A watched pidfd for child pid, which lives without one, as far as the
 * budget and the descriptors allow; -1 where it gets none.  SIGCHLD is
 * blocked, so pid, in the table, is still its child's. */
static int
watched_pidfd(pid_t pid)
{
	int pidfd;

	if (table.used - table.untracked >= pidfd_budget ||
	    (pidfd = spawn_pidfd(pid)) < 0)
		return -1;
	if (reap_watch(pid, pidfd) != 0) {
		close(pidfd);
		return -1;
	}
	return pidfd;
}

/* A pidfd for every child that has none, as far as there are
 * descriptors for them: the table has grown past what the sweep walks
 * cheaply (reap.h). */
static void
track_children(void)
{
	uint32_t s;

	for (s = 0; s < table.used && table.untracked > 0; s++) {
		pid_t pid = table.slots[s].pid;
		int pidfd;

		if (table.slots[s].pidfd >= 0)
			continue;
		if ((pidfd = watched_pidfd(pid)) < 0)
			return;
		table_track(&table, pid, pidfd);
	}
}

/* How the next child's end will be found: by the sweep (-1), by its pid
 * while it is young (TABLE_YOUNG, young.h), or by a pidfd (0) (reap.h). */
static int
next_child_tracking(void)
{
	if (!pidfd_mode && table.used >= REAP_PIDFD_FROM) {
		pidfd_mode = 1;
		track_children();
	} else if (pidfd_mode && table.used < REAP_PIDFD_FROM / 2) {
		pidfd_mode = 0;
	}
	if (!pidfd_mode)
		return -1;
	if (young_room())
		return TABLE_YOUNG;
	return table.used - table.untracked < pidfd_budget ? 0 : -1;
}

static void reap_now(void);

/* A connection whose client is at its limit, *count: the client's last
 * child may have closed its socket and not be reaped yet.  Reap what has
 * ended and count again; still at the limit, park the connection
 * (park.h).  Returns 1 when parked.  A client with one parked already
 * costs no system call here. */
static int
parked(int fd, const struct addr *remote, const struct addr *local,
    const struct addr *proxy, const struct addr_key *client,
    unsigned long max, uint32_t *count)
{
	if (*count == 0 || !park_room(client))
		return 0;
	reap_now();
	*count = table_client_count(&table, client);
	if (*count < max)
		return 0;
	park_add(fd, client, remote, local, proxy);
	return 1;
}

/* The ok line, when spawn knows the program starts. */
static void
child_ok(void *ctx, pid_t pid)
{
	struct child_work *w = ctx;

	log_ok(pid, &w->local, w->remote, w->host, w->info);
}

/* One connection, decided and handed on in the parent.  remote is the
 * client; local and proxy are the header's destination and the balancer
 * for a connection that came with a PROXY header, else NULL.  With
 * may_park, one over its client's limit may be parked first. */
static void
serve_client(int fd, const struct addr *remote, const struct addr *local,
    const struct addr *proxy, int may_park)
{
	struct addr_key client, net;
	struct access_limits lim;
	struct child_work work;
	struct spawn_req req;
	uint32_t client_count, net_count = 0;
	int lookups = cfg->lookup_host || cfg->ident;
	int pidfd, over, tracking;
	pid_t pid;

	memset(&work, 0, sizeof work);

	/* Rules and limits first, before any fork, so a flood from one
	 * client costs an accept and a close, never a process. */
	access_check(remote, NULL, NULL, !lookups, &work.access);
	if (work.access.verdict == ACCESS_DENY) {
		close(fd);
		stats.refused[STATS_RULE]++;
		log_deny_rule(remote, work.access.key);
		return;
	}
	if (work.access.verdict == ACCESS_DROP) {
		close(fd);
		stats.refused[STATS_DROP]++;
		return;
	}
	default_limits(&lim);
	access_apply_limits(&work.access, &lim);
	addr_key(&client, remote, cfg->v4_client_bits, cfg->v6_client_bits);
	client_count = table_client_count(&table, &client);
	if (may_park && client_count >= lim.client_max && parked(fd, remote,
	    local, proxy, &client, lim.client_max, &client_count))
		return;
	if (count_nets) {
		addr_key(&net, remote, cfg->v4_net_bits, cfg->v6_net_bits);
		net_count = table_net_count(&table, &net);
	}
	/* The rate counts the connections let in: one refused (or, under
	 * --dry-run, that would have been) by another limit is not. */
	over = over_limit(fd, remote, &lim, client_count, net_count);
	if (over == 0 && lim.rate_on)
		over = over_rate(fd, remote, &client, &lim);
	if (over < 0)
		return;

	work.remote = remote;
	work.proxy = proxy;
	work.client_count = client_count;
	work.net_count = net_count;
	if (local)
		work.local = *local;
	else
		local_address(fd, &work.local);
	memset(&req, 0, sizeof req);
	req.fd = fd;
	req.remote = remote;
	req.proxy = proxy;
	req.argv = cfg->argv;
	req.log_ok = child_ok;
	req.ctx = &work;
	if (!lookups && cfg->banner_len == 0) {
		/* The common case is done here: the parent's pages are all
		 * mapped, while each page of code a child runs before exec
		 * costs it a page fault.  Measured, 16 in flight: 39 faults
		 * a child with this work in the child, 28 with it here, and
		 * 5,130 against 5,680 connections a second. */
		socket_options(fd, remote);
		req.envp = child_env(&work, NULL, NULL);
	} else {
		/* Look-ups and the banner may wait on the network: that is
		 * the child's to do (child_prep). */
		req.prep = child_prep;
	}

	/* SIGCHLD is blocked for the whole run (sig.h) and only read in the
	 * main loop, so even a child that exits at once is reaped only after
	 * table_add below. */
	tracking = next_child_tracking();
	req.want_pidfd = tracking == 0;
	pid = spawn_start(&req, &pidfd);   /* it closes fd */
	if (pid < 0) {
		stats.unstarted++;
		return;   /* logged by spawn; the table is as it was */
	}
	if (tracking == TABLE_YOUNG) {
		young_add(pid);
		pidfd = TABLE_YOUNG;
	}
	if (pidfd >= 0 && reap_watch(pid, pidfd) != 0) {
		/* Unwatched, it would be reaped only by the sweep: let it be
		 * reaped by that alone. */
		close(pidfd);
		pidfd = -1;
	}
	/* With the limits it was admitted under, for the state dump. */
	table_add(&table, pid, pidfd, &client, clamp32(lim.client_max),
	    count_nets ? &net : NULL, lim.net_on ? clamp32(lim.net_max) : 0);
	/* spawn has logged pid and ok (or the failure) already. */
	log_status();
}

/* A connection whose PROXY header is whole: its source is the client,
 * unless it named none (a health check): then the balancer is. */
static void
serve_proxied(const struct pending_conn *c)
{
	if (c->hdr.local)
		serve_client(c->fd, &c->peer, NULL, &c->peer, 1);
	else
		serve_client(c->fd, &c->hdr.source, &c->hdr.dest, &c->peer,
		    1);
}

/* One accepted connection. */
static void
serve(int fd, const struct sockaddr_storage *ss)
{
	struct addr peer;
	struct pending_conn c;

	if (addr_from_sockaddr(&peer, (const struct sockaddr *)ss) != 0) {
		close(fd);
		return;
	}
	/* All that --proxy-from costs a connection from another peer is
	 * this test, and nothing at all without the option.  A trusted
	 * peer's header is read at once when it is there; else the
	 * connection waits for it in the pending set, without a slot. */
	if (cfg->proxy_from_n > 0 && proxy_net_match(cfg->proxy_from,
	    cfg->proxy_from_n, &peer)) {
		if (pending_take(fd, &peer, &c) == 1)
			serve_proxied(&c);
		return;
	}
	serve_client(fd, &peer, NULL, NULL, 1);
}

/* The waiting connections whose header has come, as many as there are
 * slots for. */
static void
serve_pending(void)
{
	struct pending_conn c[64];
	size_t n, i, room = cfg->max_conns - table.used;

	n = pending_ready(c, room < 64 ? room : 64);
	for (i = 0; i < n; i++)
		serve_proxied(&c[i]);
}

/* The parked connections that are due, judged again, as far as the
 * total limit allows (park.h). */
static void
unpark(void)
{
	struct park_conn c;

	/* Draining, nothing new is served: closed, as the listening
	 * sockets were, rather than kept until the drain ends. */
	if (drain_active()) {
		while (park_take(&c, 1) == 0)
			close(c.fd);
		return;
	}
	while (table.used < cfg->max_conns && park_take(&c, 0) == 0)
		serve_client(c.fd, &c.remote, c.has_local ? &c.local : NULL,
		    c.has_proxy ? &c.proxy : NULL, 0);
}

static void
pause_accepting(const char *why)
{
	/* One warning per shortage, not one per pause. */
	if (!starved)
		log_warning("unable to accept: ", why, NULL);
	starved = 1;
	deadline_in(&resume_at, 0, PAUSE_NS);
	paused = 1;
}

static void
accept_burst(void)
{
	int i;

	for (i = 0; i < ACCEPT_BURST && table.used < cfg->max_conns; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = listener_accept(&ss, &len);

		if (fd >= 0) {
			starved = 0;
			stats.accepted++;
			serve(fd, &ss);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* The connection stays in the backlog; try again
			 * after a pause instead of spinning on it. */
			pause_accepting(strerror(errno));
			return;
		default:
			/* ECONNABORTED, EPERM from a firewall, EPROTO and the
			 * like concern one connection only. */
			break;
		}
	}
}

/* A child has ended: out of the table, and its pidfd closed. */
static void
child_ended(pid_t pid, int status)
{
	struct log_line l;
	int pidfd;

	/* A connection parked for this client may have its slot now. */
	if (park_any())
		park_child_ended(table_client(&table, pid));
	if (table_remove(&table, pid, &pidfd) != 0) {
		/* Not one of ours (see table_remove): one foreign less. */
		if (foreign_children > 0)
			foreign_children--;
		return;
	}
	if (pidfd >= 0)
		close(pidfd);
	stats_ended(status);
	if (log_level < LOG_VERBOSE)
		return;
	log_start(&l, "end ");
	log_uint(&l, (unsigned long)pid);
	log_str(&l, " status ");
	log_uint(&l, (unsigned long)(unsigned)status);
	log_flush(&l);
	log_status();
}

/* The children whose pidfd has turned readable, each reaped by its pid:
 * the cost does not grow with the children still alive (reap.h). */
static void
reap_by_pidfd(void)
{
	struct reap_event ev[64];
	size_t n, i;
	pid_t r;
	int status;

	do {
		n = reap_ready(ev, 64);
		for (i = 0; i < n; i++) {
			pid_t pid = ev[i].pid;
			/* A stale event, for a pidfd closed since (reap.h). */
			if (table_pidfd(&table, pid) != ev[i].pidfd)
				continue;
			/* In the table means not reaped yet, so pid is still
			 * this child's and no other process's. */
			r = waitpid(pid, &status, WNOHANG);
			if (r == pid && reap_ended(pid, status))
				child_ended(pid, status);
			else if (r >= 0) {
				/* Dead but not reapable: another process
				 * traces it.  Its pidfd stays readable, so
				 * watched again it would spin the loop; the
				 * sweep takes it on the SIGCHLD that comes
				 * when the tracer lets it go. */
				table_untrack(&table, pid);
				close(ev[i].pidfd);
			}
		}
	} while (n == 64);
}

/*
 * SIGCHLD, when some child may have no pidfd: the sweep.  One SIGCHLD can
 * stand for many children, so loop until none is left.  SIGCHLD is
 * blocked, and has no handler, so nothing edits the table meanwhile.
 * The sweep also reaps children with a pidfd; child_ended closes it.
 */
static void
reap_all(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (reap_ended(pid, status))
			child_ended(pid, status);
	if (pid < 0 && errno == ECHILD)
		foreign_children = 0;   /* no child at all: none foreign */
}

/* Whether SIGCHLD must sweep: some child of ours has no pidfd and is not
 * young, or children not ours may end. */
static int
sweep_due(void)
{
	return table.untracked > table.young || foreign_children || orphans;
}

/* Reap young child pid if it has ended; returns whether it is still
 * young (alive, or ended but not reapable yet).  In the table means not
 * reaped yet: pid is this child's. */
static int
still_young(pid_t pid)
{
	int status;

	/* Reaped since, or given a pidfd: not young any more. */
	if (table_pidfd(&table, pid) != TABLE_YOUNG)
		return 0;
	if (waitpid(pid, &status, WNOHANG) == pid &&
	    reap_ended(pid, status)) {
		child_ended(pid, status);
		return 0;
	}
	return 1;
}

/* The children that SIGCHLD named (sig.h), if young: the common way a
 * young child's end is found (young.h). */
static void
reap_named(void)
{
	unsigned i;

	for (i = 0; i < sig_ended_n; i++)
		still_young(sig_ended[i]);
	sig_ended_n = 0;
}

/* One young child, asked by a sweep (young.h): reaped if it has ended;
 * old, given its pidfd, or else left to the sweep. */
static int
visit_young(pid_t pid, int old)
{
	if (!still_young(pid))
		return 0;
	if (!old)
		return 1;
	/* With none to be had, the sweep finds it (sweep_due). */
	table_track(&table, pid, watched_pidfd(pid));
	return 0;
}

/* Whatever has ended, reaped now rather than at the loop's next turn,
 * as the loop would: by pidfd, by asking each young child, and by the
 * sweep where it is due. */
static void
reap_now(void)
{
	reap_by_pidfd();
	young_sweep(visit_young);
	if (sweep_due())
		reap_all();
}

static void
drop_privileges(void)
{
	if (cfg->set_gid) {
		if (setgroups(1, &cfg->gid) != 0)
			log_fatal(111, "unable to set groups: ",
			    strerror(errno), NULL);
		if (setgid(cfg->gid) != 0)
			log_fatal(111, "unable to set gid: ", strerror(errno),
			    NULL);
	}
	if (cfg->set_uid) {
		/* Without -g, the supplementary groups still go: they
		 * belong to the user we are ceasing to be. */
		if (!cfg->set_gid) {
			gid_t g = getgid();
			if (setgroups(1, &g) != 0)
				log_fatal(111, "unable to set groups: ",
				    strerror(errno), NULL);
		}
		if (setuid(cfg->uid) != 0)
			log_fatal(111, "unable to set uid: ", strerror(errno),
			    NULL);
		/* A drop that could be undone is no drop. */
		if (cfg->uid != 0 && setuid(0) == 0)
			log_fatal(111, "uid change is not permanent", NULL);
	}
}

static void
print_port(void)
{
	char line[8];
	size_t i = sizeof line;
	unsigned p = bound.port;
	int null;

	line[--i] = '\n';
	do {
		line[--i] = (char)('0' + p % 10);
		p /= 10;
	} while (p);
	if (write(1, line + i, sizeof line - i) < 0)
		log_fatal(111, "unable to print the port: ", strerror(errno),
		    NULL);
	/* Whoever reads the port waits for EOF or a line; give them EOF,
	 * and keep fd 1 open so no later descriptor lands on it. */
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, 1) < 0)
		log_fatal(111, "unable to open /dev/null: ", strerror(errno),
		    NULL);
	close(null);
}

/* Remaining time until resume_at, or NULL when not paused. */
static const struct timespec *
pause_timeout(struct timespec *left)
{
	if (!paused)
		return NULL;
	if (!deadline_left(&resume_at, left)) {
		paused = 0;
		return NULL;
	}
	return left;
}

/* How long the loop may wait: until the pause ends or the oldest PROXY
 * header is due, whichever is first; NULL for no limit.  Headers past
 * their deadline are dropped here. */
static const struct timespec *
loop_timeout(struct timespec *left, struct timespec *pleft)
{
	const struct timespec *t = pause_timeout(left);

	return pfd < 0 ? t : deadline_first(t, pending_expire(pleft));
}

void
server_run(const struct config *c)
{
	uint32_t seed;

	cfg = c;
	client_limit = cfg->per_client.max < cfg->max_conns ?
	    cfg->per_client.max : cfg->max_conns;

	access_init(cfg);
	count_nets = cfg->per_net.on || access_enabled();
	sfd = sig_init();
	if (sfd < 0)
		log_fatal(111, "unable to create a signalfd: ",
		    strerror(errno), NULL);
	/* From here a full log pipe cannot hold back SIGTERM (log.h). */
	log_init(sig_stop_fd());
	/* Before the listener: the room it makes under the descriptor
	 * limit is for the queues too; the pidfds get what the listener
	 * leaves, however many queues it could open.  The connections
	 * waiting for a PROXY header stand up there too. */
	spawn_init(cfg->argv, cfg->max_conns, cfg->queues +
	    (cfg->proxy_from_n > 0 ? cfg->max_conns : 0));
	lfd = listener_open(cfg, &bound, &bound_wildcard);
	pidfd_budget = spawn_pidfd_budget(cfg->max_conns, listener_fds() +
	    (cfg->proxy_from_n > 0 ? cfg->max_conns : 0));
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed)
		seed = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	/* Any rule may set MAXRATEIP: with rules, the rate table is there. */
	if (table_init(&table, (uint32_t)cfg->max_conns, count_nets,
	    seed) != 0 || env_init(cfg->local_name,
	    access_enabled() ? RULES_DATA_MAX / 2 : 0) != 0 ||
	    ((cfg->rate.on || access_enabled()) &&
	    rate_init(cfg->rate_clients, seed * 0x9e3779b9u + 1) != 0) ||
	    park_init(cfg->max_conns) != 0)
		log_fatal(111, "out of memory", NULL);
	young_init((uint32_t)cfg->max_conns);
	rfd = reap_init();
	if (rfd < 0)
		log_fatal(111, "unable to create an epoll set: ",
		    strerror(errno), NULL);
	/* As many may wait for their header as may run. */
	if (cfg->proxy_from_n > 0 &&
	    (pfd = pending_init(cfg->max_conns, cfg->proxy_timeout)) < 0)
		log_fatal(111, "unable to create the PROXY header set: ",
		    strerror(errno), NULL);
	/* Children we had before exec'ing tcpwarden (a shell's background
	 * jobs, say) have no pidfd: while any lives, SIGCHLD sweeps. */
	foreign_children = reap_children_now();
	orphans = reap_orphans();
	if (cfg->print_port)
		print_port();
	drop_privileges();
	access_after_drop();
	listener_log_start(&bound);
	log_status();

	for (;;) {
		struct pollfd p[4];
		struct timespec left, pleft, yleft, park_left;
		const struct timespec *timeout;

		/* Draining, the server no longer accepts: only the drain's
		 * next step limits the wait, and, draining or not, the next
		 * sweep of the young children (young.h). */
		timeout = drain_active() ? drain_timeout(&left) :
		    loop_timeout(&left, &pleft);
		timeout = deadline_first(timeout, young_timeout(&yleft));
		/* At the total limit a parked connection waits, as the
		 * backlog does, for a child's end, which wakes us anyway. */
		if (!drain_active() && table.used < cfg->max_conns)
			timeout = park_timeout(timeout, &park_left);
		/* At the total limit, or paused, the listening sockets are
		 * not watched: new connections wait in the kernel's backlog. */
		p[0].fd = table.used < cfg->max_conns && !paused ? lfd : -1;
		p[0].events = POLLIN;
		p[0].revents = 0;
		p[1].fd = sfd;
		p[1].events = POLLIN;
		p[1].revents = 0;
		p[2].fd = rfd;
		p[2].events = POLLIN;
		p[2].revents = 0;
		/* Headers that came are served as slots allow, as the
		 * listening sockets are; draining, they are not served,
		 * and close with the server. */
		p[3].fd = table.used < cfg->max_conns && !drain_active() ?
		    pfd : -1;
		p[3].events = POLLIN;
		p[3].revents = 0;
		/* No connection stays open on our side while we sleep. */
		spawn_settle();
		/* The one wait.  Signals come as data on sfd, never as an
		 * interruption, so they are looked at on every turn. */
		if (ppoll(p, 4, timeout, NULL) < 0) {
			if (errno != EINTR)
				log_fatal(111, "unable to poll: ",
				    strerror(errno), NULL);
			continue;
		}
		if (p[1].revents & POLLIN)
			sig_read();
		/* Reap before judging new connections: a client whose child
		 * has just ended must not be refused for it. */
		if (p[2].revents & POLLIN)
			reap_by_pidfd();
		if (sig_got_child) {
			reap_named();
			young_told();
			/* A stop of a tracee of ours is seen only by the
			 * sweep, hence sig_got_trap (sig.h). */
			if (sweep_due() || sig_got_trap)
				reap_all();
			sig_got_child = sig_got_trap = 0;
		}
		if (young_due())
			young_sweep(visit_young);
		if (sig_got_term) {
			sig_got_term = 0;
			if (drain_active()) {
				drain_skip(&table);
			} else {
				/* Stop listening at once, so that a new server
				 * can bind the port while this one drains. */
				listener_close();
				lfd = -1;
				/* Nor will a header still to come be served:
				 * its balancer may try another server now. */
				if (pfd >= 0)
					pending_stop();
				drain_start(&table, cfg->drain_on, cfg->drain);
			}
		}
		if (sig_got_hup) {
			sig_got_hup = 0;
			access_reload();
		}
		if (sig_got_usr1) {
			sig_got_usr1 = 0;
			stats_dump(&table, cfg->max_conns, cfg->per_net.on);
		}
		/* After the reaping: it exits once the table is empty. */
		drain_tick(&table);
		if (p[3].revents & POLLIN)
			serve_pending();
		unpark();
		if (p[0].revents & POLLIN)
			accept_burst();
	}
}
