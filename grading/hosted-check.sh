#!/usr/bin/env bash
# Part of `make test`: the hosted graders (grading/hosted-grade.sh, which Gradescope's
# run_autograder and the Classroom workflow use) grade with the instructor's files only.
# This tree is the instructor's; the pagewalk lab is graded for
#   (a) an honest submission: the skeleton labs/pagewalk/pagewalk.c;
#   (b) a hostile one: the whole tree with the same skeleton, plus a rubric worth 100 points
#       for one test, a test file whose tests all pass, a grader that marks every test passed,
#       a Makefile that announces itself and an extra labs/pagewalk/*.c;
#   (c) the reference solution inside a top folder (vlab-main/labs/pagewalk/pagewalk.c);
#   (d) the skeleton again in the same work directory.
# classroom.json of (a) and (c) must be what Classroom's grading reporter reads and adds up right.
# (a) and (b) must get the same score (0) and per-test results, (b)'s work tree must equal the
# instructor's tree, (c) full marks, (d) 0 again; and the hostile tree graded in place (what the
# Classroom workflow used to do) must score more than (a), so the edits would have mattered.
# Everything happens in $BUILD/hosted-check/; the tree's own build/ is not touched.
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
top=$PWD
base=$(realpath -m -- "${BUILD:-build}/hosted-check")
unset VLAB_LAB
export NO_COLOR=1
lab=pagewalk
inst=$base/instructor
work=$base/work
hosted="$inst/grading/hosted-grade.sh"
started=$(date +%s)

fail() {
    echo "hosted-check: FAIL: $*" >&2
    exit 1
}
# Like hosted-grade.sh: the tree's own Makefile defaults, whatever make or check.sh exported.
mk() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u GNUMAKEFLAGS -u MAKEFILES -u BUILD -u SOL \
        -u SOLOUT -u LAB -u GRADE_OUT -u GRADE_FLAGS -u CORE_DIR -u GRADER_DIR \
        make -s -j"$(nproc 2>/dev/null || echo 1)" NO_DEPS=1 "$@"
}
# copy_tree SRC DEST: SRC's files without build/ and .git, modes from the umask.
copy_tree() {
    mkdir -p "$2"
    tar -C "$1" --anchored --exclude=./build --exclude=./.git -cf - . |
        tar -C "$2" --no-same-owner --no-same-permissions -xf -
}
# grade NAME SUBMISSION [ARGS...]: hosted-grade.sh into $base/NAME.log and $base/out-NAME.
grade() {
    local name=$1 s=$2 t0 rc=0 ms
    shift 2
    t0=$(date +%s%N)
    "$hosted" --instructor "$inst" --submission "$s" --work "$work" --out "$base/out-$name" "$@" \
        >"$base/$name.log" 2>&1 || rc=$?
    if [ $rc -ne 0 ]; then
        tail -n 30 "$base/$name.log" >&2
        fail "($name) hosted-grade.sh exited $rc (log: $base/$name.log)"
    fi
    [ -f "$base/out-$name/results.json" ] || fail "($name) no results.json in $base/out-$name"
    ms=$((($(date +%s%N) - t0) / 1000000))
    printf 'hosted-check: (%s) %s in %d.%ds\n' "$name" "$(score "$base/$name.log")" \
        $((ms / 1000)) $((ms % 1000 / 100))
}
score() { sed -n 's/^score: //p' "$1" | tail -n 1; }
# results FILE: the graded facts of a results.json in order: total score and max, then each
# test's name, score, max and status (not its output or timings).
results() {
    grep -oE '"(name|score|max_score|status)":[[:space:]]*("[^"]*"|[-0-9.eE+]+)' "$1" |
        sed -E 's/:[[:space:]]*/: /'
}
# lines LOG: the grader's per-test lines, without the timings: STATUS POINTS LAB/TEST.
lines() {
    sed -nE 's#^  (PASS|FAIL|CRASH|TIMEOUT|SKIP) +([0-9.]+/[0-9.]+) +[0-9.]+s +([^ ]+/[^ ]+)$#\1 \2 \3#p' "$1"
}

