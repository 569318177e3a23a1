#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cdb.h"
#include "file.h"

/* 256 (position, slot count) pairs of 4 bytes each start every cdb. */
#define CDB_HEADER 2048

int
cdb_open(struct cdb *c, const char *path)
{
	struct stat st;
	int fd;

	fd = file_open(path, &st);
	if (fd == -1)
		return -1;
	if (st.st_size < CDB_HEADER) {
		close(fd);
		errno = EPROTO;
		return -1;
	}
	c->fd = fd;
	c->mem = NULL;
	c->size = (uint64_t)st.st_size;
	return 0;
}

void
cdb_init_mem(struct cdb *c, const unsigned char *mem, size_t size)
{
	c->fd = -1;
	c->mem = mem;
	c->size = size;
}

void
cdb_close(struct cdb *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->mem = NULL;
	c->size = 0;
}

uint32_t
cdb_hash(const char *key, size_t keylen)
{
	uint32_t h = 5381;
	size_t i;

	for (i = 0; i < keylen; i++)
		h = ((h << 5) + h) ^ (unsigned char)key[i];
	return h;
}

/* Copy len bytes at pos, which must lie inside the file.  A short pread
 * means the file shrank since fstat: that is a corrupt file too. */
static int
cdb_read(struct cdb *c, uint64_t pos, void *out, size_t len)
{
	unsigned char *p = out;

	if (pos > c->size || len > c->size - pos) {
		errno = EPROTO;
		return -1;
	}
	if (c->fd == -1) {
		if (len)
			memcpy(out, c->mem + pos, len);
		return 0;
	}
	while (len > 0) {
		ssize_t n = pread(c->fd, p, len, (off_t)pos);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EPROTO;
			return -1;
		}
		p += n;
		pos += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static uint32_t
cdb_u32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

/* Whether the len bytes at pos equal key; the range was checked. */
static int
cdb_match(struct cdb *c, uint64_t pos, const char *key, size_t len)
{
	unsigned char chunk[256];

	if (c->fd == -1)
		return len == 0 || memcmp(c->mem + pos, key, len) == 0;
	while (len > 0) {
		size_t n = len < sizeof chunk ? len : sizeof chunk;

		if (cdb_read(c, pos, chunk, n) == -1)
			return -1;
		if (memcmp(chunk, key, n) != 0)
			return 0;
		pos += n;
		key += n;
		len -= n;
	}
	return 1;
}

/* How many slots are read at once: few at first, since a table tcprules
 * wrote is half empty and a probe usually ends at its first or second
 * slot; more as a probe goes on, so a long one costs few reads. */
#define CDB_BLOCK_FIRST 8
#define CDB_BLOCK_MAX 512

/* How much of a record's key is read with its lengths, in one read. */
#define CDB_KEY_CHUNK 256

/* The record at rpos, whose slot has the key's hash: 1 (it is the key:
 * data copied, *datalen set), 0 (another key), -1 (error). */
static int
cdb_record(struct cdb *c, uint32_t rpos, const char *key, size_t keylen,
    char *buf, size_t buflen, size_t *datalen)
{
	unsigned char b[8 + CDB_KEY_CHUNK];
	size_t head = keylen < CDB_KEY_CHUNK ? keylen : CDB_KEY_CHUNK, n;
	uint32_t klen, dlen;
	int r;

	/* The lengths and the start of the key in one read, cut short at the
	 * end of the file (the record's own key may be shorter than ours). */
	n = 8 + head;
	if (rpos < c->size && c->size - rpos < n)
		n = (size_t)(c->size - rpos);
	if (n < 8) {
		errno = EPROTO;
		return -1;
	}
	if (cdb_read(c, rpos, b, n) == -1)
		return -1;
	klen = cdb_u32(b);
	dlen = cdb_u32(b + 4);
	if ((uint64_t)rpos + 8 + klen + dlen > c->size) {
		errno = EPROTO;
		return -1;
	}
	if (klen != keylen || (head && memcmp(b + 8, key, head) != 0))
		return 0;
	if (keylen > head) {
		r = cdb_match(c, (uint64_t)rpos + 8 + head, key + head,
		    keylen - head);
		if (r != 1)
			return r;
	}
	*datalen = dlen;
	if (dlen > buflen) {
		errno = EMSGSIZE;
		return -1;
	}
	return cdb_read(c, (uint64_t)rpos + 8 + klen, buf, dlen) == -1 ? -1 : 1;
}

int
cdb_find(struct cdb *c, const char *key, size_t keylen, char *buf,
    size_t buflen, size_t *datalen)
{
	unsigned char b[8 * CDB_BLOCK_MAX];
	uint32_t h, tpos, nslots, slot, limit, done = 0, block = CDB_BLOCK_FIRST;
	unsigned same = 0;

	if ((uint64_t)keylen > UINT32_MAX)
		return 0;
	h = cdb_hash(key, keylen);
	if (cdb_read(c, (uint64_t)(h & 255) * 8, b, 8) == -1)
		return -1;
	tpos = cdb_u32(b);
	nslots = cdb_u32(b + 4);
	if (nslots == 0)
		return 0;
	if ((uint64_t)tpos + (uint64_t)nslots * 8 > c->size) {
		errno = EPROTO;
		return -1;
	}
	slot = (h >> 8) % nslots;
	/* A table tcprules wrote has twice as many slots as records, so a
	 * probe ends at an empty slot; a hostile one may have none, so each
	 * slot is probed at most once, and never more than CDB_PROBE_MAX. */
	limit = nslots < CDB_PROBE_MAX ? nslots : CDB_PROBE_MAX;
	while (done < limit) {
		uint32_t n = block, k;

		if (n > limit - done)
			n = limit - done;
		if (n > nslots - slot)
			n = nslots - slot;
		if (cdb_read(c, (uint64_t)tpos + (uint64_t)slot * 8, b,
		    (size_t)n * 8) == -1)
			return -1;
		for (k = 0; k < n; k++) {
			uint32_t sh = cdb_u32(b + (size_t)k * 8);
			uint32_t rpos = cdb_u32(b + (size_t)k * 8 + 4);
			int r;

			if (rpos == 0)
				return 0;
			if (sh != h)
				continue;
			if (++same > CDB_SAME_HASH_MAX) {
				errno = EPROTO;
				return -1;
			}
			r = cdb_record(c, rpos, key, keylen, buf, buflen, datalen);
			if (r != 0)
				return r;
		}
		done += n;
		slot += n;
		if (slot == nslots)
			slot = 0;
		if (block < CDB_BLOCK_MAX)
			block *= 2;
	}
	/* Every slot of a small full table was seen: not there.  A probe
	 * that ran to the bound in a larger one is one no tcprules file
	 * needs: damaged. */
	if (nslots > CDB_PROBE_MAX) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}
