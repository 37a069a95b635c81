# vlab: build, grade and test the labs.
#   make grade [LAB=name] [SOL=labs|reference]   score a solution tree
#   make test                                     the project's own checks (what CI runs)
#   make bench | coverage | handout DEST=dir | format | clean
#   make test-sanitize | fuzz | test-determinism | test-attacks   long checks (CI jobs)
#   make report [SOL=labs|reference]              build/report/index.html: the lecture's claims,
#                                                 SOL's numbers beside the reference's (report/)
#   make gradescope [LAB=name]                    Gradescope autograder zip(s) in build/gradescope/
#   make classroom                                GitHub Classroom workflows in build/classroom/
#   make deps-grade | deps                        packages to grade | everything instructors use
#   make mutate [LAB=name | PART=core|grader] [MUTATE_MAX=n]   mutation analysis (grading/mutate.sh)
#   make mutate LAB=name MUTATE_PATCHES=dir                      grade hand-written bugs the same way
#   make mutate LAB=sandbox|vmm MUTATE_VM=1       survivors graded again in the test VM (v2, KVM)
#   make image | test-image | test-arm64          the container image (Containerfile) built from
#                                                 Debian packages, graded inside; the same on arm64
# See docs/architecture.md for the layout and docs/instructor-guide.md for extending it.

SHELL := /bin/bash
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

SOL    ?= labs
LAB    ?=
BUILD  ?= build
# Where a solution's binaries go; mutant checks point SOL and SOLOUT at scratch copies.
SOLOUT ?= $(BUILD)/$(notdir $(SOL))
V      ?= 0
Q      := $(if $(filter 1,$(V)),,@)

CC      ?= gcc
CSTD    := -std=gnu11
WARN    := -Wall -Wextra -Werror
OPT     ?= -O2 -g
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(EXTRA_CFLAGS) -MMD -MP
# Recursive on purpose: pkg-config is asked only when a recipe runs, i.e. after `deps`
# has installed the packages on a fresh machine.
pc = $(shell pkg-config $(1) $(2) 2>/dev/null)

