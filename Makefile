# layerctl — see README.md. `make demo` and `make check` are all a fresh Debian 12 needs (as root).

CC ?= cc
PKGS := libcurl openssl libarchive libzstd jansson zlib
# libcurl and libarchive are not linked: fetch/curl-dl.c and store/archive-dl.c load them on
# first use (their headers still check every call), so `run`, `ps`, `--help` never map them
LINK_PKGS := $(filter-out libcurl libarchive openssl,$(PKGS))
# libcrypto only for sha256 (base/digest.c): linked statically, the few objects it needs
CRYPTO_LIBS := -Wl,-Bstatic -lcrypto -Wl,-Bdynamic
CHECK_PKG := check

# Debian packages needed to build, test and demo (make deps installs the missing ones).
DEB_PKGS := build-essential pkg-config libcurl4-openssl-dev libssl-dev libarchive-dev \
	libzstd-dev libjansson-dev zlib1g-dev check docker-registry skopeo busybox-static \
	nginx-light python3-minimal python3 util-linux procps perl iproute2 curl ca-certificates \
	clang clang-format cppcheck zstd strace e2fsprogs libisal-dev man-db uidmap
# only make bench needs these (the peers it measures against)
BENCH_PKGS := umoci runc crun podman isal strace time
# only make fuzz needs libFuzzer (make check replays the corpora without it)
FUZZ_PKGS := libclang-rt-14-dev

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wvla -Wwrite-strings
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -pthread $(CFLAGS) \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null) $(CRYPTO_LIBS) -pthread
CHECK_LIBS = $(shell pkg-config --libs $(CHECK_PKG) 2>/dev/null)

SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all $(SAN_EXTRA)

