/*
 * tcpwarden: read the command line and the environment into a struct
 * config, strictly (every bad value is a usage error naming the option,
 * exit 100), then hand over to the server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "parse.h"
#include "proxy.h"
#include "rate.h"
#include "server.h"

#define VERSION "0.1"
#define MAX_CONNS 1000000
#define SEE_HELP "; see tcpwarden --help"
#define MAX_QUEUES 1024
#define MAX_DRAIN 1000000   /* seconds: 11 days and a half */
#define MAX_RATE_CLIENTS 1048576

static const char usage_text[] =
"usage: tcpwarden [options] host port program [arg ...]\n"
"  -c, --max-connections=N     at most N connections in all (40)\n"
"  -C, --max-per-client=N[:MSG]\n"
"                              at most N per client (10), MSG to the rest\n"
"  -N, --max-per-net=N[:MSG]   at most N per network (off)\n"
"      --ip4-prefix=LEN        IPv4 bits that make one client (32)\n"
"      --ip6-prefix=LEN        IPv6 bits that make one client (64)\n"
"      --net4-prefix=LEN       IPv4 bits that make one network (24)\n"
"      --net6-prefix=LEN       IPv6 bits that make one network (48)\n"
"      --rate=N[/SEC][:MSG]    at most N new connections per client in SEC (1)\n"
"      --rate-clients=N        clients --rate remembers at once (8192)\n"
"      --dry-run               log what the limits would refuse, serve it\n"
"  -B, --banner=TEXT           write TEXT to each allowed connection\n"
"  -1, --print-port            print the bound port on stdout\n"
"  -b, --backlog=N             listen backlog of each queue (128)\n"
"      --queues=N              accept queues, clients spread over them (256)\n"
"  -d, --delay / -D, --no-delay  leave TCP_NODELAY off (default) / set it\n"
"  -o, --ip-options / -O, --no-ip-options  keep / drop IP options (drop)\n"
"  -l, --local-name=NAME       set TCPLOCALHOST to NAME\n"
"  -g, --gid=GID  -u, --uid=UID  -U, --uid-from-env  drop privileges\n"
"  -x, --rules-cdb=FILE        access rules from a tcprules cdb\n"
"  -X, --rules-missing-ok      with -x: a missing file allows all\n"
"      --rules=FILE            access rules in tcprules' text syntax\n"
"  -h, --lookup-host / -H, --no-lookup-host  TCPREMOTEHOST by resolver (-H)\n"
"  -p, --paranoid / -P, --no-paranoid  check the name maps back (-P)\n"
"  -r, --ident / -R, --no-ident  TCPREMOTEINFO by ident (-R)\n"
"  -t, --timeout=SEC           time for each look-up (26)\n"
"      --proxy-from=CIDR[,...] peers that send a PROXY header first\n"
"      --proxy-timeout=SEC     time for that header (5)\n"
"  -v, --verbose / -Q, --errors / -q, --quiet  what to log (errors)\n"
"      --drain=SEC             on SIGTERM, let programs run SEC seconds,\n"
"                              then SIGTERM them, then SIGKILL (off)\n"
"      --help, --version\n"
"See tcpwarden(1).\n";

enum {
	OPT_IP4_PREFIX = 256, OPT_IP6_PREFIX, OPT_NET4_PREFIX,
	OPT_NET6_PREFIX, OPT_RULES, OPT_QUEUES, OPT_DRAIN, OPT_RATE,
	OPT_RATE_CLIENTS, OPT_DRY_RUN, OPT_PROXY_FROM, OPT_PROXY_TIMEOUT,
	OPT_HELP, OPT_VERSION
};

