# The benchmark: `make bench` builds the tools under build/bench/ and runs
# tests/bench/run (about 13 minutes; BENCH_QUICK=1 for under one); `make
# bench-rules` times the text rules.  Included by the Makefile; also
# usable alone: make -f tests/bench/bench.mk bench.
# Never part of `make check`: a timing never fails the test suite.

CC ?= cc
CFLAGS ?= -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Werror
BENCH_OPT ?= -O2
BENCH_DIR ?= build/bench
BENCH_TOOLS = $(BENCH_DIR)/loadgen $(BENCH_DIR)/spawnloop $(BENCH_DIR)/tiny \
	$(BENCH_DIR)/bare

.PHONY: bench bench-tools bench-rules

# tcpwarden is built by the including Makefile; if it fails to build (or
# there is no such target), the peers are benchmarked alone and the run
# says so.
bench: bench-tools
	@$(MAKE) --no-print-directory tcpwarden || \
		echo "bench: tcpwarden did not build; benchmarking the peers alone"
	BENCH_BIN=$(BENCH_DIR) bash tests/bench/run

bench-tools: $(BENCH_TOOLS)

$(BENCH_DIR)/loadgen: tests/bench/loadgen.c | $(BENCH_DIR)
	$(CC) $(CFLAGS) $(BENCH_OPT) -o $@ tests/bench/loadgen.c

$(BENCH_DIR)/spawnloop: tests/bench/spawnloop.c | $(BENCH_DIR)
	$(CC) $(CFLAGS) $(BENCH_OPT) -o $@ tests/bench/spawnloop.c

$(BENCH_DIR)/bare: tests/bench/bare.c | $(BENCH_DIR)
	$(CC) $(CFLAGS) $(BENCH_OPT) -o $@ tests/bench/bare.c

# Without libc on x86-64 (see tiny.c: glibc's start-up is mostly cpuid,
# which a VM makes slow), else static where libc.a is installed, else
# dynamic.  $@.link records which, and the run prints it.
TINY_NOLIBC_FLAGS = -DTINY_NOLIBC -static -nostdlib -ffreestanding \
	-fno-stack-protector
$(BENCH_DIR)/tiny: tests/bench/tiny.c | $(BENCH_DIR)
	@if [ "$$(uname -m)" = x86_64 ] && $(CC) $(CFLAGS) $(BENCH_OPT) \
		$(TINY_NOLIBC_FLAGS) -o $@ tests/bench/tiny.c 2>/dev/null && \
		[ "$$($@)" = "tiny: hello" ]; then \
		echo "static, no libc" >$@.link; \
		echo "$(CC) $(CFLAGS) $(BENCH_OPT) $(TINY_NOLIBC_FLAGS) -o $@ tests/bench/tiny.c"; \
	elif $(CC) $(CFLAGS) $(BENCH_OPT) -static -o $@ tests/bench/tiny.c \
		2>/dev/null; then \
		echo static >$@.link; \
		echo "$(CC) $(CFLAGS) $(BENCH_OPT) -static -o $@ tests/bench/tiny.c"; \
	else \
		echo "bench: no static libc; building tiny dynamic"; \
		$(CC) $(CFLAGS) $(BENCH_OPT) -o $@ tests/bench/tiny.c && \
		echo dynamic >$@.link; \
	fi

$(BENCH_DIR):
	mkdir -p $@

BENCH_RULES_SRC = src/rules.c src/cdb.c src/file.c src/addr.c
$(BENCH_DIR)/rulesbench: tests/bench/rulesbench.c $(BENCH_RULES_SRC) \
    src/rules.h src/cdb.h src/file.h src/addr.h | $(BENCH_DIR)
	$(CC) $(CFLAGS) $(BENCH_OPT) -Isrc -o $@ tests/bench/rulesbench.c \
	    $(BENCH_RULES_SRC)

bench-rules: $(BENCH_DIR)/rulesbench
	$(BENCH_DIR)/rulesbench
