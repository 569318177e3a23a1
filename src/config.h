/*
 * config: everything the command line and tcpwarden's environment decide,
 * read once by main and then only read by the server.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <sys/types.h>

/* A limit with its refusal message: connections at once (-C, -N), or
 * new connections in a window (--rate). */
struct limit {
	unsigned long max;     /* at most this many; 0 rejects all (MAXCONN*) */
	int on;                /* whether the limit is in force at all */
	const char *msg;       /* written to a refused client, may be empty */
	size_t msg_len;
};

struct config {
	const char *host;          /* as given */
	const char *port;          /* as given */
	char **argv;               /* program and its arguments */

	unsigned long max_conns;   /* -c */
	struct limit per_client;   /* -C, MAXCONNIP */
	struct limit per_net;      /* -N, MAXCONNC */
	unsigned v4_client_bits, v6_client_bits;  /* --ip4/6-prefix */
	unsigned v4_net_bits, v6_net_bits;        /* --net4/6-prefix */
	struct limit rate;         /* --rate, MAXRATEIP: max in each window */
	unsigned long rate_window; /* its window, in seconds */
	unsigned long rate_clients;/* --rate-clients: clients remembered */
	int dry_run;               /* --dry-run: log refusals, serve all */

	int print_port;            /* -1 */
	unsigned long backlog;     /* -b, for each queue */
	unsigned long queues;      /* --queues: accept queues, by client */
	const char *banner;        /* -B, or NULL */
	size_t banner_len;
	int nodelay;               /* -D */
	int keep_ip_options;       /* -o */
	const char *local_name;    /* -l, or NULL */

	const char *rules_cdb;     /* -x, or NULL */
	int rules_missing_ok;      /* -X */
	const char *rules_text;    /* --rules, or NULL */
	int lookup_host;           /* -h */
	int paranoid;              /* -p */
	int ident;                 /* -r */
	unsigned long timeout;     /* -t, seconds for each look-up */

	int drain_on;              /* --drain given */
	unsigned long drain;       /* --drain: seconds the programs get */

	/* --proxy-from: peers in these networks begin with a PROXY header
	 * (proxy.h); none without the option. */
	const struct addr_key *proxy_from;
	size_t proxy_from_n;
	unsigned long proxy_timeout;  /* --proxy-timeout: seconds for it */

	int set_uid, set_gid;      /* -u, -g, -U */
	uid_t uid;
	gid_t gid;
};

#endif
