# personalize-retrain - keep an Amazon Personalize deployment fresh.
#
# Layout-driven: every src/*.c except main.c goes into one static library;
# tests/unit/test_*.c each become one cmocka binary; tests/emulator/*.c make
# the emulator; tests/fuzz/fuzz_*.c each a libFuzzer harness; tests/bench/bench_*.c
# each a benchmark. Adding a module or a test needs no edit here.
#
# Quiet by default (CC src/aws.o, LD personalize-retrain); V=1 prints the
# commands. make check builds with -Werror; a plain make warns but builds
# (WERROR=1 makes it strict too).

PROGRAM   := personalize-retrain
VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DESTDIR   ?=

PKG_CONFIG ?= pkg-config
CC        ?= cc
# SANITIZER=address,undefined builds everything instrumented into its own dir.
SANITIZER ?=
# BUILDROOT lets several builds of one tree live side by side
# (make check BUILDROOT=build/mine); the sanitizer build goes under it.
BUILDROOT ?= build
ifeq ($(SANITIZER),)
BUILD     ?= $(BUILDROOT)
else
BUILD     ?= $(BUILDROOT)/san
endif

DEPS      := libcurl libcrypto libcjson yaml-0.1 libsystemd expat
TEST_DEPS := cmocka
EMU_DEPS  := libmicrohttpd

# Quiet by default ("CC src/aws.o"); V=1 prints every command in full.
V ?= 0
ifeq ($(V),0)
Q         := @
quiet      = @printf '  %-4s %s\n' '$(1)' '$(patsubst $(BUILDROOT)/%,%,$(2))';
else
Q         :=
quiet      =
endif

# Warnings are errors where the tree is tested (make check, CI: WERROR=1);
# a plain build by a packager with a newer compiler warns but builds.
WERROR ?= 0
ifeq ($(WERROR),1)
WERROR_FLAG := -Werror
else
WERROR_FLAG :=
endif

WARN := -Wall -Wextra $(WERROR_FLAG) -Wshadow -Wpointer-arith -Wcast-qual \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wformat-security \
	-Wundef -Wwrite-strings -Wvla -Wnull-dereference -Wimplicit-fallthrough \
	-Wno-missing-field-initializers
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude $(WARN) \
	-DPR_VERSION='"$(VERSION)"' -MMD -MP
# The user's CFLAGS win over our defaults but never remove the warnings above.
CFLAGS    ?= -O2 -g
ifneq ($(SANITIZER),)
SAN_FLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

PKG_CFLAGS   = $(shell $(PKG_CONFIG) --cflags $(DEPS))
PKG_LIBS     = $(shell $(PKG_CONFIG) --libs $(DEPS))
TEST_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(TEST_DEPS))
TEST_LIBS    = $(shell $(PKG_CONFIG) --libs $(TEST_DEPS))
EMU_CFLAGS   = $(shell $(PKG_CONFIG) --cflags $(EMU_DEPS))
EMU_LIBS     = $(shell $(PKG_CONFIG) --libs $(EMU_DEPS))

