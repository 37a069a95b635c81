#!/usr/bin/env bash
# Every test of every lab's rubric has a hint: what a CRASH or TIMEOUT of it most likely means
# (the grader prints it; format in grading/README.md). Lists the tests without one.
#   grading/hints-check.sh [LAB...]
set -uo pipefail
cd "$(dirname "$0")/.."
labs=("$@")
[ ${#labs[@]} -gt 0 ] || labs=($(ls -d harness/*/tests 2>/dev/null | cut -d/ -f2))
missing=0
for lab in "${labs[@]}"; do
    r=grading/rubric/$lab
    mapfile -t globs < <(awk '$1 == "hint" { print $2 }' "$r")
    for t in $(awk '$1 == "test" { print $2 }' "$r"); do
        hit=0
        for g in "${globs[@]}"; do
            # shellcheck disable=SC2254
            case $t in $g) hit=1 && break ;; esac
        done
        if [ $hit = 0 ]; then
            echo "$r: test $t has no hint (what would a crash or a hang of it mean?)"
            missing=$((missing + 1))
        fi
    done
done
echo "hints: $missing tests without one"
[ $missing = 0 ]
