# Test helpers for src/lookup.c: build/lookupcheck drives the look-ups,
# build/fakeident plays the ident and DNS servers.  Included by the
# Makefile; the ?= defaults let it run alone:
#	make -f mk/lookup.mk lookup-helpers
CC ?= cc
CFLAGS ?= -std=c99 -O2 -g -Wall -Wextra -Wpedantic -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror
BUILD ?= build

.PHONY: lookup-helpers
lookup-helpers: $(BUILD)/lookupcheck $(BUILD)/fakeident

$(BUILD)/lookupcheck: tests/helpers/lookupcheck.c src/lookup.c src/lookup.h \
    src/addr.c src/addr.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CPPFLAGS) -Isrc -o $@ tests/helpers/lookupcheck.c \
	    src/lookup.c src/addr.c $(LDFLAGS)

$(BUILD)/fakeident: tests/helpers/fakeident.c
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ tests/helpers/fakeident.c $(LDFLAGS)
