# Static analysis of issue 5: cppcheck, gcc's -fanalyzer and clang-tidy
# over src/ and cmd/.  Every tool runs even after one fails, so a round
# shows every finding; `analyze` fails if any tool found anything.  A false
# positive is silenced where it stands, with its reason:
#	cppcheck:   // cppcheck-suppress ID      (on the line before)
#	gcc:        #pragma GCC diagnostic ignored "-Wanalyzer-..."
#	clang-tidy: NOLINT(check) in a comment on the line
# Included by the Makefile; the ?= defaults let it run alone:
#	make -f mk/analyze.mk analyze
CFLAGS ?= -std=c99 -O2 -g -Wall -Wextra -Wpedantic -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror

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

.PHONY: analyze

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
