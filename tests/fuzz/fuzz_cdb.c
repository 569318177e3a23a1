/*
 * libFuzzer target: the input is a cdb file, as hostile as it likes.
 * cdb_find and the tcpserver-order lookups over it must never read
 * outside the input nor loop without end, and must report a found
 * record only when it fitted in the buffer.  Every record the input
 * holds is looked up by its own key, so valid-looking files reach the
 * key comparison and the copy.
 *
 *	clang -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_cdb.c \
 *	    src/rules.c src/cdb.c src/file.c src/addr.c
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cdb.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {
	"", "=", "1.2.3.4", "1.2.3.", "10.", "=host.example.com",
	"=.example.com", "joe@1.2.3.4", "2001:db8::1", "2001:db8:"
};

static uint32_t
get32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

static void
find(struct cdb *c, const char *key, size_t klen, size_t buflen)
{
	static char buf[4096];
	size_t dlen = 0;
	int r;

	r = cdb_find(c, key, klen, buf, buflen, &dlen);
	if (r < -1 || r > 1 || (r == 1 && dlen > buflen))
		abort();
}

static void
lookup(struct cdb *c, const char *ip, const char *host, const char *info,
    size_t buflen)
{
	static char buf[4096];
	struct rules_query q;
	struct rules_match m;
	struct addr a;
	char text[ADDR_TEXT_MAX];
	int r;

	if (addr_parse(&a, ip) == -1)
		abort();
	addr_format(&a, 0, text);
	q.ip = &a;
	q.iptext = text;
	q.host = host;
	q.info = info;
	r = rules_cdb_query(c, &q, &m, buf, buflen);
	if (r == 1) {
		const char *v;
		size_t pos = 0;

		if (m.key != buf || m.data + m.len > buf + buflen ||
		    m.step < RULES_INFO_IP || m.step > RULES_DEFAULT)
			abort();
		(void)rules_data_deny(m.data, m.len);
		while ((v = rules_data_var(m.data, m.len, &pos)))
			if (v < m.data || v >= m.data + m.len)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cdb c;
	size_t i, pos, buflen;
	unsigned n;

	cdb_init_mem(&c, data, size);
	/* A byte of the input chooses the buffer size, so short buffers
	 * (EMSGSIZE) get their share. */
	buflen = size > 0 ? 1 + data[size - 1] * 16u : 4096;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		find(&c, keys[i], strlen(keys[i]), buflen);

	/* The records as a writer lays them out from byte 2048. */
	for (pos = 2048, n = 0; n < 32 && pos + 8 <= size; n++) {
		uint32_t klen = get32(data + pos), dlen = get32(data + pos + 4);

		if (klen > size - pos - 8 || dlen > size - pos - 8 - klen)
			break;
		find(&c, (const char *)data + pos + 8, klen, buflen);
		pos += 8 + (size_t)klen + dlen;
	}

	lookup(&c, "1.2.3.4", NULL, NULL, buflen);
	lookup(&c, "10.3.9.9", "a.example.com", "joe", buflen);
	lookup(&c, "2001:db8::1", "Host.Example.COM", NULL, buflen);
	lookup(&c, "127.0.0.1", "x", "", 4096);
	return 0;
}
