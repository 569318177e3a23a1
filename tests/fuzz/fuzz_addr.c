/*
 * libFuzzer target for src/addr.c, which reads addresses from rules,
 * options and sockets and turns them into the keys every limit counts by.
 * Input: text for addr_parse up to the first NUL; the bytes after it (read
 * as 0 where missing) choose the prefix lengths, a hash seed, a bit to
 * flip, and a second address given as raw bytes through a sockaddr.
 * Checked: a parsed address is canonical (IPv4-mapped IPv6 always
 * unmapped, unused bytes zero); addr_format's text parses back to the same
 * address and formats the same again; every bit of a key past its prefix
 * is zero and the bits before it are the address's; two keys are equal
 * exactly when family, prefix and prefix bits agree, and equal keys hash
 * alike; an IPv4 client and its mapped IPv6 form share one key.
 *
 *	clang -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_addr.c \
 *	    src/addr.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parameters after the text. */
struct params {
	uint8_t v4bits, v6bits;  /* taken modulo 33 and 129 */
	uint8_t flip;            /* a bit of the address to flip, mod 128 */
	uint8_t family;          /* low bit: the raw address is IPv6 */
	uint8_t seed[4];
	uint8_t port[2];
	uint8_t raw[16];
};

static int
bit(const uint8_t *b, unsigned i)
{
	return b[i / 8] >> (7 - i % 8) & 1;
}

