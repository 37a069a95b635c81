#!/usr/bin/env bash
# Gradescope autograder image setup: runs once, as root, in /autograder/source (the zip that
# `make gradescope LAB=<lab>` wrote). Installs what building and grading that one lab needs and
# prebuilds the tree, so each run_autograder recompiles only the submitted files.
#
# Base image: Gradescope's "Ubuntu 22.04" (its default and newest documented Ubuntu base). Its
# archive's Unicorn is older than 2 (libunicorn1), and the labs need Unicorn 2: when the
# distribution's candidate libunicorn-dev is older than 2, Unicorn 2.0.1.post1 (the version
# Debian bookworm and Ubuntu 24.04 ship, which the project is measured on) is built from its
# source at a pinned commit, x86 only, into /usr/local. On a base whose archive has Unicorn 2
# (Ubuntu 24.04, Debian 12) the package is used. VLAB_UNICORN_GIT overrides where the source is
# cloned from (a local mirror).
set -euo pipefail
umask 022 # the grader's test uid reads the build
cd "$(dirname "$0")"
lab=$(head -n 1 grading/gradescope/lab)
UNICORN_TAG=2.0.1.post1
UNICORN_COMMIT=e9c1c17f6df8f8f5da85ee80ad527452db5870ce
UNICORN_GIT=${VLAB_UNICORN_GIT:-https://github.com/unicorn-engine/unicorn.git}

[ -r /etc/os-release ] && . /etc/os-release
echo "setup: ${PRETTY_NAME:-unknown system}; lab $lab; $(head -n 1 .vlab-version 2>/dev/null)"
command -v apt-get >/dev/null || { echo "setup: needs an apt-based image (Ubuntu 22.04)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends make >/dev/null

# What grading this lab needs (the Makefile's GRADE_DEBS for the lab).
read -r -a pkgs <<<"$(make -s --no-print-directory NO_DEPS=1 LAB="$lab" grade-debs)"
cand=$(apt-cache policy libunicorn-dev 2>/dev/null | sed -n 's/^ *Candidate: *//p')
build_unicorn=0
if [ -z "$cand" ] || [ "$cand" = "(none)" ] || dpkg --compare-versions "$cand" lt 2; then
    build_unicorn=1
    kept=()
    for p in "${pkgs[@]}"; do [ "$p" = libunicorn-dev ] || kept+=("$p"); done
    pkgs=("${kept[@]}" cmake git ca-certificates g++)
    echo "setup: the archive's libunicorn-dev is '${cand:-none}', not 2: building Unicorn $UNICORN_TAG"
fi
echo "setup: installing ${pkgs[*]}"
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null

if [ $build_unicorn = 1 ]; then
    tmp=$(mktemp -d)
    git -c advice.detachedHead=false clone -q --depth 1 --branch "$UNICORN_TAG" "$UNICORN_GIT" "$tmp/unicorn"
    got=$(git -C "$tmp/unicorn" rev-parse HEAD)
    if [ "$got" != "$UNICORN_COMMIT" ]; then
        echo "setup: Unicorn $UNICORN_TAG is commit $got, not the pinned $UNICORN_COMMIT" >&2
        exit 1
    fi
    cmake -S "$tmp/unicorn" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DUNICORN_ARCH=x86 \
        -DUNICORN_BUILD_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr/local >/dev/null
    cmake --build "$tmp/build" -j"$(nproc)" >/dev/null
    cmake --install "$tmp/build" >/dev/null
    ldconfig
    rm -rf "$tmp"
fi
v=$(pkg-config --modversion unicorn 2>/dev/null || echo none)
case "$v" in 2.*) echo "setup: Unicorn $v" ;; *) echo "setup: Unicorn is '$v', not 2" >&2; exit 1 ;; esac

# The prebuild: the core, the grader and the lab's test binaries against the skeleton.
make -s NO_DEPS=1 LAB="$lab" core grader labs
echo "setup: done"