static const struct option longopts[] = {
	{ "max-connections", required_argument, NULL, 'c' },
	{ "max-per-client", required_argument, NULL, 'C' },
	{ "max-per-net", required_argument, NULL, 'N' },
	{ "ip4-prefix", required_argument, NULL, OPT_IP4_PREFIX },
	{ "ip6-prefix", required_argument, NULL, OPT_IP6_PREFIX },
	{ "net4-prefix", required_argument, NULL, OPT_NET4_PREFIX },
	{ "net6-prefix", required_argument, NULL, OPT_NET6_PREFIX },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "rate-clients", required_argument, NULL, OPT_RATE_CLIENTS },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "banner", required_argument, NULL, 'B' },
	{ "print-port", no_argument, NULL, '1' },
	{ "backlog", required_argument, NULL, 'b' },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "delay", no_argument, NULL, 'd' },
	{ "no-delay", no_argument, NULL, 'D' },
	{ "ip-options", no_argument, NULL, 'o' },
	{ "no-ip-options", no_argument, NULL, 'O' },
	{ "local-name", required_argument, NULL, 'l' },
	{ "gid", required_argument, NULL, 'g' },
	{ "uid", required_argument, NULL, 'u' },
	{ "uid-from-env", no_argument, NULL, 'U' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "errors", no_argument, NULL, 'Q' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "rules-cdb", required_argument, NULL, 'x' },
	{ "rules-missing-ok", no_argument, NULL, 'X' },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "lookup-host", no_argument, NULL, 'h' },
	{ "no-lookup-host", no_argument, NULL, 'H' },
	{ "paranoid", no_argument, NULL, 'p' },
	{ "no-paranoid", no_argument, NULL, 'P' },
	{ "ident", no_argument, NULL, 'r' },
	{ "no-ident", no_argument, NULL, 'R' },
	{ "timeout", required_argument, NULL, 't' },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "proxy-from", required_argument, NULL, OPT_PROXY_FROM },
	{ "proxy-timeout", required_argument, NULL, OPT_PROXY_TIMEOUT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* The option as the user wrote it, for messages: "-c" or "--backlog". */
static char optname[64];

static void
name_option(int c, int longindex)
{
	if (longindex >= 0) {
		strcpy(optname, "--");
		strncat(optname, longopts[longindex].name,
		    sizeof optname - 3);
	} else {
		optname[0] = '-';
		optname[1] = (char)c;
		optname[2] = '\0';
	}
}

static void usage_error(const char *s, ...)
    __attribute__((__noreturn__));

static void
usage_error(const char *s, ...)
{
	struct log_line l;
	va_list ap;

	log_start(&l, "usage: ");
	va_start(ap, s);
	for (; s; s = va_arg(ap, const char *)) /* NOLINT(clang-analyzer-valist.Uninitialized): started above */
		log_str(&l, s);
	va_end(ap);
	/* The line quotes what the user typed: keep it one line. */
	for (size_t i = 0; i < l.len; i++)
		if ((unsigned char)l.buf[i] < 32 || l.buf[i] == 127)
			l.buf[i] = '?';
	/* The pointer to --help ends the line however long the rest: cut
	 * the rest to leave it room. */
	if (l.len > LOG_LINE_MAX - sizeof SEE_HELP)
		l.len = LOG_LINE_MAX - sizeof SEE_HELP;
	log_str(&l, SEE_HELP);
	log_flush(&l);
	_exit(100);
}

static unsigned long
number(const char *arg, unsigned long min, unsigned long max)
{
	unsigned long n;
	char lo[24], hi[24];

	if (parse_uint(arg, min, max, &n) == 0)
		return n;
	snprintf(lo, sizeof lo, "%lu", min);
	snprintf(hi, sizeof hi, "%lu", max);
	usage_error("option ", optname, ": '", arg,
	    "' is not a number from ", lo, " to ", hi, NULL);
	return 0;
}

/* The ":msg" of -C, -N and --rate (colon NULL for none): unescaped where
 * it stands, in argv, which lives as long as the server: nothing to
 * allocate or free, however often the option is given. */
static void
limit_msg(struct limit *lim, char *colon)
{
	long len;

	lim->msg = "";
	lim->msg_len = 0;
	if (!colon)
		return;
	len = parse_escapes(colon + 1, colon + 1);
	if (len < 0)
		usage_error("option ", optname, ": bad escape in the message "
		    "(only \\r, \\n and \\\\)", NULL);
	lim->msg = colon + 1;
	lim->msg_len = (size_t)len;
}

/* A file name: an empty one names no file, and is no "no rules" either
 * (-x '' dropped every connection). */
static const char *
file_arg(const char *arg)
{
	if (*arg == '\0')
		usage_error("option ", optname, ": empty file name", NULL);
	return arg;
}

/* "n[:msg]" of -C and -N. */
static void
limit_arg(struct limit *lim, char *arg)
{
	char *colon = strchr(arg, ':'), num[24];
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);

	if (n >= sizeof num)
		usage_error("option ", optname, ": '", arg,
		    "' is not a number from 1 to 1000000", NULL);
	memcpy(num, arg, n);
	num[n] = '\0';
	lim->max = number(num, 1, MAX_CONNS);
	lim->on = 1;
	limit_msg(lim, colon);
}

