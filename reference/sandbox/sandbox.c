/* Lab sandbox, Tasks 1, 2, 4 and 5: the container itself. sb_run() clones a child into new
 * namespaces, which builds its root, locks itself down and execs the program; the parent puts
 * it in its cgroup, maps its ids, waits, and cleans up. Read labs/sandbox/README.md first; the
 * interface is harness/sandbox/sandbox.h. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the child needs, prepared by the parent: the child allocates nothing. */
struct child {
    const struct sb_config *cfg;
    bool userns; /* cfg->userns, or a caller without root (§2.8) */
    int go_fd;   /* socket: the parent has attached and mapped us, and sends the image's fd */
    int err_fd;  /* write end, close-on-exec: a setup failure's message; EOF means exec worked */
    int peer[2]; /* the parent's ends of both, which clone copied: closed first thing, or the
                    child's own copy of the socket's other end never lets it hang up */
};

/* Reports a failed setup step to the parent and ends the child. */
static void __attribute__((noreturn)) die(const struct child *c, const char *fmt, ...) {
    char msg[512];
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof msg) n = (int)sizeof msg - 1;
    n += snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(e));
    if (write(c->err_fd, msg, strlen(msg)) < 0) _exit(126);
    _exit(126);
}

/* §2.4: a new network namespace has only lo, and it is down. */
static int loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (!rc) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return rc;
}

/* The tmpfs holding the overlay's upper and work directories and the new root. It goes over
 * /tmp in our private mount namespace, as bubblewrap does: a user namespace's root may not be
 * able to reach the caller's temp directory (§3.1). */
#define BASE   "/tmp"
#define MERGED BASE "/merged"

/* Makes a bind mount read-only. The remount must repeat the flags the kernel locked on the
 * source (nosuid, nodev, noexec: a user namespace may not drop them), so they are read back. */
static int remount_ro(const char *path) {
    struct statvfs v;
    if (statvfs(path, &v)) return -1;
    unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY;
    static const struct {
        unsigned long st, ms;
    } keep[] = {{ST_NOSUID, MS_NOSUID},         {ST_NODEV, MS_NODEV},
                {ST_NOEXEC, MS_NOEXEC},         {ST_NOATIME, MS_NOATIME},
                {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME}};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (v.f_flag & keep[i].st) fl |= keep[i].ms;
    return mount(NULL, path, NULL, fl, NULL);
}

/* §3.3: the container's device nodes. Bind mounts of the host's nodes would be the host's
 * inodes: root inside, keeping CAP_FOWNER and CAP_CHOWN, could chmod the host's /dev/null.
 * Real root makes nodes of its own on the /dev tmpfs, as runc does; a user namespace may not
 * mknod, so there the host's nodes are bound read-only (their metadata then cannot change,
 * and a device node on a read-only mount still reads and writes). */
static void make_dev(const struct child *c, const char *name, unsigned major, unsigned minor) {
    char src[64], dst[64];
    snprintf(src, sizeof src, "/dev/%s", name);
    snprintf(dst, sizeof dst, MERGED "/dev/%s", name);
    if (!c->userns) {
        if (mknod(dst, S_IFCHR | 0666, makedev(major, minor)) || chmod(dst, 0666))
            die(c, "mknod %s", dst);
        return;
    }
    int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) die(c, "creating %s", dst);
    close(fd);
    if (mount(src, dst, NULL, MS_BIND, NULL) || remount_ro(dst)) die(c, "bind-mounting %s", src);
}

/* §3.4: what a container must not read or write under /proc and /sys, the OCI runtime spec's
 * defaults (runc's maskedPaths and readonlyPaths). Masked files get /dev/null over them, masked
 * directories an empty read-only tmpfs; paths this kernel does not have are skipped. */
static void mask_paths(const struct child *c) {
    static const char *const masked[] = {"/proc/acpi",
                                         "/proc/asound",
                                         "/proc/kcore",
                                         "/proc/keys",
                                         "/proc/latency_stats",
                                         "/proc/timer_list",
                                         "/proc/timer_stats",
                                         "/proc/sched_debug",
                                         "/proc/scsi",
                                         "/sys/firmware",
                                         "/sys/devices/virtual/powercap"};
    static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                           "/proc/sysrq-trigger"};
    char p[128];
    for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
        struct stat st;
        snprintf(p, sizeof p, MERGED "%s", masked[i]);
        if (stat(p, &st)) continue;
        int rc = S_ISDIR(st.st_mode) ? mount("vlab-mask", p, "tmpfs",
                                             MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
                                     : mount(MERGED "/dev/null", p, NULL, MS_BIND, NULL);
        if (rc) die(c, "masking %s", p);
    }
    for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
        snprintf(p, sizeof p, MERGED "%s", readonly[i]);
        if (access(p, F_OK)) continue;
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) || remount_ro(p))
            die(c, "making %s read-only", p);
    }
}