ALL_LABS := $(sort $(patsubst harness/%/tests/,%,$(wildcard harness/*/tests/)))
LABS     := $(if $(LAB),$(LAB),$(ALL_LABS))
$(foreach l,$(LABS),$(if $(filter $(l),$(ALL_LABS)),,$(error LAB=$(l): no such lab (have: $(ALL_LABS)))))

GRADER    := $(BUILD)/grading/vlab-grade
GRADE_OUT ?= $(BUILD)/grade/$(notdir $(SOL))
GRADE_FLAGS ?=

# ---------------------------------------------------------------- dependencies
# Debian package names; installed with apt-get when root, else one sudo line is printed.
# `make deps-grade` installs what building and grading $(LABS) needs (students, Gradescope's
# setup.sh, the Classroom workflow; every compile rule asks for it); `make deps` adds the
# instructors' tools (coverage, formatting, the QEMU test VM, mutants, benchmarks).
GRADE_DEBS := gcc make binutils pkg-config libcriterion-dev libcjson-dev libunicorn-dev
GRADE_DEBS_dbt := libcapstone-dev
GRADE_DEBS_sandbox := libseccomp-dev busybox-static
DEB_PKGS := $(GRADE_DEBS) patch libcapstone-dev libseccomp-dev busybox-static gcovr lcov \
            clang-format gdbserver qemu-system-x86 cpio kmod xz-utils
# Every lab's harness/<lab>/lab.mk, whichever LAB is asked for: a lab may add its own packages
# (LAB_DEBS += ...), and `make deps` installs what any lab needs.
LAB_DEBS :=
VM_GRADE :=
-include $(wildcard harness/*/lab.mk)
DEB_PKGS += $(LAB_DEBS)
# The guests are x86 whatever the host: on an x86-64 host its own as/ld/gcc, elsewhere (arm64:
# Apple Silicon under a container, Graviton) Debian's cross tools for x86-64.
HOST_ARCH := $(shell uname -m)
ifeq ($(HOST_ARCH),x86_64)
X86_AS ?= as
X86_LD ?= ld
X86_CC ?= $(CC)
else
X86_AS ?= x86_64-linux-gnu-as
X86_LD ?= x86_64-linux-gnu-ld
X86_CC ?= x86_64-linux-gnu-gcc
GRADE_DEBS += binutils-x86-64-linux-gnu gcc-x86-64-linux-gnu
DEB_PKGS += binutils-x86-64-linux-gnu gcc-x86-64-linux-gnu
endif
GRADE_PKGS = $(sort $(GRADE_DEBS) $(foreach l,$(LABS),$(GRADE_DEBS_$(l))))

# $(call install_debs,packages)
define install_debs
	$(Q)missing=""; \
	if command -v dpkg-query >/dev/null 2>&1; then \
	  for p in $(1); do \
	    dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	  done; \
	else \
	  echo "deps: not a Debian/Ubuntu system; make sure these are installed:$(foreach p,$(1), $(p))"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	      || { echo "deps: apt-get install failed"; exit 1; }; \
	  else \
	    echo "deps: missing Debian packages:$$missing"; \
	    echo "  run:  sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi
endef

.PHONY: deps deps-grade grade-debs
# The grading packages of $(LABS), one line (Gradescope's setup.sh reads it).
grade-debs:
	@echo $(GRADE_PKGS)
deps-grade:
ifneq ($(NO_DEPS),1)
	$(call install_debs,$(GRADE_PKGS))
endif
deps: deps-grade
ifneq ($(NO_DEPS),1)
	$(call install_debs,$(DEB_PKGS))
endif

# ---------------------------------------------------------------- compile helpers
# $(call compile,extra-flags): compiles $< to $@ and leaves a compile_commands fragment beside it.
define compile
	@mkdir -p $(@D)
	$(if $(filter 1,$(V)),,@echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(1) -c $< -o $@
	@printf '{"directory":"%s","file":"%s","output":"%s","command":"%s"},\n' \
	  "$(CURDIR)" "$<" "$@" "$(CC) $(CFLAGS_ALL) $(1) -c $< -o $@" > $@.json
endef

define link
	@mkdir -p $(@D)
	$(if $(filter 1,$(V)),,@echo "  LD      $@")
	$(Q)$(CC) $(OPT) $(EXTRA_CFLAGS) $(EXTRA_LDFLAGS) -o $@ $(1)
endef

define archive
	@mkdir -p $(@D)
	$(if $(filter 1,$(V)),,@echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^
endef

# A guest program: GNU as source -> flat binary. Its first lines may say `# vlab-guest: 16|32|64`
# (default 64) and `# vlab-base: 0x...` (load address, default 0x1000).
define assemble
	@mkdir -p $(@D)
	$(if $(filter 1,$(V)),,@echo "  AS      $@")
	$(Q)bits=$$(sed -n 's/^# vlab-guest: *\([0-9]*\).*/\1/p' $< | head -n 1); \
	base=$$(sed -n 's/^# vlab-base: *\(0x[0-9a-fA-F]*\).*/\1/p' $< | head -n 1); \
	bits=$${bits:-64}; base=$${base:-0x1000}; \
	if [ "$$bits" = 64 ]; then asf=--64; ldm=elf_x86_64; else asf=--32; ldm=elf_i386; fi; \
	$(X86_AS) $$asf -o $@.o $< && \
	$(X86_LD) -m $$ldm -Ttext=$$base -e 0 --oformat binary -o $@ $@.o && rm -f $@.o
endef

# A freestanding C guest: no libc, no PIE, no red zone (the guest may take interrupts on its
# stack), linked by its lab's guests/guest.ld into a static ELF64 executable.
define cguest
	@mkdir -p $(@D)
	$(if $(filter 1,$(V)),,@echo "  GUEST   $@")
	$(Q)$(X86_CC) -std=gnu11 $(WARN) -O2 -ffreestanding -fno-pie -no-pie -nostdlib -static \
	  -fno-stack-protector -fno-asynchronous-unwind-tables -mno-red-zone -mgeneral-regs-only \
	  -Wl,--build-id=none -Wl,--no-warn-rwx-segments -T $(word 2,$^) -o $@ $<
endef

# ---------------------------------------------------------------- core (libvlab)
# CORE_DIR lets core mutants build a patched scratch copy (grading/mutant.sh core ...).
CORE_DIR  ?= core
CORE_INC  := -I$(CORE_DIR)/include
CORE_SRC  := $(wildcard $(CORE_DIR)/src/*.c)
CORE_OBJ  := $(patsubst $(CORE_DIR)/src/%.c,$(BUILD)/core/obj/%.o,$(CORE_SRC))
CORE_LIB  := $(BUILD)/core/libvlab.a
CORE_TSRC := $(wildcard $(CORE_DIR)/tests/*.c)
CORE_TOBJ := $(patsubst $(CORE_DIR)/tests/%.c,$(BUILD)/core/tests/%.o,$(CORE_TSRC))
CORE_TEST := $(BUILD)/core/test-core
# libvlab's own dependencies: every link that uses $(CORE_LIB) adds $(CORE_LIBS). Unicorn's
# headers only: the unicorn backend loads the library when first opened (core/src/uc_lazy.c),
# so programs that never emulate a CPU do not pay its ~5 ms load at start.
CORE_PKGS := unicorn
CORE_LIBS  = -ldl -lpthread -lrt
# Guest programs the core tests run (see `assemble`); the tests find them next to test-core,
# in $(BUILD)/core/guests/.
CORE_GSRC := $(wildcard $(CORE_DIR)/tests/guests/*.S)
CORE_GBIN := $(patsubst $(CORE_DIR)/tests/guests/%.S,$(BUILD)/core/guests/%.bin,$(CORE_GSRC))

$(BUILD)/core/obj/%.o: $(CORE_DIR)/src/%.c | deps-grade
	$(call compile,$(CORE_INC) $(call pc,--cflags,$(CORE_PKGS)))
$(BUILD)/core/tests/%.o: $(CORE_DIR)/tests/%.c | deps-grade
	$(call compile,$(CORE_INC) $(call pc,--cflags,criterion $(CORE_PKGS)))
$(CORE_LIB): $(CORE_OBJ)
	$(archive)
$(CORE_TEST): $(CORE_TOBJ) $(CORE_LIB) | $(CORE_GBIN)
	$(call link,$(CORE_TOBJ) $(CORE_LIB) $(CORE_LIBS) $(call pc,--libs,criterion))
$(BUILD)/core/guests/%.bin: $(CORE_DIR)/tests/guests/%.S
	$(assemble)

# ---------------------------------------------------------------- harness runtime
HLIB_INC := -Iharness/lib
HLIB_SRC := $(wildcard harness/lib/*.c)
HLIB_OBJ := $(patsubst harness/lib/%.c,$(BUILD)/harness/lib/%.o,$(HLIB_SRC))
HLIB     := $(BUILD)/harness/lib/libharness.a

$(BUILD)/harness/lib/%.o: harness/lib/%.c | deps-grade
	$(call compile,$(CORE_INC) $(HLIB_INC) $(call pc,--cflags,criterion))
$(HLIB): $(HLIB_OBJ)
	$(archive)
# Every graded test binary reports that each test reached its end (harness/lib/complete.c): the
# grader does not believe a pass without it.
COMPLETE_LD := -Wl,--wrap=criterion_internal_test_setup -Wl,--wrap=criterion_internal_test_teardown

# ---------------------------------------------------------------- labs
# A lab's policy (harness/<lab>/policy) says what its student files may use; coverage and
# sanitizer builds (never graded) let the compiler's own runtime through. VLAB_POLICY=off skips
# the check: only for mutants that prove the grader's other fences (grading/mutant.sh).
VLAB_POLICY ?= on
POLICY_FLAGS = $(if $(filter --coverage -fprofile-arcs -fsanitize=%,$(OPT) $(EXTRA_CFLAGS)),--instrumented)
# Per lab: test-<lab> (Criterion) and bench-<lab> from harness/<lab> + $(SOL)/<lab>.
# harness/<lab>/lab.mk may set <lab>_PKGS (pkg-config names), <lab>_LDLIBS, LAB_DEBS, and
# <lab>_TOOLS: command-line tools, each T built as $(SOLOUT)/<lab>/T from harness/<lab>/tools/T.c
# with the lab's runtime and solution. Guest programs are built next to the test binary, in
# $(SOLOUT)/<lab>/guests/: harness/<lab>/guests/*.S as flat binaries (see `assemble`), and
# freestanding C guests/*.c as ELF64 executables linked with guests/guest.ld.
define LAB_TOOL
$(SOLOUT)/$(1)/$(2): $(SOLOUT)/$(1)/obj/tools/$(2).o $$($(1)_RT_OBJ) $$($(1)_S_OBJ) $(HLIB) $(CORE_LIB) | $$($(1)_GBIN) $$($(1)_POLICY)
	$$(call link,$$^ $$($(1)_LIBS) $$(CORE_LIBS))
endef
define LAB_RULES
$(1)_INC   := $(CORE_INC) $(HLIB_INC) -Iharness/$(1)
$(1)_CF     = $$($(1)_INC) $$(call pc,--cflags,criterion $$($(1)_PKGS))
$(1)_LIBS   = $$(call pc,--libs,$$($(1)_PKGS)) $$($(1)_LDLIBS)
$(1)_RT_OBJ := $$(patsubst harness/$(1)/%.c,$(SOLOUT)/$(1)/obj/rt/%.o,$$(wildcard harness/$(1)/*.c))
$(1)_T_OBJ  := $$(patsubst harness/$(1)/tests/%.c,$(SOLOUT)/$(1)/obj/tests/%.o,\
                 $$(wildcard harness/$(1)/tests/*.c harness/$(1)/tests/hidden/*.c))
$(1)_B_OBJ  := $$(patsubst harness/$(1)/bench/%.c,$(SOLOUT)/$(1)/obj/bench/%.o,$$(wildcard harness/$(1)/bench/*.c))
$(1)_S_OBJ  := $$(patsubst $(SOL)/$(1)/%.c,$(SOLOUT)/$(1)/obj/sol/%.o,$$(wildcard $(SOL)/$(1)/*.c))
$(1)_GBIN   := $$(patsubst harness/$(1)/guests/%.S,$(SOLOUT)/$(1)/guests/%.bin,$$(wildcard harness/$(1)/guests/*.S)) \
               $$(patsubst harness/$(1)/guests/%.c,$(SOLOUT)/$(1)/guests/%.elf,$$(wildcard harness/$(1)/guests/*.c))
$(1)_TBIN   := $$(patsubst %,$(SOLOUT)/$(1)/%,$$($(1)_TOOLS))
$(1)_POLICY := $$(if $$(filter off,$$(VLAB_POLICY)),,$(SOLOUT)/$(1)/policy.ok)

$(SOLOUT)/$(1)/obj/rt/%.o: harness/$(1)/%.c | deps-grade
	$$(call compile,$$($(1)_CF))
$(SOLOUT)/$(1)/obj/tests/%.o: harness/$(1)/tests/%.c | deps-grade
	$$(call compile,$$($(1)_CF))
$(SOLOUT)/$(1)/obj/bench/%.o: harness/$(1)/bench/%.c | deps-grade
	$$(call compile,$$($(1)_CF))
$(SOLOUT)/$(1)/obj/sol/%.o: $(SOL)/$(1)/%.c | deps-grade
	$$(call compile,$$($(1)_CF))
$(SOLOUT)/$(1)/guests/%.bin: harness/$(1)/guests/%.S
	$$(assemble)
$(SOLOUT)/$(1)/guests/%.elf: harness/$(1)/guests/%.c harness/$(1)/guests/guest.ld
	$$(cguest)
$(SOLOUT)/$(1)/obj/tools/%.o: harness/$(1)/tools/%.c | deps-grade
	$$(call compile,$$($(1)_CF))
$$(foreach t,$$($(1)_TOOLS),$$(eval $$(call LAB_TOOL,$(1),$$(t))))

# The solution's objects keep to the lab's policy (grading/policy.sh) before anything links them.
$(SOLOUT)/$(1)/policy.ok: $$($(1)_S_OBJ) harness/$(1)/policy harness/lib/policy.base grading/policy.sh
	$(if $(filter 1,$(V)),,@echo "  POLICY  $(SOL)/$(1)")
	$(Q)grading/policy.sh $$(POLICY_FLAGS) $(1) $(SOL)/$(1) $$($(1)_S_OBJ)
	@touch $$@
$(SOLOUT)/$(1)/test-$(1): $$($(1)_T_OBJ) $$($(1)_RT_OBJ) $$($(1)_S_OBJ) $(HLIB) $(CORE_LIB) | $$($(1)_GBIN) $$($(1)_TBIN) $$($(1)_POLICY)
	$$(call link,$$^ $$(COMPLETE_LD) $$($(1)_LIBS) $$(CORE_LIBS) $$(call pc,--libs,criterion))
$(SOLOUT)/$(1)/bench-$(1): $$($(1)_B_OBJ) $$($(1)_RT_OBJ) $$($(1)_S_OBJ) $(HLIB) $(CORE_LIB) | $$($(1)_GBIN) $$($(1)_POLICY)
	$$(call link,$$^ $$($(1)_LIBS) $$(CORE_LIBS) $$(call pc,--libs,criterion))

LAB_BINS += $(SOLOUT)/$(1)/test-$(1) $$(if $$($(1)_B_OBJ),$(SOLOUT)/$(1)/bench-$(1)) $$($(1)_TBIN)
ALL_OBJ  += $$($(1)_RT_OBJ) $$($(1)_T_OBJ) $$($(1)_B_OBJ) $$($(1)_S_OBJ) \
            $$(patsubst %,$(SOLOUT)/$(1)/obj/tools/%.o,$$($(1)_TOOLS))
endef
$(foreach l,$(LABS),$(eval $(call LAB_RULES,$(l))))

.PHONY: check-sol
check-sol:
	$(Q)for l in $(LABS); do \
	  if [ ! -d "$(SOL)/$$l" ]; then echo "SOL=$(SOL): no $(SOL)/$$l directory"; exit 2; fi; \
	done

# ---------------------------------------------------------------- grader
# GRADER_DIR lets grader mutants build a patched scratch copy (grading/mutant.sh grader ...).
GRADER_DIR ?= grading/src
GRADER_SRC := $(wildcard $(GRADER_DIR)/*.c)
GRADER_OBJ := $(patsubst $(GRADER_DIR)/%.c,$(BUILD)/grading/obj/%.o,$(GRADER_SRC))
GRADER_CF   = $(call pc,--cflags,libcjson)

$(BUILD)/grading/obj/%.o: $(GRADER_DIR)/%.c | deps-grade
	$(call compile,$(GRADER_CF))
$(GRADER): $(GRADER_OBJ)
	$(call link,$^ $(call pc,--libs,libcjson) -lm)

# Grader self-tests: deliberately hostile test binaries and the suite that grades them.
SELFTEST_LABS := $(patsubst grading/selftest/labs/%.c,%,$(wildcard grading/selftest/labs/*.c))
SELFTEST_BINS := $(foreach l,$(SELFTEST_LABS),$(BUILD)/selftest/$(l)/test-$(l))
GRADER_TEST   := $(BUILD)/grading/test-grader

$(BUILD)/selftest/%.o: grading/selftest/labs/%.c | deps-grade
	$(call compile,$(call pc,--cflags,criterion))
define SELFTEST_RULE
$(BUILD)/selftest/$(1)/test-$(1): $(BUILD)/selftest/$(1).o $(BUILD)/harness/lib/complete.o
	$$(call link,$$^ $$(COMPLETE_LD) $$(call pc,--libs,criterion))
endef
$(foreach l,$(SELFTEST_LABS),$(eval $(call SELFTEST_RULE,$(l))))
$(BUILD)/grading/test_grader.o: grading/selftest/test_grader.c | deps-grade
	$(call compile,$(call pc,--cflags,criterion libcjson))
$(GRADER_TEST): $(BUILD)/grading/test_grader.o
	$(call link,$^ $(call pc,--libs,criterion libcjson))

# ---------------------------------------------------------------- report
# vlab-report (report/): the benches' results files as one HTML page with inline SVG charts.
# REPORT_DIR lets its mutants build a patched scratch copy (grading/mutant.sh report ...).
REPORT_DIR  ?= report
REPORT_SRC  := $(wildcard $(REPORT_DIR)/*.c)
REPORT_OBJ  := $(patsubst $(REPORT_DIR)/%.c,$(BUILD)/report/obj/%.o,$(REPORT_SRC))
REPORT_TOOL := $(BUILD)/report/vlab-report

$(BUILD)/report/obj/%.o: $(REPORT_DIR)/%.c | deps
	$(call compile,$(call pc,--cflags,libcjson))
$(REPORT_TOOL): $(REPORT_OBJ)
	$(call link,$^ $(call pc,--libs,libcjson) -lm)

# ---------------------------------------------------------------- top-level targets
.PHONY: all labs core grader selftest-bins grade test bench coverage handout format format-check clean

all: core grader labs $(REPORT_TOOL) compile_commands.json
core: $(CORE_LIB) $(CORE_TEST) $(CORE_GBIN) $(HLIB)
grader: $(GRADER)
labs: check-sol $(LAB_BINS)
selftest-bins: $(GRADER) $(GRADER_TEST) $(SELFTEST_BINS)

# compile_commands.json for clangd: the fragments every compile leaves beside its object.
compile_commands.json: $(CORE_OBJ) $(HLIB_OBJ) $(GRADER_OBJ) $(LAB_BINS)
	$(Q){ echo '['; find $(BUILD)/core $(BUILD)/harness $(BUILD)/grading $(SOLOUT) -name '*.o.json' \
	      2>/dev/null | sort | xargs cat | sed '$$ s/},$$/}/'; echo ']'; } > $@.tmp && mv $@.tmp $@

# A lab whose solution does not compile (or breaks its policy) scores 0 with the compiler's
# words, which the grader reads from <lab>/build.log and shows once; the other labs are still
# graded.
grade: core grader check-sol
	$(Q)for l in $(LABS); do \
	  mkdir -p $(SOLOUT)/$$l; \
	  if ! $(MAKE) -s --no-print-directory NO_DEPS=1 LAB=$$l SOL=$(SOL) SOLOUT=$(SOLOUT) \
	       $(SOLOUT)/$$l/test-$$l > $(SOLOUT)/$$l/build.log 2>&1; then \
	    rm -f $(SOLOUT)/$$l/test-$$l; \
	  fi; \
	done
	$(Q)commit=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo "not a git checkout"); \
	if [ -n "$$(git status --porcelain -- $(foreach l,$(LABS),$(SOL)/$(l)) 2>/dev/null)" ]; then \
	  commit="$$commit + uncommitted changes"; fi; \
	sources=$$(cat $(foreach l,$(LABS),$(SOL)/$(l)/*.c) 2>/dev/null | sha256sum | cut -c1-16); \
	$(GRADER) --build $(SOLOUT) --sol $(notdir $(SOL)) --out $(GRADE_OUT) \
	  --commit "$$commit; $(LABS) sources sha256 $$sources" $(GRADE_FLAGS) $(LABS)

# The project's own checks; grading/check.sh prints one line per check and a closing count.
# A student tree (no reference/) needs only what grading needs.
test: $(if $(wildcard reference),deps,deps-grade)
	$(Q)grading/check.sh $(LABS)

# Every hostile submission in grading/attacks/, the ones `make test` leaves out included (Tier: full).
.PHONY: test-attacks
test-attacks: deps
	$(Q)$(MAKE) -s --no-print-directory NO_DEPS=1 SOL=labs all
	$(Q)fail=0; for l in $(LABS); do for p in grading/attacks/$$l/*.patch; do \
	  [ -e "$$p" ] || continue; \
	  if grading/attack.sh $$l $$p >$(BUILD)/attack-$$l-$$(basename $$p .patch).log 2>&1; then \
	    echo "  PASS  $$l/attack/$$(basename $$p .patch)"; \
	  else echo "  FAIL  $$l/attack/$$(basename $$p .patch) (log: $(BUILD)/attack-$$l-$$(basename $$p .patch).log)"; fail=1; fi; \
	done; done; exit $$fail

# The same submission always gets the same grade: each lab's reference and a partial solution
# graded RUNS times (default 20), identical per-test results required (a CI job of its own).
.PHONY: test-determinism
test-determinism: deps
	$(Q)grading/determinism.sh $(LABS)

# Core, the grader and every reference under ASan+UBSan, leaks included; any report fails
# (grading/sanitize.sh; a CI job of its own).
.PHONY: test-sanitize
test-sanitize: deps
	$(Q)grading/sanitize.sh $(LABS)

# libFuzzer harnesses for the parsers of untrusted input (grading/fuzz/, grading/fuzz.sh), each
# run FUZZ_SECONDS (default 60); clang and its fuzzer runtime are installed here, not by `deps`.
FUZZ_SECONDS ?= 60
.PHONY: fuzz fuzz-deps
fuzz: fuzz-deps
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) grading/fuzz.sh $(FUZZ)
fuzz-deps:
ifneq ($(NO_DEPS),1)
	$(Q)if ! command -v clang >/dev/null || ! ls $$(clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends clang >/dev/null; \
	    v=$$(clang -dumpversion | cut -d. -f1); \
	    apt-get install -y -qq --no-install-recommends libclang-rt-$$v-dev >/dev/null 2>&1 || \
	      apt-get install -y -qq --no-install-recommends libclang-rt-dev >/dev/null; \
	  else echo "fuzz: needs clang and its libFuzzer runtime: sudo apt-get install clang libclang-rt-dev"; exit 1; fi; \
	fi
endif

# ---------------------------------------------------------------- mutation analysis
# `make mutate LAB=x` (or PART=core|grader; neither: every lab, core and the grader): mutants
# of the reference found with libclang (grading/mutate/mutator.c), each built and graded on the
# whole rubric, MUTATE_JOBS at once; report in $(BUILD)/mutate/<part>.md. libclang's headers are
# installed here, not by `deps`: students never need them.
PART          ?=
MUTATE_MAX    ?= 100
MUTATE_SEED   ?= 1
MUTATE_JOBS   ?=
MUTATE_TIMEOUT ?=
MUTATE_BUDGET ?= 0
MUTATE_RESUME ?= 0
MUTATE_SANITIZE ?=
MUTATE_PATCHES ?=
MUTATE_VM     ?= 0
MUTATOR       := $(BUILD)/mutate/vlab-mutator
LLVM_DIR       = $(shell ls -d /usr/lib/llvm-*/include/clang-c 2>/dev/null | sort -V | tail -n 1 | sed 's|/include/clang-c$$||')
MUTATE_PARTS  := $(if $(PART),$(PART),$(if $(filter command line,$(origin LAB)),$(LABS),$(ALL_LABS) core grader))
ifneq ($(filter mutate,$(MAKECMDGOALS)),)
$(foreach p,$(MUTATE_PARTS),$(if $(filter $(p),$(ALL_LABS) core grader),,$(error PART=$(p): not core, grader or a lab)))
endif
# what clang needs to parse a part's files: the flags its objects are compiled with
mutate_cflags = $(CSTD) $(if $(filter core,$(1)),$(CORE_INC) $(call pc,--cflags,$(CORE_PKGS)),$(if $(filter grader,$(1)),$(GRADER_CF),$($(1)_CF)))

.PHONY: mutate mutate-deps
mutate-deps:
ifneq ($(NO_DEPS),1)
	$(Q)if ! ls /usr/lib/llvm-*/include/clang-c/Index.h >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends libclang-dev >/dev/null; \
	  else echo "mutate: needs libclang's C API: sudo apt-get install libclang-dev"; exit 1; fi; \
	fi
endif
$(MUTATOR): grading/mutate/mutator.c | mutate-deps
	@mkdir -p $(@D)
	$(if $(filter 1,$(V)),,@echo "  CC      $@")
	$(Q)$(CC) $(CSTD) $(WARN) -O2 -I$(LLVM_DIR)/include -o $@ $< -L$(LLVM_DIR)/lib -lclang -Wl,-rpath,$(LLVM_DIR)/lib
define MUTATE_RUN
	$(Q)MUTATOR=$(MUTATOR) MUTATE_CFLAGS='$(call mutate_cflags,$(1))' MUTATE_MAX=$(MUTATE_MAX) \
	  MUTATE_SEED=$(MUTATE_SEED) MUTATE_JOBS=$(MUTATE_JOBS) MUTATE_TIMEOUT=$(MUTATE_TIMEOUT) \
	  MUTATE_BUDGET=$(MUTATE_BUDGET) MUTATE_RESUME=$(MUTATE_RESUME) MUTATE_PATCHES=$(MUTATE_PATCHES) \
	  MUTATE_SANITIZE=$(MUTATE_SANITIZE) MUTATE_VM=$(MUTATE_VM) \
	  VM_SPEC='$(firstword $(filter $(1) $(1):%,$(VM_GRADE)))' BUILD=$(BUILD) grading/mutate.sh $(1)

endef
MUTATE_LABS := $(filter $(ALL_LABS),$(MUTATE_PARTS))
mutate: deps $(MUTATOR)
	$(Q)$(MAKE) -s --no-print-directory NO_DEPS=1 SOL=reference $(if $(MUTATE_LABS),LAB="$(MUTATE_LABS)" all) \
	  $(if $(filter core,$(MUTATE_PARTS)),core) $(if $(filter grader,$(MUTATE_PARTS)),selftest-bins)
	$(foreach p,$(MUTATE_PARTS),$(call MUTATE_RUN,$(p)))
bench: all
	$(Q)mkdir -p $(BUILD)/bench; \
	for l in $(LABS); do \
	  b=$(SOLOUT)/$$l/bench-$$l; \
	  if [ -x "$$b" ]; then echo "== bench $$l ($(SOL))"; "$$b" || exit 1; fi; \
	done
	$(Q)if [ -x $(SOLOUT)/vmm/bench-vmm ] && [ -s $(BUILD)/vm/base.cpio ]; then \
	  echo "== bench vmm inside the QEMU test VM (emulated hardware)"; \
	  BUILD=$(BUILD) SOL=$(notdir $(SOL)) harness/vm/vlab-vm bench || exit 1; \
	elif [ -x $(SOLOUT)/vmm/bench-vmm ]; then \
	  echo "== bench vmm in the test VM: skipped, the VM is not set up (make test-vm)"; \
	fi
	$(Q)for p in $(LABS) core grader; do \
	  [ -f $(BUILD)/mutate/$$p.md ] && grep -h '^mutation score' $(BUILD)/mutate/$$p.md; \
	done; true

# `make report`: SOL's build and the reference's, each bench run again only where its results
# (build/bench/<sol>/<lab>.json, written by the bench) are missing or older than its binary; a lab
# that does not build or bench shows the reference alone. The bench logs go to $(BUILD)/report/.
# The page shows no exit rate: bench-vmm's exit storm is cut to 20,000 exits (of 200,000), which
# leaves its exit and byte counts as they are and saves minutes where exits are slow.
# A student tree has no reference/: its reference numbers are the ones measured for the
# instructors' tree and kept in report/fixtures/reference/.
REPORT_REF = $(if $(wildcard reference/),build/bench/reference,report/fixtures/reference)
.PHONY: report
report: core $(REPORT_TOOL)
	$(Q)mkdir -p $(BUILD)/report; \
	seen=; for pair in "$(SOL) $(SOLOUT)" "reference $(BUILD)/reference"; do \
	  set -- $$pair; sol=$$1; out=$$2; name=$$(basename "$$out"); \
	  case " $$seen " in *" $$out "*) continue;; esac; seen="$$seen $$out"; \
	  [ -d "$$sol" ] || continue; \
	  $(MAKE) -s -k --no-print-directory NO_DEPS=1 SOL="$$sol" SOLOUT="$$out" labs \
	    >$(BUILD)/report/build-$$name.log 2>&1 || \
	    echo "report: some lab of SOL=$$sol does not build (log: $(BUILD)/report/build-$$name.log)"; \
	  for l in $(LABS); do \
	    b=$$out/$$l/bench-$$l; j=build/bench/$$name/$$l.json; log=$(BUILD)/report/bench-$$name-$$l.log; \
	    if [ -x "$$b" ] && ! [ "$$j" -nt "$$b" ]; then \
	      t0=$$(date +%s); st=0; VLAB_VMM_BENCH_EXITS=20000 "$$b" >"$$log" 2>&1 || st=$$?; \
	      echo "== bench $$l ($$sol): $$(($$(date +%s) - t0)) s$$([ $$st = 0 ] || echo ", failed (status $$st): $$log")"; \
	    fi; \
	  done; \
	done
	$(Q)$(REPORT_TOOL) --student build/bench/$(notdir $(SOLOUT)) --name $(notdir $(SOL)) \
	  --reference $(REPORT_REF) --out $(BUILD)/report/index.html
	@echo "report: $(BUILD)/report/index.html"

coverage: deps
	$(Q)grading/coverage.sh $(LABS)

# Real KVM (on an emulated AMD SVM CPU) and cgroup v2 inside a QEMU/TCG VM, for machines without
# either (harness/vm/README.md): the core kvm tests, then the labs' VM_GRADE specs (a lab.mk adds
# `LAB[:GLOB]`) graded inside by vlab-grade. `make test` runs the same steps (grading/check.sh),
# except the last: `vlab-vm linux` boots the Debian kernel under vlab-vmm --linux inside the VM
# (about 35 s of a core, so only here).
# The kernel package is downloaded once into ~/.cache/vlab/vm ($$VLAB_VM_CACHE).
.PHONY: test-vm vm-grade
test-vm: core grader
	$(Q)$(MAKE) -s --no-print-directory NO_DEPS=1 SOL=reference all
	$(Q)BUILD=$(BUILD) harness/vm/vlab-vm setup
	$(Q)BUILD=$(BUILD) harness/vm/vlab-vm smoke
	$(Q)$(MAKE) -s --no-print-directory NO_DEPS=1 SOL=reference vm-grade
	$(Q)BUILD=$(BUILD) harness/vm/vlab-vm linux
# `make vm-grade [SOL=...]`: a solution's VM_GRADE tests on real KVM / cgroup v2, reports in
# build/grade/vm/<sol>/<lab>/.
# Only the specs of $(LABS): `make vm-grade LAB=pagewalk` has none and says so.
VM_GRADE_LABS = $(foreach g,$(VM_GRADE),$(if $(filter $(firstword $(subst :, ,$(g))),$(LABS)),$(g)))
vm-grade: core grader labs
ifeq ($(strip $(VM_GRADE_LABS)),)
	@echo "vm-grade: no lab of $(LABS) has tests graded in the test VM (VM_GRADE: $(VM_GRADE))"
else
	$(Q)BUILD=$(BUILD) harness/vm/vlab-vm setup
	$(Q)BUILD=$(BUILD) harness/vm/vlab-vm grade --sol $(notdir $(SOL)) $(foreach g,$(VM_GRADE_LABS),'$(g)')
endif

# Gradescope autograder zips, one per lab: build/gradescope/<lab>.zip (grading/gradescope/).
.PHONY: gradescope
gradescope:
	$(Q)grading/gradescope/build.sh --out $(BUILD)/gradescope $(LABS)

# The container image (Containerfile) from Debian packages only: mmdebstrap | podman import, then
# podman build (harness/image/vlab-image; needs root for mmdebstrap and podman, installs them).
# `make test-image` grades the reference (full) and the handout's skeletons (zero) inside it;
# `make test-arm64` does both for linux/arm64 under qemu-user-static (not in `make test`: slow).
IMAGE_ARCH ?=
.PHONY: image test-image image-arm64 test-arm64
image:
	$(Q)harness/image/vlab-image build $(if $(IMAGE_ARCH),--arch $(IMAGE_ARCH))
test-image: image
	$(Q)harness/image/vlab-image test $(if $(IMAGE_ARCH),--arch $(IMAGE_ARCH))
image-arm64:
	$(Q)harness/image/vlab-image build --arch arm64
test-arm64: image-arm64
	$(Q)harness/image/vlab-image test --arch arm64

# GitHub Classroom workflows, one per lab with the lab set: build/classroom/<lab>/classroom.yml
# (copy one to .github/workflows/ of the lab's template repository; `make handout LAB=x` does).
.PHONY: classroom
classroom:
	$(Q)for l in $(LABS); do \
	  mkdir -p $(BUILD)/classroom/$$l && \
	  grading/classroom/workflow.sh $$l > $(BUILD)/classroom/$$l/classroom.yml || exit 1; \
	  echo "classroom: $(BUILD)/classroom/$$l/classroom.yml"; \
	done

handout:
	$(Q)test -n "$(DEST)" || { echo "usage: make handout DEST=dir [LAB=lab]"; exit 2; }
	$(Q)grading/handout.sh "$(DEST)" $(LAB)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find core harness labs reference grading report -name '*.[ch]')
format: deps
	$(Q)clang-format -i $(FORMAT_FILES)
format-check: deps
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD) compile_commands.json

# Header dependencies of this invocation's objects only (not other trees' scratch builds).
ALL_OBJ += $(CORE_OBJ) $(CORE_TOBJ) $(HLIB_OBJ) $(GRADER_OBJ) $(BUILD)/grading/test_grader.o \
           $(patsubst %,$(BUILD)/selftest/%.o,$(SELFTEST_LABS)) $(REPORT_OBJ)
-include $(wildcard $(ALL_OBJ:.o=.d))
