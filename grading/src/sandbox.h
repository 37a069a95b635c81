/* The child side of a test run: everything between fork() and execv() that fences the test in.
 * How it is fenced depends on who runs the grader:
 *   root            the test drops to an unused uid (RLIMIT_NPROC then binds; it cannot write the
 *                   root-owned grade output, and its leftovers can be killed by uid);
 *   root,privileged the test stays root (its lab needs namespaces/cgroups), limits only;
 *   not root        a user+mount namespace bind-mounts the grade output read-only, and
 *                   RLIMIT_NPROC is the user's current task count plus the lab's allowance. */
#ifndef VLAB_GRADE_SANDBOX_H
#define VLAB_GRADE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>
#include <sys/types.h>

#include "grade.h"

enum sb_mode {
    SB_DROP_UID, /* root grader: tests run as uid */
    SB_USERNS,   /* unprivileged grader: output read-only through a mount namespace */
    SB_NONE,     /* limits only (privileged labs, or no user namespaces available) */
};

struct sandbox {
    enum sb_mode mode;
    uid_t uid; /* SB_DROP_UID: the tests' uid and gid */
    gid_t gid;
    const char *protect_dir;     /* SB_USERNS: absolute path made read-only for tests */
    bool private_tmp;            /* each run gets its own /tmp, /var/tmp, /dev/shm and SysV IPC */
    const char *const *keep;     /* with private_tmp: paths under those dirs tests still see */
    unsigned long long tmp_size; /* bytes of each private tmpfs */
};

/* Why a child could not exec its test; sent to the parent over a close-on-exec pipe. */
enum sb_stage {
    SBS_FDS = 1,
    SBS_RLIMIT,
    SBS_DROP,
    SBS_USERNS,
    SBS_CWD,
    SBS_EXEC,
    SBS_PRIVTMP, /* the private /tmp could not be made */
    SBS_SOCKET,  /* another user's stale Criterion socket holds this pid's path */
};

struct sb_report {
    int stage; /* enum sb_stage */
    int err;   /* errno */
};

struct child_setup {
    const struct sandbox *sb;
    const struct limits *lim;
    unsigned long nproc;    /* RLIMIT_NPROC to apply */
    pid_t parent;           /* the grader, for the parent-death signal race check */
    const char *cwd;        /* private temp dir: cwd and TMPDIR */
    const char *done_path;  /* VLAB_DONE: the completion record (harness/lib/complete.c) */
    const char *done_token; /* VLAB_DONE_TOKEN */
    char *const *argv;
    int out_fd;    /* becomes stdout and stderr */
    int report_fd; /* becomes fd 3, or -1 */
    int status_fd; /* close-on-exec: gets a struct sb_report if exec is never reached */
};

noreturn void sandbox_exec(const struct child_setup *cs);

/* What a setup stage is called in messages ("dropping privileges", ...). */
const char *sb_stage_name(int stage);

/* Tries, in a throwaway child, to make dir read-only the way SB_USERNS runs do. Returns 0 if
 * that works, else -1 with a reason in why. */
int sandbox_probe_userns(const char *dir, char *why, size_t whylen);

/* Tries, in a throwaway child, to give it the private /tmp that runs under sb would get.
 * Returns 0 if that works, else -1 with a reason in why. */
int sandbox_probe_private_tmp(const struct sandbox *sb, char *why, size_t whylen);

#endif