# classroom_check FILE SCORE STATUS: classroom.json as GitHub Classroom's grading reporter reads
# it (autograding-grading-reporter: a runner {version, status, max_score, tests[{name, status,
# score, message, line_no}]}): the status, every test with a runner status and line_no 0, the
# tests' scores adding up to SCORE (what the reporter records), max_score the lab's total. Then
# grading/classroom/runners.sh's split into one runner per test, each summed the way the
# reporter's console table does ((passed / tests) x max_score): the same SCORE.
classroom_check() {
    local f=$1 want=$2 status=$3 max
    [ -f "$f" ] || fail "no $f"
    grep -qE "^$(printf "\t")\"status\":[[:space:]]*\"$status\"" "$f" || fail "$f: status is not $status"
    awk '$1 == "\"status\":" && $2 !~ /^"(pass|fail|error)",?$/ { bad = 1 }
         END { exit bad }' "$f" || fail "$f: a status that is not pass, fail or error"
    [ "$(grep -c '"name":' "$f")" = "$(grep -cE '"line_no":[[:space:]]*0,?$' "$f")" ] ||
        fail "$f: a test without line_no 0"
    max=$(sed -nE 's/^\t"max_score":[[:space:]]*([0-9.]+),?$/\1/p' "$f")
    [ "$max" = "${sa##*/}" ] || fail "$f: max_score $max, the lab is out of ${sa##*/}"
    awk -v want="$want" '$1 == "\"score\":" { v = $2; sub(/,$/, "", v); s += v }
         END { if (s != want) { print "sum " s; exit 1 } }' "$f" ||
        fail "$f: the tests' scores do not add up to $want"
    if ! command -v jq >/dev/null; then
        echo "hosted-check: jq missing: the per-test runners of runners.sh not checked"
        return
    fi
    console_sum "$f" "$want"
    if [ "$status" = pass ]; then # and a partial grade: the first test lost
        local partial=$base/classroom-partial.json first
        first=$(jq '.tests[0].max_score' "$f")
        jq '.tests[0].status = "fail" | .tests[0].score = 0 | .status = "fail"' "$f" >"$partial"
        console_sum "$partial" "$(jq -n "$want - $first")"
    fi
}
# console_sum FILE WANT: runners.sh's runners of FILE, added up as the reporter's console does.
console_sum() {
    local envf=$base/classroom.env total
    : >"$envf"
    "$inst/grading/classroom/runners.sh" "$1" "$envf" || fail "runners.sh failed on $1"
    total=$(grep '_RESULTS=' "$envf" | cut -d= -f2- | while read -r b; do echo "$b" | base64 -d; echo; done |
        jq -s '[.[] | ([.tests[] | select(.status == "pass")] | length) / (.tests | length) * .max_score] | add')
    [ "$total" = "$2" ] || fail "$1: the reporter's console would add the runners up to $total, not $2"
    grep -q "^VLAB_RUNNERS=${lab}_" "$envf" || fail "runners.sh wrote no VLAB_RUNNERS line"
}

rm -rf -- "$base"
mkdir -p "$base"

