#define _GNU_SOURCE
#include "table.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef TABLE_CHECK_SIGMASK
/* The table's one rule, checked on every edit in test builds: an edit with
 * SIGCHLD deliverable could be cut in two by the reaper. */
static void
check_sigchld_blocked(void)
{
	sigset_t now;

	if (sigprocmask(SIG_BLOCK, NULL, &now) != 0 ||
	    !sigismember(&now, SIGCHLD))
		abort();
}
#else
#define check_sigchld_blocked() ((void)0)
#endif

/* Index sizes: a power of two at least 4/3 of the entries, so probes stay
 * short (load at most 3/4). */
static uint32_t
index_size(uint32_t entries)
{
	uint64_t want = (uint64_t)entries + entries / 3 + 1, n = 8;

	while (n < want)
		n <<= 1;
	return (uint32_t)n;
}

static uint32_t
pid_hash(pid_t pid)
{
	/* Fibonacci hashing: pids come in runs, the multiply spreads them. */
	return (uint32_t)pid * 2654435769u;
}

/*
 * Memory for the table's arrays: mapped apart, and left out of every child
 * (MADV_DONTFORK).  No child ever looks at the table; inherited, it would
 * cost each fork the copy of its page tables, and the parent a page copy
 * at each of its next writes to a page the child still shared.
 */
static void *
table_mem(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, n, MADV_DONTFORK);
	return p;
}

