#!/usr/bin/env bash
# Part of `make test`: the Gradescope autograder end to end, on the pagewalk lab (or the lab
# named: `grading/gradescope/check.sh LAB`, without the hidden test). A copy of this
# tree gets a hidden test (harness/pagewalk/tests/hidden/, 5 points, `hidden` in the rubric);
# grading/gradescope/build.sh zips it; the zip is unpacked into a fake /autograder
# (VLAB_AUTOGRADER), prebuilt as setup.sh does (reusing this tree's build, so only the hidden
# test and the lab's links are new), and run_autograder grades four submissions:
#   nested   the reference in a top folder (vlab-main/labs/pagewalk/pagewalk.c): full marks,
#            the hidden test counted, listed as hidden, and named nowhere students read
#   flat     the reference as a bare pagewalk.c with two extra files: full marks, extras listed
#   missing  no pagewalk.c (a README only): 0, a MISSING line
#   broken   a pagewalk.c that does not compile: 0, the compiler's words
# and the source tree must be byte-for-byte what the zip held after all of them.
set -euo pipefail
umask 022
cd "$(dirname "$0")/../.."
top=$PWD
BUILD=${BUILD:-build}
lab=${1:-pagewalk} # another lab: no hidden test is added (the probe is pagewalk's)
base=$(realpath -m -- "$BUILD/gradescope-check/$lab")
started=$(date +%s)
export NO_COLOR=1
unset VLAB_LAB

fail() {
    echo "gradescope-check: FAIL: $*" >&2
    exit 1
}
rm -rf -- "$base"
mkdir -p "$base"

# ---------------------------------------------------------------- the tree, with a hidden test
tree=$base/tree
git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do if [ -f "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done |
    tar --null -T - -cf - | (mkdir -p "$tree" && tar -C "$tree" -xpf -)
(cd "$tree" && git init -q && git add -A && git -c user.name=check -c user.email=check@vlab \
    commit -qm "gradescope-check tree") || fail "cannot commit the tree copy"
hidden=0
[ "$lab" = pagewalk ] && hidden=5
if [ $hidden != 0 ]; then
mkdir -p "$tree/harness/$lab/tests/hidden"
cat >"$tree/harness/$lab/tests/hidden/probe_test.c" <<'C'
/* gradescope-check: a hidden test (a 2 MiB read, as walk_2m_read) */
#include "../pw_test.h"

Test(pagewalk, hidden_probe, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, 0x0000008080600000ull, 0x3e400000ull, X86_PAGE_2M, X86_PTE_RW | X86_PTE_US);
    pw_expect_ok(&e, 0x0000008080600042ull, VLAB_ACC_READ, 0x3e400042ull, X86_PAGE_2M,
                 PW_SEC_LEAF, "a hidden probe");
    pw_env_fini(&e);
}
C
echo "test hidden_probe 5 hidden" >>"$tree/grading/rubric/$lab"
fi

# ---------------------------------------------------------------- the zip
grading/gradescope/build.sh --tree "$tree" --out "$base" "$lab" >"$base/build.log" 2>&1 ||
    fail "build.sh failed: $(cat "$base/build.log")"
zip=$base/$lab.zip
[ -f "$zip" ] || fail "no $zip"
unzip -Z1 "$zip" >"$base/zip.list"
for f in setup.sh run_autograder grading/gradescope/lab .vlab-version Makefile \
    $([ $hidden = 0 ] || echo "harness/$lab/tests/hidden/probe_test.c"); do
    grep -qxF "$f" "$base/zip.list" || fail "the zip has no $f"
done
grep -qE '^(reference|grading/mutants|grading/attacks|\.ci)/' "$base/zip.list" &&
    fail "the zip has instructor-only files: $(grep -E '^(reference|grading/mutants)/' "$base/zip.list" | head -n 3)"
ag=$base/autograder
mkdir -p "$ag/source"
unzip -q "$zip" -d "$ag/source"
[ $hidden = 0 ] || grep -q '^test hidden_probe 5 hidden' "$ag/source/grading/rubric/$lab" ||
    fail "the zip's rubric lost the hidden test's line"
[ "$(cat "$ag/source/grading/gradescope/lab")" = "$lab" ] || fail "grading/gradescope/lab is not $lab"

# The prebuild setup.sh does (its package part needs root and a network): this tree's build
# reused, so only what the zip adds or changes is compiled.
mkdir -p "$ag/source/build/labs"
for d in core grading harness; do cp -a "$BUILD/$d" "$ag/source/build/$d"; done
[ -d "$BUILD/labs/$lab" ] && cp -a "$BUILD/labs/$lab" "$ag/source/build/labs/$lab"
(cd "$ag/source" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u SOL -u SOLOUT -u LAB \
    make -s NO_DEPS=1 LAB="$(cat grading/gradescope/lab)" core grader labs) >"$base/prebuild.log" 2>&1 ||
    fail "the prebuild failed: $(tail -n 20 "$base/prebuild.log")"
snapshot() { (cd "$ag/source" && find . -path ./build -prune -o -type f -print0 | sort -z | xargs -0 sha256sum); }
snapshot >"$base/source.before"

