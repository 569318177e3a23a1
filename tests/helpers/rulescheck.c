/*
 * rulescheck: look one client up in a rules file, for the tests.
 *
 *	rulescheck (--text FILE | --cdb FILE) IP [HOST [INFO]]
 *
 * HOST or INFO given as "-" is not known (so INFO can come without HOST).
 * With --cdb, IP given as "-" reads one address a line from stdin and
 * prints one line for each, in order.
 * Prints one line, "match step=STEP key=KEY deny", "match step=STEP
 * key=KEY allow[ VAR=value]...", or "nomatch", and exits 0.  A text file
 * that does not parse prints its error and exits 100 (as does misuse); a
 * cdb that cannot be read prints the reason and exits 111.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "rules.h"

static const char *const step_names[] = {
	"?", "info-ip", "info-host", "ip", "host", "prefix", "suffix",
	"anyhost", "default"
};

static void
usage(void)
{
	fputs("rulescheck: usage: rulescheck (--text FILE | --cdb FILE) IP "
	    "[HOST [INFO]]\n", stderr);
	exit(100);
}

static void
show(const struct rules_match *m)
{
	const char *var;
	size_t pos = 0;
	unsigned step = (unsigned)m->step;

	if (step >= sizeof step_names / sizeof step_names[0])
		step = 0;
	printf("match step=%s key=%s", step_names[step], m->key);
	if (rules_data_deny(m->data, m->len)) {
		puts(" deny");
		return;
	}
	fputs(" allow", stdout);
	while ((var = rules_data_var(m->data, m->len, &pos)))
		printf(" %s", var);
	putchar('\n');
}

/* Look ipstr up in the cdb at path and print the result line; 0, or 111
 * after printing why the file could not be read. */
static int
cdb_one(const char *path, const char *ipstr, const char *host,
    const char *info)
{
	static char buf[RULES_DATA_MAX + 4096];
	char text[ADDR_TEXT_MAX];
	struct rules_query q;
	struct rules_match m;
	struct addr ip;
	int r;

	if (addr_parse(&ip, ipstr) == -1) {
		fprintf(stderr, "rulescheck: not an IP address: %s\n", ipstr);
		exit(100);
	}
	addr_format(&ip, 0, text);
	q.ip = &ip;
	q.iptext = text;
	q.host = host;
	q.info = info;
	r = rules_cdb_lookup(path, &q, &m, buf, sizeof buf);
	if (r == -1) {
		fprintf(stderr, "rulescheck: %s: %s\n", path, strerror(errno));
		return 111;
	}
	if (r == 1)
		show(&m);
	else
		puts("nomatch");
	return 0;
}

int
main(int argc, char **argv)
{
	char text[ADDR_TEXT_MAX], err[512], line[256];
	struct rules_query q;
	struct rules_match m;
	struct addr ip;
	const char *host, *info;
	int r;

	if (argc < 4 || argc > 6)
		usage();
	if (strcmp(argv[1], "--text") != 0 && strcmp(argv[1], "--cdb") != 0)
		usage();
	host = argc > 4 && strcmp(argv[4], "-") != 0 ? argv[4] : NULL;
	info = argc > 5 && strcmp(argv[5], "-") != 0 ? argv[5] : NULL;
	if (strcmp(argv[1], "--cdb") == 0 && strcmp(argv[3], "-") == 0) {
		/* One address a line on stdin, one result line each. */
		while (fgets(line, sizeof line, stdin)) {
			line[strcspn(line, "\n")] = '\0';
			if ((r = cdb_one(argv[2], line, host, info)) != 0)
				return r;
		}
		return 0;
	}
	if (strcmp(argv[1], "--cdb") == 0)
		return cdb_one(argv[2], argv[3], host, info);

	if (addr_parse(&ip, argv[3]) == -1) {
		fprintf(stderr, "rulescheck: not an IP address: %s\n", argv[3]);
		return 100;
	}
	addr_format(&ip, 0, text);
	q.ip = &ip;
	q.iptext = text;
	q.host = host;
	q.info = info;
	{
		struct rules *rs;

		if (rules_load(&rs, argv[2], err, sizeof err) == -1) {
			fprintf(stderr, "rulescheck: %s\n", err);
			return 100;
		}
		r = rules_lookup(rs, &q, &m);
		if (r == 1)
			show(&m);
		else
			puts("nomatch");
		rules_free(rs);
	}
	return 0;
}