ALL_CFLAGS   = $(BASE_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(SAN_FLAGS)
ALL_LDFLAGS  = $(LDFLAGS) $(SAN_FLAGS)
LIBS         = $(PKG_LIBS) -lm

# Objects remember the compiler and flags they were built with: a change of
# CC, CFLAGS, LDFLAGS or a package's flags rebuilds them. -Werror is left out
# on purpose, so that make check after make demo reuses the demo's objects
# (the same code, compiled with the same warnings shown); CI builds from a
# clean clone, where every object is compiled with -Werror.
FLAGS_STAMP := $(BUILD)/.build-flags
FLAGS_NOW    = $(CC) $(filter-out -Werror,$(ALL_CFLAGS)) $(TEST_CFLAGS) $(EMU_CFLAGS) \
	$(ALL_LDFLAGS) $(LIBS)
same_text    = $(and $(findstring $(strip $(1)),$(strip $(2))),$(findstring $(strip $(2)),$(strip $(1))))
# install and deploy take what the build made (make, then sudo make install,
# or a read-only tree in a container): their environment may differ from the
# builder's, and that alone must not rebuild as root.
NO_STAMP_GOALS := install uninstall deploy undeploy list-deployed install-files-list systemd-test
ifneq ($(filter-out $(NO_STAMP_GOALS),$(or $(MAKECMDGOALS),all)),)
STAMP_DEP := $(FLAGS_STAMP)
endif

LIB_SRC   := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBRARY   := $(BUILD)/libpersonalize-retrain.a
MAIN_OBJ  := $(BUILD)/src/main.o
BIN       := $(BUILD)/$(PROGRAM)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# tests/unit/*.c that are not test_*.c are helpers linked into every test.
UNIT_HELP := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
UNIT_HOBJ := $(UNIT_HELP:%.c=$(BUILD)/%.o)

EMU_SRC   := $(wildcard tests/emulator/*.c)
EMU_OBJ   := $(EMU_SRC:%.c=$(BUILD)/%.o)
EMULATOR  := $(BUILD)/personalize-emulator
# The emulator without its HTTP front end (emu_main.c): the test_emu_*
# suites link it, as the emulator itself does.
EMU_LIB   := $(BUILD)/libpersonalize-emulator.a
EMU_LIB_OBJ := $(filter-out $(BUILD)/tests/emulator/emu_main.o,$(EMU_OBJ))

BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILDROOT)/fuzz/%)
FUZZ_TIME ?= 60

.PHONY: all deps lib unit-build emulator check unit integration demo bench fuzz \
	clean install uninstall FORCE
.DEFAULT_GOAL := all

all: $(BIN) $(if $(EMU_SRC),$(EMULATOR))

deps:
	@scripts/install-deps

lib: $(LIBRARY)

# (The recipe is expanded before it runs: the directory is made by $(shell).)
$(FLAGS_STAMP): FORCE
	$(if $(call same_text,$(FLAGS_NOW),$(file <$(FLAGS_STAMP))),@:,$(shell mkdir -p $(dir $@))$(file >$@,$(FLAGS_NOW))@echo '  new build flags in $(patsubst $(BUILDROOT)/%,%,$(BUILD))/')

$(BUILD)/%.o: %.c $(STAMP_DEP)
	@mkdir -p $(dir $@)
	$(call quiet,CC,$@)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%.o: tests/unit/%.c $(STAMP_DEP)
	@mkdir -p $(dir $@)
	$(call quiet,CC,$@)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(BUILD)/tests/emulator/%.o: tests/emulator/%.c $(STAMP_DEP)
	@mkdir -p $(dir $@)
	$(call quiet,CC,$@)$(CC) $(ALL_CFLAGS) $(EMU_CFLAGS) -c -o $@ $<

$(LIBRARY): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(call quiet,AR,$@)$(AR) rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIBRARY)
	$(call quiet,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(UNIT_HOBJ) $(LIBRARY)
	@mkdir -p $(dir $@)
	$(call quiet,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

$(EMU_LIB): $(EMU_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(call quiet,AR,$@)$(AR) rcs $@ $^

# test_emu_* suites: the emulator's library too (a more specific pattern
# than the rule above, so make prefers it)
$(BUILD)/tests/test_emu_%: $(BUILD)/tests/unit/test_emu_%.o $(UNIT_HOBJ) $(EMU_LIB) $(LIBRARY)
	@mkdir -p $(dir $@)
	$(call quiet,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

$(EMULATOR): $(EMU_OBJ) $(LIBRARY)
	$(call quiet,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(EMU_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIBRARY)
	@mkdir -p $(dir $@)
	$(call quiet,CCLD,$@)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LIBS)

unit-build: $(UNIT_BIN)
emulator: $(EMULATOR)

# ---- tests -------------------------------------------------------------
# check: deps, the plain build (program, emulator, unit suites), then the
# integration tests against it (shell/python scripts against the emulator)
# and, beside them, the plain unit suites, the ASan+UBSan build and its
# unit suites (tests/run-tests: --build, TEST_JOBS). Builds use as many jobs
# as there are CPUs, unless make was given -j (its jobserver is shared then).
CHECK_J = $$(case " $$MAKEFLAGS " in *" -j"*) ;; *) echo -j$$(nproc 2>/dev/null || echo 2) ;; esac)
# make -n check prints the run-tests command (a line that calls $(MAKE)
# runs even under -n, so that its sub-make can print what it would do)
CHECK_DRY = $(findstring n,$(filter-out --%,$(firstword -$(MAKEFLAGS))))
check: deps
	$(MAKE) --no-print-directory $(CHECK_J) BUILDROOT=$(BUILDROOT) WERROR=1 all unit-build
	@$(if $(CHECK_DRY),echo )tests/run-tests $(BUILDROOT) \
		--build '$(MAKE) --no-print-directory $(CHECK_J) BUILDROOT=$(BUILDROOT) WERROR=1 SANITIZER=address,undefined all unit-build' \
		$(BUILDROOT)/san

unit: unit-build
	@tests/run-tests --unit-only $(BUILD)

integration: all
	@tests/run-tests --integration-only $(BUILD)

bench: deps
	$(MAKE) --no-print-directory CFLAGS="-O2 -g" all $(BENCH_BIN)
	@tests/bench/run $(BUILD)

# libFuzzer needs clang; each harness links the library sources directly.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -Iinclude -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(PKG_CFLAGS)
$(BUILDROOT)/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	$(call quiet,CCLD,$@)clang $(FUZZ_CFLAGS) -o $@ $^ $(LIBS)
# The tests' SigV4 verifier (a unit helper) for the harness that drives it.
$(BUILDROOT)/fuzz/fuzz_sigv4: tests/unit/sigv4_check.c

fuzz: deps $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
		n=$$(basename $$f); mkdir -p $(BUILDROOT)/fuzz/corpus-$$n; \
		seeds=tests/fuzz/corpus/$${n#fuzz_}; [ -d $$seeds ] || seeds=; \
		echo "== $$n for $(FUZZ_TIME) s"; \
		$$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			$(BUILDROOT)/fuzz/corpus-$$n $$seeds || exit 1; \
	done

demo: deps all
	@scripts/demo $(BUILD)

# ---- install -----------------------------------------------------------
-include mk/*.mk

clean:
	rm -rf $(BUILDROOT)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
