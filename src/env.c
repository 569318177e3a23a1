#define _GNU_SOURCE
#include "env.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

extern char **environ;

/* Variables tcpwarden sets itself, or that must never reach a child from
 * tcpwarden's own environment: a stale TCPREMOTEHOST would lie to it. */
static const char *const owned[] = {
	"PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPLOCALHOST", "TCPREMOTEIP",
	"TCPREMOTEPORT", "TCPREMOTEHOST", "TCPREMOTEINFO", "TCPCONCURRENCY",
	"TCP6LOCALIP", "TCP6LOCALPORT", "TCP6LOCALHOST", "TCP6REMOTEIP",
	"TCP6REMOTEPORT", "TCP6REMOTEHOST", "TCP6REMOTEINFO", "TCP6INTERFACE",
	"PROXYREMOTEIP", "PROXYREMOTEPORT",
};

#define NFIXED 15   /* PROTO, 4 TCP, 4 TCP6, CONCURRENCY, 3 names,
                     * 2 PROXY */

static char **base;          /* the base environment, never edited */
static char **envp;          /* base, then the fixed slots, then rules */
static size_t nbase;
static size_t cap;            /* room in envp, NULL excluded */
static int envp_dirty;       /* a rule dropped base variables from envp */
static const char *localhost_var;  /* "TCPLOCALHOST=name", or NULL */

/* Static buffers for the fixed slots; sized for the longest value. */
#define VAR_MAX 64
static char local_ip[VAR_MAX], local_port[VAR_MAX], remote_ip[VAR_MAX],
    remote_port[VAR_MAX], local_ip6[VAR_MAX], local_port6[VAR_MAX],
    remote_ip6[VAR_MAX], remote_port6[VAR_MAX], concurrency[VAR_MAX],
    proxy_ip[VAR_MAX], proxy_port[VAR_MAX];
static char remote_host[1100], remote_info[1100];
static struct addr local_last;  /* the address local_ip... were written
                                 * for, once local_done */
static int local_done;

/* Length of the name in "NAME=value" (or of a bare "NAME"). */
static size_t
name_len(const char *var)
{
	const char *eq = strchr(var, '=');

	return eq ? (size_t)(eq - var) : strlen(var);
}

static int
is_owned(const char *var)
{
	size_t i, n = name_len(var);

	for (i = 0; i < sizeof owned / sizeof owned[0]; i++)
		if (strlen(owned[i]) == n && memcmp(owned[i], var, n) == 0)
			return 1;
	return 0;
}

int
env_init(const char *local_name, size_t max_rule_vars)
{
	size_t n = 0, i;

	while (environ[n])
		n++;
	base = malloc((n + 1) * sizeof *base);
	cap = n + NFIXED + max_rule_vars;
	envp = malloc((cap + 1) * sizeof *envp);
	if (!base || !envp)
		return -1;
	for (i = 0; i < n; i++)
		if (!is_owned(environ[i]))
			base[nbase++] = environ[i];
	memcpy(envp, base, nbase * sizeof *base);
	if (local_name) {
		char *v = malloc(strlen("TCPLOCALHOST=") + strlen(local_name)
		    + 1);
		if (!v)
			return -1;
		strcpy(v, "TCPLOCALHOST=");
		strcat(v, local_name);
		localhost_var = v;
	}
	return 0;
}

/* Write "NAME=value" into buf (of size VAR_MAX or more) and return it. */
static char *
set_var(char *buf, size_t size, const char *name, const char *value)
{
	size_t n = strlen(name), m = strlen(value);

	if (n + 1 + m >= size)
		m = size - n - 2;
	memcpy(buf, name, n);
	buf[n] = '=';
	memcpy(buf + n + 1, value, m);
	buf[n + 1 + m] = '\0';
	return buf;
}

static char *
set_num(char *buf, const char *name, unsigned long v)
{
	char digits[24];
	size_t i = sizeof digits - 1;

	digits[i] = '\0';
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return set_var(buf, VAR_MAX, name, digits + i);
}

