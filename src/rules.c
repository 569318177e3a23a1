#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "cdb.h"
#include "file.h"
#include "rules.h"

/*
 * A text file is parsed into an array of rules (kept in file order, for
 * rules_get) and two open-addressing hash tables that point into it: one
 * keyed by address bytes (exact addresses, and prefixes with their length),
 * one keyed by strings (hosts, suffixes, ident forms).  Prefixes are tried
 * once per prefix length present in the file, longest first, so a lookup
 * costs at most 33 or 129 probes of the address table however many rules
 * there are.  Duplicates are never inserted: the first line for a key
 * wins, as the first record tcprules writes for a key wins in a cdb.
 */

enum rules_kind {
	KIND_DEFAULT,
	KIND_IP,         /* exact address, or a range of them */
	KIND_PREFIX,     /* dotted, ':' or CIDR prefix, or a range of them */
	KIND_HOST,       /* =host */
	KIND_SUFFIX,     /* =.suffix */
	KIND_ANYHOST,    /* = */
	KIND_INFO_IP,    /* info@ip */
	KIND_INFO_HOST   /* info@=host */
};

struct rule {
	const char *addr;      /* address as written, NUL-terminated */
	const char *data;      /* record in tcprules' format */
	size_t len;
	const char *info;      /* ident forms: the info part */
	size_t infolen;
	const char *host;      /* host forms, lowercased; a suffix keeps its
	                        * leading dot */
	size_t hostlen;
	struct addr ip;        /* info@ip: the address */
	unsigned long line;
	enum rules_kind kind;
};

/* Exact addresses have bits == IPTAB_EXACT, so an exact /32 and a CIDR /32
 * of the same address stay apart (they are different lookup steps). */
#define IPTAB_EXACT 255

struct ipent {
	uint32_t rule;         /* index + 1 in rules->rule; 0 is empty */
	uint8_t family;
	uint8_t bits;          /* prefix length, or IPTAB_EXACT */
	uint8_t bytes[16];     /* zero past the prefix and past 4 for IPv4 */
};

struct strent {
	uint32_t hash;
	uint32_t rule;         /* index + 1; 0 is empty */
};

/* Strings and records live in chunks that never move, so rules can point
 * into them while the rule array itself is grown with realloc. */
struct chunk {
	struct chunk *next;
	size_t used;
	size_t cap;
	char mem[];
};

struct rules {
	struct rule *rule;
	size_t nrules;
	size_t caprules;
	struct chunk *chunks;
	struct ipent *ips;     /* capacity a power of two, at most half full */
	size_t ipcap;
	size_t nips;
	struct strent *strs;   /* likewise */
	size_t strcap;
	size_t nstrs;
	uint8_t lens4[33];     /* prefix lengths present, longest first */
	unsigned nlens4;
	uint8_t lens6[129];
	unsigned nlens6;
	size_t maxsuffix;      /* longest =.suffix, to skip hopeless probes */
	size_t anyhost;        /* index + 1 of the first "=" rule, or 0 */
	size_t deflt;          /* index + 1 of the first default rule, or 0 */
	int hosts;             /* some rule needs the host name */
	int infos;             /* some rule needs the ident answer */
};

/* ---- small helpers ---- */

static int
rules_lower(int c)
{
	/* ASCII only: DNS names compare without regard to case (RFC 4343),
	 * and the locale must not change what matches. */
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static uint32_t
rules_fnv(uint32_t h, const void *p, size_t n, int lower)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint32_t)(lower ? rules_lower(s[i]) : s[i]);
		h *= 16777619u;
	}
	return h;
}

/* FNV alone leaves the low bits poorly mixed for keys that differ only at
 * the end; the tables index by the low bits, so finish with an avalanche. */
static uint32_t
rules_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	h *= 0x846ca68bu;
	h ^= h >> 16;
	return h;
}

