#!/usr/bin/env bash
# Proves one seeded bug is caught: copies reference/<lab>, applies the patch, builds the lab's
# test binary against the copy and grades it with --kills on the tests the patch names.
#   grading/mutant.sh LAB grading/mutants/LAB/NAME.patch
# LAB "core" patches core/ and checks the named core unit tests fail; LAB "grader" patches
# grading/src and checks the named grader self-tests fail (with "Sanitize: on" in the patch, on
# an ASan+UBSan grader, and a sanitizer report fails a test too); LAB "policy" patches
# grading/policy.sh and checks the named cases of grading/policy-test.sh fail. LAB "report"
# patches report/ and checks report/check.sh fails at the tag named.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lab=$1 patch=$2
name=$(basename "$patch" .patch)
kills=$(sed -n 's/^Kills:[[:space:]]*//p' "$patch" | head -n 1)
if [ -z "$kills" ]; then
    echo "$patch: no 'Kills: test ...' line: every mutant must name the tests that catch it" >&2
    exit 2
fi
work=${BUILD:-build}/mutants/$lab/$name
rm -rf "$work"
mkdir -p "$work/src"

if [ "$lab" = grader ]; then
    # The grader's self-tests run against a patched copy of the grader; each named self-test
    # must fail. The hostile test binaries are the ones `make selftest-bins` built.
    mkdir -p "$work/src/grading"
    cp -rp grading/src "$work/src/grading/src"
    if ! patch -s -p1 -d "$work/src/grading" < "$patch"; then
        echo "$patch no longer applies to grading/src: refresh it" >&2
        exit 2
    fi
    # the unpatched files' objects are the main build's (times kept): only the patched file and
    # the link are redone. "Sanitize: on" in a patch (a leak, an overflow: bugs no verdict shows):
    # the grader is built with ASan+UBSan, as `make mutate PART=grader` builds it, from a
    # sanitized build of the unpatched grader kept in build/mutants/grader-asan, and a sanitizer
    # report during a named self-test kills the mutant as a failed one does.
    objs=${BUILD:-build}/grading/obj san=()
    if grep -qi '^Sanitize:[[:space:]]*on' "$patch"; then
        SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
        san=(OPT="-O2 -g" EXTRA_CFLAGS="$SAN" EXTRA_LDFLAGS="$SAN")
        objs=${BUILD:-build}/mutants/grader-asan/grading/obj
        # `make test` checks mutants two at a time: one builds the shared base, the other waits
        mkdir -p "${BUILD:-build}/mutants"
        flock "${BUILD:-build}/mutants/grader-asan.lock" \
            make -s NO_DEPS=1 BUILD="${BUILD:-build}/mutants/grader-asan" "${san[@]}" \
            "${BUILD:-build}/mutants/grader-asan/grading/vlab-grade"
    fi
    reuse_objects "$objs" "$work/build/grading/obj"
    make -s NO_DEPS=1 GRADER_DIR="$work/src/grading/src" BUILD="$work/build" "${san[@]}" \
        "$work/build/grading/vlab-grade"
    status=0
    for t in $kills; do
        rep=$(realpath "$work")/reports-$t
        # self-tests that run the grader as another user (AS_UID) write there too
        mkdir -p "$rep" && chmod 1777 "$rep"
        if VLAB_GRADE_BIN="$work/build/grading/vlab-grade" \
            VLAB_SELFTEST_BUILD="${BUILD:-build}/selftest" \
            ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_exe_name=1:log_path=$rep/asan" \
            UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$rep/ubsan" \
            LSAN_OPTIONS="log_exe_name=1:log_path=$rep/lsan:suppressions=$PWD/grading/sanitize.supp" \
            timeout 120 "${BUILD:-build}/grading/test-grader" --filter "grader/$t" \
            >"$work/$t.log" 2>&1 &&
            ! grep -qlE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' -r "$rep"; then
            echo "grader/$t passed: the mutant '$name' survives it"
            status=1
        elif grep -qlE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' -r "$rep"; then
            # a test that passed is not named in the log: the list says it exists
            if timeout 30 "${BUILD:-build}/grading/test-grader" --list | grep -E "[─ ]$t\$" >/dev/null; then
                echo "grader/$t: a sanitizer report ($(grep -lE 'ERROR|runtime error:' -r "$rep" |
                    head -n 1)): killed"
            else
                echo "grader/$t: no such self-test"
                status=1
            fi
        elif ! grep -q "grader::$t" "$work/$t.log"; then
            echo "grader/$t: no such self-test"
            status=1
        else
            echo "grader/$t fails: killed"
        fi
    done
    exit $status
fi

if [ "$lab" = policy ]; then
    # The policy checker's tests run against a patched copy of grading/policy.sh; each named
    # case of grading/policy-test.sh must fail.
    cp grading/policy.sh "$work/src/policy.sh"
    if ! patch -s -p1 -d "$work/src" < "$patch"; then
        echo "$patch no longer applies to grading/policy.sh: refresh it" >&2
        exit 2
    fi
    status=0
    for t in $kills; do
        if POLICY_SH="$work/src/policy.sh" BUILD="$work/build" grading/policy-test.sh "$t" \
            >"$work/$t.log" 2>&1; then
            if grep -q "  PASS  $t\$" "$work/$t.log"; then
                echo "policy/$t passed: the mutant '$name' survives it"
            else
                echo "policy/$t: no such case"
            fi
            status=1
        else
            echo "policy/$t fails: killed"
        fi
    done
    exit $status
