/*
 * access: may this connection be served, by the rules of -x (a tcprules
 * cdb, reopened for every connection) or --rules (text, parsed at start and
 * on SIGHUP), and which limits and variables does the matching rule set.
 * Rules that need only the address decide in the parent, before any fork;
 * where a host name or ident answer could change the outcome, the child
 * decides after its look-ups.
 */
#ifndef ACCESS_H
#define ACCESS_H

#include <stddef.h>

#include "addr.h"
#include "config.h"

enum access_verdict {
	ACCESS_ALLOW,   /* serve it, with the rule's variables if any */
	ACCESS_DENY,    /* a deny rule matched */
	ACCESS_DROP,    /* the rules could not be read: drop, as tcpserver */
	ACCESS_LATER    /* the look-ups may change it: the child decides */
};

struct access_result {
	enum access_verdict verdict;
	const char *key;    /* the rule that matched, or NULL */
	const char *data;   /* its record ("+VAR=value\0"...), or NULL */
	size_t len;
};

/* The limits one connection is held to: the server's, or a rule's. */
struct access_limits {
	unsigned long client_max;
	int net_on;
	unsigned long net_max;
	const char *msg;    /* for a refusal over either limit */
	size_t msg_len;
	const char *net_msg;
	size_t net_msg_len;
	int rate_on;                /* --rate or MAXRATEIP: at most */
	unsigned long rate_max;     /* rate_max new connections */
	unsigned long rate_window;  /* in rate_window seconds */
	const char *rate_msg;
	size_t rate_msg_len;
};

/* Read --rules if given; a file that does not parse ends tcpwarden with
 * exit 100 naming FILE:LINE. */
void access_init(const struct config *cfg);

/* Whether any rules are in force, and whether a rule could set MAXCONNC
 * (so networks must be counted even without -N). */
int access_enabled(void);

/* At start, after the privileges are dropped (-u): warn if the user
 * tcpwarden now runs as cannot read the rules as it will read them: -x
 * for every connection (each would be dropped), --rules on SIGHUP (the
 * rules read at start would stay).  A missing cdb is no warning under -X. */
void access_after_drop(void);

/* SIGHUP: read --rules again, as the user tcpwarden runs as; if the new
 * file cannot be read or does not parse, the old rules stay and the error
 * is logged. */
void access_reload(void);

/* Decide for remote.  host and info are the look-up results or NULL;
 * final says whether they are all there will be (no look-ups pending).
 * The result points into static storage, valid until the next call. */
void access_check(const struct addr *remote, const char *host,
    const char *info, int final, struct access_result *r);

/* Apply the MAXCONNIP, MAXCONNC, MAXRATEIP and DIEMSG of r's record to
 * lim. */
void access_apply_limits(const struct access_result *r,
    struct access_limits *lim);

#endif
