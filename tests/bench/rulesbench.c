/*
 * rulesbench: time the text rules.  Writes a rules file of LINES lines
 * (default 100000: exact IPv4 and IPv6 addresses, dotted prefixes, CIDR
 * of both families, ranges, hosts and suffixes), times rules_load, then
 * times rules_lookup over a mix of clients that hit and miss, and prints
 * the median cost per lookup over batches.  Targets: load under 1 s,
 * lookup under 2 us.  A benchmark reports; it never fails on a timing.
 *
 *	rulesbench [LINES]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "rules.h"

#define BATCHES 201
#define PER_BATCH 1000
#define CLIENTS 4096

static uint64_t seed = 0x9e3779b97f4a7c15u;

/* xorshift64*: the same file and clients on every run. */
static uint32_t
rnd(void)
{
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return (uint32_t)((seed * 2685821657736338717u) >> 32);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
line(FILE *f, unsigned long i)
{
	uint32_t v = rnd();
	unsigned a = v >> 24, b = (v >> 16) & 255, c = (v >> 8) & 255,
	    d = v & 255, len;

	switch (i % 20) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6:
		fprintf(f, "%u.%u.%u.%u:allow,N=\"%lu\"\n", a, b, c, d, i);
		break;
	case 7: case 8:
		fprintf(f, "2001:db8:%x:%x::%x:deny\n", v >> 16, v & 0xffff,
		    (unsigned)(i & 0xffff));
		break;
	case 9: case 10:
		fprintf(f, "%u.%u.:allow\n", a, b);
		break;
	case 11:
		fprintf(f, "%u.%u.%u.:deny,W=\"x\"\n", a, b, c);
		break;
	case 12: case 13: case 14:
		len = 8 + rnd() % 23;
		v &= len ? ~(uint32_t)0 << (32 - len) : 0;
		fprintf(f, "%u.%u.%u.%u/%u:deny\n", v >> 24, (v >> 16) & 255,
		    (v >> 8) & 255, v & 255, len);
		break;
	case 15: case 16:
		len = 32 + 16 * (rnd() % 3);
		if (len == 32)
			fprintf(f, "2001:%x::/32:allow\n", v >> 16);
		else if (len == 48)
			fprintf(f, "2001:%x:%x::/48:allow\n", v >> 16, v & 0xffff);
		else
			fprintf(f, "2001:%x:%x:%x::/64:allow\n", v >> 16,
			    v & 0xffff, c);
		break;
	case 17:
		fprintf(f, "%u.%u.%u.%u-%u:deny\n", a, b, c, d / 2, d / 2 + 7);
		break;
	case 18:
		fprintf(f, "=h%lu.example.com:allow,H=\"1\"\n", i);
		break;
	default:
		fprintf(f, "=.d%lu.example.org:deny\n", i);
		break;
	}
}

int
main(int argc, char **argv)
{
	static struct addr ips[CLIENTS];
	static char texts[CLIENTS][ADDR_TEXT_MAX];
	static char hostbuf[CLIENTS][64];
	static double batch[BATCHES];
	char path[] = "/tmp/rulesbench.XXXXXX", err[512];
	unsigned long lines = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000, i;
	struct rules *r;
	struct rules_match m;
	struct rules_query q;
	unsigned long hits = 0;
	double t0, load;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	if (fd == -1 || !(f = fdopen(fd, "w"))) {
		perror("rulesbench: temporary file");
		return 111;
	}
	for (i = 0; i < lines; i++)
		line(f, i);
	fputs(":allow,DEFAULT=\"1\"\n", f);
	if (fclose(f) == EOF) {
		perror("rulesbench: temporary file");
		return 111;
	}

	t0 = now();
	if (rules_load(&r, path, err, sizeof err) == -1) {
		fprintf(stderr, "rulesbench: %s\n", err);
		unlink(path);
		return 100;
	}
	load = now() - t0;
	unlink(path);

	/* Clients: a quarter IPv6, some with host names, so every step is
	 * walked, most lookups fall to prefixes or the default. */
	seed = 12345;
	for (i = 0; i < CLIENTS; i++) {
		uint32_t v = rnd();

		if (i % 4 == 3) {
			ips[i].family = AF_INET6;
			memset(ips[i].bytes, 0, 16);
			ips[i].bytes[0] = 0x20;
			ips[i].bytes[1] = 0x01;
			memcpy(ips[i].bytes + 2, &v, 4);
			ips[i].bytes[15] = (uint8_t)i;
		} else {
			ips[i].family = AF_INET;
			memset(ips[i].bytes, 0, 16);
			memcpy(ips[i].bytes, &v, 4);
		}
		addr_format(&ips[i], 0, texts[i]);
		snprintf(hostbuf[i], sizeof hostbuf[i], "x.h%lu.example.com", i);
	}

	for (i = 0; i < BATCHES; i++) {
		unsigned long j;
		double t;

		t = now();
		for (j = 0; j < PER_BATCH; j++) {
			unsigned long c = (i * PER_BATCH + j) % CLIENTS;

			q.ip = &ips[c];
			q.iptext = texts[c];
			q.host = c % 2 ? hostbuf[c] : NULL;
			q.info = NULL;
			hits += (unsigned long)rules_lookup(r, &q, &m) * m.step;
		}
		batch[i] = (now() - t) * 1e9 / PER_BATCH;
	}
	qsort(batch, BATCHES, sizeof batch[0], cmp_double);

	printf("rulesbench: %lu rules (%lu lines): load %.1f ms (target < 1000)\n",
	    (unsigned long)rules_count(r), lines + 1, load * 1e3);
	printf("rulesbench: lookup median %.0f ns, p90 %.0f ns over %d batches "
	    "of %d (target < 2000); checksum %lu\n", batch[BATCHES / 2],
	    batch[BATCHES * 9 / 10], BATCHES, PER_BATCH, hits);
	rules_free(r);
	return 0;
}
