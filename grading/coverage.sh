#!/usr/bin/env bash
# `make coverage`: line and branch coverage of core/ and reference/ under their own tests.
# gcovr: HTML details, Cobertura XML, summary; lcov + genhtml with branch coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
labs=("$@")
out=build/coverage
obj=$out/obj
rm -rf "$out"
make -s NO_DEPS=1 BUILD="$obj" SOL=reference SOLOUT="$obj/reference" OPT="-O0 -g" \
    EXTRA_CFLAGS=--coverage LAB="${labs[*]}" core labs
# A failing test still yields coverage; the pass/fail verdict belongs to `make test`.
"$obj/core/test-core" --jobs 2 >"$out/core-tests.log" 2>&1 || echo "coverage: core tests failed (see $out/core-tests.log)"
for lab in "${labs[@]}"; do
    "$obj/reference/$lab/test-$lab" --jobs 2 >"$out/$lab-tests.log" 2>&1 ||
        echo "coverage: $lab tests failed (see $out/$lab-tests.log)"
done

mkdir -p "$out/gcovr"
gcovr --root . --object-directory "$obj" --filter 'core/src/' --filter 'reference/' \
    --exclude-unreachable-branches \
    --html-details "$out/gcovr/index.html" --cobertura "$out/coverage.xml" \
    --txt "$out/summary.txt" --print-summary | tee "$out/gcovr-summary.txt"

lcov --quiet --capture --directory "$obj" --rc lcov_branch_coverage=1 -o "$out/all.info"
lcov --quiet --rc lcov_branch_coverage=1 --extract "$out/all.info" "$PWD/core/src/*" \
    "$PWD/reference/*" -o "$out/lcov.info"
genhtml --quiet --branch-coverage --output-directory "$out/lcov" "$out/lcov.info" |
    tail -n 4 || true
lcov --rc lcov_branch_coverage=1 --summary "$out/lcov.info" 2>&1 | tail -n 4
echo "coverage: $out/gcovr/index.html, $out/lcov/index.html, $out/coverage.xml"