#define RATE_SYNTAX "N or N/SECONDS, N from %lu to 65535, SECONDS from 1 " \
    "to 86400"

/* "N[/SECONDS]" of --rate (min 1) and MAXRATEIP (min 0), into cfg; what
 * names the source in a message. */
static void
rate_value(struct config *cfg, const char *v, unsigned long min,
    const char *what)
{
	char syntax[sizeof RATE_SYNTAX + 8];

	if (parse_rate(v, RATE_MAX, RATE_WINDOW_MAX, &cfg->rate.max,
	    &cfg->rate_window) != 0 || cfg->rate.max < min) {
		snprintf(syntax, sizeof syntax, RATE_SYNTAX, min);
		usage_error(what, "'", v, "' is not ", syntax, NULL);
	}
	cfg->rate.on = 1;
}

/* "N[/SECONDS][:msg]" of --rate; without msg, -C's message goes
 * (server_run), hence NULL. */
static void
rate_arg(struct config *cfg, char *arg)
{
	char *colon = strchr(arg, ':'), what[80];

	if (colon)
		*colon = '\0';
	snprintf(what, sizeof what, "option %s: ", optname);
	rate_value(cfg, arg, 1, what);
	limit_msg(&cfg->rate, colon);
	if (!colon)
		cfg->rate.msg = NULL;
}

/* --proxy-from's list, added to the networks of the options before. */
static void
proxy_from_arg(struct config *cfg, const char *arg)
{
	static struct addr_key *nets;
	static size_t room;
	const char *p = arg, *end;
	size_t n;

	for (;;) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		if (cfg->proxy_from_n == room) {
			room = room ? 2 * room : 4;
			nets = realloc(nets, room * sizeof *nets);
			if (!nets)
				log_fatal(111, "out of memory", NULL);
		}
		if (proxy_net_parse(p, n, &nets[cfg->proxy_from_n]) != 0)
			usage_error("option --proxy-from: '", arg, "' is not "
			    "a list of addresses or networks (ADDRESS/LEN)",
			    NULL);
		cfg->proxy_from_n++;
		if (!end)
			break;
		p = end + 1;
	}
	cfg->proxy_from = nets;
}

/* What getopt refused: arg is the word it stood in, opt the option
 * (a letter, a long option's value, or 0 when unknown). */
static void bad_option(const char *arg, int opt, int missing)
    __attribute__((__noreturn__));

static void
bad_option(const char *arg, int opt, int missing)
{
	char name[64], letter[3] = { '-', (char)opt, '\0' };
	size_t n;
	int i, known = 0;

	if (strncmp(arg, "--", 2) == 0) {
		n = strcspn(arg, "=");
		if (n >= sizeof name)
			n = sizeof name - 1;
		memcpy(name, arg, n);
		name[n] = '\0';
		/* getopt_long takes unique abbreviations: count what this
		 * one could stand for. */
		for (i = 0; longopts[i].name; i++)
			if (strncmp(longopts[i].name, name + 2, n - 2) == 0)
				known++;
		if (known > 1)
			usage_error("option ", name, " is ambiguous", NULL);
		if (missing)
			usage_error("option ", name, " needs an argument", NULL);
		if (known)
			usage_error("option ", name, " takes no argument", NULL);
		usage_error("unknown option ", name, NULL);
	}
	if (missing)
		usage_error("option ", letter, " needs an argument", NULL);
	if (opt > 32 && opt < 127)
		usage_error("unknown option ", letter, NULL);
	usage_error("unknown option ", arg, NULL);
}

/* A variable of the tcpserver limits patch, from the environment:
 * MAXCONNIP or MAXCONNC. */
static void
limit_env(struct limit *lim, const char *name)
{
	const char *v = getenv(name);

	if (!v)
		return;
	if (parse_uint(v, 0, MAX_CONNS, &lim->max) != 0)
		usage_error("environment: ", name, "='", v,
		    "' is not a number from 0 to 1000000", NULL);
	lim->on = 1;
}