static unsigned
width(const struct addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

/* An address from addr_parse or addr_from_sockaddr: canonical. */
static void
check_canonical(const struct addr *a)
{
	static const uint8_t mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	unsigned i;

	if (a->family == AF_INET) {
		for (i = 4; i < 16; i++)
			if (a->bytes[i])
				abort();
	} else if (a->family == AF_INET6) {
		if (memcmp(a->bytes, mapped, sizeof mapped) == 0)
			abort();
	} else
		abort();
}

static int
same_addr(const struct addr *a, const struct addr *b)
{
	return a->family == b->family &&
	    memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

/* addr_format, bracketed or not, parses back to a and is a fixed point. */
static void
check_format(const struct addr *a)
{
	char text[ADDR_TEXT_MAX], br[ADDR_TEXT_MAX], again[ADDR_TEXT_MAX];
	struct addr b;
	size_t n, nb;

	memset(text, 'x', sizeof text);
	n = addr_format(a, 0, text);
	if (n >= ADDR_TEXT_MAX || strlen(text) != n || n == 0)
		abort();
	nb = addr_format(a, 1, br);
	if (a->family == AF_INET) {
		if (nb != n || strcmp(br, text) != 0)
			abort();
	} else if (nb != n + 2 || br[0] != '[' || br[nb - 1] != ']' ||
	    memcmp(br + 1, text, n) != 0)
		abort();
	if (addr_parse(&b, text) != 0)
		abort();
	check_canonical(&b);
	if (!same_addr(a, &b) || b.port != 0)
		abort();
	if (addr_format(&b, 0, again) != n || strcmp(again, text) != 0)
		abort();
}

/* The key's bits before the prefix are a's, every bit after it zero. */
static void
check_key(const struct addr_key *k, const struct addr *a, unsigned bits)
{
	unsigned i;

	if (k->family != a->family || k->bits != bits)
		abort();
	for (i = 0; i < 128; i++)
		if (bit(k->bytes, i) != (i < bits ? bit(a->bytes, i) : 0))
			abort();
}

/* What addr_key_equal must say, from the bits themselves. */
static int
ref_equal(const struct addr *a, const struct addr *b, unsigned v4bits,
    unsigned v6bits)
{
	unsigned i, bits;

	if (a->family != b->family)
		return 0;
	bits = a->family == AF_INET ? v4bits : v6bits;
	for (i = 0; i < bits; i++)
		if (bit(a->bytes, i) != bit(b->bytes, i))
			return 0;
	return 1;
}

/* Keys of a and b under the same prefixes: equal as the bits say, and
 * then with equal hashes, for two seeds. */
static void
check_pair(const struct addr *a, const struct addr *b, unsigned v4bits,
    unsigned v6bits, uint32_t seed)
{
	struct addr_key ka, kb;
	int eq;

	addr_key(&ka, a, v4bits, v6bits);
	addr_key(&kb, b, v4bits, v6bits);
	check_key(&ka, a, a->family == AF_INET ? v4bits : v6bits);
	check_key(&kb, b, b->family == AF_INET ? v4bits : v6bits);
	eq = addr_key_equal(&ka, &kb);
	if (eq != ref_equal(a, b, v4bits, v6bits) ||
	    eq != addr_key_equal(&kb, &ka) || !addr_key_equal(&ka, &ka))
		abort();
	if (eq && (addr_key_hash(&ka, seed) != addr_key_hash(&kb, seed) ||
	    addr_key_hash(&ka, ~seed) != addr_key_hash(&kb, ~seed)))
		abort();
}

/* The key's text is its network address, bracketed for IPv6; reading
 * it back and keying it again gives the same key. */
static void
check_key_format(const struct addr *a, unsigned v4bits, unsigned v6bits)
{
	struct addr_key k, k2;
	struct addr net;
	char text[ADDR_TEXT_MAX];
	size_t n;

	addr_key(&k, a, v4bits, v6bits);
	n = addr_key_format(&k, text);
	if (n >= ADDR_TEXT_MAX || strlen(text) != n)
		abort();
	if (a->family == AF_INET6) {
		if (n < 2 || text[0] != '[' || text[n - 1] != ']')
			abort();
		text[n - 1] = '\0';
		memmove(text, text + 1, n - 1);
	}
	if (addr_parse(&net, text) != 0 || net.family != a->family)
		abort();
	addr_key(&k2, &net, v4bits, v6bits);
	if (!addr_key_equal(&k, &k2) || memcmp(&k, &k2, sizeof k) != 0)
		abort();
}

/* An IPv4 address and every spelling of its IPv6-mapped form, as text
 * and from a dual-stack socket, are one client. */
static void
check_mapped(const struct addr *a, unsigned v4bits, unsigned v6bits,
    uint16_t port)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	struct addr b;
	char text[ADDR_TEXT_MAX], mapped[ADDR_TEXT_MAX + 16];
	uint32_t seed = 0x5eed;

	addr_format(a, 0, text);
	strcpy(mapped, "::ffff:");
	strcat(mapped, text);
	if (addr_parse(&b, mapped) != 0 || !same_addr(a, &b))
		abort();
	check_pair(a, &b, v4bits, v6bits, seed);
	strcpy(mapped, "0:0:0:0:0:FFFF:");
	strcat(mapped, text);
	if (addr_parse(&b, mapped) != 0 || !same_addr(a, &b))
		abort();

	memset(&s6, 0, sizeof s6);
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(port);
	s6.sin6_addr.s6_addr[10] = 0xff;
	s6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(s6.sin6_addr.s6_addr + 12, a->bytes, 4);
	if (addr_from_sockaddr(&b, (struct sockaddr *)&s6) != 0 ||
	    !same_addr(a, &b) || b.port != port)
		abort();

	memset(&s4, 0, sizeof s4);
	s4.sin_family = AF_INET;
	s4.sin_port = htons(port);
	memcpy(&s4.sin_addr, a->bytes, 4);
	if (addr_from_sockaddr(&b, (struct sockaddr *)&s4) != 0 ||
	    !same_addr(a, &b) || b.port != port)
		abort();
}

/* Everything above, for one canonical address a, against b and against
 * a with one bit flipped (equal keys exactly when the bit lies past the
 * prefix). */
static void
check_addr(const struct addr *a, const struct addr *b,
    const struct params *p)
{
	unsigned v4bits = p->v4bits % 33, v6bits = p->v6bits % 129;
	uint32_t seed = (uint32_t)p->seed[0] | (uint32_t)p->seed[1] << 8 |
	    (uint32_t)p->seed[2] << 16 | (uint32_t)p->seed[3] << 24;
	struct addr f = *a;
	unsigned i = p->flip % width(a);

	check_canonical(a);
	check_format(a);
	check_pair(a, b, v4bits, v6bits, seed);
	check_pair(a, a, v4bits, v6bits, seed);
	check_key_format(a, v4bits, v6bits);
	/* The edges: a single client, and everyone. */
	check_key_format(a, 32, 128);
	check_key_format(a, 0, 0);

	f.bytes[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	if (f.family == AF_INET6) {
		/* Flipping into ::ffff:0:0/96 makes it IPv4 when read. */
		char text[ADDR_TEXT_MAX];

		addr_format(&f, 0, text);
		if (addr_parse(&f, text) != 0)
			abort();
	}
	if (f.family == a->family)
		check_pair(a, &f, v4bits, v6bits, seed);

	if (a->family == AF_INET)
		check_mapped(a, v4bits, v6bits,
		    (uint16_t)(p->port[0] | p->port[1] << 8));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t tlen = nul ? (size_t)(nul - data) : size, rest;
	struct params p;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	struct sockaddr_un su;
	struct addr a, b;
	char *text;

	memset(&p, 0, sizeof p);
	rest = nul ? size - tlen - 1 : 0;
	memcpy(&p, nul ? nul + 1 : data, rest < sizeof p ? rest : sizeof p);

	/* The raw address, as a socket would give it. */
	if (p.family & 1) {
		memset(&s6, 0, sizeof s6);
		s6.sin6_family = AF_INET6;
		memcpy(&s6.sin6_port, p.port, 2);
		memcpy(s6.sin6_addr.s6_addr, p.raw, 16);
		if (addr_from_sockaddr(&b, (struct sockaddr *)&s6) != 0)
			abort();
	} else {
		memset(&s4, 0, sizeof s4);
		s4.sin_family = AF_INET;
		memcpy(&s4.sin_port, p.port, 2);
		memcpy(&s4.sin_addr, p.raw, 4);
		if (addr_from_sockaddr(&b, (struct sockaddr *)&s4) != 0)
			abort();
	}
	if (b.port != (uint16_t)(p.port[0] << 8 | p.port[1]))
		abort();
	check_canonical(&b);
	check_addr(&b, &b, &p);

	memset(&su, 0, sizeof su);
	su.sun_family = AF_UNIX;
	if (addr_from_sockaddr(&a, (struct sockaddr *)&su) != -1)
		abort();

	text = malloc(tlen + 1);
	if (!text)
		abort();
	memcpy(text, data, tlen);
	text[tlen] = '\0';
	if (addr_parse(&a, text) == 0) {
		if (a.port != 0)
			abort();
		check_addr(&a, &b, &p);
	} else {
		/* Nothing either family's literal syntax takes is refused. */
		uint8_t buf[16];

		if (inet_pton(AF_INET, text, buf) == 1 ||
		    inet_pton(AF_INET6, text, buf) == 1)
			abort();
	}
	free(text);
	return 0;
}
