/*
 * libFuzzer target for src/proxy.c, the PROXY protocol header parser that
 * reads what a trusted balancer sends before its client's bytes.
 * Input: the bytes as they arrive on the socket.
 * Checked, for both versions:
 * - every prefix of the input gets the verdict a reader in the middle of
 *   the header would act on: MORE until the header is whole, never BAD for
 *   a prefix of a good header (a header split over segments must pass),
 *   and BAD stays BAD as bytes come;
 * - a whole header is read without looking past it: the same result
 *   whatever follows, and len within the input and PROXY_HEADER_MAX;
 * - the addresses read are canonical, and written back as a header of
 *   either version (TLVs after them in version 2) read the same again.
 *
 *	clang -fsanitize=fuzzer,address,undefined -Isrc \
 *	    tests/fuzz/fuzz_proxy.c src/proxy.c src/addr.c
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same_addr(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && a->port == b->port &&
	    memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

static int
same_result(const struct proxy_result *a, const struct proxy_result *b)
{
	if (a->len != b->len || a->local != b->local)
		return 0;
	return a->local || (same_addr(&a->source, &b->source) &&
	    same_addr(&a->dest, &b->dest));
}

static void
check_addr(const struct addr *a)
{
	static const uint8_t mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	unsigned i;

	if (a->family == AF_INET) {
		for (i = 4; i < 16; i++)
			if (a->bytes[i])
				abort();
	} else if (a->family != AF_INET6 ||
	    memcmp(a->bytes, mapped, sizeof mapped) == 0)
		abort();
}

/* r as a version 1 line into buf; returns its length. */
static size_t
write_v1(const struct proxy_result *r, uint8_t *buf)
{
	char *p = (char *)buf;
	char text[ADDR_TEXT_MAX];
	const struct addr *a[2] = { &r->source, &r->dest };
	int i;

	memcpy(p, "PROXY TCP", 9);
	p += 9;
	*p++ = r->source.family == AF_INET ? '4' : '6';
	for (i = 0; i < 2; i++) {
		size_t n = addr_format(a[i], 0, text);
		*p++ = ' ';
		memcpy(p, text, n);
		p += n;
	}
	for (i = 0; i < 2; i++) {
		char digits[6];
		size_t j = sizeof digits;
		unsigned v = a[i]->port;
		do {
			digits[--j] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		*p++ = ' ';
		memcpy(p, digits + j, sizeof digits - j);
		p += sizeof digits - j;
	}
	*p++ = '\r';
	*p++ = '\n';
	return (size_t)(p - (char *)buf);
}

/* r as a version 2 header, with tlv bytes of TLVs after the addresses. */
static size_t
write_v2(const struct proxy_result *r, uint8_t *buf, size_t tlv)
{
	static const uint8_t sig[12] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a
	};
	size_t alen = r->source.family == AF_INET ? 4 : 16, len;
	uint8_t *p = buf + 16;

	memcpy(buf, sig, 12);
	buf[12] = 0x21;
	buf[13] = r->source.family == AF_INET ? 0x11 : 0x21;
	memcpy(p, r->source.bytes, alen);
	memcpy(p + alen, r->dest.bytes, alen);
	p += 2 * alen;
	*p++ = (uint8_t)(r->source.port >> 8);
	*p++ = (uint8_t)r->source.port;
	*p++ = (uint8_t)(r->dest.port >> 8);
	*p++ = (uint8_t)r->dest.port;
	memset(p, 0, tlv);
	p += tlv;
	len = (size_t)(p - buf) - 16;
	buf[14] = (uint8_t)(len >> 8);
	buf[15] = (uint8_t)len;
	return (size_t)(p - buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_result r, p;
	enum proxy_status s, ps;
	uint8_t *copy, again[PROXY_HEADER_MAX];
	size_t k, n;

	s = proxy_parse(data, size, &r);
	if (s == PROXY_BAD && (!r.reason || !*r.reason))
		abort();
	if (s == PROXY_DONE) {
		if (r.len == 0 || r.len > size || r.len > PROXY_HEADER_MAX)
			abort();
		/* Nothing past the header counts: the header alone, and the
		 * header with other bytes after it, read the same. */
		copy = malloc(r.len + 8);
		if (!copy)
			abort();
		memcpy(copy, data, r.len);
		memset(copy + r.len, 'x', 8);
		if (proxy_parse(copy, r.len, &p) != PROXY_DONE ||
		    !same_result(&r, &p) ||
		    proxy_parse(copy, r.len + 8, &p) != PROXY_DONE ||
		    !same_result(&r, &p))
			abort();
		free(copy);
	}
	if (s == PROXY_MORE && size >= PROXY_HEADER_MAX)
		abort();

	/* Every prefix: MORE before a header is whole, BAD only where the
	 * whole input is BAD too. */
	n = s == PROXY_DONE ? r.len : size;
	for (k = 0; k < n && k <= PROXY_HEADER_MAX; k++) {
		ps = proxy_parse(data, k, &p);
		if (s == PROXY_DONE && ps != PROXY_MORE)
			abort();
		if (ps == PROXY_BAD && s != PROXY_BAD)
			abort();
		if (ps == PROXY_DONE)
			abort();
	}

	if (s != PROXY_DONE || r.local)
		return 0;
	check_addr(&r.source);
	check_addr(&r.dest);
	/* One address IPv4-mapped and unmapped, the other not: no header
	 * of one family writes them back. */
	if (r.source.family != r.dest.family)
		return 0;
	n = write_v1(&r, again);
	if (proxy_parse(again, n, &p) != PROXY_DONE || p.local ||
	    p.len != n || !same_addr(&r.source, &p.source) ||
	    !same_addr(&r.dest, &p.dest))
		abort();
	n = write_v2(&r, again, size % 64);
	if (proxy_parse(again, n, &p) != PROXY_DONE || p.local ||
	    p.len != n || !same_addr(&r.source, &p.source) ||
	    !same_addr(&r.dest, &p.dest))
		abort();
	return 0;
}
