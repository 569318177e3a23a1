/*
 * cdbmake-rules: compile tcprules text into a cdb as tcprules does, for
 * the tests and for systems without tcprules.
 *
 *	cdbmake-rules rules.cdb rules.tmp < rules.txt
 *
 * Lines are checked by the rules parser (so every malformed line is an
 * error naming stdin:LINE, where tcprules would skip some silently); then
 * each rule is written with tcprules' keys: the address as written, a
 * range expanded to one key per value, one record per key in file order.
 * CIDR lines are refused, as no tcprules key can express them.  The cdb
 * is written to rules.tmp, synced, then renamed over rules.cdb.
 *
 *	cdbmake-rules --crafted SIZE rules.cdb [KEY]
 *
 * writes instead a SIZE-byte cdb that no tcprules writes, to test that a
 * reader's cost stays bounded: all 256 tables share one slot area that
 * fills the file and has no empty slot.  Without KEY, no slot has the
 * hash of any key a reader asks for (the hash is 0); with KEY, every
 * slot has KEY's hash and points at one record whose key is as long as
 * KEY but differs from it, so every slot costs a record comparison.
 * Exit 0, 100 for bad input or usage, 111 for I/O trouble.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdb.h"
#include "rules.h"

struct slot {
	uint32_t hash;
	uint32_t pos;
};

static const char *tmpname;
static FILE *out;
static uint64_t where = 2048;      /* the next record's position */
static struct slot *recs;
static size_t nrecs, caprecs;

static void
die(int code, const char *what, const char *detail)
{
	if (detail)
		fprintf(stderr, "cdbmake-rules: fatal: %s: %s\n", what, detail);
	else
		fprintf(stderr, "cdbmake-rules: fatal: %s\n", what);
	exit(code);
}

static void
die_write(void)
{
	die(111, tmpname, strerror(errno));
}

static void
put32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
	b[2] = (unsigned char)(v >> 16);
	b[3] = (unsigned char)(v >> 24);
}

static void
add(const char *key, size_t klen, const char *data, size_t dlen)
{
	unsigned char head[8];

	if (where + 8 + klen + dlen > UINT32_MAX)
		die(111, tmpname, "a cdb cannot exceed 4 GiB");
	if (nrecs == caprecs) {
		caprecs = caprecs ? caprecs * 2 : 1024;
		recs = realloc(recs, caprecs * sizeof *recs);
		if (!recs)
			die(111, "out of memory", NULL);
	}
	recs[nrecs].hash = cdb_hash(key, klen);
	recs[nrecs].pos = (uint32_t)where;
	nrecs++;
	put32(head, (uint32_t)klen);
	put32(head + 4, (uint32_t)dlen);
	if (fwrite(head, 1, 8, out) != 8 || fwrite(key, 1, klen, out) != klen ||
	    fwrite(data, 1, dlen, out) != dlen)
		die_write();
	where += 8 + klen + dlen;
}

/* Write the 256 hash tables, each twice as long as its record count (so
 * a probe always ends), then the header that points at them. */
static void
finish(void)
{
	unsigned char header[2048], b[8];
	size_t count[256] = { 0 }, i, t;
	struct slot *tab;

	for (i = 0; i < nrecs; i++)
		count[recs[i].hash & 255]++;
	for (t = 0; t < 256; t++) {
		uint32_t len = (uint32_t)(count[t] * 2);

		put32(header + 8 * t, (uint32_t)where);
		put32(header + 8 * t + 4, len);
		if (len == 0)
			continue;
		tab = calloc(len, sizeof *tab);
		if (!tab)
			die(111, "out of memory", NULL);
		/* In record order, so the first record for a key comes first
		 * on its probe path and is the one a reader finds. */
		for (i = 0; i < nrecs; i++) {
			uint32_t s;

			if ((recs[i].hash & 255) != t)
				continue;
			s = (recs[i].hash >> 8) % len;
			while (tab[s].pos != 0)
				s = (s + 1) % len;
			tab[s] = recs[i];
		}
		for (i = 0; i < len; i++) {
			put32(b, tab[i].hash);
			put32(b + 4, tab[i].pos);
			if (fwrite(b, 1, 8, out) != 8)
				die_write();
		}
		free(tab);
		where += (uint64_t)len * 8;
		if (where > UINT32_MAX)
			die(111, tmpname, "a cdb cannot exceed 4 GiB");
	}
	if (fseek(out, 0, SEEK_SET) == -1 ||
	    fwrite(header, 1, sizeof header, out) != sizeof header ||
	    fflush(out) == EOF || fsync(fileno(out)) == -1)
		die_write();
	if (fclose(out) == EOF)
		die_write();
}

/* The keys tcprules writes for one address: a range "lo-hi" in one
 * octet (only in an address with neither '=' nor '@') is one key per
 * value with that octet replaced; anything else is its own key. */
