#define _GNU_SOURCE
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "parse.h"

/* Version 1's longest line, CRLF included (proxy-protocol.txt, 2.1). */
#define V1_MAX 107

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static enum proxy_status
bad(struct proxy_result *r, const char *why)
{
	r->reason = why;
	return PROXY_BAD;
}

/* A port: decimal, 0 to 65535, no leading zero. */
static int
v1_port(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* An IPv4 address as the spec writes it: four numbers 0 to 255, no
 * leading zero (which some readers take for octal). */
static int
v1_ip4(const char *s, size_t n, struct addr *a)
{
	unsigned part = 0, v = 0, digits = 0;
	size_t i;

	memset(a, 0, sizeof *a);
	a->family = AF_INET;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (digits == 0 || part > 3)
				return -1;
			a->bytes[part++] = (uint8_t)v;
			v = digits = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || (digits == 1 && v == 0))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (++digits > 3 || v > 255)
			return -1;
	}
	return part == 4 ? 0 : -1;
}

/* An IPv6 address: inet_pton's syntax, which is the spec's and also takes
 * a dotted tail (::ffff:a.b.c.d, unmapped here as everywhere). */
static int
v1_ip6(const char *s, size_t n, struct addr *a)
{
	struct sockaddr_in6 s6;
	char text[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof text)
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	memset(&s6, 0, sizeof s6);
	s6.sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, text, &s6.sin6_addr) != 1)
		return -1;
	return addr_from_sockaddr(a, (struct sockaddr *)&s6);
}

/* The line between "PROXY " and CRLF. */
static enum proxy_status
v1_fields(const char *s, size_t n, struct proxy_result *r)
{
	const char *f[5];
	size_t len[5], k = 0, i, start = 0;
	int (*ip)(const char *, size_t, struct addr *);

	if (n >= 7 && memcmp(s, "UNKNOWN", 7) == 0 && (n == 7 || s[7] == ' ')) {
		/* The rest, if any, is to be ignored (2.1). */
		r->local = 1;
		return PROXY_DONE;
	}
	/* Exactly five fields, each between single spaces. */
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != ' ')
			continue;
		if (i == start || k == 5)
			return bad(r, "bad line");
		f[k] = s + start;
		len[k++] = i - start;
		start = i + 1;
	}
	if (k != 5 || len[0] != 4 || memcmp(f[0], "TCP", 3) != 0)
		return bad(r, "bad line");
	if (f[0][3] == '4')
		ip = v1_ip4;
	else if (f[0][3] == '6')
		ip = v1_ip6;
	else
		return bad(r, "bad family");
	if (ip(f[1], len[1], &r->source) != 0 ||
	    ip(f[2], len[2], &r->dest) != 0)
		return bad(r, "bad address");
	if (v1_port(f[3], len[3], &r->source.port) != 0 ||
	    v1_port(f[4], len[4], &r->dest.port) != 0)
		return bad(r, "bad port");
	return PROXY_DONE;
}

static enum proxy_status
v1(const uint8_t *buf, size_t n, struct proxy_result *r)
{
	static const char sig[] = "PROXY ";
	size_t i, lim = n < V1_MAX ? n : V1_MAX;

	if (memcmp(buf, sig, n < 6 ? n : 6) != 0)
		return bad(r, "not a header");
	/* Refuse as soon as a byte shows the line is not one, rather than
	 * wait for the deadline. */
	for (i = 6; i < lim; i++) {
		if (buf[i] == '\r') {
			if (i + 1 == lim)
				break;
			if (buf[i + 1] != '\n')
				return bad(r, "bad line");
			r->len = i + 2;
			return v1_fields((const char *)buf + 6, i - 6, r);
		}
		if (buf[i] < ' ' || buf[i] > '~')
			return bad(r, "bad line");
	}
	if (n >= V1_MAX)
		return bad(r, "too long");
	return PROXY_MORE;
}