/* §3: overlay over the image, /proc, a minimal /dev, /tmp, then pivot_root. */
static void build_root(const struct child *c, int image) {
    char p[64], ovl[128];
    if (mount("vlab-sb", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m"))
        die(c, "mounting the tmpfs on " BASE);
    const char *sub[] = {BASE "/upper", BASE "/work", MERGED};
    for (int i = 0; i < 3; i++)
        if (mkdir(sub[i], 0755)) die(c, "mkdir %s", sub[i]);
    /* the image by fd: its path may pass through directories the mapped root cannot search */
    snprintf(ovl, sizeof ovl,
             "lowerdir=/proc/self/fd/%d,upperdir=" BASE "/upper,workdir=" BASE "/work", image);
    if (mount("overlay", MERGED, "overlay", MS_NODEV, ovl)) die(c, "mounting the overlay");
    close(image);

    /* Before the old root goes: in a user namespace the kernel allows a new proc only while a
     * fully visible one is in the mount namespace (§3.3). */
    snprintf(p, sizeof p, MERGED "/proc");
    if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) die(c, "mounting /proc");
    snprintf(p, sizeof p, MERGED "/dev");
    if (mount("vlab-dev", p, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k"))
        die(c, "mounting /dev");
    make_dev(c, "null", 1, 3);
    make_dev(c, "zero", 1, 5);
    make_dev(c, "urandom", 1, 9);
    make_dev(c, "tty", 5, 0);
    const char *links[][2] = {{"/proc/self/fd", "fd"},
                              {"/proc/self/fd/0", "stdin"},
                              {"/proc/self/fd/1", "stdout"},
                              {"/proc/self/fd/2", "stderr"}};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, MERGED "/dev/%s", links[i][1]);
        if (symlink(links[i][0], p)) die(c, "symlink %s", p);
    }
    mask_paths(c);
    snprintf(p, sizeof p, MERGED "/tmp");
    if (mount("vlab-tmp", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=16m"))
        die(c, "mounting /tmp");

    /* pivot_root(".", "."): the old root ends up stacked under the new one, where a lazy
     * unmount takes it away; no put_old directory needed in an image we may not write. */
    if (chdir(MERGED)) die(c, "chdir " MERGED);
    if (!syscall(SYS_pivot_root, ".", ".")) {
        if (umount2(".", MNT_DETACH)) die(c, "detaching the old root");
    } else if (errno == EINVAL) {
        /* the host runs from its initramfs (rootfs cannot be pivoted away, as in the test VM):
         * move the new root over it and chroot; with CAP_SYS_CHROOT gone and chroot denied by
         * seccomp, the rootfs underneath stays out of reach */
        if (mount(".", "/", NULL, MS_MOVE, NULL)) die(c, "moving the new root over /");
        if (chroot(".")) die(c, "chroot into the new root");
    } else {
        die(c, "pivot_root");
    }
    if (chdir("/")) die(c, "chdir /");
}

/* §5.1: only cfg->caps stay, in the bounding set too (root regains its permitted set from the
 * bounding set at every execve). */
static void drop_caps(const struct child *c) {
    uint64_t keep = c->cfg->caps;
    for (int cap = 0; cap <= 63; cap++) {
        if (keep & SB_CAP(cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL) die(c, "dropping cap %d", cap);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) die(c, "clearing ambient caps");
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    for (int i = 0; i < 2; i++) {
        uint32_t w = (uint32_t)(keep >> (32 * i));
        d[i].effective = d[i].permitted = d[i].inheritable = w;
    }
    if (syscall(SYS_capset, &h, d)) die(c, "capset");
}

/* §5.3: what a container must not do even as root with the caps it kept. */
static void load_seccomp(const struct child *c) {
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
    if (!f) die(c, "seccomp_init");
    static const int deny[] = {
        SCMP_SYS(mount),
        SCMP_SYS(umount2),
        SCMP_SYS(pivot_root),
        SCMP_SYS(chroot),
        SCMP_SYS(unshare),
        SCMP_SYS(setns),
        SCMP_SYS(ptrace),
        SCMP_SYS(process_vm_readv),
        SCMP_SYS(process_vm_writev),
        SCMP_SYS(init_module),
        SCMP_SYS(finit_module),
        SCMP_SYS(delete_module),
        SCMP_SYS(kexec_load),
        SCMP_SYS(kexec_file_load),
        SCMP_SYS(reboot),
        SCMP_SYS(swapon),
        SCMP_SYS(swapoff),
        SCMP_SYS(bpf),
        SCMP_SYS(perf_event_open),
        SCMP_SYS(keyctl),
        SCMP_SYS(add_key),
        SCMP_SYS(request_key),
        SCMP_SYS(open_by_handle_at),
        SCMP_SYS(name_to_handle_at),
        SCMP_SYS(userfaultfd),
        SCMP_SYS(acct),
        SCMP_SYS(syslog),
        SCMP_SYS(settimeofday),
        SCMP_SYS(clock_settime),
        SCMP_SYS(clock_adjtime),
        SCMP_SYS(adjtimex),
        SCMP_SYS(iopl),
        SCMP_SYS(ioperm),
        SCMP_SYS(quotactl),
        SCMP_SYS(fsopen),
        SCMP_SYS(fsmount),
        SCMP_SYS(fsconfig),
        SCMP_SYS(move_mount),
        SCMP_SYS(open_tree),
        SCMP_SYS(mount_setattr),
        SCMP_SYS(lookup_dcookie),
        SCMP_SYS(kcmp),
        SCMP_SYS(move_pages),
        SCMP_SYS(migrate_pages),
        SCMP_SYS(uselib),
        SCMP_SYS(ustat),
        SCMP_SYS(sysfs),
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof deny / sizeof deny[0] && !rc; i++)
        rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), deny[i], 0);
    /* clone with a namespace flag is unshare by another name; clone3 keeps its flags in memory
     * a filter cannot read, so it answers ENOSYS and libc falls back to clone */
    static const uint64_t ns[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                  CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0] && !rc; i++)
        rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
    if (!rc) rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    /* §5.6: TIOCSTI types into a terminal, TIOCLINUX reads and pastes a console's screen; on
     * any fd. The kernel reads the request as 32 bits, so compare only those: a 64-bit
     * comparison is passed by a request with high bits set. */
    static const unsigned long tty_ioctls[] = {TIOCSTI, TIOCLINUX};
    for (size_t i = 0; i < 2 && !rc; i++)
        rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, tty_ioctls[i]));
    /* io_uring runs system calls from kernel workers this filter never sees, and has been a
     * steady source of kernel bugs; ENOSYS, as for a kernel without it, makes programs fall
     * back to plain calls */
    static const int uring[] = {SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
                                SCMP_SYS(io_uring_register)};
    for (size_t i = 0; i < 3 && !rc; i++)
        rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), uring[i], 0);
    /* personality: only the default persona (0) and the query (0xffffffff) pass. A rule may
     * test an argument once, so: for each bit b, deny "b set and the next bit (cyclically)
     * clear"; every 32-bit value but all-zeros and all-ones has such a pair. */
    for (unsigned b = 0; b < 32 && !rc; b++) {
        uint64_t bit = UINT64_C(1) << b, next = UINT64_C(1) << ((b + 1) % 32);
        rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, bit | next, bit));
    }
    if (!rc) rc = seccomp_load(f);
    seccomp_release(f);
    if (rc) {
        errno = -rc;
        die(c, "loading the seccomp filter");
    }
}