/* Drop from envp[0 .. *n-1] every variable named like var. */
static void
drop_named(char **v, size_t *n, const char *var)
{
	size_t i, j, len = name_len(var);

	for (i = j = 0; i < *n; i++)
		if (name_len(v[i]) != len || memcmp(v[i], var, len) != 0)
			v[j++] = v[i];
	*n = j;
}

char *const *
env_build(const struct env_conn *c)
{
	char ip[ADDR_TEXT_MAX];
	size_t n = nbase;
	const char *r, *end;
	int six = c->remote->family == AF_INET6;

	if (envp_dirty) {
		memcpy(envp, base, nbase * sizeof *base);
		envp_dirty = 0;
	}
	envp[n++] = six ? (char *)"PROTO=TCP6" : (char *)"PROTO=TCP";
	/* The local address is the bound one for every connection, unless
	 * bound to an any-address: its variables are written once, not for
	 * each connection. */
	if (!local_done || c->local->family != local_last.family ||
	    c->local->port != local_last.port ||
	    memcmp(c->local->bytes, local_last.bytes, sizeof local_last.bytes)
	    != 0) {
		addr_format(c->local, 0, ip);
		set_var(local_ip, VAR_MAX, "TCPLOCALIP", ip);
		set_num(local_port, "TCPLOCALPORT", c->local->port);
		set_var(local_ip6, VAR_MAX, "TCP6LOCALIP", ip);
		set_num(local_port6, "TCP6LOCALPORT", c->local->port);
		local_last = *c->local;
		local_done = 1;
	}
	envp[n++] = local_ip;
	envp[n++] = local_port;
	addr_format(c->remote, 0, ip);
	envp[n++] = set_var(remote_ip, VAR_MAX, "TCPREMOTEIP", ip);
	envp[n++] = set_num(remote_port, "TCPREMOTEPORT", c->remote->port);
	if (six) {
		/* IPv6 clients get both spellings, as ucspi-tcp6 users
		 * expect TCP6…, and every UCSPI program reads TCP…. */
		envp[n++] = local_ip6;
		envp[n++] = local_port6;
		envp[n++] = set_var(remote_ip6, VAR_MAX, "TCP6REMOTEIP", ip);
		envp[n++] = set_num(remote_port6, "TCP6REMOTEPORT",
		    c->remote->port);
	}
	envp[n++] = set_num(concurrency, "TCPCONCURRENCY", c->concurrency);
	if (c->proxy) {
		addr_format(c->proxy, 0, ip);
		envp[n++] = set_var(proxy_ip, VAR_MAX, "PROXYREMOTEIP", ip);
		envp[n++] = set_num(proxy_port, "PROXYREMOTEPORT",
		    c->proxy->port);
	}
	if (localhost_var)
		envp[n++] = (char *)localhost_var;
	if (c->host)
		envp[n++] = set_var(remote_host, sizeof remote_host,
		    "TCPREMOTEHOST", c->host);
	if (c->info)
		envp[n++] = set_var(remote_info, sizeof remote_info,
		    "TCPREMOTEINFO", c->info);

	/* The rule's variables win over every other, as with tcpserver,
	 * where a rule may even set TCPLOCALHOST.  "+NAME" alone unsets. */
	if (c->rule) {
		const char *nul;
		end = c->rule + c->rule_len;
		/* Only whole NUL-ended "+..." entries count: the record may
		 * come from a damaged cdb file. */
		for (r = c->rule; r < end && (nul = memchr(r, '\0',
		    (size_t)(end - r))) != NULL; r = nul + 1) {
			if (*r != '+' || r + 1 == nul || r[1] == '=')
				continue;
			drop_named(envp, &n, r + 1);
			envp_dirty = 1;
			if (memchr(r + 1, '=', (size_t)(nul - r - 1)) && n < cap)
				envp[n++] = (char *)(r + 1);
		}
	}
	envp[n] = NULL;
	return envp;
}