static enum proxy_status
v2(const uint8_t *buf, size_t n, struct proxy_result *r)
{
	const uint8_t *a = buf + 16;
	size_t len;
	unsigned cmd, family, proto;

	if (memcmp(buf, v2_sig, n < 12 ? n : 12) != 0)
		return bad(r, "not a header");
	if (n >= 13 && buf[12] >> 4 != 2)
		return bad(r, "bad version");
	cmd = n >= 13 ? buf[12] & 0x0f : 0;
	if (cmd > 1)
		return bad(r, "bad command");
	family = n >= 14 ? buf[13] >> 4 : 0;
	proto = n >= 14 ? buf[13] & 0x0f : 0;
	if (family > 3 || proto > 2)
		return bad(r, "bad family");
	if (n < 16)
		return PROXY_MORE;
	len = (size_t)buf[14] << 8 | buf[15];
	if (16 + len > PROXY_HEADER_MAX)
		return bad(r, "too long");
	if (n < 16 + len)
		return PROXY_MORE;
	r->len = 16 + len;
	/* TCP over IPv4 or IPv6 names the client; LOCAL (health checks)
	 * and every other family leave the connection the balancer's own.
	 * Whatever follows the addresses (TLVs) is skipped. */
	if (cmd == 0 || proto != 1 || (family != 1 && family != 2)) {
		r->local = 1;
		return PROXY_DONE;
	}
	if (family == 1) {
		if (len < 12)
			return bad(r, "short address");
		memset(&r->source, 0, sizeof r->source);
		memset(&r->dest, 0, sizeof r->dest);
		r->source.family = r->dest.family = AF_INET;
		memcpy(r->source.bytes, a, 4);
		memcpy(r->dest.bytes, a + 4, 4);
		a += 8;
	} else {
		struct sockaddr_in6 s6;
		if (len < 36)
			return bad(r, "short address");
		memset(&s6, 0, sizeof s6);
		s6.sin6_family = AF_INET6;
		memcpy(&s6.sin6_addr, a, 16);
		addr_from_sockaddr(&r->source, (struct sockaddr *)&s6);
		memcpy(&s6.sin6_addr, a + 16, 16);
		addr_from_sockaddr(&r->dest, (struct sockaddr *)&s6);
		a += 32;
	}
	r->source.port = (uint16_t)(a[0] << 8 | a[1]);
	r->dest.port = (uint16_t)(a[2] << 8 | a[3]);
	return PROXY_DONE;
}

enum proxy_status
proxy_parse(const uint8_t *buf, size_t n, struct proxy_result *r)
{
	memset(r, 0, sizeof *r);
	if (n == 0)
		return PROXY_MORE;
	if (buf[0] == 'P')
		return v1(buf, n, r);
	if (buf[0] == v2_sig[0])
		return v2(buf, n, r);
	return bad(r, "not a header");
}

int
proxy_net_parse(const char *s, size_t n, struct addr_key *net)
{
	char text[INET6_ADDRSTRLEN + 5];
	unsigned long bits;
	struct addr a;
	char *slash;

	if (n == 0 || n >= sizeof text)
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	slash = strchr(text, '/');
	if (slash)
		*slash = '\0';
	if (addr_parse(&a, text) != 0)
		return -1;
	/* An IPv4-mapped network is the IPv4 one (addr.h): its length
	 * counts from the mapped part. */
	if (slash && strchr(text, ':') && a.family == AF_INET) {
		if (parse_uint(slash + 1, 96, 128, &bits) != 0)
			return -1;
		bits -= 96;
	} else if (slash) {
		if (parse_uint(slash + 1, 0, a.family == AF_INET ? 32 : 128,
		    &bits) != 0)
			return -1;
	} else {
		bits = a.family == AF_INET ? 32 : 128;
	}
	addr_key(net, &a, (unsigned)bits, (unsigned)bits);
	return 0;
}

int
proxy_net_match(const struct addr_key *nets, size_t n, const struct addr *a)
{
	const struct addr_key *k;
	unsigned full, rest;
	size_t i;

	/* On every connection where --proxy-from is given, so compared in
	 * place rather than keyed (addr_key) first. */
	for (i = 0; i < n; i++) {
		k = &nets[i];
		full = k->bits / 8u;
		rest = k->bits % 8u;
		if (k->family != a->family ||
		    memcmp(k->bytes, a->bytes, full) != 0)
			continue;
		if (rest == 0 || ((k->bytes[full] ^ a->bytes[full]) &
		    (0xff00u >> rest) & 0xffu) == 0)
			return 1;
	}
	return 0;
}