static void lock_down(const struct child *c) {
    const struct sb_config *cfg = c->cfg;
    /* §5.5: the three standard fds, nothing else survives the execve */
    int want[3] = {cfg->stdin_fd, cfg->stdout_fd < 0 ? 1 : cfg->stdout_fd,
                   cfg->stderr_fd < 0 ? 2 : cfg->stderr_fd};
    int tmp[3];
    for (int i = 0; i < 3; i++) {
        if (want[i] < 0) want[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (want[i] < 0 || (tmp[i] = fcntl(want[i], F_DUPFD_CLOEXEC, 10)) < 0)
            die(c, "setting up fd %d", i);
    }
    for (int i = 0; i < 3; i++)
        if (dup2(tmp[i], i) < 0) die(c, "dup2 to fd %d", i);
    if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC)) die(c, "close_range");

    /* §5.4 */
    struct rlimit nofile = {SB_RLIMIT_NOFILE, SB_RLIMIT_NOFILE}, core = {0, 0};
    if (setrlimit(RLIMIT_NOFILE, &nofile) || setrlimit(RLIMIT_CORE, &core)) die(c, "setrlimit");

    drop_caps(c);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) die(c, "no_new_privs");
    load_seccomp(c);
}

/* The image directory, opened by the parent through /proc/PID/root so that the fd belongs to
 * the child's mount namespace (overlayfs refuses a lower layer from another namespace), passed
 * over a unix socket. */
