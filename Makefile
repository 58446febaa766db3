# xdpns — build, test, demo. See README.md.
CLANG ?= clang
CC ?= gcc
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

BUILD := build
BPF_SRC := $(wildcard bpf/*.bpf.c)
BPF_OBJ := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRC))
SKEL := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRC))
BPF_HDRS := $(wildcard bpf/lib/*.h include/*.h)

WARN := -Wall -Wextra -Werror
# -mcpu=v3: 32-bit ALU and jumps (Linux >= 5.1). Without them every u32
# operation is followed by a zero extension (<<= 32, >>= 32): the program
# is 5 % longer and an A hit ~12 ns slower (bench/RESULTS.md).
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(WARN) \
	-Wno-unused-function -Iinclude -Ibpf -I/usr/include/$(MULTIARCH)
CFLAGS ?= -O2 -g
CFLAGS += $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Ibpf -Iuserspace -I$(BUILD) \
	$(SAN_CFLAGS)
LDLIBS := -lxdp -lbpf -lldns -lyaml -lcrypto -lelf -lz -lpthread

USER_SRC := $(filter-out userspace/main.c,$(wildcard userspace/*.c))
USER_OBJ := $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(USER_SRC))
USER_HDRS := $(wildcard userspace/*.h)

PREFIX ?= /usr/local

.SECONDARY:
.PHONY: all deps test demo bench bench-cost bench-scale bench-load install clean unit bpftest e2e fuzz fuzz-build fuzz-replay asan
all: $(BUILD)/xdpns $(BUILD)/peer_pass.bpf.o

deps:
	@scripts/deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) Makefile | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/peer_pass.bpf.o: tests/e2e/peer_pass.bpf.c Makefile | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# the benchmark's ceiling: a bare XDP_TX reflector (bench/run.sh)
$(BUILD)/reflector.bpf.o: bench/reflector.bpf.c Makefile | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# the XDP program's cost per packet via BPF_PROG_TEST_RUN (bench/xdpcost.c)
$(BUILD)/xdpcost: bench/xdpcost.c $(BUILD)/libxdpns.a
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libxdpns.a $(LDLIBS)

# what an IXFR costs in proportion to the zone (bench/ixfrcost.c)
$(BUILD)/ixfrcost: bench/ixfrcost.c $(BUILD)/libxdpns.a
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libxdpns.a $(LDLIBS)

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: userspace/%.c $(USER_HDRS) $(SKEL) include/xdpns_maps.h bpf/lib/dns.h | $(BUILD)/obj
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libxdpns.a: $(USER_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/xdpns: $(BUILD)/obj/main.o $(BUILD)/libxdpns.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD) $(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# ---- tests ----
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

$(BUILD)/tests/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h) $(BUILD)/libxdpns.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libxdpns.a $(LDLIBS) -lcmocka

$(BUILD)/tests/bpf_test: tests/bpf/bpf_test.c $(BUILD)/libxdpns.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libxdpns.a $(LDLIBS) -lcmocka

# ---- fuzzing (libFuzzer, ASan, UBSan) ----
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-std=gnu11 -D_GNU_SOURCE -Iinclude -Ibpf -Iuserspace -I$(BUILD)
FUZZ_LIB_SRC := userspace/wire.c userspace/zone.c userspace/engine.c \
	userspace/siphash.c userspace/config.c userspace/log.c
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

$(BUILD)/fuzz:
	mkdir -p $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_tmp.h $(FUZZ_LIB_SRC) $(USER_HDRS) bpf/lib/dns.h include/xdpns_maps.h | $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_SRC) $(LDLIBS)

# fuzz_xfr compiles xfr.c and tsig.c into itself (with sockets, time and
# randomness replaced): rebuild it when they change
$(BUILD)/fuzz/fuzz_xfr: userspace/xfr.c userspace/tsig.c

fuzz-build: $(FUZZ_TARGETS)

# replay every corpus file once (part of make test)
fuzz-replay: $(FUZZ_TARGETS)
	@tests/fuzz/replay.sh $(FUZZ_TARGETS)

# explore: each target for FUZZ_SECONDS, new inputs kept in its corpus
fuzz: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do n=$$(basename $$t); \
		echo "== $$n ($(FUZZ_SECONDS)s)"; \
		$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			tests/fuzz/corpus/$${n#fuzz_} || exit 1; done

# ---- sanitizer build of the daemon (ASan + UBSan), used by the e2e tests ----
# The whole daemon with clang, into its own build dir; tests/run-all.sh runs
# every end-to-end suite with it (tests/e2e/lib.sh sets ASAN_OPTIONS and
# UBSAN_OPTIONS and fails a suite on any sanitizer report).
ASAN_BUILD := build-asan
ASAN_CC ?= clang
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all

asan:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CC=$(ASAN_CC) \
		SAN_CFLAGS="$(ASAN_FLAGS)" $(ASAN_BUILD)/xdpns

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

bpftest: $(BUILD)/tests/bpf_test
	@$(BUILD)/tests/bpf_test

# the end-to-end suites alone, with the sanitizer build of the daemon
e2e: all
	@$(MAKE) --no-print-directory asan
	@XDPNS=$(CURDIR)/$(ASAN_BUILD)/xdpns tests/run-all.sh --e2e

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(BUILD)/tests/bpf_test $(FUZZ_TARGETS)
	@$(MAKE) --no-print-directory asan
	@XDPNS=$(CURDIR)/$(ASAN_BUILD)/xdpns tests/run-all.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/reflector.bpf.o
	@bench/run.sh

# kxdpgun for 30 s with RRL off and on: memory flat, alive, slip share
bench-load: deps
	@$(MAKE) --no-print-directory all
	@bench/load.sh

# the XDP program's cost per packet from BPF_PROG_TEST_RUN (no network)
bench-cost: deps
	@$(MAKE) --no-print-directory all $(BUILD)/xdpcost $(BUILD)/reflector.bpf.o
	@bench/cost.sh

bench-scale: deps
	@$(MAKE) --no-print-directory all
	@bench/scale.sh

# The binary in $(PREFIX)/sbin, man pages in $(PREFIX)/share/man, the
# systemd unit in $(PREFIX)/lib/systemd/system (systemd looks in
# /usr/local/lib/systemd/system too; PREFIX=/usr for a package puts it in
# /usr/lib/systemd/system) with its paths set to $(PREFIX), and
# $(SYSCONFDIR)/xdpns/xdpns.yaml.example. DESTDIR stages it all elsewhere.
SYSCONFDIR ?= /etc
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system

install: $(BUILD)/xdpns
	install -D -m 0755 $(BUILD)/xdpns $(DESTDIR)$(PREFIX)/sbin/xdpns
	install -D -m 0644 man/xdpns.8 $(DESTDIR)$(MANDIR)/man8/xdpns.8
	install -D -m 0644 man/xdpns.conf.5 $(DESTDIR)$(MANDIR)/man5/xdpns.conf.5
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/local/sbin/|$(PREFIX)/sbin/|g' \
		-e 's|/etc/xdpns/|$(SYSCONFDIR)/xdpns/|g' \
		packaging/xdpns.service >$(DESTDIR)$(UNITDIR)/xdpns.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/xdpns.service
	install -D -m 0644 packaging/xdpns.yaml.example \
		$(DESTDIR)$(SYSCONFDIR)/xdpns/xdpns.yaml.example

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
