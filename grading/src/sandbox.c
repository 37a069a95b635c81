#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crit.h"
#include "privtmp.h"

const char *sb_stage_name(int stage) {
    switch (stage) {
    case SBS_FDS: return "setting up file descriptors";
    case SBS_RLIMIT: return "setting resource limits";
    case SBS_DROP: return "dropping privileges";
    case SBS_USERNS: return "write-protecting the grade output";
    case SBS_CWD: return "entering the private temp dir";
    case SBS_EXEC: return "executing the test binary";
    case SBS_PRIVTMP: return "making the private /tmp";
    case SBS_SOCKET: return "claiming Criterion's socket path";
    }
    return "starting the test";
}

static noreturn void fail(int status_fd, int stage) {
    struct sb_report r = {.stage = stage, .err = errno};
    ssize_t n = write(status_fd, &r, sizeof r);
    (void)n;
    _exit(127);
}

static int write_file(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t len = (ssize_t)strlen(s);
    ssize_t n = write(fd, s, (size_t)len);
    int saved = errno;
    close(fd);
    errno = saved;
    return n == len ? 0 : -1;
}

/* A bind mount remounted read-only must keep the flags the kernel locked on the original
 * mount (nosuid, nodev, ...), or an unprivileged remount is refused. */
static unsigned long locked_flags(const char *dir) {
    struct statvfs sv;
    unsigned long fl = 0;
    if (statvfs(dir, &sv)) return 0;
    if (sv.f_flag & ST_NOSUID) fl |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) fl |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) fl |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) fl |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) fl |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) fl |= MS_RELATIME;
    return fl;
}

/* The caller becomes its own uid inside a fresh user+mount namespace and sees dir read-only.
 * The test keeps its real uid inside (not 0), so execve() drops the namespace capabilities and
 * the test cannot unmount the read-only bind again. */
static int enter_readonly_view(const char *dir) {
    uid_t uid = getuid();
    gid_t gid = getgid();
    char map[64];

    /* fork() copied the grader's non-dumpable flag, which makes
     * /proc/self/uid_map and gid_map root-owned */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)) return -1;
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC)) return -1;
    if (write_file("/proc/self/setgroups", "deny")) return -1;
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    if (write_file("/proc/self/uid_map", map)) return -1;
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    if (write_file("/proc/self/gid_map", map)) return -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) return -1;
    if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL)) return -1;
    if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(dir), NULL))
        return -1;
    return 0;
}

/* Root: a mount and IPC namespace of the run's own, then the private dirs (SysV IPC and POSIX
 * message queues are per IPC namespace, so they go with it). Under SB_USERNS the namespaces
 * exist already. */
static int enter_private_tmp(const struct sandbox *sb) {
    if (sb->mode != SB_USERNS) {
        if (unshare(CLONE_NEWNS | CLONE_NEWIPC)) return -1;
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) return -1;
    }
    return privtmp_mount(sb->keep, sb->tmp_size);
}

/* Runs try(arg) in a throwaway child (namespaces entered there vanish with it): 0 if it
 * returned 0, else -1 with the errno it left, in words, in why. */
static int probe_in_child(int (*try)(const void *), const void *arg, char *why, size_t whylen) {
    int p[2];
    if (pipe2(p, O_CLOEXEC)) return snprintf(why, whylen, "pipe: %s", strerror(errno)), -1;
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        int err = try(arg) ? (errno ? errno : EIO) : 0;
        ssize_t n = write(p[1], &err, sizeof err);
        (void)n;
        _exit(0);
    }
    close(p[1]);
    int err = EIO;
    ssize_t n = read(p[0], &err, sizeof err);
    close(p[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof err) err = EIO;
    if (err) snprintf(why, whylen, "%s", strerror(err));
    return err ? -1 : 0;
}

static int try_private_tmp(const void *arg) {
    const struct sandbox *sb = arg;
    if (sb->mode == SB_USERNS && enter_readonly_view(sb->protect_dir)) return -1;
    return enter_private_tmp(sb);
}

int sandbox_probe_private_tmp(const struct sandbox *sb, char *why, size_t whylen) {
    return probe_in_child(try_private_tmp, sb, why, whylen);
}

static int try_readonly_view(const void *arg) {
    const char *dir = arg;
    if (enter_readonly_view(dir)) return -1;
    if (access(dir, W_OK) == 0 || errno != EROFS) {
        errno = EPERM; /* mounted, yet still writable: do not trust it */
        return -1;
    }
    return 0;
}

int sandbox_probe_userns(const char *dir, char *why, size_t whylen) {
    return probe_in_child(try_readonly_view, dir, why, whylen);
}

static void reset_signals(void) {
    sigset_t none;
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL); /* ignored dispositions would survive execve */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Lowers a limit; never tries to raise one above what the grader itself was given (an
 * unprivileged grader could not, and a lower outer limit is the tighter fence anyway). */
