# tcpwarden: make, make check, make install (PREFIX, DESTDIR), make
# install-strip, make uninstall, make clean; also lint, analyze, san
# (sanitizer build), fuzz, bench.

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
# As the GNU conventions have it: install-strip installs with
# INSTALL_PROGRAM plus -s.
INSTALL = install
INSTALL_PROGRAM = $(INSTALL)
INSTALL_DATA = $(INSTALL) -m 644

SRCS = src/access.c src/activate.c src/addr.c src/cdb.c src/deadline.c \
       src/drain.c src/env.c src/file.c src/launch.c src/listener.c \
       src/log.c src/lookup.c src/park.c src/parse.c src/pending.c src/proxy.c \
       src/rate.c src/reap.c src/rules.c src/server.c src/sig.c \
       src/spawn.c src/stats.c src/table.c src/young.c
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
          $(BUILD)/helpers/tracer $(BUILD)/helpers/freeport
$(BUILD)/helpers/%: tests/helpers/%.c
	@mkdir -p $(BUILD)/helpers
	$(CC) $(CFLAGS) -o $@ $<

# The fragments beside what they build: the test helpers that link our
# modules, the fuzz targets, the benchmark.
include tests/helpers/helpers.mk tests/fuzz/fuzz.mk tests/bench/bench.mk

# The sanitizer build: ASan and UBSan, and the table's SIGCHLD check on.
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer -DTABLE_CHECK_SIGMASK
san:
	$(MAKE) BUILD=build/san CC=clang OPT="-O1 -g" EXTRA="$(SAN_FLAGS)" \
	    build/san/tcpwarden rules-helpers

# Warnings are errors for the project's own check.
strict:
	$(MAKE) BUILD=build/strict EXTRA=-Werror build/strict/tcpwarden

# The quick checks; make analyze (below) runs the analyzers.
lint: strict
	mandoc -T lint -W warning man/tcpwarden.1

check: strict san tcpwarden helpers
	mandoc -T lint -W warning man/tcpwarden.1
	tests/run ./tcpwarden build/san/tcpwarden

helpers: $(HELPERS) rules-helpers lookup-helpers rate-helpers

install: tcpwarden
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL_PROGRAM) tcpwarden $(DESTDIR)$(BINDIR)/tcpwarden
	$(INSTALL_DATA) man/tcpwarden.1 $(DESTDIR)$(MANDIR)/man1/tcpwarden.1

# The same, without the symbols and debugging information that the build
# keeps (-g).
install-strip:
	$(MAKE) INSTALL_PROGRAM='$(INSTALL_PROGRAM) -s' install

# What install put there, and only that: the directories may hold more.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tcpwarden $(DESTDIR)$(MANDIR)/man1/tcpwarden.1

clean:
	rm -rf build tcpwarden

# Static analysis: cppcheck, gcc's -fanalyzer and clang-tidy
# over src/ and cmd/.  Every tool runs even after one fails, so a round
# shows every finding; `analyze` fails if any tool found anything.  A false
# positive is silenced where it stands, with its reason:
#	cppcheck:   // cppcheck-suppress ID      (on the line before)
#	gcc:        #pragma GCC diagnostic ignored "-Wanalyzer-..."
#	clang-tidy: NOLINT(check) in a comment on the line
ANALYZE_SRC = $(wildcard src/*.c) cmd/tcpwarden.c

# Every file defines _GNU_SOURCE itself, so cppcheck needs no -D; without
# one it checks each #ifdef configuration (TABLE_CHECK_SIGMASK too).
# varFuncNullUB is off: it warns that NULL ending a variadic list (as
# log_fatal's) might be a plain 0, but POSIX defines NULL as (void *)0.
CPPCHECK ?= cppcheck
CPPCHECK_FLAGS = --quiet --enable=warning,portability,performance \
	--error-exitcode=1 --inline-suppr --std=c99 --suppress=varFuncNullUB \
	-Isrc

# The analyzer works on the compiled code: -fsyntax-only would stop before
# it runs, hence -c -o /dev/null.  gcc 12 or later; -Werror so that every
# warning, of the analyzer or not, fails.
ANALYZE_GCC ?= gcc
ANALYZE_GCC_FLAGS = $(CFLAGS) -iquote src -fanalyzer -Werror

# clang-tidy, skipped (with a line saying so) where it is not installed
# or CLANG_TIDY is set empty.  The checks: the static analyzer and the
# bugprone set, less two style checks that fire on correct code by design
# (parameters of one type side by side; an unbounded strcpy into a buffer
# sized for it) and the one that reserves names like __wrap__exit.
CLANG_TIDY ?= clang-tidy
CLANG_TIDY_CHECKS = -*,clang-analyzer-*,bugprone-*,\
-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,\
-clang-analyzer-security.insecureAPI.strcpy
CLANG_TIDY_FLAGS = --quiet --warnings-as-errors='*' \
	--checks='$(CLANG_TIDY_CHECKS)'

analyze:
	@status=0; \
	echo "analyze: cppcheck"; \
	$(CPPCHECK) $(CPPCHECK_FLAGS) src cmd || status=1; \
	echo "analyze: $(ANALYZE_GCC) -fanalyzer"; \
	for f in $(ANALYZE_SRC); do \
		$(ANALYZE_GCC) $(ANALYZE_GCC_FLAGS) -c -o /dev/null $$f || \
		    status=1; \
	done; \
	if [ -n "$(CLANG_TIDY)" ] && command -v $(CLANG_TIDY) >/dev/null; then \
		echo "analyze: $(CLANG_TIDY)"; \
		$(CLANG_TIDY) $(CLANG_TIDY_FLAGS) $(ANALYZE_SRC) -- \
		    -std=c99 -iquote src || status=1; \
	else \
		echo "analyze: clang-tidy not installed, skipped"; \
	fi; \
	if [ $$status -ne 0 ]; then echo "analyze: findings above"; fi; \
	exit $$status

.PHONY: all analyze check clean helpers install install-strip lint san \
	strict uninstall
