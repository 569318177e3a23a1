#define _GNU_SOURCE
#include "access.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdb.h"
#include "file.h"
#include "log.h"
#include "lookup.h"
#include "parse.h"
#include "rate.h"
#include "rules.h"

static const struct config *cfg;
static struct rules *text_rules;

/* A cdb record and its key are copied here, with room for the longest
 * key tcpserver's order can ask for (info@=host). */
static char cdb_buf[RULES_DATA_MAX + 2 * LOOKUP_TEXT_MAX + 16];
/* A rule's DIEMSG with its CRLF. */
static char rule_msg[RULES_DATA_MAX + 3];

void
access_init(const struct config *c)
{
	char err[512];

	cfg = c;
	if (cfg->rules_text &&
	    rules_load(&text_rules, cfg->rules_text, err, sizeof err) != 0)
		log_fatal(100, err, NULL);
}

int
access_enabled(void)
{
	return cfg->rules_text != NULL || cfg->rules_cdb != NULL;
}

/* Whether the rules file can be opened now, as it will be: a cdb for
 * every connection, a text file on SIGHUP.  Sets errno if not. */
static int
rules_readable(void)
{
	struct stat st;
	struct cdb c;
	int fd;

	if (cfg->rules_cdb) {
		if (cdb_open(&c, cfg->rules_cdb) != 0)
			return 0;
		cdb_close(&c);
		return 1;
	}
	fd = file_open(cfg->rules_text, &st);
	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

void
access_after_drop(void)
{
	const char *path = cfg->rules_cdb ? cfg->rules_cdb : cfg->rules_text;
	const char *reason, *then;
	char uid[24];

	/* Text rules read at start by root are only read again on SIGHUP:
	 * without -u, that reads as the same user. */
	if (!path || (cfg->rules_text && !cfg->set_uid) || rules_readable())
		return;
	if (cfg->rules_cdb && errno == ENOENT && cfg->rules_missing_ok)
		return;
	reason = errno == EPROTO ? "file is damaged" : file_strerror(errno);
	then = cfg->rules_cdb ? ": connections are dropped until it can be read" :
	    ": SIGHUP will keep the rules read at start";
	if (!cfg->set_uid) {
		log_warning("cannot read ", path, ": ", reason, then, NULL);
		return;
	}
	snprintf(uid, sizeof uid, "%lu", (unsigned long)cfg->uid);
	log_warning("uid ", uid, " cannot read ", path, ": ", reason, then,
	    NULL);
}

void
access_reload(void)
{
	struct rules *fresh;
	struct log_line l;
	char err[512];

	if (!cfg->rules_text) {
		if (log_level < LOG_VERBOSE)
			return;
		/* A cdb is opened for every connection: a new one is in
		 * force already, with no signal. */
		if (cfg->rules_cdb) {
			log_start(&l, "sighup: nothing to reload: -x ");
			log_str(&l, cfg->rules_cdb);
			log_str(&l, " is read for every connection");
		} else {
			log_start(&l, "sighup: no rules file to reload");
		}
		log_flush(&l);
		return;
	}
	if (rules_load(&fresh, cfg->rules_text, err, sizeof err) != 0) {
		log_warning("keeping the old rules: ", err, NULL);
		return;
	}
	rules_free(text_rules);
	text_rules = fresh;
	if (log_level >= LOG_VERBOSE) {
		log_start(&l, "rules: reloaded ");
		log_str(&l, cfg->rules_text);
		log_flush(&l);
	}
}

/* Whether look-ups still to come can change what the text rules say:
 * only if rules of their kind exist. */
static int
text_pending(int final)
{
	if (final)
		return 0;
	return (cfg->lookup_host && rules_has_host_rules(text_rules)) ||
	    (cfg->ident && rules_has_info_rules(text_rules));
}

void
access_check(const struct addr *remote, const char *host, const char *info,
    int final, struct access_result *r)
{
	char iptext[ADDR_TEXT_MAX];
	struct rules_query q;
	struct rules_match m;
	int found, pending, info_pending;

	memset(r, 0, sizeof *r);
	r->verdict = ACCESS_ALLOW;
	if (!access_enabled())
		return;
	addr_format(remote, 0, iptext);
	q.ip = remote;
	q.iptext = iptext;
	q.host = host;
	q.info = info;

	if (cfg->rules_text) {
		pending = text_pending(final);
		info_pending = !final && cfg->ident &&
		    rules_has_info_rules(text_rules);
		found = rules_lookup(text_rules, &q, &m);
	} else {
		/* What a cdb holds is unknown until asked: any look-up to
		 * come may matter. */
		pending = !final && (cfg->lookup_host || cfg->ident);
		info_pending = !final && cfg->ident;
		found = rules_cdb_lookup(cfg->rules_cdb, &q, &m, cdb_buf,
		    sizeof cdb_buf);
		if (found < 0) {
			if (errno == ENOENT && cfg->rules_missing_ok)
				return;
			r->verdict = ACCESS_DROP;
			log_warning("dropping connection, unable to read ",
			    cfg->rules_cdb, ": ", errno == EPROTO ?
			    "file is damaged" : file_strerror(errno), NULL);
			return;
		}
	}
	/* With look-ups to come, only an exact address match is sure: it
	 * comes before every host step in the order, and only the info
	 * steps, if ident is still to come, come before it. */
	if (pending && !(found && m.step == RULES_IP && !info_pending)) {
		r->verdict = ACCESS_LATER;
		return;
	}
	if (!found)
		return;
	r->key = m.key;
	r->data = m.data;
	r->len = m.len;
	if (rules_data_deny(m.data, m.len))
		r->verdict = ACCESS_DENY;
}

/* "NAME=value": the value if the name is name, else NULL. */
static const char *
var_value(const char *var, const char *name)
{
	size_t n = strlen(name);

	return strncmp(var, name, n) == 0 && var[n] == '=' ? var + n + 1 :
	    NULL;
}

void
access_apply_limits(const struct access_result *r, struct access_limits *lim)
{
	const char *var, *v;
	unsigned long n;
	size_t pos = 0, len;

	if (!r->data)
		return;
	while ((var = rules_data_var(r->data, r->len, &pos)) != NULL) {
		if ((v = var_value(var, "MAXCONNIP")) != NULL) {
			if (parse_uint(v, 0, 1000000, &n) == 0)
				lim->client_max = n;
			else
				log_warning("rule ", r->key, ": MAXCONNIP=",
				    v, " is not a number, ignored", NULL);
		} else if ((v = var_value(var, "MAXCONNC")) != NULL) {
			if (parse_uint(v, 0, 1000000, &n) == 0) {
				lim->net_on = 1;
				lim->net_max = n;
			} else
				log_warning("rule ", r->key, ": MAXCONNC=",
				    v, " is not a number, ignored", NULL);
		} else if ((v = var_value(var, "MAXRATEIP")) != NULL) {
			if (parse_rate(v, RATE_MAX, RATE_WINDOW_MAX, &n,
			    &lim->rate_window) == 0) {
				lim->rate_on = 1;
				lim->rate_max = n;
			} else
				log_warning("rule ", r->key, ": MAXRATEIP=",
				    v, " is not N or N/SECONDS, ignored", NULL);
		} else if ((v = var_value(var, "DIEMSG")) != NULL) {
			len = strlen(v);
			if (len > sizeof rule_msg - 3)
				len = sizeof rule_msg - 3;
			memcpy(rule_msg, v, len);
			memcpy(rule_msg + len, "\r\n", 3);
			lim->msg = lim->net_msg = lim->rate_msg = rule_msg;
			lim->msg_len = lim->net_msg_len = lim->rate_msg_len =
			    len + 2;
		}
	}
}
