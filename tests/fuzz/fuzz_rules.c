/*
 * libFuzzer target: the input is a text rules file.  It must parse or
 * fail with a "fuzz:LINE: ..." message, and when it parses, lookups must
 * keep tcpserver's order: a client whose exact address has a rule
 * matches at the exact step, one inside a CIDR rule at the exact or
 * prefix step, and every record read back must be well formed.
 *
 *	clang -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_rules.c \
 *	    src/rules.c src/cdb.c src/file.c src/addr.c
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ips[] = {
	"1.2.3.4", "10.0.0.1", "10.2.3.4", "127.0.0.1", "0.0.0.0",
	"255.255.255.255", "2001:db8::1", "2001:db8:1::5", "::1", "::",
	"fe80::1"
};
static const char *const hosts[] = {
	NULL, "a.example.com", "Host.Example.COM", "", ".", "x"
};
static const char *const infos[] = { NULL, "joe", "" };

/* Walk the record as the server will; it must stay inside it. */
static void
check_record(const struct rules_match *m)
{
	const char *v;
	size_t pos = 0;

	if (!m->key || !m->data || m->step < RULES_INFO_IP ||
	    m->step > RULES_DEFAULT)
		abort();
	(void)rules_data_deny(m->data, m->len);
	while ((v = rules_data_var(m->data, m->len, &pos))) {
		if (v <= m->data || v >= m->data + m->len || v[-1] != '+' ||
		    !memchr(v, '=', (size_t)(m->data + m->len - v)))
			abort();
	}
	if (pos != m->len)
		abort();
}

static void
query(const struct rules *r, const char *ip, const char *host,
    const char *info, struct rules_match *m, int *found)
{
	struct rules_query q;
	struct addr a;
	char text[ADDR_TEXT_MAX];

	if (addr_parse(&a, ip) == -1)
		abort();
	addr_format(&a, 0, text);
	q.ip = &a;
	q.iptext = text;
	q.host = host;
	q.info = info;
	*found = rules_lookup(r, &q, m);
	if (*found)
		check_record(m);
}

/* A rule for an exact address must decide that address at the exact
 * step (the first such line wins, but its step is the same); an
 * address inside a CIDR rule matches no later than the prefix step. */
static void
check_order(const struct rules *r)
{
	size_t i, n = rules_count(r);
	struct rules_match m;
	struct addr a;
	int found;

	for (i = 0; i < n && i < 64; i++) {
		struct rules_rule ru;
		char ip[64];
		const char *slash;
		size_t len;

		rules_get(r, i, &ru);
		if (ru.addr[0] == '=' || strchr(ru.addr, '@'))
			continue;
		slash = strchr(ru.addr, '/');
		len = slash ? (size_t)(slash - ru.addr) : strlen(ru.addr);
		if (len >= sizeof ip)
			continue;
		memcpy(ip, ru.addr, len);
		ip[len] = '\0';
		if (addr_parse(&a, ip) == -1)
			continue;
		query(r, ip, NULL, NULL, &m, &found);
		if (!found)
			abort();
		if (slash ? m.step != RULES_IP && m.step != RULES_PREFIX :
		    m.step != RULES_IP)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules *r;
	struct rules_match m;
	char err[256];
	size_t i, j, k;
	int found;

	if (rules_parse(&r, "fuzz", (const char *)data, size, err,
	    sizeof err) == -1) {
		if (strncmp(err, "fuzz", 4) != 0 || !memchr(err, '\0', sizeof err))
			abort();
		return 0;
	}
	for (i = 0; i < sizeof ips / sizeof ips[0]; i++)
		for (j = 0; j < sizeof hosts / sizeof hosts[0]; j++)
			for (k = 0; k < sizeof infos / sizeof infos[0]; k++) {
				query(r, ips[i], hosts[j], infos[k], &m, &found);
				/* Host and info steps need what they name. */
				if (found && !hosts[j] &&
				    (m.step == RULES_HOST || m.step == RULES_SUFFIX ||
				    m.step == RULES_ANYHOST ||
				    m.step == RULES_INFO_HOST))
					abort();
				if (found && !infos[k] &&
				    (m.step == RULES_INFO_IP ||
				    m.step == RULES_INFO_HOST))
					abort();
			}
	check_order(r);
	(void)rules_has_host_rules(r);
	(void)rules_has_info_rules(r);
	rules_free(r);
	return 0;
}
