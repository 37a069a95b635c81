#!/usr/bin/env bash
# Part of `make test`: the handout holds no instructor material, builds on its own and its
# `make grade` scores 0 without crashing the grader.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${BUILD:-build}/handout-check
rm -rf "$tree"
grading/handout.sh "$tree"
for leak in reference grading/mutants grading/attacks .ci; do
    if [ -e "$tree/$leak" ]; then echo "handout leaks $leak" >&2; exit 1; fi
done
if find "$tree/harness" -path '*/tests/hidden/*' | grep -q .; then
    echo "handout leaks hidden tests" >&2
    exit 1
fi
make -C "$tree" -s NO_DEPS=1 grade GRADE_FLAGS="--expect zero"
