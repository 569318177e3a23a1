/*
 * env: the child's environment.  tcpwarden's own environment, less every
 * variable it sets or must not pass on stale, is copied once at start; per
 * connection only a few fixed slots are rewritten in static buffers (the
 * local address's only when it differs from the last one's), and the
 * matching rule's variables, which win over everything, are added.
 */
#ifndef ENV_H
#define ENV_H

#include <stddef.h>

#include "addr.h"

/* Take the base environment from environ.  local_name is -l's name or
 * NULL; max_rule_vars is how many rule variables one connection may add.
 * Returns 0, or -1 when memory is short. */
int env_init(const char *local_name, size_t max_rule_vars);

/* What one connection's child gets. */
struct env_conn {
	const struct addr *local, *remote;
	const struct addr *proxy;   /* the balancer that sent a PROXY header
	                             * (PROXYREMOTEIP), or NULL */
	unsigned long concurrency;  /* this client's live connections */
	const char *host;           /* TCPREMOTEHOST, or NULL */
	const char *info;           /* TCPREMOTEINFO, or NULL */
	const char *rule;           /* a rule record: "+VAR=value\0"..., */
	size_t rule_len;            /* or NULL and 0 */
};

/* The environment for one child, valid until the next call. */
char *const *env_build(const struct env_conn *c);

#endif
