/*
 * libFuzzer target for src/parse.c, the readers of command-line numbers
 * and -C/-N messages.  Input: 16 bytes of range (min, max, little-endian,
 * missing bytes read as 0), then the text.  parse_uint is checked against
 * an independent reading with overflow detection, and its result against
 * the range; parse_escapes against a reference, in place (as limit_arg
 * calls it) as well as into a buffer of exactly strlen(s) + 1 bytes, and
 * by round trip: escaping any text and reading it back gives the text.
 *
 *	clang -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/fuzz_parse.c \
 *	    src/parse.c
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long
get_ulong(const uint8_t *data, size_t size, size_t at)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; i < sizeof v && at + i < size; i++)
		v |= (unsigned long)data[at + i] << (8 * i);
	return v;
}

/* What parse_uint must answer: digits only, at least one, no wrap, and
 * the value within [min, max]. */
static int
ref_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long n = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (__builtin_mul_overflow(n, 10ul, &n) ||
		    __builtin_add_overflow(n, (unsigned long)(*s - '0'), &n))
			return -1;
	}
	if (n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static void
check_uint(const char *s, unsigned long min, unsigned long max)
{
	unsigned long got = 0, want = 0;
	int r = parse_uint(s, min, max, &got);
	char text[32];
	const char *digits = s;

	if (r != ref_uint(s, min, max, &want))
		abort();
	if (r != 0)
		return;
	if (got != want || got < min || got > max)
		abort();
	/* Round trip: the decimal text of the value is the input without
	 * its leading zeros. */
	while (digits[0] == '0' && digits[1])
		digits++;
	snprintf(text, sizeof text, "%lu", got);
	if (strcmp(text, digits) != 0)
		abort();
}

/* The reference reading of the escapes, into a buffer as long as s. */
static long
ref_escapes(const char *s, char *out)
{
	size_t i, o = 0;

	for (i = 0; s[i]; i++) {
		if (s[i] != '\\') {
			out[o++] = s[i];
			continue;
		}
		i++;
		if (s[i] == 'r')
			out[o++] = '\r';
		else if (s[i] == 'n')
			out[o++] = '\n';
		else if (s[i] == '\\')
			out[o++] = '\\';
		else
			return -1;
	}
	out[o] = '\0';
	return (long)o;
}

/* The inverse: every \r, \n and \ written as its escape.  out has room
 * for 2 * strlen(s) + 1 bytes. */
static void
escape(const char *s, char *out)
{
	for (; *s; s++) {
		if (*s == '\r' || *s == '\n' || *s == '\\') {
			*out++ = '\\';
			*out++ = *s == '\r' ? 'r' : *s == '\n' ? 'n' : '\\';
		} else
			*out++ = *s;
	}
	*out = '\0';
}

/* parse_escapes into exactly strlen(s) + 1 bytes, so ASan sees any
 * overrun; the result must match the reference and, read in place,
 * be the same. */
static long
check_escapes(const char *s, char **result)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1), *want = malloc(n + 1), *inplace;
	long len, wlen, ilen;

	inplace = strdup(s);
	if (!out || !want || !inplace)
		abort();
	len = parse_escapes(s, out);
	wlen = ref_escapes(s, want);
	ilen = parse_escapes(inplace, inplace);
	if (len != wlen || ilen != len)
		abort();
	if (len >= 0) {
		if ((size_t)len > n || out[len] != '\0' ||
		    strlen(out) != (size_t)len ||
		    memcmp(out, want, (size_t)len + 1) != 0 ||
		    memcmp(inplace, want, (size_t)len + 1) != 0)
			abort();
	}
	free(want);
	free(inplace);
	*result = out;
	return len;
}

/* Escaping text and reading it back must give the text. */
static void
check_round_trip(const char *text)
{
	char *esc = malloc(2 * strlen(text) + 1), *back;
	long len;

	if (!esc)
		abort();
	escape(text, esc);
	len = check_escapes(esc, &back);
	if (len < 0 || (size_t)len != strlen(text) || strcmp(back, text) != 0)
		abort();
	free(back);
	free(esc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned long maxes[] = {
		0, 1, 9, 10, 32, 128, 3600, 65535, 1000000, 4294967294ul,
		ULONG_MAX / 10, ULONG_MAX - 1, ULONG_MAX
	};
	unsigned long min = get_ulong(data, size, 0);
	unsigned long max = get_ulong(data, size, 8);
	size_t off = size < 16 ? size : 16, i;
	char *s, *out;
	long len;

	s = malloc(size - off + 1);
	if (!s)
		abort();
	memcpy(s, data + off, size - off);
	s[size - off] = '\0';

	check_uint(s, min, max);
	check_uint(s, min, ULONG_MAX);
	check_uint(s, 0, max);
	/* The limits the program uses, and the edges of overflow. */
	for (i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
		check_uint(s, 0, maxes[i]);
		check_uint(s, min % (maxes[i] + (maxes[i] < ULONG_MAX)),
		    maxes[i]);
	}

	len = check_escapes(s, &out);
	if (len >= 0)
		check_round_trip(out);
	free(out);
	check_round_trip(s);
	free(s);
	return 0;
}
