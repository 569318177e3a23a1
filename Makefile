# tcpwarden: make, make check, make install (PREFIX, DESTDIR), make clean;
# also lint, analyze, san (sanitizer build), fuzz, bench.

CC = cc
OPT = -O2 -g
WARN = -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wformat=2
EXTRA =
CFLAGS = $(OPT) $(WARN) $(EXTRA) -iquote src
LDFLAGS =
BUILD = build
PREFIX = /usr/local
DESTDIR =
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man

SRCS = src/access.c src/addr.c src/cdb.c src/env.c src/listener.c \
       src/log.c src/lookup.c src/parse.c src/reap.c src/rules.c \
       src/server.c src/sig.c src/spawn.c src/table.c
OBJS = $(SRCS:src/%.c=$(BUILD)/%.o)
HDRS = $(wildcard src/*.h)

all: tcpwarden

# Replaced by rename, so a running tcpwarden never blocks the build.
tcpwarden: $(BUILD)/tcpwarden
	cp $(BUILD)/tcpwarden $@.tmp && mv -f $@.tmp $@

$(BUILD)/tcpwarden: cmd/tcpwarden.c $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ cmd/tcpwarden.c $(OBJS)

$(BUILD)/%.o: src/%.c $(HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -c -o $@ $<

# Test helpers, built with the normal flags.
HELPERS = $(BUILD)/helpers/childstate $(BUILD)/helpers/tcpclient \
          $(BUILD)/helpers/badclient
$(BUILD)/helpers/%: tests/helpers/%.c
	@mkdir -p $(BUILD)/helpers
	$(CC) $(CFLAGS) -o $@ $<

-include mk/*.mk

# The sanitizer build: ASan and UBSan, and the table's SIGCHLD check on.
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer -DTABLE_CHECK_SIGMASK
san:
	$(MAKE) BUILD=build/san CC=clang OPT="-O1 -g" EXTRA="$(SAN_FLAGS)" \
	    build/san/tcpwarden rules-helpers

# Warnings are errors for the project's own check.
strict:
	$(MAKE) BUILD=build/strict EXTRA=-Werror build/strict/tcpwarden

# The quick checks; make analyze (mk/analyze.mk) runs the analyzers.
lint: strict
	mandoc -T lint -W warning man/tcpwarden.1

check: strict san tcpwarden helpers
	mandoc -T lint -W warning man/tcpwarden.1
	tests/run ./tcpwarden build/san/tcpwarden

helpers: $(HELPERS) rules-helpers lookup-helpers

install: tcpwarden
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	cp tcpwarden $(DESTDIR)$(BINDIR)/tcpwarden
	chmod 755 $(DESTDIR)$(BINDIR)/tcpwarden
	cp man/tcpwarden.1 $(DESTDIR)$(MANDIR)/man1/tcpwarden.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/tcpwarden.1

clean:
	rm -rf build tcpwarden

.PHONY: all check clean helpers install lint san strict
