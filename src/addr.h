/*
 * addr: client addresses in one canonical form, their text, and the keys
 * that group them into clients and networks.  An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is always turned into the IPv4 address a.b.c.d first, so
 * one host never counts, matches or logs as two.
 */
#ifndef ADDR_H
#define ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text addr_format writes, NUL included ("[" IPv6 "]" fits). */
#define ADDR_TEXT_MAX 48

struct addr {
	uint8_t family;     /* AF_INET or AF_INET6, never a mapped IPv6 */
	uint8_t bytes[16];  /* network order; IPv4 uses the first four */
	uint16_t port;      /* host order; 0 where there is no port */
};

/* The prefix of an address that one limit counts by: equal keys share a
 * count.  The family is part of the key, so no IPv4 client can share an
 * IPv6 network's count. */
struct addr_key {
	uint8_t family;
	uint8_t bits;       /* prefix length kept */
	uint8_t bytes[16];  /* the address with every bit past `bits` zeroed */
};

/* Fill a from a sockaddr_in or sockaddr_in6, unmapping ::ffff:a.b.c.d.
 * Returns 0, or -1 for any other family. */
int addr_from_sockaddr(struct addr *a, const struct sockaddr *sa);

/* Parse an IPv4 or IPv6 literal (no brackets, no port), unmapping as above.
 * Returns 0, or -1 if text is not an address. */
int addr_parse(struct addr *a, const char *text);

/* Write the canonical text of the address: dotted quad, or the compressed
 * IPv6 form of RFC 5952.  With bracket, IPv6 stands in brackets as in log
 * lines.  Returns the length written (buf holds ADDR_TEXT_MAX bytes). */
size_t addr_format(const struct addr *a, int bracket, char *buf);

/* The key of a under a prefix of v4bits for IPv4, v6bits for IPv6. */
void addr_key(struct addr_key *k, const struct addr *a, unsigned v4bits,
    unsigned v6bits);

/* Text of the key's network address (bracketed for IPv6), as addr_format. */
size_t addr_key_format(const struct addr_key *k, char *buf);

/* Whether two keys are the same, and a hash of a key for tables; seed is
 * chosen at random once per run, so clients cannot aim at one bucket. */
int addr_key_equal(const struct addr_key *a, const struct addr_key *b);
uint32_t addr_key_hash(const struct addr_key *k, uint32_t seed);

#endif
