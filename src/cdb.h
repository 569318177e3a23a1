/*
 * cdb: a read-only reader of djb's constant database, the format tcprules
 * writes.  The file is read with pread, never mapped, so a file truncated
 * under us gives an error rather than SIGBUS; every position and length
 * read from it is checked against its size before use, and the cost of a
 * look-up is bounded whatever the file holds (CDB_PROBE_MAX).
 */
#ifndef CDB_H
#define CDB_H

#include <stddef.h>
#include <stdint.h>

/* The most slots one look-up probes, and the most records with the key's
 * hash it compares, before it calls the file damaged.  tcprules gives each
 * table twice as many slots as records, so a probe ends at an empty slot;
 * the longest probes in real files are far shorter (djb's hash clusters
 * sequential keys: a million IPv4 addresses need under 100 slots, four
 * million sequential IPv6 ones about 1,240), and at most 3 keys of a
 * million share a 32-bit hash.  So a look-up reads at most 64 KiB of
 * slots, in 22 reads, and 32 records, one read each. */
#define CDB_PROBE_MAX 8192
#define CDB_SAME_HASH_MAX 32

struct cdb {
	int fd;                    /* the open file, or -1 for a memory image */
	const unsigned char *mem;  /* the image when fd is -1 */
	uint64_t size;             /* bytes that may be read, from fstat */
};

/* Open a cdb file, without blocking (file.h).  Returns 0, or -1 with
 * errno: that of open(2) (ENOENT for a missing file), EINVAL if it is not
 * a regular file, EPROTO if it is too short to hold the 2048-byte
 * header. */
int cdb_open(struct cdb *c, const char *path);

/* Read a cdb held in memory (for fuzzing and tests); mem must outlive c. */
void cdb_init_mem(struct cdb *c, const unsigned char *mem, size_t size);

void cdb_close(struct cdb *c);

/* The cdb hash of a key, as a writer needs it too. */
uint32_t cdb_hash(const char *key, size_t keylen);

/* Find the first record with this key and copy its data into buf.
 * Returns 1 (found, *datalen set), 0 (not found), or -1 with errno:
 * EPROTO for a position or length outside the file or a probe past the
 * bounds above, EMSGSIZE when the data is longer than buflen (*datalen
 * then says how long it is), or that of pread.  It never reads outside
 * the file whatever the file holds. */
int cdb_find(struct cdb *c, const char *key, size_t keylen, char *buf,
    size_t buflen, size_t *datalen);

#endif
