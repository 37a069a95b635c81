#!/usr/bin/env bash
# Proves a hostile submission earns nothing: copies the skeleton labs/<lab>, applies the attack,
# and grades it with `make grade`, exactly as a student runs it; the score must be at most the
# patch's "Max:" (default 5).
#   grading/attack.sh LAB grading/attacks/LAB/NAME.patch
# "Min: N" also asks for at least N: a partial solution kept here to bound what a milestone
# earns (e.g. dbt's minimal_milestone) must still build and run, or its bound proves nothing.
# An attack patch starts with "Attack: what it tries" and may say "Max: N", "Policy: off" (built
# without the lab's policy check, so another fence must catch it) and "Unchecked-Min: N" (the
# attack is real: without the policy check it scores at least N, so the check is what stops it).
set -euo pipefail
lab=$1 patch=$2
name=$(basename "$patch" .patch)
max=$(sed -n 's/^Max:[[:space:]]*//p' "$patch" | head -n 1)
max=${max:-5}
min=$(sed -n 's/^Min:[[:space:]]*//p' "$patch" | head -n 1)
build=${BUILD:-build}
work=$build/attacks/$lab/$name
rm -rf "$work"
mkdir -p "$work/src"
cp -r "labs/$lab" "$work/src/$lab"
if ! patch -s -p1 -d "$work/src/$lab" <"$patch"; then
    echo "$patch no longer applies to labs/$lab: refresh it" >&2
    exit 2
fi
. "$(dirname "$0")/lib.sh"
reuse_harness_build "$build/labs" "$work/build" "$lab"
policy=on
if grep -qi '^Policy:[[:space:]]*off' "$patch"; then policy=off; fi
unchecked_min=$(sed -n 's/^Unchecked-Min:[[:space:]]*//p' "$patch" | head -n 1)

# grade OUT POLICY: make grade into $work/OUT; prints the score
grade() {
    local out=$1 pol=$2
    make -s --no-print-directory NO_DEPS=1 grade LAB="$lab" SOL="$work/src" \
        SOLOUT="$work/$out" GRADE_OUT="$work/grade-$out" VLAB_POLICY="$pol" \
        >"$work/$out.log" 2>&1 || true
    sed -n 's/^score: \([0-9.]*\)\/\([0-9.]*\)$/\1/p' "$work/$out.log" | tail -n 1
}

if [ -n "$unchecked_min" ]; then
    # first, on a copy of the fresh build: the attack really works where the policy is not checked
    cp -pr "$work/build" "$work/unchecked"
    raw=$(grade unchecked off)
    tail -n 3 "$work/unchecked.log"
    if [ -z "$raw" ] || ! awk -v s="$raw" -v m="$unchecked_min" 'BEGIN { exit !(s >= m) }'; then
        echo "attack $lab/$name: without the policy check it scores '${raw:-nothing}', less than" \
            "$unchecked_min: the attack proves nothing about the check; fix the attack" >&2
        exit 1
    fi
    echo "attack $lab/$name: without the policy check it scores $raw"
fi
score=$(grade build "$policy")
cat "$work/build.log"
if [ -z "$score" ]; then
    echo "attack $lab/$name: no score line: make grade did not finish" >&2
    exit 1
fi
if [ -n "$min" ] && ! awk -v s="$score" -v m="$min" 'BEGIN { exit !(s >= m) }'; then
    echo "attack $lab/$name: scored $score, less than its Min $min: it no longer builds or" \
        "runs as it should; fix the patch" >&2
    exit 1
fi
if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
    echo "attack $lab/$name: scored $score (at most $max): caught"
else
    echo "attack $lab/$name: scored $score, more than $max: the attack works" >&2
    exit 1
fi
