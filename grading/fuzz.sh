#!/usr/bin/env bash
# `make fuzz`: libFuzzer harnesses for the parsers of untrusted input, each run for
# FUZZ_SECONDS (default 60) from the seed corpus in grading/fuzz/corpus/<name>/ (new inputs go to
# a scratch copy, never into the repository). Any crash, hang (10 s per input), leak or
# sanitizer report fails it; the input that did it is kept in build/fuzz/ and named.
#   grading/fuzz.sh [NAME...]        names: rubric crit size loader multiboot linux dbt (default:
#                                    all)
# "dbt" is the dbt lab's random-guest differential fuzzer (harness/dbt/dbt_gen.c, the dbtfuzz
# tool) on the reference translator: DBT_SEEDS guests (default 10000), each against the oracle.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
secs=${FUZZ_SECONDS:-60}
cc=${FUZZ_CC:-clang}
out=$BUILD/fuzz
mkdir -p "$out"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(rubric crit size loader multiboot linux dbt)

# the sources each harness needs beside its own file
declare -A srcs=(
    [rubric]="grading/src/rubric.c grading/src/strbuf.c"
    [crit]="grading/src/crit.c grading/src/strbuf.c"
    [size]="harness/lib/tool.c"
    [loader]="core/src/loader.c core/src/gpmem.c core/src/err.c core/src/log.c"
    # the vmm reference with core and the lab's harness: vmm_load is the code fuzzed
    [multiboot]="reference/vmm/vm.c reference/vmm/run.c harness/vmm/console.c harness/vmm/disk.c
                 harness/vmm/names.c $(ls core/src/*.c | tr '\n' ' ')"
    [linux]="core/src/linux.c core/src/gpmem.c core/src/err.c core/src/x86.c"
)
declare -A libs=([multiboot]="$(pkg-config --libs unicorn 2>/dev/null) -lpthread")
flags=(-std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
    -Igrading/src -Iharness/lib -Icore/include -Iharness/vmm -Icore/src)

if ! command -v "$cc" >/dev/null; then
    echo "fuzz: $cc not found: make fuzz installs it when run as root (make fuzz-deps)" >&2
    exit 2
fi
fail=0 total=0
for n in "${names[@]}"; do
    if [ "$n" = dbt ]; then
        seeds=${DBT_SEEDS:-10000} t0=$(date +%s)
        if make -s NO_DEPS=1 SOL=reference LAB=dbt all >"$out/dbt.build.log" 2>&1 &&
            "$BUILD/reference/dbt/dbtfuzz" "$seeds" >"$out/dbt.log" 2>&1; then
            printf '  PASS  fuzz/%-8s %12s random guests in %ss, 0 differences from the oracle\n' \
                dbt "$seeds" "$(($(date +%s) - t0))"
        else
            echo "  FAIL  fuzz/dbt: see $out/dbt.log (the seed and the minimized guest)"
            tail -n 30 "$out/dbt.log" | sed 's/^/        /'
            fail=$((fail + 1))
        fi
        continue
    fi
    bin=$out/fuzz-$n
    if ! $cc "${flags[@]}" -o "$bin" "grading/fuzz/fuzz_$n.c" ${srcs[$n]} ${libs[$n]:-} 2>"$out/$n.build.log"; then
        echo "  FAIL  fuzz/$n: does not build (clang's libFuzzer runtime missing? see $out/$n.build.log)"
        fail=$((fail + 1))
        continue
    fi
    corpus=$out/corpus-$n
    rm -rf "$corpus" && mkdir -p "$corpus" && cp grading/fuzz/corpus/$n/* "$corpus"/
    rm -rf "$out/crash-$n" && mkdir -p "$out/crash-$n"
    ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$out/crash-$n/" "$corpus" \
        >"$out/$n.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$n.log" | tail -n 1)
    total=$((total + ${execs:-0}))
    if [ $rc = 0 ]; then
        printf '  PASS  fuzz/%-8s %12s executions in %ss, corpus %s inputs\n' "$n" "${execs:-?}" \
            "$secs" "$(ls "$corpus" | wc -l)"
    else
        echo "  FAIL  fuzz/$n: exit $rc after ${execs:-?} executions; input kept in $out/crash-$n/"
        grep -m 20 -E 'ERROR|SUMMARY|runtime error|#[0-9]+ ' "$out/$n.log" | sed 's/^/        /'
        fail=$((fail + 1))
    fi
done
echo "fuzz: $total executions, $fail failed"
[ $fail = 0 ]
