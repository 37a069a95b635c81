#!/usr/bin/env bash
# Part of `make test`: the handout holds no instructor material, builds on its own and its
# `make grade` scores 0 without crashing the grader; what students read first (README.md,
# docs/student-guide.md, the lab handouts) names no instructor-only command or file; the
# student guide's sample output agrees with the real output (header, tests, points, total);
# and the terminal's "more lines in FILE" names a report that exists.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${BUILD:-build}/handout-check
fail() {
    echo "handout-check: $*" >&2
    exit 1
}
rm -rf "$tree"
grading/handout.sh "$tree"
for leak in reference grading/mutants grading/attacks .ci docs/instructor-guide.md grading/handout; do
    [ ! -e "$tree/$leak" ] || fail "handout leaks $leak"
done
if find "$tree/harness" -path '*/tests/hidden/*' | grep -q .; then fail "handout leaks hidden tests"; fi

# What students read: no instructor-only command, file or link.
instructor='SOL=reference|reference/|grading/mutants|grading/attacks|mutant|instructor-guide|make test-(vm|attacks|determinism)|make (coverage|fuzz|handout|gradescope|classroom)'
if grep -nE "$instructor" "$tree/README.md" "$tree/docs/student-guide.md" "$tree"/labs/*/README.md; then
    fail "the student tree's README, guide or handouts name instructor-only things (above)"
fi
grep -q '^make grade LAB=' "$tree/README.md" || fail "the student README does not say how to grade"
for f in $(grep -oE '\]\([^)#]+\)' "$tree/README.md" | sed 's/^](//; s/)$//'); do
    [ -e "$tree/$f" ] || fail "the student README links $f, which the tree does not have"
done

out=$tree/grade.out
NO_COLOR=1 make -C "$tree" -s NO_DEPS=1 grade GRADE_FLAGS="--expect zero" | tee "$out"

# The guide's sample: the fenced block after "## Reading the output".
sample=$(awk '/^## Reading the output/ { on = 1 } on && /^```$/ { if (inb) exit; inb = 1; next }
              inb { print }' "$tree/docs/student-guide.md")
[ -n "$sample" ] || fail "docs/student-guide.md has no sample under '## Reading the output'"
while IFS= read -r line; do
    case "$line" in
    "== "*)
        grep -qxF -- "$line" "$out" || fail "the guide's header '$line' is not the grader's: $(grep '^== ' "$out" | head -n 1)"
        ;;
    "  PASS "* | "  FAIL "* | "  CRASH "* | "  TIMEOUT "* | "  SKIP "*)
        read -r _ pts _ name <<<"$line"
        grep -qE "^  [A-Z]+ +[0-9.]+/${pts#*/} +[0-9.]+s +$name\$" "$out" ||
            fail "the guide's '$name' worth ${pts#*/} is not in the grader's output"
        ;;
    "     "*[0-9]/[0-9]*"  "*)
        grep -qF -- "/${line#*/}" "$out" || fail "the guide's task line '$line' is not the grader's"
        ;;
    "score: "*)
        lab_max=$(sed -nE 's/^-- pagewalk: [0-9.]+\/([0-9.]+) .*/\1/p' "$out")
        [ "${line##*/}" = "$lab_max" ] || fail "the guide's '$line' is not out of pagewalk's $lab_max"
        ;;
    *"more lines in "*)
        f=${line##*more lines in }
        f=${f%)}
        [ -f "$tree/$f" ] || fail "the guide's report $f was not written"
        ;;
    esac
done <<<"$sample"
echo "handout-check: the student tree is clean and the guide's sample matches the grader"