# ---------------------------------------------------------------- the instructor tree
# The tracked and untracked-but-not-ignored files of this tree (as `make handout` takes them).
if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            if [ -f "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
        done |
        tar --null -T - -cf - | (mkdir -p "$inst" && tar -C "$inst" --no-same-owner --no-same-permissions -xf -)
else
    copy_tree "$top" "$inst"
fi
[ -x "$hosted" ] || fail "$hosted missing"
[ -f "$inst/labs/$lab/$lab.c" ] || fail "no labs/$lab/$lab.c in this tree"
echo "hosted-check: instructor tree: this tree, copied to $inst"

# ---------------------------------------------------------------- submissions
honest=$base/sub-honest
mkdir -p "$honest/labs/$lab"
cp "$inst/labs/$lab/$lab.c" "$honest/labs/$lab/"

hostile=$base/sub-hostile
copy_tree "$inst" "$hostile"
edits=()
# The rubric: 100 points for its first test, 0 for the rest, a title of its own.
r="grading/rubric/$lab"
awk '$1 == "set" && $2 == "title" { print "set title HOSTILE rubric"; next }
     $1 == "test" { $3 = n++ ? 0 : 100 } { print }' "$inst/$r" >"$hostile/$r"
edits+=("$r")
# A test file: every test of it, with an empty body that passes.
t="harness/$lab/tests/walk_test.c"
{
    echo '#include <criterion/criterion.h>'
    grep -oE "Test\($lab, *[A-Za-z0-9_]+" "$inst/$t" | sed 's/$/) {}/'
} >"$hostile/$t"
grep -q 'Test(' "$hostile/$t" || fail "no tests found in $t"
edits+=("$t")
# The grader: every result is a pass (the fallback only marks the file, should lab.c change).
g=grading/src/lab.c
sed 's/tr->status = st;/tr->status = st = ST_PASS;/' "$inst/$g" >"$hostile/$g"
if cmp -s "$inst/$g" "$hostile/$g"; then
    echo "hosted-check: note: $g has no 'tr->status = st;' any more; marking it instead"
    echo '/* hostile edit */' >>"$hostile/$g"
fi
edits+=("$g")
# The Makefile: says so whenever it is read.
{ echo '$(info HOSTILE Makefile in use)'; cat "$inst/Makefile"; } >"$hostile/Makefile"
edits+=(Makefile)
# An extra solution file, which the Makefile's labs/<lab>/*.c wildcard would compile.
x="labs/$lab/zz_hostile.c"
printf '%s\n' '#include <stdio.h>' \
    '__attribute__((constructor)) static void vlab_hostile(void) { fputs("HOSTILE extra file\n", stderr); }' \
    >"$hostile/$x"
edits+=("$x")
for f in "${edits[@]}"; do
    [ -f "$inst/$f" ] && cmp -s "$inst/$f" "$hostile/$f" && fail "hostile $f equals the instructor's"
done
echo "hosted-check: hostile submission edits: ${edits[*]}"

full=$base/sub-full
have_ref=0
if [ -f "$inst/reference/$lab/$lab.c" ]; then
    have_ref=1
    mkdir -p "$full/vlab-main/labs/$lab"
    cp "$inst/reference/$lab/$lab.c" "$full/vlab-main/labs/$lab/"
fi

# ---------------------------------------------------------------- grading
# (a) from a fresh build; then the instructor tree is prebuilt (as Gradescope's setup.sh does)
# and the other runs reuse its build.
grade a-honest "$honest" --lab "$lab"
(cd "$inst" && mk LAB="$lab" core grader labs >"$base/prebuild.log" 2>&1) ||
    fail "prebuilding the instructor tree failed (log: $base/prebuild.log)"
grade b-hostile "$hostile" --lab "$lab"
# Nothing of the hostile submission reached the work tree: it is the instructor's tree.
diff -r -x build "$inst" "$work" >"$base/b-hostile.diff" 2>&1 ||
    fail "(b) the work tree differs from the instructor tree: $(head -n 5 "$base/b-hostile.diff")"
grep -q "^ignored ${#edits[@]} other file" "$base/b-hostile.log" ||
    fail "(b) hosted-grade.sh did not report the ${#edits[@]} ignored files: $(grep '^ignored' "$base/b-hostile.log")"
grep -q HOSTILE "$base/b-hostile.log" "$base/out-b-hostile"/* && fail "(b) a hostile file was used"

sa=$(score "$base/a-honest.log") sb=$(score "$base/b-hostile.log")
[ -n "$sa" ] && [ "${sa%%/*}" = 0 ] || fail "(a) the skeleton scored '$sa', not 0"
[ "$sa" = "$sb" ] || fail "(a) scored $sa but (b) $sb"
lines "$base/a-honest.log" >"$base/a.lines"
lines "$base/b-hostile.log" >"$base/b.lines"
[ -s "$base/a.lines" ] || fail "(a) no per-test lines in $base/a-honest.log"
cmp -s "$base/a.lines" "$base/b.lines" ||
    fail "(a) and (b) per-test results differ: $(diff "$base/a.lines" "$base/b.lines" | head -n 5)"
results "$base/out-a-honest/results.json" >"$base/a.results"
results "$base/out-b-hostile/results.json" >"$base/b.results"
cmp -s "$base/a.results" "$base/b.results" ||
    fail "(a) and (b) results.json differ: $(diff "$base/a.results" "$base/b.results" | head -n 5)"
echo "hosted-check: (a) = (b): $sa, the same $(wc -l <"$base/a.lines") per-test results and results.json"

# The control: the hostile tree graded as it stands, as the Classroom workflow used to.
cp -a "$inst/build" "$hostile/build"
(cd "$hostile" && touch -- "${edits[@]}") # newer than the copied build: rebuilt
(cd "$hostile" && mk LAB="$lab" grade >"$base/control.log" 2>&1) ||
    fail "grading the hostile tree in place failed (log: $base/control.log)"
sc=$(score "$base/control.log")
grep -q 'HOSTILE Makefile in use' "$base/control.log" || fail "(control) the hostile Makefile was not read"
[ -n "$sc" ] && [ "$sc" != "$sa" ] ||
    fail "(control) the hostile tree graded in place scored '$sc', as (a): the edits prove nothing"
echo "hosted-check: (control) the hostile tree graded in place would score $sc"

if [ $have_ref = 1 ]; then
    grade c-reference "$full"
    grep -q "^hosted-grade: labs graded: $lab " "$base/c-reference.log" || fail "(c) graded other labs"
    grep -q "taken from the submission's vlab-main/labs/$lab/$lab.c" "$base/c-reference.log" ||
        fail "(c) the file in the top folder was not taken"
    sc=$(score "$base/c-reference.log")
    [ -n "$sc" ] && [ "${sc%%/*}" = "${sc##*/}" ] && [ "${sc%%/*}" != 0 ] ||
        fail "(c) the reference scored '$sc', not full marks"
    classroom_check "$base/out-c-reference/classroom.json" "${sc%%/*}" pass
    classroom_check "$base/out-a-honest/classroom.json" 0 fail
    grade d-rerun "$honest"
    [ "$(score "$base/d-rerun.log")" = "$sa" ] || fail "(d) the rerun scored $(score "$base/d-rerun.log"), not $sa"
    lines "$base/d-rerun.log" | cmp -s - "$base/a.lines" || fail "(d) per-test results differ from (a)"
else
    echo "hosted-check: no reference/$lab: (c) and (d) skipped"
fi
echo "hosted-check: passed in $(($(date +%s) - started))s; logs in $base"
