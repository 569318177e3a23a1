/*
 * rules: tcprules access rules, from a text file (parsed once into hash
 * tables) or from the cdb tcprules writes, looked up in tcpserver's order
 * with CIDR folded in.  A lookup allocates nothing and its cost does not
 * grow with the number of rules; a record is always in tcprules' format.
 */
#ifndef RULES_H
#define RULES_H

#include <stddef.h>

struct addr;
struct cdb;

/* Longest line a text rules file may have, and so the longest record data
 * a text rule makes (the data is always shorter than its line). */
#define RULES_DATA_MAX 65536

/* Largest text rules file: some 800,000 one-address rules, parsed in
 * about 0.3 s into some 160 MB.  A bigger file, or anything that is not a
 * regular file (a FIFO, /dev/zero), is refused unread. */
#define RULES_FILE_MAX (16UL * 1024 * 1024)

struct rules;

struct rules_query {
	const struct addr *ip;  /* client address, canonical */
	const char *iptext;     /* its canonical text, no brackets */
	const char *host;       /* TCPREMOTEHOST, or NULL when not known */
	const char *info;       /* TCPREMOTEINFO, or NULL when not known */
};

/* The lookup steps, in the order they are tried. */
enum rules_step {
	RULES_INFO_IP = 1,  /* info@ip */
	RULES_INFO_HOST,    /* info@=host */
	RULES_IP,           /* the exact address (or a range holding it) */
	RULES_HOST,         /* =host */
	RULES_PREFIX,       /* dotted, ':' or CIDR prefix, longest first */
	RULES_SUFFIX,       /* =.suffix, longest first */
	RULES_ANYHOST,      /* = (any client whose host is known) */
	RULES_DEFAULT       /* the empty address */
};

struct rules_match {
	enum rules_step step;  /* the step that matched */
	const char *key;       /* text rules: the address as written; cdb:
	                        * the key found ("" for the default) */
	const char *data;      /* the record: entries each ending in NUL,
	                        * "D" for deny, "+VAR=value" to set */
	size_t len;            /* bytes of data */
};

/* One rule of a text file as written, in file order (for writing a cdb). */
struct rules_rule {
	const char *addr;      /* the address as written */
	const char *data;      /* the record, as in rules_match */
	size_t len;
	unsigned long line;    /* line number in the file */
};

/* Parse a text rules file.  Returns 0, or -1 with err holding
 * "FILE:LINE: what is wrong" ("FILE: reason" for I/O or memory, "FILE:
 * not a regular file", "FILE: larger than RULES_FILE_MAX bytes").  It
 * never blocks on what path names (see file.h). */
int rules_load(struct rules **out, const char *path, char *err,
    size_t errlen);

/* The same for text already in memory; name is used in messages. */
int rules_parse(struct rules **out, const char *name, const char *text,
    size_t len, char *err, size_t errlen);

void rules_free(struct rules *r);

/* Look q up.  Returns 1 with m filled (pointing into r), or 0 when no rule
 * matches (there is no default rule).  Where two lines have the same key
 * the first wins; host names compare without regard to ASCII case. */
int rules_lookup(const struct rules *r, const struct rules_query *q,
    struct rules_match *m);

/* Whether any rule needs the client's host name (=host, =.suffix, =,
 * info@=host), or its ident answer (info@...). */
int rules_has_host_rules(const struct rules *r);
int rules_has_info_rules(const struct rules *r);

/* The rules in file order: there are rules_count of them, duplicates
 * included. */
size_t rules_count(const struct rules *r);
void rules_get(const struct rules *r, size_t i, struct rules_rule *out);

/* tcpserver's lookup order against the cdb at path, opened for this call
 * only, so a new file takes effect at once.  Keys are text, as tcprules
 * wrote them; a host with capitals is tried as given, then lowercased.  The key found and the record
 * are stored in buf, where m->key and m->data point; RULES_DATA_MAX plus
 * room for the longest key (info and host plus 3 bytes) is enough for
 * records a text file could make.  Returns 1, 0 (no match), or -1 with
 * errno: ENOENT (no file), EPROTO (corrupt), EMSGSIZE (buf too small). */
int rules_cdb_lookup(const char *path, const struct rules_query *q,
    struct rules_match *m, char *buf, size_t buflen);

/* The same against a cdb already open (or in memory). */
int rules_cdb_query(struct cdb *c, const struct rules_query *q,
    struct rules_match *m, char *buf, size_t buflen);

/* Reading a record as tcpserver does: entries are NUL-terminated and an
 * unterminated tail is ignored.  rules_data_deny says whether an entry is
 * "D".  rules_data_var returns the next "VAR=value" of a "+" entry (inside
 * data, NUL-terminated), skipping entries without '=' or with an empty
 * name, or NULL at the end; *pos starts at 0. */
int rules_data_deny(const char *data, size_t len);
const char *rules_data_var(const char *data, size_t len, size_t *pos);

#endif
