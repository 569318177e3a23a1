# The test helpers that link tcpwarden's own modules: build/lookupcheck
# drives src/lookup.c and build/fakeident plays the ident and DNS servers
# (tests/lookup*.bats); build/cdbmake-rules and build/rulescheck drive
# src/rules.c, src/cdb.c and src/file.c (tests/rules.bats);
# build/helpers/ratecheck checks src/rate.c on a simulated clock
# (tests/rate.bats).  Included by the Makefile; the ?= defaults let it run
# alone:
#	make -f tests/helpers/helpers.mk lookup-helpers rules-helpers rate-helpers
CC ?= cc
CFLAGS ?= -std=c99 -O2 -g -Wall -Wextra -Wpedantic -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror
BUILD ?= build

RULES_SRC = src/rules.c src/cdb.c src/file.c src/addr.c
RULES_DEP = $(RULES_SRC) src/rules.h src/cdb.h src/file.h src/addr.h

.PHONY: lookup-helpers rules-helpers rate-helpers

lookup-helpers: $(BUILD)/lookupcheck $(BUILD)/fakeident

$(BUILD)/lookupcheck: tests/helpers/lookupcheck.c src/lookup.c src/lookup.h \
    src/addr.c src/addr.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CPPFLAGS) -Isrc -o $@ tests/helpers/lookupcheck.c \
	    src/lookup.c src/addr.c $(LDFLAGS)

$(BUILD)/fakeident: tests/helpers/fakeident.c
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ tests/helpers/fakeident.c $(LDFLAGS)

rules-helpers: $(BUILD)/cdbmake-rules $(BUILD)/rulescheck

$(BUILD)/cdbmake-rules: tests/helpers/cdbmake.c $(RULES_DEP)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CPPFLAGS) -Isrc -o $@ tests/helpers/cdbmake.c \
	    $(RULES_SRC) $(LDFLAGS)

$(BUILD)/rulescheck: tests/helpers/rulescheck.c $(RULES_DEP)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CPPFLAGS) -Isrc -o $@ tests/helpers/rulescheck.c \
	    $(RULES_SRC) $(LDFLAGS)

rate-helpers: $(BUILD)/helpers/ratecheck

$(BUILD)/helpers/ratecheck: tests/helpers/ratecheck.c src/rate.c src/rate.h \
    src/addr.c src/addr.h
	@mkdir -p $(BUILD)/helpers
	$(CC) $(CFLAGS) $(CPPFLAGS) -Isrc -o $@ tests/helpers/ratecheck.c \
	    src/rate.c src/addr.c $(LDFLAGS)
