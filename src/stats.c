#define _GNU_SOURCE
#include "stats.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"

struct stats stats;

#define STATS_NAME_(id, name) name,
static const char *const refusal_names[] = { STATS_REFUSALS(STATS_NAME_) };
#undef STATS_NAME_

const char *
stats_refusal_name(enum stats_refusal why)
{
	return refusal_names[why];
}

void
stats_ended(int status)
{
	if (WIFSIGNALED(status))
		stats.signaled++;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		stats.exit_zero++;
	else
		stats.exit_other++;
}

/* A key as the dump shows it: its network, and its prefix length where
 * that is shorter than an address ("127.0.0.0/24", "[2001:db8::]/64"). */
static void
log_key(struct log_line *l, const struct addr_key *k)
{
	char text[ADDR_TEXT_MAX];

	log_mem(l, text, addr_key_format(k, text));
	if (k->bits < (k->family == AF_INET ? 32 : 128)) {
		log_str(l, "/");
		log_uint(l, k->bits);
	}
}

/* A growing line for a client's pids; on no memory the line is cut. */
struct dump_line {
	char *buf;
	size_t len, cap;
};

static void
dump_client(void *ctx, const struct addr_key *k, uint32_t count,
    uint32_t limit, const pid_t *pids)
{
	struct dump_line *d = ctx;
	struct log_line l;
	size_t need, n;
	uint32_t i;

	log_start(&l, "client ");
	log_key(&l, k);
	log_str(&l, " ");
	log_uint(&l, count);
	log_str(&l, "/");
	log_uint(&l, limit);
	log_str(&l, " pids");
	/* A client may hold thousands of pids: the line is built here,
	 * where a long line may cost an allocation, and written in one go. */
	need = l.len + (size_t)count * 12 + 2;
	if (need > d->cap) {
		char *p = realloc(d->buf, need);
		if (!p) {
			log_flush(&l);
			return;
		}
		d->buf = p;
		d->cap = need;
	}
	memcpy(d->buf, l.buf, l.len);
	n = l.len;
	for (i = 0; i < count; i++) {
		char digits[12];
		size_t j = sizeof digits;
		unsigned long v = (unsigned long)pids[i];
		do {
			digits[--j] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		d->buf[n++] = ' ';
		memcpy(d->buf + n, digits + j, sizeof digits - j);
		n += sizeof digits - j;
	}
	d->buf[n++] = '\n';
	log_write(d->buf, n);
}

static void
dump_net(void *ctx, const struct addr_key *k, uint32_t count,
    uint32_t limit, const pid_t *pids)
{
	struct log_line l;

	(void)ctx;
	(void)pids;
	log_start(&l, "net ");
	log_key(&l, k);
	log_str(&l, " ");
	log_uint(&l, count);
	log_str(&l, "/");
	log_uint(&l, limit);
	log_flush(&l);
}

static void
dump_totals(void)
{
	struct log_line l;
	size_t i;

	log_start(&l, "totals: accepted ");
	log_uint(&l, stats.accepted);
	log_str(&l, " unstarted ");
	log_uint(&l, stats.unstarted);
	log_str(&l, " exit-0 ");
	log_uint(&l, stats.exit_zero);
	log_str(&l, " exit-other ");
	log_uint(&l, stats.exit_other);
	log_str(&l, " signal ");
	log_uint(&l, stats.signaled);
	log_flush(&l);
	log_start(&l, "refused:");
	for (i = 0; i < STATS_REFUSAL_KINDS; i++) {
		log_str(&l, " ");
		log_str(&l, refusal_names[i]);
		log_str(&l, " ");
		log_uint(&l, stats.refused[i]);
	}
	log_flush(&l);
}

void
stats_dump(const struct table *t, unsigned long max_conns, int nets)
{
	struct dump_line d = { NULL, 0, 0 };
	struct log_line l;

	/* The state line first, as ever, with the number of client lines
	 * (and network lines) that follow the totals, so a reader knows
	 * when it has the whole dump. */
	log_start(&l, "state: ");
	log_uint(&l, t->used);
	log_str(&l, "/");
	log_uint(&l, max_conns);
	log_str(&l, " clients ");
	log_uint(&l, t->clients.used);
	if (nets) {
		log_str(&l, " nets ");
		log_uint(&l, t->nets.used);
	}
	log_flush(&l);
	dump_totals();
	if (table_each_client(t, dump_client, &d) != 0)
		log_warning("state: no memory to list the clients", NULL);
	free(d.buf);
	if (nets)
		table_each_net(t, dump_net, NULL);
}