static size_t
rules_addrlen(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Zero every bit of b past the first bits; say whether any was set. */
static int
rules_mask(uint8_t *b, unsigned bits, size_t nbytes)
{
	int set = 0;
	size_t i;

	for (i = 0; i < nbytes; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 :
		    bits > 8 * i ? bits - 8 * (unsigned)i : 0;
		uint8_t m = (uint8_t)(keep ? 0xff << (8 - keep) : 0);

		if (b[i] & ~m)
			set = 1;
		b[i] &= m;
	}
	return set;
}

/* ---- the address table ---- */

static uint32_t
rules_iphash(const struct ipent *e)
{
	uint32_t h = 2166136261u;

	h = rules_fnv(h, &e->family, 1, 0);
	h = rules_fnv(h, &e->bits, 1, 0);
	h = rules_fnv(h, e->bytes, rules_addrlen(e->family), 0);
	return rules_mix(h);
}

static int
rules_ipsame(const struct ipent *a, const struct ipent *b)
{
	return a->family == b->family && a->bits == b->bits &&
	    memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

static const struct ipent *
rules_ipfind(const struct rules *r, const struct ipent *key)
{
	size_t i;

	if (r->ipcap == 0)
		return NULL;
	for (i = rules_iphash(key) & (r->ipcap - 1);; i = (i + 1) & (r->ipcap - 1)) {
		const struct ipent *e = &r->ips[i];

		if (e->rule == 0)
			return NULL;
		if (rules_ipsame(e, key))
			return e;
	}
}

static void
rules_ipput(struct ipent *tab, size_t cap, const struct ipent *e)
{
	size_t i = rules_iphash(e) & (cap - 1);

	while (tab[i].rule != 0)
		i = (i + 1) & (cap - 1);
	tab[i] = *e;
}

/* Add e unless its key is there already.  Returns 0, or -1 (ENOMEM). */
static int
rules_ipadd(struct rules *r, const struct ipent *e)
{
	if (rules_ipfind(r, e))
		return 0;
	if ((r->nips + 1) * 2 > r->ipcap) {
		size_t cap = r->ipcap ? r->ipcap * 2 : 64, i;
		struct ipent *tab = calloc(cap, sizeof *tab);

		if (!tab)
			return -1;
		for (i = 0; i < r->ipcap; i++)
			if (r->ips[i].rule)
				rules_ipput(tab, cap, &r->ips[i]);
		free(r->ips);
		r->ips = tab;
		r->ipcap = cap;
	}
	rules_ipput(r->ips, r->ipcap, e);
	r->nips++;
	return 0;
}

/* ---- the string table ---- */

/* A string key: kind, then the parts the kind uses.  Hosts are hashed and
 * compared lowercased. */
struct strkey {
	enum rules_kind kind;
	const char *info;
	size_t infolen;
	const char *host;
	size_t hostlen;
	const struct addr *ip;
};

static uint32_t
rules_strhash(const struct strkey *k)
{
	uint32_t h = 2166136261u;
	unsigned char kind = (unsigned char)k->kind;

	h = rules_fnv(h, &kind, 1, 0);
	if (k->kind == KIND_INFO_IP || k->kind == KIND_INFO_HOST)
		h = rules_fnv(h, k->info, k->infolen, 0);
	if (k->kind == KIND_INFO_IP) {
		h = rules_fnv(h, &k->ip->family, 1, 0);
		h = rules_fnv(h, k->ip->bytes, rules_addrlen(k->ip->family), 0);
	} else {
		h = rules_fnv(h, k->host, k->hostlen, 1);
	}
	return rules_mix(h);
}

static int
rules_strsame(const struct rule *ru, const struct strkey *k)
{
	size_t i;

	if (ru->kind != k->kind)
		return 0;
	if (k->kind == KIND_INFO_IP || k->kind == KIND_INFO_HOST)
		if (ru->infolen != k->infolen ||
		    memcmp(ru->info, k->info, k->infolen) != 0)
			return 0;
	if (k->kind == KIND_INFO_IP)
		return ru->ip.family == k->ip->family &&
		    memcmp(ru->ip.bytes, k->ip->bytes,
		    rules_addrlen(k->ip->family)) == 0;
	if (ru->hostlen != k->hostlen)
		return 0;
	/* The rule's host is stored lowercased already. */
	for (i = 0; i < k->hostlen; i++)
		if (ru->host[i] != rules_lower((unsigned char)k->host[i]))
			return 0;
	return 1;
}

static const struct rule *
rules_strfind(const struct rules *r, const struct strkey *k)
{
	uint32_t h;
	size_t i;

	if (r->strcap == 0)
		return NULL;
	h = rules_strhash(k);
	for (i = h & (r->strcap - 1);; i = (i + 1) & (r->strcap - 1)) {
		const struct strent *e = &r->strs[i];

		if (e->rule == 0)
			return NULL;
		if (e->hash == h && rules_strsame(&r->rule[e->rule - 1], k))
			return &r->rule[e->rule - 1];
	}
}

static void
rules_strput(struct strent *tab, size_t cap, struct strent e)
{
	size_t i = e.hash & (cap - 1);

	while (tab[i].rule != 0)
		i = (i + 1) & (cap - 1);
	tab[i] = e;
}

static void
rules_strkey(const struct rule *ru, struct strkey *k)
{
	k->kind = ru->kind;
	k->info = ru->info;
	k->infolen = ru->infolen;
	k->host = ru->host;
	k->hostlen = ru->hostlen;
	k->ip = &ru->ip;
}

/* Add rule index idx unless its key is there already.  0, or -1. */
static int
rules_stradd(struct rules *r, size_t idx)
{
	struct strkey k;
	struct strent e;

	rules_strkey(&r->rule[idx], &k);
	if (rules_strfind(r, &k))
		return 0;
	if ((r->nstrs + 1) * 2 > r->strcap) {
		size_t cap = r->strcap ? r->strcap * 2 : 64, i;
		struct strent *tab = calloc(cap, sizeof *tab);

		if (!tab)
			return -1;
		for (i = 0; i < r->strcap; i++)
			if (r->strs[i].rule)
				rules_strput(tab, cap, r->strs[i]);
		free(r->strs);
		r->strs = tab;
		r->strcap = cap;
	}
	e.hash = rules_strhash(&k);
	e.rule = (uint32_t)idx + 1;
	rules_strput(r->strs, r->strcap, e);
	r->nstrs++;
	return 0;
}

/* ---- storage ---- */

static char *
rules_store(struct rules *r, const char *s, size_t n)
{
	struct chunk *c = r->chunks;
	char *p;

	if (!c || c->cap - c->used < n + 1) {
		size_t cap = n + 1 > 65536 ? n + 1 : 65536;

		c = malloc(sizeof *c + cap);
		if (!c)
			return NULL;
		c->next = r->chunks;
		c->used = 0;
		c->cap = cap;
		r->chunks = c;
	}
	p = c->mem + c->used;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	c->used += n + 1;
	return p;
}

void
rules_free(struct rules *r)
{
	struct chunk *c, *next;

	if (!r)
		return;
	for (c = r->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(r->rule);
	free(r->ips);
	free(r->strs);
	free(r);
}

/* ---- parsing ---- */

struct parser {
	struct rules *r;
	const char *name;
	unsigned long line;
	char *err;
	size_t errlen;
	char *data;            /* the record being built */
	size_t datalen;
	size_t datacap;
};

/* What an address parsed into, before it is stored. */
struct parsed {
	enum rules_kind kind;
	uint8_t family;
	uint8_t bytes[16];
	unsigned bits;         /* KIND_PREFIX: prefix length */
	int range;             /* octet holding a range lo-hi, or -1 */
	unsigned lo;
	unsigned hi;
	const char *info;
	size_t infolen;
	const char *host;
	size_t hostlen;
};

/* Set "NAME:LINE: what" or "NAME:LINE: what: 'arg'", with arg cut short
 * and its unprintable bytes shown as '?' so the message is one clean line.
 * Returns -1 for the caller to pass on. */
static int
rules_fail(struct parser *p, const char *what, const char *arg, size_t arglen)
{
	char shown[84];
	size_t i, n = arglen > 80 ? 77 : arglen;

	if (!p->err || p->errlen == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)arg[i];

		shown[i] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
	}
	if (n < arglen) {
		memcpy(shown + n, "...", 3);
		n += 3;
	}
	shown[n] = '\0';
	if (arg)
		snprintf(p->err, p->errlen, "%s:%lu: %s: '%s'", p->name, p->line,
		    what, shown);
	else
		snprintf(p->err, p->errlen, "%s:%lu: %s", p->name, p->line, what);
	return -1;
}

static int
rules_nomem(struct parser *p)
{
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s: %s", p->name, strerror(ENOMEM));
	return -1;
}

static int
rules_put(struct parser *p, const char *s, size_t n)
{
	if (p->datacap - p->datalen < n) {
		size_t cap = p->datacap ? p->datacap : 256;
		char *d;

		while (cap - p->datalen < n)
			cap *= 2;
		d = realloc(p->data, cap);
		if (!d)
			return -1;
		p->data = d;
		p->datacap = cap;
	}
	memcpy(p->data + p->datalen, s, n);
	p->datalen += n;
	return 0;
}

static int
rules_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static int
rules_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = rules_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A decimal number of at most maxdigits digits, no leading zero. */
static int
rules_number(const char *s, size_t n, size_t maxdigits, unsigned *out)
{
	size_t i;

	if (n == 0 || n > maxdigits || (n > 1 && s[0] == '0'))
		return -1;
	*out = 0;
	for (i = 0; i < n; i++) {
		if (!rules_isdigit(s[i]))
			return -1;
		*out = *out * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

/* Dotted IPv4: "a.b.c.d" (exact) or one to three octets each followed by
 * '.' (a prefix of 8, 16 or 24 bits, as the text "10.0." is the start of
 * every address in 10.0.0.0/16).  One octet may be a range "lo-hi", as
 * tcprules expands.  Octets are plain decimal without leading zeros, so a
 * rule means the same whether compared as text (cdb) or as bits.
 * Returns NULL, or what is wrong. */
static const char *
rules_dotted(const char *s, size_t n, int allow_range, struct parsed *a)
{
	unsigned octets = 0;
	size_t i = 0;

	a->family = AF_INET;
	memset(a->bytes, 0, sizeof a->bytes);
	a->range = -1;
	if (n == 0)
		return "not an address";
	while (i < n) {
		size_t start = i, dash = SIZE_MAX;
		unsigned v, hi;

		if (octets == 4)
			return "too many octets";
		while (i < n && s[i] != '.') {
			if (s[i] == '-') {
				if (dash != SIZE_MAX)
					return "bad range";
				dash = i;
			} else if (!rules_isdigit(s[i])) {
				return "not an address";
			}
			i++;
		}
		if (i == start)
			return "empty octet";
		if (dash != SIZE_MAX) {
			if (!allow_range)
				return "a range is not allowed here";
			if (a->range != -1)
				return "more than one range";
			if (rules_number(s + start, dash - start, 5, &v) == -1 ||
			    rules_number(s + dash + 1, i - dash - 1, 5, &hi) == -1)
				return dash == start || dash + 1 == i ?
				    "bad range" : "bad octet";
			if (v > 255 || hi > 255)
				return "octet over 255";
			if (v > hi)
				return "range runs backwards";
			a->range = (int)octets;
			a->lo = v;
			a->hi = hi;
		} else {
			if (i - start > 1 && s[start] == '0')
				return "octet with a leading zero";
			if (rules_number(s + start, i - start, 5, &v) == -1)
				return "bad octet";
			if (v > 255)
				return "octet over 255";
		}
		a->bytes[octets++] = (uint8_t)v;
		if (i < n)
			i++;    /* the dot */
	}
	if (s[n - 1] == '.') {
		if (octets == 4)
			return "too many octets";
		a->kind = KIND_PREFIX;
		a->bits = 8 * octets;
		return NULL;
	}
	if (octets < 4)
		return "incomplete address (a prefix ends in '.')";
	a->kind = KIND_IP;
	return NULL;
}

/* An IPv6 prefix ending in ':', given as full groups of 1 to 4 hex
 * digits: "2001:db8:" is /32.  Each group written counts 16 bits, so the
 * text is the start of every address in the prefix as tcpserver writes
 * it, and "::" (whose length is unknown) cannot appear. */
static const char *
rules_groups(const char *s, size_t n, struct parsed *a)
{
	size_t groups = 0;
	size_t i = 0;

	a->family = AF_INET6;
	memset(a->bytes, 0, sizeof a->bytes);
	a->range = -1;
	while (i < n) {
		unsigned v = 0, digits = 0;

		if (groups == 7)
			return "IPv6 prefix with too many groups";
		while (i < n && s[i] != ':') {
			int h = rules_hexval((unsigned char)s[i]);

			if (h < 0 || ++digits > 4)
				return "not an IPv6 address or prefix";
			v = v << 4 | (unsigned)h;
			i++;
		}
		if (digits == 0 || i == n)
			return "not an IPv6 address or prefix";
		a->bytes[2 * groups] = (uint8_t)(v >> 8);
		a->bytes[2 * groups + 1] = (uint8_t)v;
		groups++;
		i++;    /* the colon */
	}
	a->kind = KIND_PREFIX;
	a->bits = 16 * groups;
	return NULL;
}

/* An exact IPv6 (or IPv4-mapped, folded to IPv4) address, by value. */
static const char *
rules_ipv6(const char *s, size_t n, struct parsed *a)
{
	char text[64];
	struct addr ad;

	if (n >= sizeof text)
		return "not an IPv6 address";
	memcpy(text, s, n);
	text[n] = '\0';
	if (addr_parse(&ad, text) == -1)
		return "not an IPv6 address";
	a->kind = KIND_IP;
	a->family = ad.family;
	memcpy(a->bytes, ad.bytes, sizeof a->bytes);
	if (a->family == AF_INET)
		memset(a->bytes + 4, 0, 12);
	a->range = -1;
	return NULL;
}

static const char *
rules_cidr(const char *s, size_t n, struct parsed *a)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = (size_t)(slash - s);
	const char *bad;
	unsigned bits, max;
	int mapped = 0;

	if (memchr(s, ':', alen)) {
		bad = rules_ipv6(s, alen, a);
		mapped = !bad && a->family == AF_INET;
	} else {
		bad = rules_dotted(s, alen, 0, a);
		if (!bad && a->kind != KIND_IP)
			bad = "CIDR needs a whole address before '/'";
	}
	if (bad)
		return bad;
	max = mapped ? 128 : a->family == AF_INET ? 32 : 128;
	if (rules_number(slash + 1, n - alen - 1, 3, &bits) == -1 || bits > max)
		return "prefix length out of range";
	if (mapped) {
		/* ::ffff:a.b.c.d/n is the IPv4 prefix /n-96 when n covers the
		 * mapping; a shorter one reaches past ::ffff:0:0/96 and stays
		 * IPv6 (it then matches no IPv4 client, as no client is
		 * mapped). */
		if (bits >= 96) {
			bits -= 96;
		} else {
			memmove(a->bytes + 12, a->bytes, 4);
			memset(a->bytes, 0, 10);
			a->bytes[10] = a->bytes[11] = 0xff;
			a->family = AF_INET6;
		}
	}
	if (rules_mask(a->bytes, bits, rules_addrlen(a->family)))
		return "host bits set";
	a->kind = KIND_PREFIX;
	a->bits = bits;
	return NULL;
}

static const char *
rules_hostname(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || c == ':')
			return "bad character in host name";
	}
	return NULL;
}

/* Sort out what kind of address s is.  Returns NULL, or what is wrong. */
static const char *
rules_address(const char *s, size_t n, struct parsed *a)
{
	const char *at;
	const char *bad;

	memset(a, 0, sizeof *a);
	a->range = -1;
	if (n == 0) {
		a->kind = KIND_DEFAULT;
		return NULL;
	}
	if (s[0] == '=') {
		a->host = s + 1;
		a->hostlen = n - 1;
		if (n == 1) {
			a->kind = KIND_ANYHOST;
			return NULL;
		}
		a->kind = s[1] == '.' ? KIND_SUFFIX : KIND_HOST;
		return rules_hostname(s + 1, n - 1);
	}
	/* The last '@' ends the info: an ident answer may hold '@', an
	 * address never does. */
	at = memrchr(s, '@', n);
	if (at) {
		size_t off = (size_t)(at - s) + 1;

		a->info = s;
		a->infolen = off - 1;
		if (off < n && s[off] == '=') {
			a->kind = KIND_INFO_HOST;
			a->host = s + off + 1;
			a->hostlen = n - off - 1;
			if (a->hostlen == 0)
				return "empty host name after info@=";
			return rules_hostname(a->host, a->hostlen);
		}
		if (memchr(s + off, ':', n - off))
			bad = rules_ipv6(s + off, n - off, a);
		else
			bad = rules_dotted(s + off, n - off, 0, a);
		if (bad || a->kind != KIND_IP)
			return "info@ needs an exact address or =host";
		a->info = s;
		a->infolen = off - 1;
		a->kind = KIND_INFO_IP;
		return NULL;
	}
	if (memchr(s, '/', n))
		return rules_cidr(s, n, a);
	if (memchr(s, ':', n)) {
		/* A whole address is read as one before any prefix: tcprules'
		 * IPv6 patch would also take "2001:db8::" as a text prefix,
		 * but here it is the address 2001:db8::0 only (the prefix is
		 * written "2001:db8:" or "2001:db8::/32"). */
		if (!rules_ipv6(s, n, a))
			return NULL;
		if (s[n - 1] == ':')
			return rules_groups(s, n, a);
		return "not an IPv6 address";
	}
	if (!rules_isdigit(s[0]) && s[0] != '.' && s[0] != '-')
		return "not an address (host names start with '=')";
	return rules_dotted(s, n, 1, a);
}

static void
rules_note_len(struct rules *r, uint8_t family, unsigned bits)
{
	uint8_t *lens = family == AF_INET ? r->lens4 : r->lens6;
	unsigned *n = family == AF_INET ? &r->nlens4 : &r->nlens6;
	unsigned i, j;

	for (i = 0; i < *n; i++) {
		if (lens[i] == bits)
			return;
		if (lens[i] < bits)
			break;
	}
	/* Keep the list sorted longest first, the order lookups try. */
	for (j = *n; j > i; j--)
		lens[j] = lens[j - 1];
	lens[i] = (uint8_t)bits;
	(*n)++;
}

/* Store the parsed line as rule number idx and index it. */
static int
rules_commit(struct parser *p, const char *addr, size_t addrlen,
    const struct parsed *a)
{
	struct rules *r = p->r;
	struct rule *ru;
	size_t idx = r->nrules, i;

	if (idx >= UINT32_MAX - 1) {
		errno = ENOMEM;
		return -1;
	}
	if (r->nrules == r->caprules) {
		size_t cap = r->caprules ? r->caprules * 2 : 256;
		struct rule *nr = realloc(r->rule, cap * sizeof *nr);

		if (!nr)
			return -1;
		r->rule = nr;
		r->caprules = cap;
	}
	ru = &r->rule[idx];
	memset(ru, 0, sizeof *ru);
	ru->kind = a->kind;
	ru->line = p->line;
	ru->addr = rules_store(r, addr, addrlen);
	ru->data = rules_store(r, p->data, p->datalen);
	if (!ru->addr || !ru->data)
		return -1;
	ru->len = p->datalen;
	if (a->info) {
		ru->info = rules_store(r, a->info, a->infolen);
		if (!ru->info)
			return -1;
		ru->infolen = a->infolen;
	}
	if (a->host) {
		char *h = rules_store(r, a->host, a->hostlen);

		if (!h)
			return -1;
		for (i = 0; i < a->hostlen; i++)
			h[i] = (char)rules_lower((unsigned char)h[i]);
		ru->host = h;
		ru->hostlen = a->hostlen;
	}
	r->nrules++;

	switch (a->kind) {
	case KIND_DEFAULT:
		if (!r->deflt)
			r->deflt = idx + 1;
		return 0;
	case KIND_ANYHOST:
		r->hosts = 1;
		if (!r->anyhost)
			r->anyhost = idx + 1;
		return 0;
	case KIND_SUFFIX:
		if (a->hostlen > r->maxsuffix)
			r->maxsuffix = a->hostlen;
		r->hosts = 1;
		return rules_stradd(r, idx);
	case KIND_HOST:
		r->hosts = 1;
		return rules_stradd(r, idx);
	case KIND_INFO_HOST:
		r->hosts = 1;
		r->infos = 1;
		return rules_stradd(r, idx);
	case KIND_INFO_IP:
		ru->ip.family = a->family;
		memcpy(ru->ip.bytes, a->bytes, sizeof ru->ip.bytes);
		r->infos = 1;
		return rules_stradd(r, idx);
	case KIND_IP:
	case KIND_PREFIX:
		break;
	}

	{
		struct ipent e;
		unsigned v, lo = 0, hi = 0;

		memset(&e, 0, sizeof e);
		e.rule = (uint32_t)idx + 1;
		e.family = a->family;
		e.bits = a->kind == KIND_IP ? IPTAB_EXACT : (uint8_t)a->bits;
		memcpy(e.bytes, a->bytes, sizeof e.bytes);
		if (a->kind == KIND_PREFIX)
			rules_note_len(r, a->family, a->bits);
		if (a->range >= 0) {
			lo = a->lo;
			hi = a->hi;
		}
		/* A range stands for one rule per value, as tcprules expands
		 * it: exact addresses, or prefixes of the same length. */
		for (v = lo; v <= hi; v++) {
			if (a->range >= 0)
				e.bytes[a->range] = (uint8_t)v;
			if (rules_ipadd(r, &e) == -1)
				return -1;
		}
	}
	return 0;
}

static int
rules_starts(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n >= w && memcmp(s, word, w) == 0;
}

static int
rules_varchar(int c)
{
	return rules_isdigit(c) || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '_';
}

static int
rules_line(struct parser *p, const char *s, size_t n)
{
	struct parsed a;
	const char *bad;
	size_t colon, i;

	if (memchr(s, '\0', n))
		return rules_fail(p, "NUL byte in the line", NULL, 0);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	for (i = 0; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
		;
	if (i == n || s[i] == '#')
		return 0;
	if (i > 0)
		return rules_fail(p, "whitespace before the address", s, n);
	if (n > RULES_DATA_MAX)
		return rules_fail(p, "line longer than 65536 bytes", NULL, 0);

	/* The address ends at the first colon followed by the instruction:
	 * IPv6 addresses hold colons, but never the letters of allow or
	 * deny after one. */
	for (colon = 0; colon < n; colon++)
		if (s[colon] == ':' &&
		    (rules_starts(s + colon + 1, n - colon - 1, "allow") ||
		    rules_starts(s + colon + 1, n - colon - 1, "deny")))
			break;
	if (colon == n) {
		const char *c = memchr(s, ':', n);

		if (!c)
			return rules_fail(p, "no colon (ADDRESS:allow or "
			    "ADDRESS:deny)", s, n);
		return rules_fail(p, "instruction is neither allow nor deny",
		    c + 1, n - (size_t)(c - s) - 1);
	}

	p->datalen = 0;
	i = colon + 1;
	if (s[i] == 'd') {
		/* tcprules stores deny as the entry "D" with its NUL. */
		if (rules_put(p, "D", 2) == -1)
			return rules_nomem(p);
		i += 4;
	} else {
		i += 5;
	}
	if (i < n && s[i] != ',') {
		size_t e = i;

		while (e < n && s[e] != ',')
			e++;
		return rules_fail(p, "instruction is neither allow nor deny",
		    s + colon + 1, e - colon - 1);
	}
	while (i < n) {
		size_t name = ++i, q;
		char quote;

		while (i < n && rules_varchar((unsigned char)s[i]))
			i++;
		if (i == n)
			return i == name ?
			    rules_fail(p, "empty variable name", NULL, 0) :
			    rules_fail(p, "variable without =\"value\"",
			    s + name, i - name);
		if (s[i] != '=') {
			size_t e = i;

			while (e < n && s[e] != '=' && s[e] != ',')
				e++;
			return rules_fail(p, "bad variable name (only A-Z, "
			    "a-z, 0-9 and _)", s + name, e - name);
		}
		if (i == name)
			return rules_fail(p, "empty variable name", NULL, 0);
		if (i + 1 == n)
			return rules_fail(p, "variable without a quoted value",
			    s + name, i - name);
		quote = s[i + 1];
		q = i + 2;
		while (q < n && s[q] != quote)
			q++;
		if (q == n)
			return rules_fail(p, "unclosed quote in the value of variable",
			    s + name, i - name);
		if (rules_put(p, "+", 1) == -1 ||
		    rules_put(p, s + name, i - name + 1) == -1 ||
		    rules_put(p, s + i + 2, q - i - 2) == -1 ||
		    rules_put(p, "", 1) == -1)
			return rules_nomem(p);
		i = q + 1;
		if (i < n && s[i] != ',')
			return rules_fail(p, "garbage after the value of variable",
			    s + name, i - name);
	}

	bad = rules_address(s, colon, &a);
	if (bad)
		return rules_fail(p, bad, s, colon);
	if (rules_commit(p, s, colon, &a) == -1)
		return rules_nomem(p);
	return 0;
}

int
rules_parse(struct rules **out, const char *name, const char *text,
    size_t len, char *err, size_t errlen)
{
	struct parser p;
	size_t pos = 0;
	int ret = 0;

	memset(&p, 0, sizeof p);
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	p.r = calloc(1, sizeof *p.r);
	if (!p.r)
		return rules_nomem(&p);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		p.line++;
		if (rules_line(&p, text + pos, end - pos) == -1) {
			ret = -1;
			break;
		}
		pos = end + 1;
	}
	free(p.data);
	if (ret == -1) {
		rules_free(p.r);
		return -1;
	}
	*out = p.r;
	return 0;
}

int
rules_load(struct rules **out, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int ret;

	if (file_read(path, RULES_FILE_MAX, &text, &len) == -1) {
		if (err && errlen && errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %lu bytes", path,
			    RULES_FILE_MAX);
		else if (err && errlen)
			snprintf(err, errlen, "%s: %s", path,
			    file_strerror(errno));
		return -1;
	}
	ret = rules_parse(out, path, text, len, err, errlen);
	free(text);
	return ret;
}

/* ---- lookups ---- */

static void
rules_found(const struct rule *ru, enum rules_step step, struct rules_match *m)
{
	m->step = step;
	/* ru points into r->rule, never NULL where an index to it exists. */
	m->key = ru->addr; /* NOLINT(clang-analyzer-core.NullDereference) */
	m->data = ru->data;
	m->len = ru->len;
}

int
rules_lookup(const struct rules *r, const struct rules_query *q,
    struct rules_match *m)
{
	const struct rule *ru;
	struct strkey k;
	struct ipent e;
	size_t hostlen = q->host ? strlen(q->host) : 0;

	if (r->nrules == 0)
		return 0;

	memset(&k, 0, sizeof k);
	k.ip = q->ip;
	if (q->info) {
		k.info = q->info;
		k.infolen = strlen(q->info);
		if (q->ip) {
			k.kind = KIND_INFO_IP;
			if ((ru = rules_strfind(r, &k))) {
				rules_found(ru, RULES_INFO_IP, m);
				return 1;
			}
		}
		if (q->host) {
			k.kind = KIND_INFO_HOST;
			k.host = q->host;
			k.hostlen = hostlen;
			if ((ru = rules_strfind(r, &k))) {
				rules_found(ru, RULES_INFO_HOST, m);
				return 1;
			}
		}
	}

	memset(&e, 0, sizeof e);
	if (q->ip) {
		e.family = q->ip->family;
		e.bits = IPTAB_EXACT;
		memcpy(e.bytes, q->ip->bytes, rules_addrlen(e.family));
		const struct ipent *f = rules_ipfind(r, &e);

		if (f) {
			rules_found(&r->rule[f->rule - 1], RULES_IP, m);
			return 1;
		}
	}

	if (q->host) {
		k.kind = KIND_HOST;
		k.host = q->host;
		k.hostlen = hostlen;
		if ((ru = rules_strfind(r, &k))) {
			rules_found(ru, RULES_HOST, m);
			return 1;
		}
	}

	if (q->ip) {
		int v4 = q->ip->family == AF_INET;
		const uint8_t *lens = v4 ? r->lens4 : r->lens6;
		unsigned n = v4 ? r->nlens4 : r->nlens6, i;

		for (i = 0; i < n; i++) {
			const struct ipent *f;

			memcpy(e.bytes, q->ip->bytes, rules_addrlen(e.family));
			e.bits = lens[i];
			rules_mask(e.bytes, lens[i], rules_addrlen(e.family));
			if ((f = rules_ipfind(r, &e))) {
				rules_found(&r->rule[f->rule - 1], RULES_PREFIX, m);
				return 1;
			}
		}
	}

	if (q->host) {
		size_t i;

		/* Leftmost dot first: the longest suffix wins. */
		k.kind = KIND_SUFFIX;
		for (i = 0; r->maxsuffix && i < hostlen; i++) {
			if (q->host[i] != '.' || hostlen - i > r->maxsuffix)
				continue;
			k.host = q->host + i;
			k.hostlen = hostlen - i;
			if ((ru = rules_strfind(r, &k))) {
				rules_found(ru, RULES_SUFFIX, m);
				return 1;
			}
		}
		if (r->anyhost) {
			rules_found(&r->rule[r->anyhost - 1], RULES_ANYHOST, m);
			return 1;
		}
	}

	if (r->deflt) {
		rules_found(&r->rule[r->deflt - 1], RULES_DEFAULT, m);
		return 1;
	}
	return 0;
}

int
rules_has_host_rules(const struct rules *r)
{
	return r->hosts;
}

int
rules_has_info_rules(const struct rules *r)
{
	return r->infos;
}

size_t
rules_count(const struct rules *r)
{
	return r->nrules;
}

void
rules_get(const struct rules *r, size_t i, struct rules_rule *out)
{
	out->addr = r->rule[i].addr;
	out->data = r->rule[i].data;
	out->len = r->rule[i].len;
	out->line = r->rule[i].line;
}

/* ---- cdb lookups ---- */

/* The key being tried is built at the start of buf, NUL-terminated, and
 * the record is read just after it, so a match needs no other storage. */
struct keybuf {
	char *buf;
	size_t cap;
	size_t len;
	int over;              /* the key did not fit */
};

static void
rules_kcat(struct keybuf *kb, const char *s, size_t n, int lower)
{
	size_t i;

	if (kb->over || kb->cap - kb->len < n + 1) {
		kb->over = 1;
		return;
	}
	for (i = 0; i < n; i++)
		kb->buf[kb->len + i] = (char)(lower ?
		    rules_lower((unsigned char)s[i]) : s[i]);
	kb->len += n;
	kb->buf[kb->len] = '\0';
}

/* Try the key in kb.  1 found, 0 not, -1 error. */
static int
rules_ktry(struct cdb *c, struct keybuf *kb, enum rules_step step,
    struct rules_match *m)
{
	size_t dlen;
	int r;

	if (kb->over) {
		errno = EMSGSIZE;
		return -1;
	}
	r = cdb_find(c, kb->buf, kb->len, kb->buf + kb->len + 1,
	    kb->cap - kb->len - 1, &dlen);
	if (r == 1) {
		m->step = step;
		m->key = kb->buf;
		m->data = kb->buf + kb->len + 1;
		m->len = dlen;
	}
	return r;
}

static int
rules_hasupper(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return 1;
	return 0;
}

/* Try prefix followed by host: as given, as tcpserver does, then
 * lowercased when that differs.  A cdb is keyed by text, so this is as
 * near as it gets to the case-blind host matching of text rules: host
 * rules written in lowercase match a name in any case. */
static int
rules_khost(struct cdb *c, struct keybuf *kb, const char *pre, size_t prelen,
    const char *host, size_t hostlen, enum rules_step step,
    struct rules_match *m)
{
	int lower, r;

	for (lower = 0; lower < 2; lower++) {
		if (lower && !rules_hasupper(host, hostlen))
			break;
		kb->len = 0;
		kb->over = 0;
		rules_kcat(kb, pre, prelen, 0);
		rules_kcat(kb, host, hostlen, lower);
		if ((r = rules_ktry(c, kb, step, m)) != 0)
			return r;
	}
	return 0;
}

int
rules_cdb_query(struct cdb *c, const struct rules_query *q,
    struct rules_match *m, char *buf, size_t buflen)
{
	struct keybuf kb;
	const char *ip = q->iptext ? q->iptext : "";
	size_t iplen = strlen(ip), hostlen = 0, i;
	int r;

	if (buflen == 0) {
		errno = EMSGSIZE;
		return -1;
	}
	kb.buf = buf;
	kb.cap = buflen;
	if (q->host)
		hostlen = strlen(q->host);

	if (q->info) {
		size_t infolen = strlen(q->info);

		kb.len = 0;
		kb.over = 0;
		rules_kcat(&kb, q->info, infolen, 0);
		rules_kcat(&kb, "@", 1, 0);
		rules_kcat(&kb, ip, iplen, 0);
		if ((r = rules_ktry(c, &kb, RULES_INFO_IP, m)) != 0)
			return r;
		if (q->host) {
			kb.len = 0;
			kb.over = 0;
			rules_kcat(&kb, q->info, infolen, 0);
			rules_kcat(&kb, "@=", 2, 0);
			if (kb.over) {
				errno = EMSGSIZE;
				return -1;
			}
			/* The info part stays in place; only the host varies. */
			r = rules_khost(c, &kb, kb.buf, kb.len, q->host, hostlen,
			    RULES_INFO_HOST, m);
			if (r != 0)
				return r;
		}
	}

	kb.len = 0;
	kb.over = 0;
	rules_kcat(&kb, ip, iplen, 0);
	if ((r = rules_ktry(c, &kb, RULES_IP, m)) != 0)
		return r;

	if (q->host) {
		r = rules_khost(c, &kb, "=", 1, q->host, hostlen, RULES_HOST, m);
		if (r != 0)
			return r;
	}

	/* Shorter and shorter prefixes of the text that end in '.' (IPv4)
	 * or ':' (IPv6). */
	for (i = iplen; i > 1; i--) {
		if (ip[i - 2] != '.' && ip[i - 2] != ':')
			continue;
		kb.len = 0;
		kb.over = 0;
		rules_kcat(&kb, ip, i - 1, 0);
		if ((r = rules_ktry(c, &kb, RULES_PREFIX, m)) != 0)
			return r;
	}

	if (q->host) {
		for (i = 0; i < hostlen; i++) {
			if (q->host[i] != '.')
				continue;
			r = rules_khost(c, &kb, "=", 1, q->host + i, hostlen - i,
			    RULES_SUFFIX, m);
			if (r != 0)
				return r;
		}
		kb.len = 0;
		kb.over = 0;
		rules_kcat(&kb, "=", 1, 0);
		if ((r = rules_ktry(c, &kb, RULES_ANYHOST, m)) != 0)
			return r;
	}

	kb.len = 0;
	kb.over = 0;
	rules_kcat(&kb, "", 0, 0);
	return rules_ktry(c, &kb, RULES_DEFAULT, m);
}

int
rules_cdb_lookup(const char *path, const struct rules_query *q,
    struct rules_match *m, char *buf, size_t buflen)
{
	struct cdb c;
	int r, e;

	if (cdb_open(&c, path) == -1)
		return -1;
	r = rules_cdb_query(&c, q, m, buf, buflen);
	e = errno;
	cdb_close(&c);
	errno = e;
	return r;
}

/* ---- records ---- */

int
rules_data_deny(const char *data, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *z = memchr(data + i, '\0', len - i);

		if (!z)
			break;
		if (data[i] == 'D')
			return 1;
		i = (size_t)(z - data) + 1;
	}
	return 0;
}

const char *
rules_data_var(const char *data, size_t len, size_t *pos)
{
	while (*pos < len) {
		const char *s = data + *pos;
		const char *z = memchr(s, '\0', len - *pos);

		if (!z) {
			*pos = len;
			break;
		}
		*pos = (size_t)(z - data) + 1;
		/* An empty name ("+=x") is no variable, whatever a cdb says. */
		if (s[0] == '+' && s[1] != '=' &&
		    memchr(s + 1, '=', (size_t)(z - s) - 1))
			return s + 1;
	}
	return NULL;
}
