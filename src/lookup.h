/*
 * lookup: the client look-ups of -h, -p and -r (reverse DNS, its forward
 * confirmation, RFC 1413 ident), made in the forked child of one connection
 * before exec.  Each call is bounded by its own deadline, leaves no signal
 * disposition, descriptor or process behind, and hands back only text that
 * lookup_sanitize has passed, fit for the environment and a log line.
 */
#ifndef LOOKUP_H
#define LOOKUP_H

#include <stddef.h>

#include "addr.h"

/* Size of a buffer for a name or an ident reply, NUL included: RFC 1413
 * makes clients take 512 octets of user id, and a DNS name is shorter. */
#define LOOKUP_TEXT_MAX 513

/* Reverse-resolve remote within timeout_seconds.  With paranoid, keep the
 * name only if a forward look-up of it gives back the address.  On success
 * write the sanitized name into name (namelen bytes, LOOKUP_TEXT_MAX is
 * enough) and return 1.  Return 0 when there is no name, it did not
 * confirm, it looks like an address, it does not fit, or time ran out.
 * Forks one short-lived helper and reaps it before returning. */
int lookup_host(const struct addr *remote, int paranoid,
    unsigned timeout_seconds, char *name, size_t namelen);

/* Ask the ident service of remote (port 113), from local's address, who
 * owns the connection local.port <-> remote.port.  On a USERID reply for
 * that port pair, write the sanitized user id into info (cut to infolen - 1
 * and to 512 bytes) and return 1; return 0 on an ERROR reply, a malformed
 * or mismatched reply, refusal, or when timeout_seconds ran out. */
int lookup_ident(const struct addr *local, const struct addr *remote,
    unsigned timeout_seconds, char *info, size_t infolen);

/* Send all of buf to the socket fd (blocking or not) within
 * timeout_seconds: the banner of -B, bounded by -t as the look-ups are.
 * Returns 1, or 0 on an error or when time ran out. */
int lookup_send(int fd, const char *buf, size_t len,
    unsigned timeout_seconds);

/* In place: every byte outside printable ASCII (33..126), and ':', becomes
 * '?', and the text is cut to LOOKUP_TEXT_MAX - 1 bytes.  For anything that
 * came from the network, before the environment or a log line sees it. */
void lookup_sanitize(char *s);

#endif