static int set_limit(int resource, rlim_t soft, rlim_t hard) {
    struct rlimit cur, rl;
    if (getrlimit(resource, &cur)) return -1;
    if (cur.rlim_max != RLIM_INFINITY && hard > cur.rlim_max) hard = cur.rlim_max;
    if (soft > hard) soft = hard;
    rl = (struct rlimit){.rlim_cur = soft, .rlim_max = hard};
    return setrlimit(resource, &rl);
}

/* stdin from /dev/null, stdout+stderr to the capture pipe, fd 3 to the report pipe, and
 * nothing else but the close-on-exec status pipe, which ends up as the returned fd. */
static int setup_fds(const struct child_setup *cs) {
    int st = fcntl(cs->status_fd, F_DUPFD_CLOEXEC, 10);
    if (st < 0) _exit(127);
    int out = fcntl(cs->out_fd, F_DUPFD, 10);
    int rep = cs->report_fd >= 0 ? fcntl(cs->report_fd, F_DUPFD, 10) : -1;
    int null = open("/dev/null", O_RDONLY);
    if (out < 0 || (cs->report_fd >= 0 && rep < 0) || null < 0) fail(st, SBS_FDS);
    if (dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) fail(st, SBS_FDS);
    if (rep >= 0 && dup2(rep, 3) < 0) fail(st, SBS_FDS);
    unsigned first = rep >= 0 ? 4 : 3;
    if ((unsigned)st > first && close_range(first, (unsigned)st - 1, 0)) fail(st, SBS_FDS);
    if (close_range((unsigned)st + 1, ~0U, 0)) fail(st, SBS_FDS);
    return st;
}

noreturn void sandbox_exec(const struct child_setup *cs) {
    const struct limits *lim = cs->lim;
    enum sb_mode mode = cs->sb->mode;

    reset_signals();
    /* its own session, hence its own process group (killed as one) and no controlling
     * terminal to read from (which would stop it) or to scribble on */
    setsid();
    int st = setup_fds(cs);
    crit_remove_socket(getpid()); /* still privileged: a stale one of any uid can go */
    if (cs->sb->private_tmp && mode != SB_USERNS && enter_private_tmp(cs->sb))
        fail(st, SBS_PRIVTMP);
    /* Best effort: without its node the test cannot open the device and skips, saying why, and
     * the rubric leaves such skips out of the total (`twin`). */
    if (lim->device && mode == SB_DROP_UID && cs->sb->private_tmp)
        (void)privtmp_share_device(lim->device, cs->sb->uid, cs->sb->gid);

    /* before the user namespace exists: it takes its process limit from ours */
    if (set_limit(RLIMIT_NPROC, cs->nproc, cs->nproc)) fail(st, SBS_RLIMIT);

    if (mode == SB_DROP_UID) {
        /* reopening the pipes through /dev/fd (Criterion's --json=/dev/fd/3, a test's
         * >/dev/stderr) checks the pipe inode's owner, which is still root */
        if (fchown(1, cs->sb->uid, cs->sb->gid) ||
            (cs->report_fd >= 0 && fchown(3, cs->sb->uid, cs->sb->gid)))
            fail(st, SBS_DROP);
        if (setgroups(0, NULL) || setgid(cs->sb->gid) || setuid(cs->sb->uid)) fail(st, SBS_DROP);
        if (getuid() != cs->sb->uid || geteuid() != cs->sb->uid || getegid() != cs->sb->gid) {
            errno = EPERM;
            fail(st, SBS_DROP);
        }
    } else if (mode == SB_USERNS) {
        if (enter_readonly_view(cs->sb->protect_dir)) fail(st, SBS_USERNS);
        if (cs->sb->private_tmp && enter_private_tmp(cs->sb)) fail(st, SBS_PRIVTMP);
    }
    /* Without a /tmp of its own, the runner would bind /tmp/criterion_<our pid>.sock: if another
     * user's stale socket holds that path, it would abort. Say so; the grader retries with a
     * new pid. */
    if (!cs->sb->private_tmp && crit_socket_blocked(getpid())) {
        errno = EADDRINUSE;
        fail(st, SBS_SOCKET);
    }

    if (chdir(cs->cwd) || setenv("TMPDIR", cs->cwd, 1)) fail(st, SBS_CWD);
    if (cs->done_path &&
        (setenv("VLAB_DONE", cs->done_path, 1) || setenv("VLAB_DONE_TOKEN", cs->done_token, 1)))
        fail(st, SBS_CWD);
    if (!lim->privileged && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) fail(st, SBS_DROP);
    /* if the grader dies, do not leave the test running (set last: credential changes clear
     * it); the check closes the race with a grader that died before the prctl */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != cs->parent) _exit(127);

    /* last, so nothing of ours has to live within the test's memory limit */
    if (set_limit(RLIMIT_AS, lim->memory, lim->memory) ||
        set_limit(RLIMIT_FSIZE, lim->fsize, lim->fsize) ||
        set_limit(RLIMIT_CPU, lim->cpu, lim->cpu + 1) || set_limit(RLIMIT_CORE, 0, 0) ||
        set_limit(RLIMIT_NOFILE, lim->files, lim->files))
        fail(st, SBS_RLIMIT);
    execv(cs->argv[0], cs->argv);
    fail(st, SBS_EXEC);
}
