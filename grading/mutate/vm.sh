# Sourced by grading/mutate.sh for MUTATE_VM=1: the survivors of this host graded again inside
# the QEMU test VM (harness/vm/vlab-vm: a real /dev/kvm, cgroup v2 with its controllers). A lab
# whose code takes one path on a cgroup v1 host and another on v2 (sandbox), or on Unicorn and
# on KVM (vmm), has mutants only the other machine can show: "Paths only one environment takes".
# One VM boot for all of them; the reference is graded there first, and unless it scores full
# marks nothing counts. A survivor whose grade fails there becomes "killed-vm" (in the score,
# and named in the report); one the VM could not grade stays a survivor.
#
# mutate_vm_pass: reads $out/m/ID/outcome, rewrites it for those killed in the VM, and writes
# $out/vm.md (what the report says about the pass). Needs part, out, BUILD, TIMEOUT, VM_SPEC.

mutate_vm_pass() {
    local spec=${VM_SPEC:-} only="" ids=() id script log st
    if [ -z "$spec" ]; then
        echo "MUTATE_VM=1: $part has no tests graded in the test VM (VM_GRADE), so no VM pass." \
            >"$out/vm.md"
        return 0
    fi
    if [ ! -s "$BUILD/vm/base.cpio" ]; then
        echo "MUTATE_VM=1: the test VM is not set up (\`make test-vm\` sets it up), so no VM pass." \
            | tee "$out/vm.md" >&2
        return 0
    fi
    [ "$spec" = "${spec#*:}" ] || only=${spec#*:}
    for id in $(cut -f1 "$out/sample.tsv"); do
        grep -qx survived "$out/m/$id/outcome" 2>/dev/null && ids+=("$id")
    done
    if [ ${#ids[@]} = 0 ]; then
        echo "MUTATE_VM=1: no survivor to grade in the test VM." >"$out/vm.md"
        return 0
    fi
    local B O
    B=$(realpath "$BUILD") O=$(realpath "$out")
    local grader=$B/grading/vlab-grade rubric=$PWD/grading/rubric
    local withs=(--with "$grader" --with "$rubric" --with "$B/reference/$part")
    script=$O/vm-grade.sh log=$O/vm.log
    {
        printf '#!/bin/sh\n# make mutate MUTATE_VM=1: the reference, then each survivor\n'
        printf 'grade() {\n'
        printf '  %q --build "$2" --rubric %q --sol "$1" --out "/tmp/g/$1" --expect full %s %q >"/tmp/$1.out" 2>&1\n' \
            "$grader" "$rubric" "${only:+--only $(printf %q "$only")}" "$part"
        # a skip means the VM lacked what it is for: no verdict
        printf '  st=$?; if tail -n 1 "/tmp/$1.out" | grep -q skipped; then st=skip; fi\n'
        printf '  grep -E "^(score:|  (FAIL|CRASH|TIMEOUT) )" "/tmp/$1.out" | head -n 4 | sed "s/^/  $1: /"\n'
        printf '  echo "vlab-mutate-vm: $1 $st"\n}\n'
        printf 'grade original %q\n' "$B/reference"
        for id in "${ids[@]}"; do
            printf 'grade %q %q\n' "$id" "$O/m/$id/build"
            withs+=(--with "$O/m/$id/build/$part")
        done
    } >"$script"
    chmod 755 "$script"
    echo "mutate $part: grading the ${#ids[@]} survivors again in the test VM (tests: ${only:-all})"
    st=0
    BUILD=$BUILD VLAB_VM_QUIET=1 harness/vm/vlab-vm run --timeout $((120 + 2 * TIMEOUT * (${#ids[@]} + 1))) \
        --log "$log" "${withs[@]}" --with "$script" -- /bin/sh "$script" >/dev/null 2>&1 || st=$?
    verdict() { sed -n "s/^vlab-mutate-vm: $1 \([a-z0-9]*\).*/\1/p" "$log" | tr -d '\r' | tail -n 1; }
    local orig killed=() kept=()
    orig=$(verdict original)
    if [ "$orig" != 0 ]; then
        {
            echo "MUTATE_VM=1: the reference did not score full marks in the test VM" \
                "(status ${orig:-none}, VM status $st; log \`$log\`), so the VM pass counts nothing."
        } >"$out/vm.md"
        echo "mutate $part: the reference failed in the test VM (log: $log): no VM verdicts" >&2
        return 0
    fi
    for id in "${ids[@]}"; do
        case $(verdict "$id") in
        0) ;;
        [1-9]*) echo killed-vm >"$out/m/$id/outcome" && killed+=("$id") ;;
        *) kept+=("$id") ;;
        esac
    done
    {
        echo "Test VM (MUTATE_VM=1): the ${#ids[@]} survivors of this host graded again inside the" \
            "QEMU test VM (real /dev/kvm, cgroup v2 with its controllers; tests: ${only:-all}), after" \
            "the reference scored full marks there. ${#killed[@]} failed there" \
            "(killed-vm, counted as killed)${killed[*]:+: ${killed[*]}}.${kept[*]:+ Not graded there" \
            "(VM failure or skipped tests; still survivors): ${kept[*]}.} Log: \`$log\`."
    } >"$out/vm.md"
}
