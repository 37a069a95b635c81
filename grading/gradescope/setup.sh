#!/usr/bin/env bash
# Gradescope autograder image setup (runs once, as root, in /autograder/source = this tree
# as produced by `make handout` plus any hidden tests). Installs packages and pre-builds; each
# run_autograder grades in a fresh copy of this tree and reuses the build, recompiling only the
# submitted files, so this tree stays as the instructor made it.
set -euo pipefail
umask 022 # the grader's test uid reads the build
cd /autograder/source
make deps
make -s all
