/*
 * table: which child serves which client.  pid -> slot, client -> count,
 * network -> count, and the total.  Everything is sized once by table_init
 * from -c; add, remove and the count look-ups cost O(1) on average (hashes
 * with linear probing) and allocate nothing.
 *
 * The rule that keeps it exact: SIGCHLD is blocked whenever the table is
 * edited, and from before a child is created until its pid is added, so
 * the reaper can never see a pid that is not in the table yet, nor run in
 * the middle of an edit.  The server keeps SIGCHLD blocked for its whole
 * run and reads it from a signalfd (sig.h); built with
 * -DTABLE_CHECK_SIGMASK, every edit checks the rule and aborts if it is
 * broken.
 */
#ifndef TABLE_H
#define TABLE_H

#include <stdint.h>
#include <sys/types.h>

#include "addr.h"

#define TABLE_NONE UINT32_MAX
#define TABLE_YOUNG (-2)

/* One live child. */
struct table_slot {
	pid_t pid;
	int pidfd;         /* its pidfd (reap.h); -1 without one, found by
	                    * the sweep; TABLE_YOUNG without one yet
	                    * (young.h) */
	uint32_t client;   /* index of its client group */
	uint32_t net;      /* index of its network group, or TABLE_NONE */
};

/* A client or a network with at least one live child.  A free entry
 * keeps the next free index where the key was, to save the space. */
struct table_group {
	union {
		struct addr_key key;
		uint32_t next_free;
	} u;
	uint32_t count;   /* live children of this group; 0 when free */
	uint32_t limit;   /* the limit its latest child was admitted under
	                   * (a rule's may differ from the option's), for
	                   * the state dump */
};

/* An open-addressed index of groups by key. */
struct table_groups {
	struct table_group *pool;
	uint32_t *index;        /* pool indexes, TABLE_NONE where empty */
	uint32_t mask;          /* index size - 1 (a power of two) */
	uint32_t free_head;     /* first free pool entry, TABLE_NONE if none */
	uint32_t used;          /* groups with count > 0 */
};

struct table {
	uint32_t max;            /* -c: the most live children */
	uint32_t used;           /* live children now */
	uint32_t untracked;      /* of them, those without a pidfd */
	uint32_t young;          /* of those, the young (TABLE_YOUNG) */
	uint32_t seed;           /* hash seed, random per run */
	struct table_slot *slots;/* slots[0 .. used-1] are live, dense */
	uint32_t *pid_index;     /* slot indexes by pid hash */
	uint32_t pid_mask;
	struct table_groups clients;
	struct table_groups nets;   /* unused (no pool) without network limits */
};

/* Allocate for max children; track networks too when with_nets.
 * Returns 0, or -1 when memory is short. */
int table_init(struct table *t, uint32_t max, int with_nets, uint32_t seed);
void table_free(struct table *t);

/* Live children of this client or network (0 if none). */
uint32_t table_client_count(const struct table *t, const struct addr_key *k);
uint32_t table_net_count(const struct table *t, const struct addr_key *k);

/* Record a new child and its pidfd (-1 or TABLE_YOUNG for none), admitted
 * under these limits of its client and network.  net is NULL without
 * network limits.  The caller has checked that used < max.  Returns the
 * client's count, this child included. */
uint32_t table_add(struct table *t, pid_t pid, int pidfd,
    const struct addr_key *client, uint32_t client_limit,
    const struct addr_key *net, uint32_t net_limit);

/* Forget a child; *pidfd gets the pidfd it was recorded with, for the
 * caller to close where it is one (>= 0).  Returns 0, or -1 if pid is not
 * in the table: a child the table never held, such as one the process had
 * before it exec'd tcpwarden (the server reaps those and ignores them). */
int table_remove(struct table *t, pid_t pid, int *pidfd);

/* Take pid's pidfd away, so that the sweep reaps it (reap.h): returns
 * the pidfd, for the caller to close, or -1 if pid had none or is not in
 * the table. */
int table_untrack(struct table *t, pid_t pid);

/* Give child pid, recorded without a pidfd (young or not), this one; or,
 * with pidfd -1, leave a young child to the sweep.  Returns 0, or -1 if
 * pid is not in the table or has one already. */
int table_track(struct table *t, pid_t pid, int pidfd);

/* The client key of pid, or NULL if pid is not in the table; valid
 * until the next edit. */
const struct addr_key *table_client(const struct table *t, pid_t pid);

/* The pidfd recorded for pid (TABLE_YOUNG for a young child); -1 if it
 * has none or is not in the table. */
int table_pidfd(const struct table *t, pid_t pid);

/* What table_each_client and table_each_net call for each group: its
 * key, live children, limit, and (for a client) its count pids. */
typedef void table_each_fn(void *ctx, const struct addr_key *k,
    uint32_t count, uint32_t limit, const pid_t *pids);

/* Call fn for every live client, with its pids, in no set order.  Meant
 * for the state dump: it allocates scratch space, and returns -1 (having
 * called nothing) when it cannot. */
int table_each_client(const struct table *t, table_each_fn *fn, void *ctx);

/* Call fn for every live network (pids NULL), in no set order; nothing
 * without network counts. */
void table_each_net(const struct table *t, table_each_fn *fn, void *ctx);

#endif