static uid_t
user_arg(const char *arg, gid_t *gid, int *have_gid)
{
	unsigned long n;
	struct passwd *pw;

	if (parse_uint(arg, 0, (uid_t)-2, &n) == 0) {
		/* A number brings its user's group too, if it has one. */
		pw = getpwuid((uid_t)n);
		if (pw) {
			*gid = pw->pw_gid;
			*have_gid = 1;
		}
		return (uid_t)n;
	}
	pw = getpwnam(arg);
	if (!pw)
		usage_error("option ", optname, ": unknown user '", arg, "'",
		    NULL);
	/* A user given by name brings its primary group, unless -g says
	 * otherwise, so that -u alone never leaves the server in root's
	 * group. */
	*gid = pw->pw_gid;
	*have_gid = 1;
	return pw->pw_uid;
}

static gid_t
group_arg(const char *arg)
{
	unsigned long n;
	struct group *gr;

	if (parse_uint(arg, 0, (gid_t)-2, &n) == 0)
		return (gid_t)n;
	gr = getgrnam(arg);
	if (!gr)
		usage_error("option ", optname, ": unknown group '", arg, "'",
		    NULL);
	return gr->gr_gid;
}

/* Descriptors 0, 1 and 2 must be open, so that no socket of ours can land
 * on them and be mistaken for the child's stdin, stdout or stderr. */
static void
open_std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

