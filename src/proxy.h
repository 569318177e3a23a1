/*
 * proxy: the PROXY protocol header (version 1, a text line; version 2,
 * binary) that a load balancer puts before its client's bytes.  A pure
 * parser, no I/O: it says whether a buffer starts with a whole header, with
 * a malformed one, or with too little to tell yet, and never looks past the
 * header's end, so the caller consumes exactly the header and the program's
 * first byte is the client's.
 */
#ifndef PROXY_H
#define PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* The most a header may take, version 2 TLVs included: what the caller
 * must be able to look at.  Version 1 is at most 107 bytes (the spec's
 * worst case); a longer version 2 header is refused as too long. */
#define PROXY_HEADER_MAX 1024

enum proxy_status {
	PROXY_MORE,     /* a prefix of a header: wait for more bytes */
	PROXY_BAD,      /* not a header, or a malformed one: drop */
	PROXY_DONE      /* a whole header of len bytes */
};

struct proxy_result {
	size_t len;          /* PROXY_DONE: the header's bytes */
	int local;           /* PROXY_DONE: no addresses (version 2 LOCAL or
	                      * a family other than TCP over IP, version 1
	                      * UNKNOWN): the balancer's own connection */
	struct addr source;  /* PROXY_DONE, not local: the client, with port */
	struct addr dest;    /* and the address it connected to */
	const char *reason;  /* PROXY_BAD: one word or two, for the log */
};

/* Read the header at the start of buf[0 .. n-1]. */
enum proxy_status proxy_parse(const uint8_t *buf, size_t n,
    struct proxy_result *r);

/* One network of --proxy-from: "ADDRESS/LEN", or an address alone (all of
 * its bits), the text s[0 .. n-1].  Returns 0, or -1 if it is not one. */
int proxy_net_parse(const char *s, size_t n, struct addr_key *net);

/* Whether a lies in one of nets[0 .. n-1]. */
int proxy_net_match(const struct addr_key *nets, size_t n,
    const struct addr *a);

#endif
