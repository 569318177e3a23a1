# The access-rules modules (src/rules.c, src/cdb.c): their test helpers,
# fuzz targets and benchmark.  Included by the Makefile; the ?= defaults
# let it run alone:  make -f mk/rules.mk rules-helpers
#
#	rules-helpers	build/cdbmake-rules and build/rulescheck (tests/rules.bats)
#	fuzz-rules	build the libFuzzer targets and run each FUZZ_SECONDS
#	bench-rules	build and run build/rulesbench
CC ?= cc
CFLAGS ?= -std=c99 -O2 -g -Wall -Wextra -Wpedantic -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror
BUILD ?= build

RULES_SRC = src/rules.c src/cdb.c src/addr.c
RULES_DEP = $(RULES_SRC) src/rules.h src/cdb.h src/addr.h

FUZZ_CC ?= clang
FUZZ_FLAGS ?= -std=c99 -g -O1 -Wall -Wextra -Wpedantic -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60
RULES_CORPUS = $(BUILD)/fuzz-corpus

.PHONY: rules-helpers fuzz-rules fuzz-rules-build bench-rules

rules-helpers: $(BUILD)/cdbmake-rules $(BUILD)/rulescheck

$(BUILD)/cdbmake-rules: tests/helpers/cdbmake.c $(RULES_DEP)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CPPFLAGS) -Isrc -o $@ tests/helpers/cdbmake.c \
	    $(RULES_SRC) $(LDFLAGS)

$(BUILD)/rulescheck: tests/helpers/rulescheck.c $(RULES_DEP)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CPPFLAGS) -Isrc -o $@ tests/helpers/rulescheck.c \
	    $(RULES_SRC) $(LDFLAGS)

$(BUILD)/rulesbench: tests/bench/rulesbench.c $(RULES_DEP)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(CPPFLAGS) -O2 -Isrc -o $@ tests/bench/rulesbench.c \
	    $(RULES_SRC) $(LDFLAGS)

$(BUILD)/fuzz_rules: fuzz/fuzz_rules.c $(RULES_DEP)
	@mkdir -p $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc -o $@ fuzz/fuzz_rules.c $(RULES_SRC)

$(BUILD)/fuzz_cdb: fuzz/fuzz_cdb.c $(RULES_DEP)
	@mkdir -p $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc -o $@ fuzz/fuzz_cdb.c $(RULES_SRC)

fuzz-rules-build: $(BUILD)/fuzz_rules $(BUILD)/fuzz_cdb

# Seeds: one text file using every address form, and the cdb
# cdbmake-rules makes of its tcprules subset, so the fuzzers start from
# valid input and mutate their way out of it.
fuzz-rules: fuzz-rules-build $(BUILD)/cdbmake-rules
	@mkdir -p $(RULES_CORPUS)/rules $(RULES_CORPUS)/cdb
	printf '%s\n' '# seed' '1.2.3.4:deny' '10.0.:allow,X="y"' \
	    '1.2.3.37-53:allow' '10.2-3.:deny' '=host.example.com:allow' \
	    '=.example.com:allow,A=/b/' '=:deny' 'joe@1.2.3.4:allow' \
	    'joe@=h.example.com:deny' '2001:db8::1:allow' '2001:db8::allow' \
	    '::ffff:1.2.3.4:deny' ':allow' >$(RULES_CORPUS)/rules/seed0
	printf '%s\n' '10.0.0.0/8:deny' '2001:db8::/32:allow,V="6"' \
	    '192.168.0.0/16:allow' '2001:db8:1::/48:deny' \
	    '::ffff:10.1.0.0/112:deny' >$(RULES_CORPUS)/rules/seed1
	$(BUILD)/cdbmake-rules $(RULES_CORPUS)/cdb/seed0 \
	    $(RULES_CORPUS)/cdb/seed0.tmp <$(RULES_CORPUS)/rules/seed0
	$(BUILD)/fuzz_rules -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=4096 $(RULES_CORPUS)/rules
	$(BUILD)/fuzz_cdb -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=8192 $(RULES_CORPUS)/cdb

bench-rules: $(BUILD)/rulesbench
	$(BUILD)/rulesbench