LIB_SRC := $(sort $(wildcard base/*.c store/*.c fetch/*.c mount/*.c))
CMD_SRC := $(sort $(wildcard cmd/*.c))
HDRS := $(wildcard base/*.h store/*.h fetch/*.h mount/*.h cmd/*.h)
UNIT_SRC := $(sort $(wildcard tests/unit/check_*.c))

B := build
LIB_OBJ := $(LIB_SRC:%.c=$(B)/plain/%.o)
MODULES := base store fetch mount
# Unit suites link only the modules they test and what those may include (DESIGN.md).
DEPS_base := base
DEPS_store := store base
DEPS_store_usage := store base
DEPS_fetch := fetch store base
DEPS_mount := mount store base
DEPS_cgroup := mount store base
# cmd has no library: its suite links the cmd files it tests (none holds a verb or main)
DEPS_cmd := mount store base
UNIT_OBJ_cmd := cmd/runopts.o cmd/container.o cmd/userns.o
CMD_OBJ := $(CMD_SRC:%.c=$(B)/plain/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/plain/tests/%)
UNIT_BIN_SAN := $(UNIT_SRC:tests/unit/%.c=$(B)/san/tests/%)

PREFIX ?= /usr/local

# quiet by default; make V=1 shows the commands
ifeq ($(V),1)
Q :=
SAY := @true
else
Q := @
SAY := @printf '  %-6s %s\n'
endif

.PHONY: all deps bench-deps fuzz-deps check unit unit-san integration integration-san integration-smoke demo bench clean fmt \
	registry registry-stop man \
	fmt-check analyze install testdata clang fuzz fuzz-replay fuzz-corpus

all: layerctl

layerctl: $(CMD_OBJ) $(B)/plain/liblayerctl.a
	$(SAY) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(CMD_OBJ) $(B)/plain/liblayerctl.a $(LIBS)

$(B)/plain/liblayerctl.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

# the whole binary under ASan+UBSan, for the integration tests (make integration-san)
$(B)/san/layerctl: $(CMD_SRC:%.c=$(B)/san/%.o) $(foreach m,$(MODULES),$(B)/san/lib$(m).a)
	$(SAY) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $(CMD_SRC:%.c=$(B)/san/%.o) \
		$(B)/san/libfetch.a $(B)/san/libmount.a $(B)/san/libstore.a $(B)/san/libbase.a $(LIBS)

# one archive per module and build flavour
define modlib
$(B)/$(1)/lib$(2).a: $$(patsubst %.c,$(B)/$(1)/%.o,$$(sort $$(wildcard $(2)/*.c)))
	@rm -f $$@
	$(Q)ar rcs $$@ $$^
endef
$(foreach f,plain san,$(foreach m,$(MODULES),$(eval $(call modlib,$(f),$(m)))))

modlibs = $(foreach m,$(DEPS_$(1)),$(B)/$(2)/lib$(m).a)

$(B)/plain/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(SAY) $(notdir $(CC)) $<
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/san/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(SAY) "$(notdir $(CC)) san" $<
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -c -o $@ $<

.SECONDEXPANSION:
$(B)/plain/tests/check_%: tests/unit/check_%.c tests/unit/unit.h \
		$$(addprefix $(B)/plain/,$$(UNIT_OBJ_$$*)) $$(call modlibs,$$*,plain)
	@mkdir -p $(dir $@)
	$(SAY) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(addprefix $(B)/plain/,$(UNIT_OBJ_$*)) \
		$(call modlibs,$*,plain) $(CHECK_LIBS) $(LIBS)

$(B)/san/tests/check_%: tests/unit/check_%.c tests/unit/unit.h \
		$$(addprefix $(B)/san/,$$(UNIT_OBJ_$$*)) $$(call modlibs,$$*,san)
	@mkdir -p $(dir $@)
	$(SAY) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $< $(addprefix $(B)/san/,$(UNIT_OBJ_$*)) \
		$(call modlibs,$*,san) $(CHECK_LIBS) $(LIBS)

# Fuzz targets (tests/fuzz/fuzz_<name>.c) and the modules each links. With the replay driver
# (tests/fuzz/driver.c, gcc, ASan+UBSan: make fuzz-replay, part of make check) or with
# libFuzzer (clang: make fuzz, which rebuilds everything under build/fuzz with
# FUZZ_MAIN= FUZZ_LINK=-fsanitize=fuzzer).
FUZZ_TARGETS := ref manifest challenge token docker_config hosts passwd tar
FUZZ_DEPS_ref := fetch store base
FUZZ_DEPS_manifest := fetch store base
FUZZ_DEPS_challenge := fetch store base
FUZZ_DEPS_token := fetch store base
FUZZ_DEPS_docker_config := fetch store base
FUZZ_DEPS_hosts := fetch store base
FUZZ_DEPS_passwd := mount store base
FUZZ_DEPS_tar := store base
FUZZ_MAIN ?= tests/fuzz/driver.c
FUZZ_LINK ?=
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(wildcard tests/fuzz/*.c tests/fuzz/*.h)

$(B)/san/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_MAIN) \
		$$(foreach m,$$(FUZZ_DEPS_$$*),$(B)/san/lib$$(m).a)
	@mkdir -p $(dir $@)
	$(SAY) LINK $@
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) $(FUZZ_LINK) -o $@ $< $(FUZZ_MAIN) \
		$(foreach m,$(FUZZ_DEPS_$*),$(B)/san/lib$(m).a) $(LIBS)

# Install what is missing from Debian's archive (as root); a no-op when everything is there.
define install_missing
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
		|| echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make: missing Debian packages: $$missing (run as root)" >&2; exit 1; \
		fi; \
		echo "make: installing $$missing"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$$missing >/dev/null || exit 1; \
	fi
endef

deps:
	$(call install_missing,$(DEB_PKGS))

bench-deps:
	$(call install_missing,$(DEB_PKGS) $(BENCH_PKGS))

fuzz-deps:
	$(call install_missing,$(DEB_PKGS) $(FUZZ_PKGS))

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

unit-san: $(UNIT_BIN_SAN)
	@set -e; for t in $(UNIT_BIN_SAN); do echo "== $$t (asan+ubsan)"; \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done

# every integration test against the plain binary, one at a time (TEST_JOBS=N: N at a time)
integration: layerctl
	@tests/run-integration.sh

# every integration test against the ASan+UBSan binary (make check: three at a time)
integration-san: $(B)/san/layerctl
	@LAYERCTL=$(CURDIR)/$(B)/san/layerctl \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:exitcode=99 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run-integration.sh

# the plain binary where its build is what is tested: the libraries it loads at start, the
# syscalls of a run, the demo, and a pull, a run and a memory limit end to end
SMOKE_TESTS := t0100-pull t0200-run t0300-run-cgroups t0820-demo t0900-startup-libs \
	t0901-run-cost
integration-smoke: layerctl
	@tests/run-integration.sh $(SMOKE_TESTS:%=tests/integration/%.sh)

check: deps
	@$(MAKE) --no-print-directory fmt-check
	@$(MAKE) --no-print-directory analyze
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory clang
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-san
	@$(MAKE) --no-print-directory fuzz-replay
	@$(MAKE) --no-print-directory integration-smoke
	@TEST_JOBS=$${TEST_JOBS:-3} $(MAKE) --no-print-directory integration-san

# every corpus (seeds and crash reproducers) through its target, once: a crash found stays fixed
fuzz-replay: $(FUZZ_TARGETS:%=$(B)/san/fuzz/fuzz_%)
	@set -e; for t in $(FUZZ_TARGETS); do \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		$(B)/san/fuzz/fuzz_$$t testdata/fuzz/$$t; done

# libFuzzer, each target FUZZ_SECONDS in turn at the lowest priority; new inputs go to
# build/fuzz/corpus/<target>, crashes to build/fuzz/crashes/<target>/ (copy a reproducer
# into testdata/fuzz/<target>/ once fixed), the figures to build/fuzz/log/<target>.log
fuzz: fuzz-deps
	@$(MAKE) --no-print-directory CC=clang B=build/fuzz SAN_EXTRA=-fsanitize=fuzzer-no-link \
		FUZZ_MAIN= FUZZ_LINK=-fsanitize=fuzzer $(FUZZ_TARGETS:%=build/fuzz/san/fuzz/fuzz_%)
	@failed=; for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus/$$t build/fuzz/crashes/$$t build/fuzz/log; \
		case $$t in manifest|tar) ml=65536;; passwd) ml=16384;; *) ml=4096;; esac; \
		echo "  FUZZ   $$t ($(FUZZ_SECONDS) s)"; \
		nice -n 19 build/fuzz/san/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-max_len=$$ml -timeout=20 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=build/fuzz/crashes/$$t/ \
			build/fuzz/corpus/$$t testdata/fuzz/$$t >build/fuzz/log/$$t.log 2>&1 \
		|| { grep -A30 -E '^==[0-9]+==|invariant broken' build/fuzz/log/$$t.log | head -40; \
			failed="$$failed $$t"; }; \
		grep -E '^#[0-9]+.*cov:' build/fuzz/log/$$t.log | tail -1; \
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' \
			build/fuzz/log/$$t.log; \
	done; \
	[ -z "$$failed" ] || { echo "make fuzz: crashes in:$$failed (see build/fuzz/crashes/)"; exit 1; }

# the seed corpora in testdata/fuzz/, from real inputs (never edited by hand)
fuzz-corpus:
	testdata/make-fuzz-corpus.py testdata/fuzz

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo.sh

# the sample registry on 127.0.0.1:5000 that the README's examples pull from, left running
registry: deps
	@tests/sample-registry.sh start

registry-stop:
	@tests/sample-registry.sh stop

# layerctl pull and run side by side with skopeo+umoci, skopeo+tar, podman and runc (ratios)
bench: bench-deps all
	@tests/bench/bench.sh

# CI also compiles with clang: it refuses a goto over a cleanup declaration, gcc does not.
clang:
	$(Q)$(MAKE) --no-print-directory CC=clang B=build/clang build/clang/plain/liblayerctl.a \
		$(CMD_SRC:%.c=build/clang/plain/%.o)

install: layerctl man
	install -D -m 0755 layerctl $(DESTDIR)$(PREFIX)/bin/layerctl
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 $(B)/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

# one man page per verb, generated from the help texts (build/man/layerctl-VERB.1)
man: layerctl
	@rm -rf $(B)/man
	@tools/gen-man.sh ./layerctl $(B)/man

fmt:
	clang-format -i $(LIB_SRC) $(CMD_SRC) $(HDRS) $(UNIT_SRC) $(FUZZ_SRC)

fmt-check:
	@echo "  FMT    clang-format --dry-run"
	$(Q)clang-format --dry-run --Werror $(LIB_SRC) $(CMD_SRC) $(HDRS) $(UNIT_SRC) $(FUZZ_SRC)

# gcc -fanalyzer and cppcheck, both clean (part of make check). Where the analyzer is wrong
# (gcc 12 loses track of pointers stored in realloc'd arrays), the code says so next to a
# pragma; ASan's leak checker still holds that code to account. cppcheck knows no cleanup
# attribute: every cleanup_fclose FILE is a leak to it (resourceLeak is off: the cleanup
# attributes close them).
analyze:
	@echo "  ANALYZE gcc -fanalyzer, cppcheck"
	$(Q)for f in $(LIB_SRC) $(CMD_SRC) $(filter %.c,$(FUZZ_SRC)); do \
		gcc -std=gnu11 -D_GNU_SOURCE -pthread -O1 -fanalyzer -Werror -c -o /dev/null \
			$(shell pkg-config --cflags $(PKGS) 2>/dev/null) $$f || exit 1; \
	done
	$(Q)cppcheck --error-exitcode=1 --quiet --inline-suppr -D_GNU_SOURCE --std=c11 \
		--include=tests/analyze/cppcheck-macros.h --suppress=missingIncludeSystem \
		--suppress=resourceLeak base store fetch mount cmd tests/fuzz

clean:
	rm -rf $(B) layerctl