static void
emit(const char *addr, const char *data, size_t dlen)
{
	size_t n = strlen(addr), dash, left, right;
	unsigned long lo, hi, v;
	char key[64];

	if (strchr(addr, '=') || strchr(addr, '@') || !strchr(addr, '-')) {
		add(addr, n, data, dlen);
		return;
	}
	/* The parser accepted it, so this is a dotted address or prefix
	 * with one well-formed range and fits in key. */
	dash = (size_t)(strchr(addr, '-') - addr);
	for (left = dash; left > 0 && addr[left - 1] != '.'; left--)
		;
	for (right = dash; right < n && addr[right] != '.'; right++)
		;
	lo = strtoul(addr + left, NULL, 10);
	hi = strtoul(addr + dash + 1, NULL, 10);
	for (v = lo; v <= hi; v++) {
		int k = snprintf(key, sizeof key, "%.*s%lu%s", (int)left, addr, v,
		    addr + right);

		if (k < 0 || (size_t)k >= sizeof key)
			die(100, "address too long", addr);
		add(key, (size_t)k, data, dlen);
	}
}

/* The --crafted file: header, one record, then slots to the end. */
static int
crafted(int argc, char **argv)
{
	unsigned char b[8];
	unsigned long size;
	uint64_t t, n, i;
	uint32_t h = 0;
	const char *key = argc > 4 ? argv[4] : "x";
	size_t klen = strlen(key);
	char *wrong;

	if (argc < 4 || argc > 5)
		die(100, "usage: cdbmake-rules --crafted SIZE rules.cdb [KEY]",
		    NULL);
	size = strtoul(argv[2], NULL, 10);
	if (klen == 0 || klen > 1000 || size < 2048 + 8 + klen + 8 ||
	    size > UINT32_MAX)
		die(100, "--crafted: SIZE or KEY out of range", NULL);
	if (argc > 4)
		h = cdb_hash(key, klen);
	/* The record: KEY with its first byte changed, no data. */
	wrong = strdup(key);
	if (!wrong)
		die(111, "out of memory", NULL);
	wrong[0] = (char)(wrong[0] == 'a' ? 'b' : 'a');
	tmpname = argv[3];
	out = fopen(tmpname, "w");
	if (!out)
		die_write();
	t = 2048 + 8 + klen;
	n = (size - t) / 8;
	for (i = 0; i < 256; i++) {
		put32(b, (uint32_t)t);
		put32(b + 4, (uint32_t)n);
		if (fwrite(b, 1, 8, out) != 8)
			die_write();
	}
	put32(b, (uint32_t)klen);
	put32(b + 4, 0);
	if (fwrite(b, 1, 8, out) != 8 || fwrite(wrong, 1, klen, out) != klen)
		die_write();
	put32(b, h);
	put32(b + 4, 2048);
	for (i = 0; i < n; i++)
		if (fwrite(b, 1, 8, out) != 8)
			die_write();
	if (fclose(out) == EOF)
		die_write();
	free(wrong);
	return 0;
}

int
main(int argc, char **argv)
{
	char err[512], zero[2048];
	struct rules *rs;
	struct rules_rule ru;
	char *text = NULL;
	size_t len = 0, cap = 0, i;

	if (argc > 1 && strcmp(argv[1], "--crafted") == 0)
		return crafted(argc, argv);
	if (argc != 3)
		die(100, "usage: cdbmake-rules rules.cdb rules.tmp < rules.txt",
		    NULL);
	tmpname = argv[2];
	for (;;) {
		size_t n;

		if (cap - len < 65536) {
			cap = cap * 2 + 65536;
			text = realloc(text, cap);
			if (!text)
				die(111, "out of memory", NULL);
		}
		n = fread(text + len, 1, cap - len, stdin);
		len += n;
		if (n == 0) {
			if (ferror(stdin))
				die(111, "unable to read input", strerror(errno));
			break;
		}
	}
	if (rules_parse(&rs, "stdin", text, len, err, sizeof err) == -1) {
		fprintf(stderr, "cdbmake-rules: fatal: %s\n", err);
		free(text);
		return 100;
	}
	for (i = 0; i < rules_count(rs); i++) {
		rules_get(rs, i, &ru);
		if (ru.addr[0] != '=' && !strchr(ru.addr, '@') &&
		    strchr(ru.addr, '/')) {
			fprintf(stderr, "cdbmake-rules: fatal: stdin:%lu: CIDR "
			    "has no tcprules form: '%s'\n", ru.line, ru.addr);
			rules_free(rs);
			free(text);
			return 100;
		}
	}

	out = fopen(tmpname, "w");
	if (!out)
		die(111, tmpname, strerror(errno));
	memset(zero, 0, sizeof zero);
	if (fwrite(zero, 1, sizeof zero, out) != sizeof zero)
		die_write();
	for (i = 0; i < rules_count(rs); i++) {
		rules_get(rs, i, &ru);
		emit(ru.addr, ru.data, ru.len);
	}
	finish();
	if (rename(tmpname, argv[1]) == -1)
		die(111, argv[1], strerror(errno));
	rules_free(rs);
	free(recs);
	free(text);
	return 0;
}
