#!/usr/bin/env bash
# `make test-determinism`: the same submission always gets the same grade. For each lab, grades
# the reference and a partial solution (the reference with one of its mutants applied, so some
# tests fail) RUNS times (default 20) and requires identical per-test results: status and
# points of every test, every time. Budgets are counters, never time, so nothing may vary.
#   grading/determinism.sh [LAB...]          RUNS=N to change the count
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export NO_DEPS=1 BUILD
runs=${RUNS:-20}
labs=("$@")
[ ${#labs[@]} -gt 0 ] || labs=($(ls -d harness/*/tests 2>/dev/null | cut -d/ -f2))
work=$BUILD/determinism
rm -rf "$work" && mkdir -p "$work"
fail=0

# results FILE: one "name PASS|NOPASS score" line per test, in rubric order. A failing test may
# FAIL on one run and CRASH on the next when the solution's bug is undefined behaviour (a write
# past a buffer that a guard page stops only sometimes): the grade is the same, so what must not
# vary is whether each test passed and its points; how a failure showed is listed apart.
results() {
    python3 -c '
import json, sys
for t in json.load(open(sys.argv[1]))["tests"]:
    words = t["output"].split()  # "PASS", "FAIL: why", "PASS" then the test output, ...
    st = words[0].rstrip(":") if words else "?"
    print(t["name"], "PASS" if st == "PASS" else "NOPASS", t["score"])
    print(t["name"], st, file=sys.stderr)' "$1"
}

# check_solution LABEL BUILD_DIR LAB: grade RUNS times, compare each run with the first
check_solution() {
    local label=$1 bdir=$2 lab=$3 i first
    first="$work/$lab-$label-1.txt"
    for i in $(seq 1 "$runs"); do
        "$BUILD/grading/vlab-grade" --quiet --build "$bdir" --sol "det-$label" \
            --out "$work/$lab-$label-out" "$lab" >/dev/null
        results "$work/$lab-$label-out/results.json" >"$work/$lab-$label-$i.txt" \
            2>"$work/$lab-$label-$i.status"
        if ! cmp -s "$first" "$work/$lab-$label-$i.txt"; then
            echo "  FAIL  $lab/$label: run $i differs from run 1:"
            diff "$first" "$work/$lab-$label-$i.txt" | sed 's/^/        /' | head -20
            fail=$((fail + 1))
            return
        fi
    done
    local passed total varied
    passed=$(awk '$2 == "PASS"' "$first" | wc -l)
    total=$(wc -l <"$first")
    echo "  PASS  $lab/$label: $runs runs, identical ($passed of $total tests pass each time)"
    varied=$(cat "$work/$lab-$label"-*.status | sort -u | awk '{n[$1]++; s[$1]=s[$1] " " $2}
        END { for (t in n) if (n[t] > 1) print t ":" s[t] }')
    [ -z "$varied" ] || echo "$varied" | sed 's/^/        failed differently from run to run (same points): /'
    return 0
}

make -s all SOL=reference LAB="${labs[*]}" >/dev/null
for lab in "${labs[@]}"; do
    check_solution reference "$BUILD/reference" "$lab"
    # the partial solution: the first mutant in name order that builds
    for m in grading/mutants/"$lab"/*.patch; do
        name=$(basename "$m" .patch)
        if grading/mutant.sh "$lab" "$m" >/dev/null 2>&1 ||
            [ -x "$BUILD/mutants/$lab/$name/build/$lab/test-$lab" ]; then
            check_solution "mutant-$name" "$BUILD/mutants/$lab/$name/build" "$lab"
            break
        fi
    done
done
echo "determinism: $fail differences"
[ $fail = 0 ]