static int send_fd(int sock, int fd) {
    char data = 'g';
    struct iovec iov = {&data, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u = {0};
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    return sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock) {
    char data;
    struct iovec iov = {&data, 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1) return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (!cm || cm->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

static int child_main(void *arg) {
    const struct child *c = arg;
    const struct sb_config *cfg = c->cfg;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(c->peer[0]);
    close(c->peer[1]);
    /* §5.6: a session of its own, so no controlling terminal: the caller's terminal (bound in
     * or inherited as an fd) is not one the container can type into or read keystrokes from */
    if (setsid() < 0) die(c, "setsid");
    /* sb_run blocked the interrupting signals to handle them itself; the program starts with
     * none blocked (a mask survives execve) */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int image = recv_fd(c->go_fd);
    if (image < 0) _exit(126); /* the parent gave up */

    /* §2.6: the maps are written; become the mapped root, or we stay host root with an
     * unmapped uid */
    if (c->userns) {
        if (setresgid(0, 0, 0) || setresuid(0, 0, 0)) die(c, "becoming mapped root");
        /* §6.3: a change of effective uid clears the parent-death signal: set it again, then
         * make sure the parent did not die in between (its end of go_fd would be closed; in a
         * new pid namespace getppid() is 0 whatever happened) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        struct pollfd p = {.fd = c->go_fd, .events = POLLIN};
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR))) _exit(126);
    }
    close(c->go_fd);
    /* §2.7: after the parent moved us, so that our group is the namespace's root */
    if (unshare(CLONE_NEWCGROUP)) die(c, "unshare(CLONE_NEWCGROUP)");
    /* §2.2: nothing we mount may propagate back to the host */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) die(c, "making / private");
    const char *host = cfg->hostname ? cfg->hostname : "sandbox";
    if (sethostname(host, strlen(host))) die(c, "sethostname");
    if (loopback_up()) die(c, "bringing lo up");
    build_root(c, image);
    lock_down(c);

    static char *const dflt_env[] = {"PATH=/bin:/sbin:/usr/bin", "HOME=/", NULL};
    execve(cfg->argv[0], cfg->argv, cfg->envp ? cfg->envp : dflt_env);
    die(c, "exec %s", cfg->argv[0]);
}

/* §2.6: root inside is SB_USERNS_BASE outside. Without root (§2.8) a process may map only
 * its own ids, one each, and only after giving up setgroups. */
static int write_maps(pid_t pid) {
    char path[64], map[64];
    bool root = geteuid() == 0;
    snprintf(map, sizeof map, "0 %u %u\n", root ? SB_USERNS_BASE : (unsigned)geteuid(),
             root ? SB_USERNS_COUNT : 1u);
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    if (sb_write_file(path, map)) return -1;
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
    if (sb_write_file(path, "deny")) return -1;
    snprintf(map, sizeof map, "0 %u %u\n", root ? SB_USERNS_BASE : (unsigned)getegid(),
             root ? SB_USERNS_COUNT : 1u);
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    return sb_write_file(path, map) ? -1 : 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* §6: waits for pid, killing it (and with it the whole pid namespace) at the deadline, or
 * when an interrupting signal arrives on sfd (§6.3). */
static int wait_child(pid_t pid, double timeout, int sfd, struct sb_result *res) {
    int st = 0;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    double end = now() + timeout;
    while (pfd >= 0) {
        double left = end - now();
        if (timeout > 0 && left <= 0) {
            res->timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd p[2] = {{.fd = pfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        int r = poll(p, 2, timeout > 0 ? (int)(left * 1000) + 1 : -1);
        if (r < 0 && errno != EINTR) break;
        if (r > 0 && (p[1].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == sizeof si) {
                res->interrupted = (int)si.ssi_signo;
                kill(pid, SIGKILL);
                break;
            }
        }
        if (r > 0 && p[0].revents) break;
    }
    if (pfd >= 0) close(pfd);
    while (waitpid(pid, &st, __WALL) < 0)
        if (errno != EINTR) return -1;
    return st;
}

static char stack[256 * 1024] __attribute__((aligned(16)));
static unsigned run_count;

int sb_run(const struct sb_config *cfg, struct sb_result *res) {
    if (!cfg || !res || !cfg->rootfs || !cfg->argv || !cfg->argv[0] || cfg->timeout < 0 ||
        cfg->limits.cpus < 0)
        return VLAB_EINVAL;
    memset(res, 0, sizeof *res);
    struct stat st;
    if (stat(cfg->rootfs, &st) || !S_ISDIR(st.st_mode)) return VLAB_ENOENT;
    struct child c = {.cfg = cfg, .go_fd = -1, .err_fd = -1};
    char *root = realpath(cfg->rootfs, NULL);
    if (!root) return VLAB_ENOENT;
    int image = -1;

    /* §6.3: SIGINT, SIGTERM and SIGHUP wait in a signalfd until the container can be killed
     * and its group removed; delivered as usual, they would end the caller with the group
     * still there. */
    sigset_t intr, old;
    sigemptyset(&intr);
    sigaddset(&intr, SIGINT);
    sigaddset(&intr, SIGTERM);
    sigaddset(&intr, SIGHUP);
    sigprocmask(SIG_BLOCK, &intr, &old);
    int sfd = signalfd(-1, &intr, SFD_CLOEXEC | SFD_NONBLOCK);

    int rc = VLAB_EIO;
    struct sb_cgroup cg;
    char name[64];
    snprintf(name, sizeof name, "vlab-sb-%d-%u", (int)getpid(), run_count++);
    /* §2.8: without root, a group only for limits (in a delegated cgroup v2 subtree); with
     * none asked for, the container runs in the caller's group */
    bool rootless = geteuid() != 0;
    c.userns = cfg->userns || rootless;
    bool group = !rootless || cfg->limits.memory || cfg->limits.pids || cfg->limits.cpus > 0;
    if (sfd < 0 || (group && sb_cgroup_create(&cg, name, &cfg->limits))) {
        free(root);
        if (sfd >= 0) close(sfd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return VLAB_EIO;
    }

    int go[2] = {-1, -1}, err[2] = {-1, -1};
    pid_t pid = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, go) || pipe2(err, O_CLOEXEC))
        goto out;
    c.go_fd = go[0];
    c.err_fd = err[1];
    c.peer[0] = go[1];
    c.peer[1] = err[0];
    int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
    if (c.userns) flags |= CLONE_NEWUSER;
    double t0 = now();
    pid = clone(child_main, stack + sizeof stack, flags | SIGCHLD, &c);
    if (pid < 0) {
        fprintf(stderr, "sandbox: clone: %s\n", strerror(errno));
        goto out;
    }
    close(go[0]), go[0] = -1;
    close(err[1]), err[1] = -1;
    if (group && sb_cgroup_attach(&cg, pid)) goto out;
    if (c.userns && write_maps(pid)) {
        fprintf(stderr, "sandbox: writing the uid/gid maps: %s\n", strerror(errno));
        goto out;
    }
    char img[SB_PATH_MAX + 64];
    snprintf(img, sizeof img, "/proc/%d/root%s", (int)pid, root);
    image = open(img, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (image < 0 || send_fd(go[1], image)) {
        fprintf(stderr, "sandbox: passing the image %s: %s\n", img, strerror(errno));
        goto out;
    }

    char msg[512];
    ssize_t n = read(err[0], msg, sizeof msg - 1);
    if (n > 0) {
        msg[n] = 0;
        fprintf(stderr, "sandbox: setting up the container: %s\n", msg);
        rc = strncmp(msg, "exec ", 5) ? VLAB_EIO : VLAB_ENOENT;
        goto out;
    }
    int status = wait_child(pid, cfg->timeout, sfd, res);
    res->wall = now() - t0;
    pid = -1;
    if (status < 0) goto out;
    res->exited = WIFEXITED(status);
    res->status = res->exited ? WEXITSTATUS(status) : 0;
    res->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (group) sb_cgroup_usage(&cg, &res->use);
    rc = VLAB_OK;
out:
    if (pid > 0) { /* a failed setup: the child may still be waiting or half-way */
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR) {
        }
    }
    for (int i = 0; i < 2; i++) {
        if (go[i] >= 0) close(go[i]);
        if (err[i] >= 0) close(err[i]);
    }
    if (image >= 0) close(image);
    free(root);
    if (group && sb_cgroup_destroy(&cg) && rc == VLAB_OK) rc = VLAB_EIO;
    /* one that came while setting up failed, or as the container ended: consumed too, so
     * the caller learns of it once, from res */
    struct signalfd_siginfo si;
    if (!res->interrupted && read(sfd, &si, sizeof si) == sizeof si)
        res->interrupted = (int)si.ssi_signo;
    close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}