static void
table_unmem(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

static uint32_t *
alloc_index(uint32_t size)
{
	uint32_t *ix = table_mem((size_t)size * sizeof *ix);

	if (ix)
		memset(ix, 0xff, (size_t)size * sizeof *ix); /* TABLE_NONE */
	return ix;
}

static int
groups_init(struct table_groups *g, uint32_t max)
{
	uint32_t i, size = index_size(max);

	g->pool = table_mem((size_t)max * sizeof *g->pool);
	g->index = alloc_index(size);
	if (!g->pool || !g->index)
		return -1;
	g->mask = size - 1;
	for (i = 0; i < max; i++) {
		g->pool[i].u.next_free = i + 1 < max ? i + 1 : TABLE_NONE;
		g->pool[i].count = 0;
	}
	g->free_head = 0;
	g->used = 0;
	return 0;
}

int
table_init(struct table *t, uint32_t max, int with_nets, uint32_t seed)
{
	uint32_t size = index_size(max);

	memset(t, 0, sizeof *t);
	t->max = max;
	t->seed = seed;
	t->slots = table_mem((size_t)max * sizeof *t->slots);
	t->pid_index = alloc_index(size);
	t->pid_mask = size - 1;
	if (!t->slots || !t->pid_index || groups_init(&t->clients, max) != 0)
		return -1;
	if (with_nets && groups_init(&t->nets, max) != 0)
		return -1;
	return 0;
}

void
table_free(struct table *t)
{
	table_unmem(t->slots, (size_t)t->max * sizeof *t->slots);
	table_unmem(t->pid_index, ((size_t)t->pid_mask + 1) *
	    sizeof *t->pid_index);
	table_unmem(t->clients.pool, (size_t)t->max * sizeof *t->clients.pool);
	table_unmem(t->clients.index, ((size_t)t->clients.mask + 1) *
	    sizeof *t->clients.index);
	table_unmem(t->nets.pool, (size_t)t->max * sizeof *t->nets.pool);
	table_unmem(t->nets.index, ((size_t)t->nets.mask + 1) *
	    sizeof *t->nets.index);
	memset(t, 0, sizeof *t);
}

/* The index position holding key k, or the empty one where it would go. */
static uint32_t
groups_probe(const struct table_groups *g, const struct addr_key *k,
    uint32_t seed)
{
	uint32_t i = addr_key_hash(k, seed) & g->mask;

	while (g->index[i] != TABLE_NONE &&
	    !addr_key_equal(&g->pool[g->index[i]].u.key, k))
		i = (i + 1) & g->mask;
	return i;
}

static uint32_t
groups_count(const struct table_groups *g, const struct addr_key *k,
    uint32_t seed)
{
	uint32_t e;

	if (!g->pool)
		return 0;
	e = g->index[groups_probe(g, k, seed)];
	return e == TABLE_NONE ? 0 : g->pool[e].count;
}

uint32_t
table_client_count(const struct table *t, const struct addr_key *k)
{
	return groups_count(&t->clients, k, t->seed);
}

uint32_t
table_net_count(const struct table *t, const struct addr_key *k)
{
	return groups_count(&t->nets, k, t->seed);
}

/* Count one more child of group k, creating the group; its pool index. */
static uint32_t
groups_take(struct table_groups *g, const struct addr_key *k, uint32_t seed,
    uint32_t limit)
{
	uint32_t i = groups_probe(g, k, seed), e = g->index[i];

	if (e == TABLE_NONE) {
		/* Never empty here: there are as many pool entries as slots,
		 * and every group holds at least one slot. */
		e = g->free_head;
		g->free_head = g->pool[e].u.next_free;
		g->pool[e].u.key = *k;
		g->pool[e].count = 0;
		g->index[i] = e;
		g->used++;
	}
	g->pool[e].count++;
	g->pool[e].limit = limit;
	return e;
}

/*
 * Remove index position i from a linear-probing index by shifting later
 * members of its run back into the hole, so lookups never need tombstones
 * and the index never fills with them.  home(x) gives an entry's bucket.
 */
#define INDEX_DELETE(index, mask, i, home)                                  \
	do {                                                                \
		uint32_t hole_ = (i), j_ = (i);                             \
		for (;;) {                                                  \
			uint32_t h_;                                        \
			j_ = (j_ + 1) & (mask);                             \
			if ((index)[j_] == TABLE_NONE)                      \
				break;                                      \
			h_ = home((index)[j_]) & (mask);                    \
			/* Move it only if its home is not in (hole, j]. */ \
			if (((j_ - h_) & (mask)) >= ((j_ - hole_) & (mask))) { \
				(index)[hole_] = (index)[j_];               \
				hole_ = j_;                                 \
			}                                                   \
		}                                                           \
		(index)[hole_] = TABLE_NONE;                                \
	} while (0)

/* Count one child less in group e; free the group when it reaches 0. */
static void
groups_release(struct table_groups *g, uint32_t e, uint32_t seed)
{
	uint32_t i;

	if (--g->pool[e].count > 0)
		return;
	i = groups_probe(g, &g->pool[e].u.key, seed);
#define GROUP_HOME(x) addr_key_hash(&g->pool[(x)].u.key, seed)
	INDEX_DELETE(g->index, g->mask, i, GROUP_HOME);
#undef GROUP_HOME
	g->pool[e].u.next_free = g->free_head;
	g->free_head = e;
	g->used--;
}

uint32_t
table_add(struct table *t, pid_t pid, int pidfd,
    const struct addr_key *client, uint32_t client_limit,
    const struct addr_key *net, uint32_t net_limit)
{
	uint32_t s = t->used, i = pid_hash(pid) & t->pid_mask;
	struct table_slot *slot = &t->slots[s];

	check_sigchld_blocked();
	slot->pid = pid;
	slot->pidfd = pidfd;
	if (pidfd < 0)
		t->untracked++;
	if (pidfd == TABLE_YOUNG)
		t->young++;
	slot->client = groups_take(&t->clients, client, t->seed,
	    client_limit);
	slot->net = net && t->nets.pool ?
	    groups_take(&t->nets, net, t->seed, net_limit) : TABLE_NONE;
	while (t->pid_index[i] != TABLE_NONE)
		i = (i + 1) & t->pid_mask;
	t->pid_index[i] = s;
	t->used++;
	return t->clients.pool[slot->client].count;
}

/* The pid index position of pid, or the empty one that ends its run. */
static uint32_t
pid_probe(const struct table *t, pid_t pid)
{
	uint32_t i = pid_hash(pid) & t->pid_mask;

	while (t->pid_index[i] != TABLE_NONE &&
	    t->slots[t->pid_index[i]].pid != pid)
		i = (i + 1) & t->pid_mask;
	return i;
}

int
table_pidfd(const struct table *t, pid_t pid)
{
	uint32_t s = t->pid_index[pid_probe(t, pid)];

	return s == TABLE_NONE ? -1 : t->slots[s].pidfd;
}

const struct addr_key *
table_client(const struct table *t, pid_t pid)
{
	uint32_t s = t->pid_index[pid_probe(t, pid)];

	return s == TABLE_NONE ? NULL :
	    &t->clients.pool[t->slots[s].client].u.key;
}

int
table_untrack(struct table *t, pid_t pid)
{
	uint32_t s = t->pid_index[pid_probe(t, pid)];
	int pidfd;

	check_sigchld_blocked();
	if (s == TABLE_NONE || t->slots[s].pidfd < 0)
		return -1;
	pidfd = t->slots[s].pidfd;
	t->slots[s].pidfd = -1;
	t->untracked++;
	return pidfd;
}

int
table_track(struct table *t, pid_t pid, int pidfd)
{
	uint32_t s = t->pid_index[pid_probe(t, pid)];

	check_sigchld_blocked();
	if (s == TABLE_NONE || t->slots[s].pidfd >= 0)
		return -1;
	if (t->slots[s].pidfd == TABLE_YOUNG)
		t->young--;
	if (pidfd >= 0)
		t->untracked--;
	t->slots[s].pidfd = pidfd >= 0 ? pidfd : -1;
	return 0;
}

int
table_remove(struct table *t, pid_t pid, int *pidfd)
{
	uint32_t i = pid_probe(t, pid), s = t->pid_index[i], last;

	check_sigchld_blocked();
	*pidfd = -1;
	if (s == TABLE_NONE)
		return -1;
	*pidfd = t->slots[s].pidfd;
	if (*pidfd < 0)
		t->untracked--;
	if (*pidfd == TABLE_YOUNG)
		t->young--;
	groups_release(&t->clients, t->slots[s].client, t->seed);
	if (t->slots[s].net != TABLE_NONE)
		groups_release(&t->nets, t->slots[s].net, t->seed);
#define PID_HOME(x) pid_hash(t->slots[(x)].pid)
	INDEX_DELETE(t->pid_index, t->pid_mask, i, PID_HOME);
#undef PID_HOME
	/* Keep the live slots dense: move the last one into the hole and
	 * point its index entry at its new place. */
	last = --t->used;
	if (s != last) {
		t->slots[s] = t->slots[last];
		t->pid_index[pid_probe(t, t->slots[s].pid)] = s;
	}
	return 0;
}

int
table_each_client(const struct table *t, table_each_fn *fn, void *ctx)
{
	/* Group the live pids by client with a counting sort over the pool
	 * (start offsets, then fill): O(max + used), once per dump. */
	uint32_t max = t->max, s, e;
	uint32_t *start = malloc(((size_t)max + 1) * sizeof *start);
	pid_t *pids = malloc(((size_t)t->used + 1) * sizeof *pids);

	if (!start || !pids) {
		free(start);
		free(pids);
		return -1;
	}
	start[0] = 0;
	for (e = 0; e < max; e++)
		start[e + 1] = start[e] + t->clients.pool[e].count;
	for (s = 0; s < t->used; s++)
		pids[start[t->slots[s].client]++] = t->slots[s].pid;
	/* Each start[e] now marks the end of group e's pids. */
	for (e = 0; e < max; e++) {
		uint32_t n = t->clients.pool[e].count;
		if (n > 0)
			fn(ctx, &t->clients.pool[e].u.key, n,
			    t->clients.pool[e].limit, pids + start[e] - n);
	}
	free(start);
	free(pids);
	return 0;
}

void
table_each_net(const struct table *t, table_each_fn *fn, void *ctx)
{
	uint32_t e;

	if (!t->nets.pool)
		return;
	for (e = 0; e < t->max; e++)
		if (t->nets.pool[e].count > 0)
			fn(ctx, &t->nets.pool[e].u.key, t->nets.pool[e].count,
			    t->nets.pool[e].limit, NULL);
}
