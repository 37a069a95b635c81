#!/usr/bin/env bash
# `make test-sanitize [LAB=...]`: core, the grader and each lab's reference built with
# AddressSanitizer + UndefinedBehaviorSanitizer (leaks included), their own tests run, and any
# sanitizer report from any process (Criterion's workers and the grader's children included)
# fails the check. Reports go to files (log_path), so a worker whose stderr Criterion swallows
# still leaves one.
#
# The grader's self-tests run the ASan grader over the self-test labs built *without* the
# sanitizer: those labs are the hostile programs the grader must fence in (a 4 GiB memory hog,
# a fork bomb), and ASan's shadow memory cannot live under the memory limit they must hit.
set -uo pipefail
cd "$(dirname "$0")/.."
labs=("$@")
[ ${#labs[@]} -gt 0 ] || labs=($(ls -d harness/*/tests | cut -d/ -f2))
out=${SANITIZE_OUT:-build/sanitize}
obj=$out/obj
plain=$out/plain
logs=$out/reports
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
rm -rf "$logs" "$out"/*.log
mkdir -p "$logs"

echo "== build (sanitized: core, grader, references of: ${labs[*]}; plain: self-test labs)"
make -s NO_DEPS=1 BUILD="$obj" SOL=reference SOLOUT="$obj/reference" OPT="-O1 -g" \
    EXTRA_CFLAGS="$SAN" EXTRA_LDFLAGS="$SAN" LAB="${labs[*]}" \
    core grader labs "$obj/grading/test-grader" >"$out/build.log" 2>&1 ||
    { tail -n 40 "$out/build.log"; echo "test-sanitize: the sanitized build failed ($out/build.log)"; exit 1; }
make -s NO_DEPS=1 BUILD="$plain" selftest-bins >"$out/build-plain.log" 2>&1 ||
    { tail -n 40 "$out/build-plain.log"; echo "test-sanitize: the self-test labs did not build"; exit 1; }

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:log_exe_name=1:fast_unwind_on_malloc=0:malloc_context_size=20:log_path=$PWD/$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$PWD/$logs/ubsan"
export LSAN_OPTIONS="log_exe_name=1:log_path=$PWD/$logs/lsan:suppressions=$PWD/grading/sanitize.supp"

fail=0
run() { # NAME CMD...: the command's own verdict; reports are counted at the end, from the
    # report files and from the command's own output
    local name=$1 t0=$SECONDS
    shift
    if "$@" >"$out/$name.log" 2>&1; then
        printf '  PASS  %-28s %4ds\n' "$name" $((SECONDS - t0))
    else
        printf '  FAIL  %-28s %4ds   (log: %s)\n' "$name" $((SECONDS - t0)) "$out/$name.log"
        tail -n 20 "$out/$name.log" | sed 's/^/        | /'
        fail=1
    fi
}

echo "== tests"
run core "$obj/core/test-core" --jobs 2
for lab in "${labs[@]}"; do
    if [ "$lab" = sandbox ]; then
        # The container's own processes cannot reach log_path once they pivot_root: ASan would
        # die there trying to open it. Its reports go to the test's output instead.
        run "reference-$lab" env ASAN_OPTIONS="${ASAN_OPTIONS%%:log_path=*}" \
            UBSAN_OPTIONS="${UBSAN_OPTIONS%%:log_path=*}" \
            LSAN_OPTIONS="suppressions=$PWD/grading/sanitize.supp" \
            "$obj/reference/$lab/test-$lab" --jobs 2
    else
        run "reference-$lab" "$obj/reference/$lab/test-$lab" --jobs 2
    fi
done
# The grader's self-tests need every lab's nothing: only the grader and its fixtures.
run grader env BUILD="$obj" VLAB_GRADE_BIN="$obj/grading/vlab-grade" \
    VLAB_SELFTEST_BUILD="$plain/selftest" "$obj/grading/test-grader" --jobs 2

# Criterion's workers switch stacks, which makes ASan write a warning ("ignoring requested
# __asan_handle_no_return", google/sanitizers#189) into a log of its own: a note, not a report.
reports=$(grep -lE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' -r "$logs" "$out"/*.log |
    sort)
notes=$(grep -L 'ERROR\|runtime error:' -r "$logs" | wc -l)
[ "$notes" = 0 ] || echo "   ($notes logs hold only ASan's stack-switch warning: $logs)"
if [ -n "$reports" ]; then
    echo "== sanitizer reports ($(echo "$reports" | wc -l))"
    for f in $reports; do
        echo "-- $f"
        head -n 30 "$f" | sed 's/^/   /'
    done
    fail=1
else
    echo "== no sanitizer report (ASan, UBSan, LeakSanitizer) from any process"
fi
exit $fail