# ---------------------------------------------------------------- submissions
refs=("$top/reference/$lab"/*.c)
[ -f "${refs[0]}" ] || fail "no reference/$lab/*.c"
names=$(cd "$top/reference/$lab" && ls -- *.c | tr '\n' ' ')
# run NAME: grade $ag/submission, keep results.json as $base/NAME.json
run() {
    local t0=$(date +%s%N) rc=0
    rm -rf "$ag/results"
    VLAB_AUTOGRADER=$ag TMPDIR=$base "$ag/source/run_autograder" >"$base/$1.log" 2>&1 || rc=$?
    [ $rc = 0 ] || fail "($1) run_autograder exited $rc: $(tail -n 20 "$base/$1.log")"
    [ -f "$ag/results/results.json" ] || fail "($1) no results.json"
    cp "$ag/results/results.json" "$base/$1.json"
    printf 'gradescope-check: (%s) %s/%s in %ss\n' "$1" "$(top_num score "$base/$1.json")" \
        "$(top_num max_score "$base/$1.json")" $((($(date +%s%N) - t0) / 1000000000))
}
submission() {
    rm -rf "$ag/submission"
    mkdir -p "$ag/submission"
}
# top_num KEY FILE: a top-level number of results.json (cJSON prints it on a line of its own).
top_num() { sed -nE "s/^\t\"$1\":[[:space:]]*([-0-9.eE+]+),?$/\1/p" "$2" | head -n 1; }
# top_output FILE: the top-level output, unescaped enough to grep.
top_output() { sed -nE 's/^\t"output":[[:space:]]*"(.*)",?$/\1/p' "$1" | head -n 1 | sed 's/\\n/\n/g'; }
# test_field NAME KEY FILE: a field of the test called NAME.
test_field() {
    awk -v want="\"$lab/$1\"" -v key="\"$2\":" '
        $1 == "\"name\":" { cur = $2; sub(/,$/, "", cur) }
        cur == want && $1 == key { v = $2; sub(/,$/, "", v); gsub(/"/, "", v); print v; exit }' "$3"
}

submission
mkdir -p "$ag/submission/vlab-main/labs/$lab"
cp "${refs[@]}" "$ag/submission/vlab-main/labs/$lab/"
run nested
j=$base/nested.json
[ "$(top_num score "$j")" = "$(top_num max_score "$j")" ] || fail "(nested) not full marks"
grep -q '"stdout_visibility":[[:space:]]*"hidden"' "$j" || fail "(nested) stdout is shown to students"
top_output "$j" >"$base/nested.out"
for n in $names; do
    grep -q "taken from the submission's vlab-main/labs/$lab/$n" "$base/nested.out" ||
        fail "(nested) the output does not say $n was graded: $(head -n 5 "$base/nested.out")"
done
grep -q "^Graded: $lab, with the autograder's files of vlab " "$base/nested.out" ||
    fail "(nested) the output does not say what graded it"
if [ $hidden != 0 ]; then
    [ "$(test_field hidden_probe score "$j")" = 5 ] || fail "(nested) the hidden test did not count 5"
    [ "$(test_field hidden_probe visibility "$j")" = hidden ] || fail "(nested) the hidden test is not hidden"
    grep -q hidden_probe "$base/nested.out" && fail "(nested) the output students see names the hidden test"
    grep -q "and 1 more test worth 5 points, not shown here" "$base/nested.out" ||
        fail "(nested) the hidden test is not counted in the output"
fi

submission
cp "${refs[@]}" "$ag/submission/"
echo "my notes" >"$ag/submission/NOTES.txt"
echo "int main(void) { return 0; }" >"$ag/submission/main.c"
run flat
[ "$(top_num score "$base/flat.json")" = "$(top_num max_score "$base/flat.json")" ] || fail "(flat) not full marks"
top_output "$base/flat.json" | grep -q "ignored 2 other file(s) of the submission.*NOTES.txt, main.c" ||
    fail "(flat) the extra files are not listed: $(top_output "$base/flat.json" | head -n 6)"

submission
echo "see my repository" >"$ag/submission/README.md"
run missing
[ "$(top_num score "$base/missing.json")" = 0 ] || fail "(missing) scored $(top_num score "$base/missing.json")"
n=${names%% *}
top_output "$base/missing.json" | grep -q "labs/$lab/$n: MISSING: no $n in the submission" ||
    fail "(missing) no MISSING line: $(top_output "$base/missing.json" | head -n 5)"

submission
cp "${refs[@]}" "$ag/submission/"
sed -i '1i this line does not compile;' "$ag/submission/$n"
run broken
[ "$(top_num score "$base/broken.json")" = 0 ] || fail "(broken) scored $(top_num score "$base/broken.json")"
top_output "$base/broken.json" | grep -q "does not compile" ||
    fail "(broken) the output does not say it does not compile"
top_output "$base/broken.json" | grep -q "$n:[0-9]*:[0-9]*: error" ||
    fail "(broken) the compiler's error is not in the output"

snapshot | cmp -s - "$base/source.before" || fail "run_autograder modified /autograder/source"
echo "gradescope-check: passed in $(($(date +%s) - started))s; files in $base"
