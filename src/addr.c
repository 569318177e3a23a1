#define _GNU_SOURCE
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Store a 16-byte IPv6 address, unmapping ::ffff:a.b.c.d to IPv4 so that
 * a dual-stack socket never gives one host a second identity. */
static void
set_ip6(struct addr *a, const uint8_t b[16])
{
	memset(a->bytes, 0, sizeof a->bytes);
	if (memcmp(b, v4mapped_prefix, sizeof v4mapped_prefix) == 0) {
		a->family = AF_INET;
		memcpy(a->bytes, b + 12, 4);
	} else {
		a->family = AF_INET6;
		memcpy(a->bytes, b, 16);
	}
}

int
addr_from_sockaddr(struct addr *a, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		memset(a->bytes, 0, sizeof a->bytes);
		a->family = AF_INET;
		memcpy(a->bytes, &s4->sin_addr, 4);
		a->port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		set_ip6(a, s6->sin6_addr.s6_addr);
		a->port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

int
addr_parse(struct addr *a, const char *text)
{
	uint8_t b[16];

	a->port = 0;
	if (inet_pton(AF_INET, text, b) == 1) {
		memset(a->bytes, 0, sizeof a->bytes);
		a->family = AF_INET;
		memcpy(a->bytes, b, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, b) == 1) {
		set_ip6(a, b);
		return 0;
	}
	return -1;
}

size_t
addr_format(const struct addr *a, int bracket, char *buf)
{
	char *p = buf;
	size_t n;

	if (a->family == AF_INET) {
		/* By hand: glibc's inet_ntop formats IPv4 with sprintf, which
		 * was most of the parent's own work per connection (two
		 * addresses each, for the environment). */
		int i;
		for (i = 0; i < 4; i++) {
			unsigned v = a->bytes[i];
			if (i > 0)
				*p++ = '.';
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
		}
		*p = '\0';
		return (size_t)(p - buf);
	}
	if (bracket)
		*p++ = '[';
	inet_ntop(AF_INET6, a->bytes, p, ADDR_TEXT_MAX - 2);
	n = strlen(p);
	p += n;
	if (bracket)
		*p++ = ']';
	*p = '\0';
	return (size_t)(p - buf);
}

void
addr_key(struct addr_key *k, const struct addr *a, unsigned v4bits,
    unsigned v6bits)
{
	unsigned bits = a->family == AF_INET ? v4bits : v6bits;
	unsigned full = bits / 8, rest = bits % 8;

	memset(k, 0, sizeof *k);
	k->family = a->family;
	k->bits = (uint8_t)bits;
	memcpy(k->bytes, a->bytes, full);
	if (rest)
		k->bytes[full] = (uint8_t)(a->bytes[full] & (0xff << (8 - rest)));
}

size_t
addr_key_format(const struct addr_key *k, char *buf)
{
	struct addr a;

	a.family = k->family;
	memcpy(a.bytes, k->bytes, sizeof a.bytes);
	a.port = 0;
	return addr_format(&a, 1, buf);
}

int
addr_key_equal(const struct addr_key *a, const struct addr_key *b)
{
	return a->family == b->family && a->bits == b->bits &&
	    memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

/* FNV-1a over the key: cheap, and the tables it feeds are probed with
 * the full key compared, so a poor spread costs time, never correctness. */
uint32_t
addr_key_hash(const struct addr_key *k, uint32_t seed)
{
	uint32_t h = 2166136261u ^ seed;
	unsigned i, n = k->family == AF_INET ? 4 : 16;

	h = (h ^ k->family) * 16777619u;
	for (i = 0; i < n; i++)
		h = (h ^ k->bytes[i]) * 16777619u;
	return h;
}
