#!/usr/bin/env bash
# The policy checker's own tests: small student files, each compiled and checked with
# grading/policy.sh against a real lab's policy, must be accepted or refused with the right
# reason. `make test` runs them; grading/mutants/policy/*.patch name the cases that must fail.
#   grading/policy-test.sh [CASE...]      (POLICY_SH overrides the checker under test)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
checker=${POLICY_SH:-grading/policy.sh}
work=${BUILD:-build}/policy-test
rm -rf "$work" && mkdir -p "$work"
CC=${CC:-gcc}
pass=0 fail=0

# case NAME LAB EXPECT CFLAGS CODE: EXPECT is "ok" or "refuse:TEXT" (TEXT must be in the output)
case_() {
    local name=$1 lab=$2 expect=$3 cflags=$4 code=$5
    if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then return; fi
    local dir=$work/$name file
    file=$(basename "$(ls "labs/$lab"/*.c | head -n 1)" .c)
    mkdir -p "$dir/src/$lab"
    printf '%s\n' "$code" >"$dir/src/$lab/$file.c"
    if ! $CC -std=gnu11 -O2 -c $cflags -Icore/include -Iharness/lib -Iharness/"$lab" \
        "$dir/src/$lab/$file.c" -o "$dir/$file.o" 2>"$dir/cc.log"; then
        echo "  FAIL  $name: does not compile"; sed 's/^/        /' "$dir/cc.log"
        fail=$((fail + 1))
        return
    fi
    local flags=()
    [[ $cflags == *--coverage* ]] && flags=(--instrumented)
    VLAB_ROOT=$root "$checker" "${flags[@]}" "$lab" "$dir/src/$lab" "$dir/$file.o" >"$dir/out" 2>&1
    local rc=$? ok=0
    case $expect in
    ok) [ $rc = 0 ] && ok=1 ;;
    refuse:*) [ $rc != 0 ] && grep -qF -- "${expect#refuse:}" "$dir/out" && ok=1 ;;
    esac
    if [ $ok = 1 ]; then
        echo "  PASS  $name"
        pass=$((pass + 1))
    else
        echo "  FAIL  $name: expected $expect, the checker said (exit $rc):"
        sed 's/^/        /' "$dir/out"
        fail=$((fail + 1))
    fi
}
only=("$@")

PW='#include "pagewalk.h"
#include <stdio.h>
#include <string.h>'
SIG='int pw_translate(struct pw_machine *m, const struct vlab_paging *pg, uint64_t cr3, uint64_t gva, unsigned access, struct pw_result *out)'

case_ allowed_calls_pass pagewalk ok "" "$PW
static int helper(struct pw_machine *m, uint64_t *e) { return pw_read_entry(m, 0, e); }
$SIG { uint64_t e; (void)pg, (void)cr3, (void)gva, (void)access; memset(out, 0, sizeof *out);
  printf(\"debug\\n\"); return helper(m, &e) ? pw_write_entry(m, 0, e) : 0; }"
case_ oracle_refused pagewalk "refuse:uses vlab_pt_walk: that is the oracle" "" "$PW
$SIG { struct vlab_walk w; (void)m, (void)out; return vlab_pt_walk(NULL, pg, cr3, gva, access, 0, &w); }"
case_ unknown_symbol_refused pagewalk "refuse:uses open, which this lab does not allow" "" "$PW
#include <fcntl.h>
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; return open(\"/x\", 0); }"
case_ exit_refused pagewalk "refuse:uses exit: the code under test must return" "" "$PW
#include <stdlib.h>
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; exit(0); }"
case_ global_helper_refused pagewalk "refuse:defines the global symbol helper" "" "$PW
int helper(void);
int helper(void) { return 1; }
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; return helper(); }"
case_ criterion_override_refused pagewalk "refuse:defines the global symbol criterion_send_assert" "" "$PW
void criterion_send_assert(void *s);
void criterion_send_assert(void *s) { (void)s; }
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; return 0; }"
case_ constructor_refused pagewalk "refuse:has a .init_array section" "" "$PW
__attribute__((constructor)) static void early(void) { puts(\"hi\"); }
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; return 0; }"
case_ destructor_refused pagewalk "refuse:has a .fini_array section" "" "$PW
__attribute__((destructor)) static void late(void) { puts(\"bye\"); }
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; return 0; }"
case_ ifunc_refused pagewalk "refuse:pw_translate is an IFUNC" "" "$PW
static int real(struct pw_machine *m, const struct vlab_paging *pg, uint64_t cr3, uint64_t gva, unsigned access, struct pw_result *out) { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; return 0; }
static void *resolve(void) { return (void *)real; }
$SIG __attribute__((ifunc(\"resolve\")));"
case_ syscall_insn_refused pagewalk "refuse:contains a raw 'syscall' instruction (in pw_translate)" "" "$PW
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out;
  __asm__ volatile(\"mov \$231, %%eax\\n\\txor %%edi, %%edi\\n\\tsyscall\" ::: \"rax\", \"rdi\"); return 0; }"
case_ syscall_bytes_refused pagewalk "refuse:contains a raw 'syscall' instruction" "" "$PW
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out;
  __asm__ volatile(\".byte 0x0f, 0x05\"); return 0; }"
case_ int80_refused pagewalk "refuse:contains a raw 'int \$0x80' instruction" "" "$PW
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; __asm__ volatile(\"int \$0x80\"); return 0; }"
case_ longjmp_refused pagewalk "refuse:uses longjmp: jumping out of the code under test" "" "$PW
#include <setjmp.h>
static jmp_buf *where;
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; longjmp(*where, 1); }"
case_ sysenter_refused pagewalk "refuse:contains a raw 'sysenter' instruction" "" "$PW
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; __asm__ volatile(\"sysenter\"); return 0; }"
case_ weak_reference_refused pagewalk "refuse:uses vlab_pt_walk" "" "$PW
extern int vlab_pt_walk_weak(void) __asm__(\"vlab_pt_walk\") __attribute__((weak));
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; return vlab_pt_walk_weak ? vlab_pt_walk_weak() : 0; }"
SB='#define _GNU_SOURCE
#include "sandbox.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>'
case_ libc_lab_allows_libc sandbox ok "" "$SB
int sb_run(const struct sb_config *cfg, struct sb_result *res) { (void)cfg, (void)res;
  FILE *f = fopen(\"/x\", \"r\"); if (f) fclose(f); if (fork() == 0) _exit(execl(\"/bin/true\", \"true\", (char *)0)); return 0; }"
case_ lab_allow_beats_base_deny sandbox ok "" "$SB
int sb_run(const struct sb_config *cfg, struct sb_result *res) { (void)cfg, (void)res; if (!cfg) exit(1); return 0; }"
case_ libc_lab_denies_dlsym sandbox "refuse:uses dlsym: loading or looking up code" "" "$SB
int sb_run(const struct sb_config *cfg, struct sb_result *res) { (void)cfg, (void)res; return dlsym(RTLD_DEFAULT, \"x\") != 0; }"
case_ libc_lab_denies_environment sandbox "refuse:uses getenv: the environment belongs to the harness" "" "$SB
int sb_run(const struct sb_config *cfg, struct sb_result *res) { (void)cfg, (void)res; return getenv(\"VLAB_DONE\") != 0; }"
case_ instrumented_build_passes pagewalk ok "--coverage" "$PW
$SIG { (void)m, (void)pg, (void)cr3, (void)gva, (void)access, (void)out; return 0; }"

echo "policy tests: $pass passed, $fail failed"
[ $fail = 0 ]
