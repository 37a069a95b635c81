#!/usr/bin/env bash
# `make coverage`: line and branch coverage of core/ and reference/ under their own tests.
# gcovr: HTML details, Cobertura XML, summary; lcov + genhtml with branch coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
labs=("$@")
out=build/coverage
obj=$out/obj
rm -rf "$out"
mkdir -p "$out"
make -s NO_DEPS=1 BUILD="$obj" SOL=reference SOLOUT="$obj/reference" OPT="-O0 -g" \
    EXTRA_CFLAGS=--coverage LAB="${labs[*]}" core labs >"$out/build.log" 2>&1 ||
    { cat "$out/build.log"; exit 1; }
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

# lcov 1.16 under newer Perl warns about redefined subroutines; keep that out of the way.
lcov --quiet --capture --directory "$obj" --rc lcov_branch_coverage=1 -o "$out/all.info" \
    2>"$out/lcov.log"
lcov --quiet --rc lcov_branch_coverage=1 --extract "$out/all.info" "$PWD/core/src/*" \
    "$PWD/reference/*" -o "$out/lcov.info"
genhtml --quiet --branch-coverage --output-directory "$out/lcov" "$out/lcov.info" |
    tail -n 4 || true
lcov --rc lcov_branch_coverage=1 --summary "$out/lcov.info" 2>&1 | tail -n 4
# Per-tree line/branch rates, so core and the reference solutions are reported apart.
for tree in core/src reference; do
    printf '%-10s ' "$tree"
    gcovr --root . --object-directory "$obj" --filter "$tree/" --exclude-unreachable-branches \
        --print-summary -o "$out/summary-$(basename "$tree").txt" | tr '\n' ' '
    echo
done | tee -a "$out/summary.txt"
echo "coverage: $out/gcovr/index.html, $out/lcov/index.html, $out/coverage.xml"