int
main(int argc, char **argv)
{
	struct config cfg;
	int c, longindex, user_gid = 0;
	gid_t pw_gid = 0;
	const char *diemsg, *uid_text = "";

	open_std_fds();
	memset(&cfg, 0, sizeof cfg);
	cfg.max_conns = 40;
	cfg.per_client.max = 10;
	cfg.per_client.on = 1;
	cfg.per_client.msg = "";
	cfg.per_net.msg = "";
	cfg.v4_client_bits = 32;
	cfg.v6_client_bits = 64;
	cfg.v4_net_bits = 24;
	cfg.v6_net_bits = 48;
	cfg.backlog = 128;
	cfg.queues = 256;
	cfg.rate_window = 1;
	cfg.rate_clients = 8192;
	cfg.timeout = 26;
	cfg.proxy_timeout = 5;

	opterr = 0;
	/* '+': options end at the first operand, so the program's own
	 * options are never taken for ours. */
	for (;;) {
		longindex = -1;
		c = getopt_long(argc, argv,
		    "+:c:C:N:B:1b:dDoOl:g:u:UvQqx:XhHpPrRt:", longopts,
		    &longindex);
		if (c == -1)
			break;
		name_option(c, longindex);
		switch (c) {
		case 'c': cfg.max_conns = number(optarg, 1, MAX_CONNS); break;
		case 'C': limit_arg(&cfg.per_client, optarg); break;
		case 'N': limit_arg(&cfg.per_net, optarg); break;
		case OPT_IP4_PREFIX:
			cfg.v4_client_bits = (unsigned)number(optarg, 1, 32);
			break;
		case OPT_IP6_PREFIX:
			cfg.v6_client_bits = (unsigned)number(optarg, 1, 128);
			break;
		case OPT_NET4_PREFIX:
			cfg.v4_net_bits = (unsigned)number(optarg, 1, 32);
			break;
		case OPT_NET6_PREFIX:
			cfg.v6_net_bits = (unsigned)number(optarg, 1, 128);
			break;
		case 'B':
			cfg.banner = optarg;
			cfg.banner_len = strlen(optarg);
			break;
		case '1': cfg.print_port = 1; break;
		case 'b': cfg.backlog = number(optarg, 1, 65535); break;
		case OPT_QUEUES:
			cfg.queues = number(optarg, 1, MAX_QUEUES);
			break;
		case OPT_DRAIN:
			cfg.drain = number(optarg, 0, MAX_DRAIN);
			cfg.drain_on = 1;
			break;
		case OPT_RATE: rate_arg(&cfg, optarg); break;
		case OPT_RATE_CLIENTS:
			cfg.rate_clients = number(optarg, 1, MAX_RATE_CLIENTS);
			break;
		case OPT_DRY_RUN: cfg.dry_run = 1; break;
		case 'd': cfg.nodelay = 0; break;
		case 'D': cfg.nodelay = 1; break;
		case 'o': cfg.keep_ip_options = 1; break;
		case 'O': cfg.keep_ip_options = 0; break;
		case 'l': cfg.local_name = optarg; break;
		case 'g':
			cfg.gid = group_arg(optarg);
			cfg.set_gid = 1;
			break;
		case 'u':
			uid_text = optarg;
			cfg.uid = user_arg(optarg, &pw_gid, &user_gid);
			cfg.set_uid = 1;
			break;
		case 'U': {
			const char *u = getenv("UID"), *g = getenv("GID");
			unsigned long n;
			if (!u || parse_uint(u, 0, (uid_t)-2, &n) != 0)
				usage_error("option -U: $UID is not set to a "
				    "number", NULL);
			cfg.uid = (uid_t)n;
			if (!g || parse_uint(g, 0, (gid_t)-2, &n) != 0)
				usage_error("option -U: $GID is not set to a "
				    "number", NULL);
			cfg.gid = (gid_t)n;
			cfg.set_uid = cfg.set_gid = 1;
			break;
		}
		case 'v': log_level = LOG_VERBOSE; break;
		case 'Q': log_level = LOG_ERRORS; break;
		case 'q': log_level = LOG_QUIET; break;
		case 'x': cfg.rules_cdb = file_arg(optarg); break;
		case 'X': cfg.rules_missing_ok = 1; break;
		case OPT_RULES: cfg.rules_text = file_arg(optarg); break;
		case 'h': cfg.lookup_host = 1; break;
		case 'H': cfg.lookup_host = 0; break;
		case 'p': cfg.paranoid = 1; break;
		case 'P': cfg.paranoid = 0; break;
		case 'r': cfg.ident = 1; break;
		case 'R': cfg.ident = 0; break;
		case 't': cfg.timeout = number(optarg, 1, 3600); break;
		case OPT_PROXY_FROM: proxy_from_arg(&cfg, optarg); break;
		case OPT_PROXY_TIMEOUT:
			cfg.proxy_timeout = number(optarg, 1, 3600);
			break;
		case OPT_HELP:
			if (write(1, usage_text, sizeof usage_text - 1) < 0)
				_exit(111);
			_exit(0);
		case OPT_VERSION:
			if (write(1, "tcpwarden " VERSION "\n",
			    sizeof "tcpwarden " VERSION "\n" - 1) < 0)
				_exit(111);
			_exit(0);
		case ':':
			bad_option(argv[optind - 1], optopt, 1);
			break;
		default:
			bad_option(argv[optind - 1], optopt, 0);
		}
	}
	if (cfg.set_uid && !cfg.set_gid) {
		/* Never run as the new user but root's group. */
		if (!user_gid)
			usage_error("option -u: uid ", uid_text, " has no "
			    "passwd entry to take a group from; give -g",
			    NULL);
		cfg.gid = pw_gid;
		cfg.set_gid = 1;
	}

	if (argc - optind < 3)
		usage_error(argc - optind == 0 ? "missing host" :
		    argc - optind == 1 ? "missing port" : "missing program",
		    " (tcpwarden [options] host port program [arg ...])",
		    NULL);
	if (cfg.rules_cdb && cfg.rules_text)
		usage_error("-x and --rules exclude each other: one rules "
		    "file at a time", NULL);
	if (cfg.rules_missing_ok && !cfg.rules_cdb)
		usage_error("option -X goes with -x", NULL);
	cfg.host = argv[optind];
	cfg.port = argv[optind + 1];
	cfg.argv = argv + optind + 2;

	/* The limits patch's variables override the options (SPEC 3). */
	optname[0] = '\0';
	limit_env(&cfg.per_client, "MAXCONNIP");
	limit_env(&cfg.per_net, "MAXCONNC");
	if (getenv("MAXRATEIP"))
		rate_value(&cfg, getenv("MAXRATEIP"), 0,
		    "environment: MAXRATEIP=");
	if (!cfg.rate.msg) {
		cfg.rate.msg = cfg.per_client.msg;
		cfg.rate.msg_len = cfg.per_client.msg_len;
	}
	if ((diemsg = getenv("DIEMSG")) != NULL) {
		size_t n = strlen(diemsg);
		char *m = malloc(n + 3);
		if (!m)
			log_fatal(111, "out of memory", NULL);
		memcpy(m, diemsg, n);
		memcpy(m + n, "\r\n", 2);
		m[n + 2] = '\0';
		cfg.per_client.msg = cfg.per_net.msg = cfg.rate.msg = m;
		cfg.per_client.msg_len = cfg.per_net.msg_len =
		    cfg.rate.msg_len = n + 2;
	}

	server_run(&cfg);
	return 111;
}
