# The libFuzzer targets: options, numbers and escapes, addresses, text
# rules, cdb files, PROXY protocol headers.  Included by the Makefile; the
# ?= defaults let it run alone:  make -f tests/fuzz/fuzz.mk fuzz
#
#	fuzz-build	build every target: build/fuzz_NAME
#	fuzz		run each of FUZZ_TARGETS for FUZZ_SECONDS (tests/fuzz/run):
#			one line "fuzz NAME: N execs in S s, 0 crashes" each;
#			fails if any crashed.  One target for long:
#			make fuzz FUZZ_TARGETS=addr FUZZ_SECONDS=600
BUILD ?= build

FUZZ_CC ?= clang
FUZZ_FLAGS ?= -std=c99 -g -O1 -Wall -Wextra -Wpedantic -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= parse addr options rules cdb proxy

# Per-target libFuzzer flags.  The dictionaries give the words of grammars
# that live in uninstrumented code (inet_pton, getopt_long), which
# coverage alone cannot lead the fuzzer to.
FUZZ_RUN_parse = -max_len=4096
FUZZ_RUN_addr = -max_len=256 -dict=tests/fuzz/addr.dict
FUZZ_RUN_options = -max_len=4096 -dict=tests/fuzz/options.dict
FUZZ_RUN_rules = -max_len=4096
FUZZ_RUN_cdb = -max_len=8192
FUZZ_RUN_proxy = -max_len=1200 -dict=tests/fuzz/proxy.dict

.PHONY: fuzz fuzz-build

fuzz-build: $(BUILD)/fuzz_parse $(BUILD)/fuzz_addr $(BUILD)/fuzz_options \
    $(BUILD)/fuzz_rules $(BUILD)/fuzz_cdb $(BUILD)/fuzz_proxy

# Every target runs even after one crashes, so one round reports them all.
fuzz: fuzz-build
	@status=0; \
	$(foreach t,$(FUZZ_TARGETS),sh tests/fuzz/run $(BUILD) $(t) $(FUZZ_SECONDS) \
	    $(FUZZ_RUN_$(t)) || status=1;) \
	exit $$status

$(BUILD)/fuzz_parse: tests/fuzz/fuzz_parse.c src/parse.c src/parse.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc -o $@ tests/fuzz/fuzz_parse.c src/parse.c

$(BUILD)/fuzz_addr: tests/fuzz/fuzz_addr.c src/addr.c src/addr.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc -o $@ tests/fuzz/fuzz_addr.c src/addr.c

# main becomes tcpwarden_main (a name with no prototype, hence the one
# warning let through), and the fuzzer's own server_run stands in for the
# server.  --wrap turns the parser's _exit into a longjmp back to the
# fuzzer, and lets it catch strdup and write: see tests/fuzz/fuzz_options.c.
FUZZ_OPTIONS_SRC = src/parse.c src/log.c src/addr.c src/proxy.c
FUZZ_OPTIONS_WRAP = -Wl,--wrap=_exit,--wrap=strdup,--wrap=write

$(BUILD)/fuzz_options_main.o: cmd/tcpwarden.c src/config.h src/log.h \
    src/parse.h src/server.h src/addr.h src/proxy.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Wno-missing-prototypes \
	    -Dmain=tcpwarden_main -Isrc -c -o $@ cmd/tcpwarden.c

$(BUILD)/fuzz_options: tests/fuzz/fuzz_options.c $(BUILD)/fuzz_options_main.o \
    $(FUZZ_OPTIONS_SRC) src/config.h src/log.h src/parse.h src/server.h
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc -o $@ tests/fuzz/fuzz_options.c \
	    $(BUILD)/fuzz_options_main.o $(FUZZ_OPTIONS_SRC) \
	    $(FUZZ_OPTIONS_WRAP)

FUZZ_RULES_SRC = src/rules.c src/cdb.c src/file.c src/addr.c
FUZZ_RULES_DEP = $(FUZZ_RULES_SRC) src/rules.h src/cdb.h src/file.h \
    src/addr.h

$(BUILD)/fuzz_rules: tests/fuzz/fuzz_rules.c $(FUZZ_RULES_DEP)
	@mkdir -p $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc -o $@ tests/fuzz/fuzz_rules.c \
	    $(FUZZ_RULES_SRC)

$(BUILD)/fuzz_cdb: tests/fuzz/fuzz_cdb.c $(FUZZ_RULES_DEP)
	@mkdir -p $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc -o $@ tests/fuzz/fuzz_cdb.c \
	    $(FUZZ_RULES_SRC)

$(BUILD)/fuzz_proxy: tests/fuzz/fuzz_proxy.c src/proxy.c src/proxy.h \
    src/addr.c src/addr.h src/parse.c src/parse.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Isrc -o $@ tests/fuzz/fuzz_proxy.c \
	    src/proxy.c src/addr.c src/parse.c
