#!/usr/bin/env bash
# The lab's rules for a solution's code, checked on its compiled objects before the lab links:
#   grading/policy.sh [--instrumented] LAB SRC_DIR OBJ...
# Rules come from harness/lib/policy.base (every lab) and harness/LAB/policy (the lab's own),
# in the format documented in docs/instructor-guide.md ("A lab's policy"):
#   define  PATTERN...          global symbols the lab's files may define (all else: static)
#   allow   PATTERN...          external symbols they may use
#   deny    PATTERN  REASON     external symbols they may not use, and why
#   libc    yes                 any symbol of the C library, but for what is denied
#   insn    syscall             raw system-call instructions are allowed
# A symbol is judged by the first rule that matches: the lab's allow and deny lines in the order
# written, then the base's, then libc. Anything unmatched is refused. Every object is also
# refused if it has constructors or destructors (.init_array, .ctors, ...), an IFUNC, or a raw
# syscall/sysenter/int $0x80 instruction. --instrumented (coverage and sanitizer builds, never
# graded) lets the compiler's own constructors and runtime symbols through.
# Prints one "FILE: error: ... [vlab-policy]" line per problem; exits 1 if there was any.
set -uo pipefail
instrumented=0
if [ "${1:-}" = --instrumented ]; then
    instrumented=1
    shift
fi
lab=$1 srcdir=$2
shift 2
here=${VLAB_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
base=$here/harness/lib/policy.base
own=$here/harness/$lab/policy
for f in "$base" "$own"; do
    [ -r "$f" ] || { echo "$f: error: missing (every lab declares its policy) [vlab-policy]"; exit 1; }
done

# rules: "KIND<TAB>PATTERN<TAB>REASON" in the order they are consulted
rules() {
    local file=$1 kinds=$2
    awk -v kinds="$kinds" '
        /^[ \t]*(#|$)/ { next }
        {
            kind = $1
            if (index(" " kinds " ", " " kind " ") == 0) next
            if (kind == "deny") {
                reason = ""
                for (i = 3; i <= NF; i++) reason = reason (i > 3 ? " " : "") $i
                printf "deny\t%s\t%s\n", $2, reason
            } else {
                for (i = 2; i <= NF; i++) { if ($i ~ /^#/) break; printf "%s\t%s\t\n", kind, $i }
            }
        }' "$file"
}
mapfile -t order < <(rules "$own" "deny allow"; rules "$base" "deny allow"
    if [ $instrumented = 1 ]; then rules "$base" instrumented | sed 's/^instrumented/allow/'; fi)
mapfile -t defines < <(rules "$own" define | cut -f2)
libc=$(awk '$1 == "libc" { print $2 }' "$own")
insn_ok=$(awk '$1 == "insn" { print $2 }' "$own")

declare -A libc_syms=()
if [ "$libc" = yes ]; then
    so=$(${CC:-gcc} -print-file-name=libc.so.6)
    while read -r s; do libc_syms[$s]=1; done < <(nm -D --defined-only "$so" 2>/dev/null |
        awk '{ sub(/@.*/, "", $3); print $3 }')
fi

# verdict SYMBOL: prints "allow" or "deny<TAB>REASON"
verdict() {
    local sym=$1 kind pat reason
    for r in "${order[@]}"; do
        IFS=$'\t' read -r kind pat reason <<<"$r"
        # shellcheck disable=SC2254
        case $sym in
        $pat)
            if [ "$kind" = allow ]; then echo allow; else printf 'deny\t%s\n' "$reason"; fi
            return
            ;;
        esac
    done
    if [ -n "${libc_syms[$sym]:-}" ]; then echo allow; else printf 'deny\t\n'; fi
}

problems=0
say() {
    echo "$1: error: $2 [vlab-policy]"
    problems=$((problems + 1))
}

for obj in "$@"; do
    src=$srcdir/$(basename "${obj%.o}").c
    # external symbols used
    while read -r sym type; do
        v=$(verdict "$sym")
        [ "$v" = allow ] && continue
        reason=${v#deny$'\t'}
        if [ -n "$reason" ]; then
            say "$src" "uses $sym: $reason"
        else
            say "$src" "uses $sym, which this lab does not allow (the handout says what your code may call; harness/$lab/policy lists it)"
        fi
    done < <(nm -u --format=posix "$obj" | awk '$2 == "U" || $2 == "w" { print $1, $2 }')
    # global symbols defined
    while read -r sym type; do
        if [ "$type" = i ]; then
            say "$src" "$sym is an IFUNC: its resolver would run when the program loads, before any test"
            continue
        fi
        ok=0
        for pat in "${defines[@]}"; do
            # shellcheck disable=SC2254
            case $sym in $pat) ok=1 ;; esac
        done
        [ $ok = 1 ] || say "$src" "defines the global symbol $sym: only ${defines[*]} may be global here; make it static (a global name could replace one of the harness's)"
    done < <(nm -g --defined-only --format=posix "$obj" | awk '{ print $1, $2 }')
    if [ $instrumented = 0 ]; then
        while read -r sec; do
            say "$src" "has a $sec section (a constructor or destructor): no code of yours may run before or after the tests"
        done < <(readelf -SW "$obj" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p' |
            grep -E '^\.(init_array|fini_array|preinit_array|ctors|dtors|init|fini)(\.|$)' | sort -u)
    fi
    if [ "$insn_ok" != syscall ]; then
        while read -r where ins; do
            say "$src" "contains a raw '$ins' instruction (in $where): this lab's code makes no system calls of its own"
        done < <(objdump -d --no-show-raw-insn "$obj" | awk '
            /^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn) }
            /^ *[0-9a-f]+:\t/ {
                split($0, a, "\t"); ins = a[2]; sub(/ +$/, "", ins); gsub(/ +/, " ", ins)
                # x86-64 and i386 system calls, and AArch64 svc (an arm64 host, its own objdump)
                if (ins ~ /^(syscall|sysenter|svc)$/ || ins ~ /^int +\$0x80$/) {
                    print fn, ins
                }
            }')
    fi
done
[ $problems = 0 ]