fi

if [ "$lab" = report ]; then
    # `make report`'s generator: report/check.sh runs on a patched copy and must fail with the
    # tag the patch names (it stops at the first failure: one tag per mutant).
    cp -rp report "$work/src/report"
    if ! patch -s -p1 -d "$work/src/report" < "$patch"; then
        echo "$patch no longer applies to report/: refresh it" >&2
        exit 2
    fi
    reuse_objects "${BUILD:-build}/report/obj" "$work/build/report/obj"
    make -s NO_DEPS=1 REPORT_DIR="$work/src/report" BUILD="$work/build" \
        "$work/build/report/vlab-report"
    if VLAB_REPORT_TOOL="$work/build/report/vlab-report" report/check.sh >"$work/check.log" 2>&1
    then
        echo "report/check.sh passed: the mutant '$name' survives it"
        exit 1
    elif grep -q "^FAIL \[$kills\]" "$work/check.log"; then
        echo "report/$kills fails: killed"
        exit 0
    fi
    echo "report/check.sh failed otherwise than at [$kills]: $(grep -m1 '^FAIL' "$work/check.log")"
    exit 1
fi

if [ "$lab" = core ]; then
    # core has no rubric: each named core test must exist and fail on the patched copy.
    cp -rp core "$work/src/core"
    if ! patch -s -p1 -d "$work/src/core" < "$patch"; then
        echo "$patch no longer applies to core/: refresh it" >&2
        exit 2
    fi
    reuse_objects "${BUILD:-build}/core/obj" "$work/build/core/obj"
    reuse_objects "${BUILD:-build}/core/tests" "$work/build/core/tests"
    reuse_objects "${BUILD:-build}/core/guests" "$work/build/core/guests"
    make -s NO_DEPS=1 CORE_DIR="$work/src/core" BUILD="$work/build" "$work/build/core/test-core"
    bin=$work/build/core/test-core
    status=0
    for t in $kills; do
        # grep reads the whole list: with -q it could exit first and, under pipefail, the
        # SIGPIPE of the listing binary would read as "no such test".
        if ! timeout 30 "$bin" --list | grep -E "[─ ]$t\$" >/dev/null; then
            echo "core/$t: no such test"
            status=1
        # A bound on time: a mutant may well turn a loop into an endless one (that kills it too).
        elif timeout 60 "$bin" --filter "core/$t" >"$work/$t.log" 2>&1; then
            echo "core/$t passed: the mutant '$name' survives it"
            status=1
        else
            echo "core/$t fails: killed"
        fi
    done
    exit $status
fi
cp -r "reference/$lab" "$work/src/$lab"
if ! patch -s -p1 -d "$work/src/$lab" < "$patch"; then
    echo "$patch no longer applies to reference/$lab: refresh it" >&2
    exit 2
fi
reuse_harness_build "${BUILD:-build}/reference" "$work/build" "$lab"
# "Policy: off" in a patch: the lab's policy check is skipped for it, so the mutant proves the
# grader's other fences (the completion record) rather than the build's.
policy=on
if grep -qi '^Policy:[[:space:]]*off' "$patch"; then policy=off; fi
make -s NO_DEPS=1 LAB="$lab" SOL="$work/src" SOLOUT="$work/build" VLAB_POLICY=$policy \
    "$work/build/$lab/test-$lab"
# Only the named tests run: the others say nothing about this mutant, and a mutant that breaks
# every guest would run each of them into its watchdog.
only=$(printf '%s\n' $kills | sed "s|^$lab/||" | tr '\n' ' ')
rc=0
"${BUILD:-build}"/grading/vlab-grade --quiet --build "$work/build" --sol "mutant-$name" \
    --out "$work/grade" --kills "$kills" --only "$only" "$lab" || rc=$?
# "Hint: TEXT" (ASCII) in a patch: the mutant ends at least one named test in a CRASH or
# TIMEOUT, and each that ends so shows the student the rubric's hint containing TEXT (issue 20:
# not a bare "the test crashed"). A named test that fails with its own message needs none.
hint=$(sed -n 's/^Hint:[[:space:]]*//p' "$patch" | head -n 1)
if [ "$rc" = 0 ] && [ -n "$hint" ]; then
    res=$work/grade/results.json
    bad=$(grep -o -E '"output":[[:space:]]*"(CRASH|TIMEOUT):' "$res" | wc -l || true)
    got=$(grep -o -F "hint: $hint" "$res" | wc -l || true)
    if [ "$bad" = 0 ] || [ "$got" != "$bad" ]; then
        echo "$name: expected the hint 'hint: $hint' on each of the named tests that crashed" \
            "or timed out ($bad), found $got (see $work/grade/summary.md)" >&2
        rc=1
    else
        echo "$name: the $bad test(s) that crashed or timed out show the hint"
    fi
fi
exit $rc
