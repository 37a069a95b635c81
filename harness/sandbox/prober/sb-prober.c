/* sb-prober: runs inside the container (a static executable in the image's /bin/prober) and
 * reports what it sees and what it could do, one "key=value" or "try NAME = RESULT" line each,
 * for the tests to judge. RESULT is "ok" when the attempt worked, else the errno's name.
 *   prober info                  what the container looks like from inside
 *   prober ipc KEY               whether the host's SysV message queue KEY is visible
 *   prober write                 writes into the image through the overlay, reads back
 *   prober escape WHAT [ARG]     an escape attempt: files PATH, mount, hostname, ns,
 *                                ptrace HOSTPID, module, rlimit, cgroup, device, chroot PATH,
 *                                tty, masked, readonly, devnode, io_uring, personality
 *   prober forkbomb              forks until refused
 *   prober alloc MIB             touches MIB MiB, printing progress
 *   prober spin SECONDS          burns CPU for SECONDS of wall time
 *   prober daemons N TAG [sleep] leaves N double-forked sleepers named TAG, then exits 0
 *                                (or sleeps)
 *   prober sleep | exit N | crash
 *   prober stdin                 prints the first line it reads from fd 0
 *   prober view                  what the container sees: namespaces, ids, cgroup, mounts,
 *                                privileges, rlimits, fds (the tests' debugging view)
 *   prober now                   prints CLOCK_MONOTONIC in ns (the benchmark's exec time) */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/io.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/personality.h>
#include <linux/magic.h>
#include <termios.h>
#include <sys/prctl.h>
#include <sys/msg.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void result(const char *name, int rc) {
    if (rc >= 0)
        printf("try %s = ok\n", name);
    else
        printf("try %s = %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
    fflush(stdout);
}

/* "1,5,7": the names in dir that pass keep(), sorted by readdir's order. */
static void list_dir(const char *key, const char *dir, int (*keep)(const char *)) {
    printf("%s=", key);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        int first = 1;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || (keep && !keep(e->d_name))) continue;
            printf("%s%s", first ? "" : ",", e->d_name);
            first = 0;
        }
        closedir(d);
    } else {
        printf("!%s", strerrorname_np(errno));
    }
    printf("\n");
}

static int numeric(const char *s) {
    return s[0] >= '0' && s[0] <= '9';
}

/* /proc/self/status fields as "key=value" lines. */
static void status_fields(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    static const char *const want[] = {"CapInh", "CapPrm",     "CapEff",  "CapBnd",
                                       "CapAmb", "NoNewPrivs", "Seccomp", "SigBlk"};
    while (fgets(line, sizeof line, f)) {
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            size_t n = strlen(want[i]);
            if (strncmp(line, want[i], n) || line[n] != ':') continue;
            char *v = line + n + 1;
            v += strspn(v, " \t");
            printf("%s=%s", want[i], v);
        }
    }
    fclose(f);
}

static void slurp_print(const char *key, const char *path);

/* The four devices a container gets, used once each. */
static void devices(void) {
    char buf[16] = {1};
    int fd = open("/dev/null", O_WRONLY);
    result("dev_null_write", fd < 0 ? -1 : (int)write(fd, "x", 1));
    if (fd >= 0) close(fd);
    fd = open("/dev/zero", O_RDONLY);
    int rc = fd < 0 ? -1 : (int)read(fd, buf, sizeof buf);
    if (rc > 0 && buf[0]) rc = -1, errno = EIO;
    result("dev_zero_read", rc);
    if (fd >= 0) close(fd);
    fd = open("/dev/urandom", O_RDONLY);
    result("dev_urandom_read", fd < 0 ? -1 : (int)read(fd, buf, sizeof buf));
    if (fd >= 0) close(fd);
    /* their permission bits, octal: what a program inside may do with them */
    static const char *const nodes[] = {"null", "zero", "urandom", "tty"};
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        char p[32];
        struct stat st;
        snprintf(p, sizeof p, "/dev/%s", nodes[i]);
        if (stat(p, &st)) {
            printf("mode_%s=%s\n", nodes[i], strerrorname_np(errno));
            continue;
        }
        printf("mode_%s=%o\n", nodes[i], (unsigned)(st.st_mode & 07777));
        /* what the node is: a regular file answers reads and writes as well as /dev/null */
        printf("node_%s=%s %u:%u\n", nodes[i],
               S_ISCHR(st.st_mode)   ? "char"
               : S_ISBLK(st.st_mode) ? "block"
               : S_ISREG(st.st_mode) ? "file"
                                     : "other",
               major(st.st_rdev), minor(st.st_rdev));
    }
}

static void info(void) {
    printf("pid=%d\nppid=%d\nuid=%d\ngid=%d\neuid=%d\n", getpid(), getppid(), getuid(), getgid(),
           geteuid());
    char host[256] = "";
    gethostname(host, sizeof host);
    printf("hostname=%s\n", host);
    list_dir("procs", "/proc", numeric);
    list_dir("root", "/", NULL);
    list_dir("dev", "/dev", NULL);
    devices();
    slurp_print("marker", "/etc/marker");

    /* interfaces from /proc/net/dev, and whether lo is up */
    printf("netifs=");
    FILE *f = fopen("/proc/net/dev", "r");
    char line[512];
    int first = 1;
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = 0;
        char *name = line + strspn(line, " ");
        printf("%s%s", first ? "" : ",", name);
        first = 0;
    }
    if (f) fclose(f);
    printf("\n");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    int up = s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_UP);
    printf("lo_up=%d\n", up);
    if (s >= 0) close(s);

    printf("cgroup=");
    f = fopen("/proc/self/cgroup", "r");
    first = 1;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *path = strrchr(line, ':');
        printf("%s%s", first ? "" : ",", path ? path + 1 : "?");
        first = 0;
    }
    if (f) fclose(f);
    printf("\n");

    status_fields();

    /* fds: open the directory first, so its own fd is known and left out */
    DIR *d = opendir("/proc/self/fd");
    printf("fds=");
    first = 1;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!numeric(e->d_name) || atoi(e->d_name) == dirfd(d)) continue;
        printf("%s%s", first ? "" : ",", e->d_name);
        first = 0;
    }
    if (d) closedir(d);
    printf("\n");
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("nofile=%llu/%llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);

    /* what /proc/self/mounts says is mounted where */
    f = fopen("/proc/self/mounts", "r");
    while (f && fgets(line, sizeof line, f)) {
        char src[128], mnt[128], type[64], opts[256];
        if (sscanf(line, "%127s %127s %63s %255s", src, mnt, type, opts) == 4)
            printf("mount=%s %s %s\n", mnt, type, opts);
    }
    if (f) fclose(f);

    /* a file of our own in /tmp: who owns it, as seen from inside */
    int fd = open("/tmp/prober-owned", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    struct stat st;
    if (fd >= 0 && !fstat(fd, &st))
        printf("tmp_owner=%d\n", (int)st.st_uid);
    else
        printf("tmp_owner=!%s\n", strerrorname_np(errno));
    if (fd >= 0) close(fd);
    f = fopen("/proc/self/uid_map", "r");
    if (f && fgets(line, sizeof line, f)) {
        unsigned a, b, c;
        if (sscanf(line, "%u %u %u", &a, &b, &c) == 3) printf("uid_map=%u %u %u\n", a, b, c);
    }
    if (f) fclose(f);
}

static void slurp_print(const char *key, const char *path) {
    char buf[256] = "";
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s=!%s\n", key, strerrorname_np(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
    printf("%s=%s\n", key, buf);
}

static int put(const char *path, const char *s) {
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) return -1;
    ssize_t n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void do_write(void) {
    result("overwrite_marker", put("/etc/marker", "changed inside\n"));
    result("new_file", put("/etc/newfile", "new inside\n"));
    result("unlink_hostname", unlink("/etc/hostname"));
    result("mkdir", mkdir("/newdir", 0755));
    result("chmod_busybox", chmod("/bin/busybox", 0700));
    slurp_print("marker", "/etc/marker");
    slurp_print("newfile", "/etc/newfile");
    slurp_print("hostname_file", "/etc/hostname");
}

static void try_files(const char *path) {
    char p[1024];
    result("open_path", open(path, O_RDONLY));
    snprintf(p, sizeof p, "/../../../..%s", path);
    result("open_dotdot", open(p, O_RDONLY));
    snprintf(p, sizeof p, "/proc/1/root%s", path);
    result("open_proc_root", open(p, O_RDONLY));
    /* an old root left attached somewhere: look under every top-level directory */
    DIR *d = opendir("/");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "proc"))
            continue;
        snprintf(p, sizeof p, "/%s%s", e->d_name, path);
        char name[300];
        snprintf(name, sizeof name, "open_under_%s", e->d_name);
        result(name, open(p, O_RDONLY));
    }
    if (d) closedir(d);
}

static void try_chroot(const char *path) {
    /* the classic: chroot into a subdirectory while keeping the cwd outside it */
    mkdir("/tmp/jail", 0755);
    result("chroot", chroot("/tmp/jail"));
    for (int i = 0; i < 16; i++)
        if (chdir("..")) break;
    result("chroot_dot", chroot("."));
    result("chroot_open", open(path, O_RDONLY));
}

static void try_mount(void) {
    result("remount_root_rw", mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL));
    result("mount_tmpfs", mount("x", "/tmp", "tmpfs", 0, NULL));
    result("mount_proc", mount("proc", "/tmp", "proc", 0, NULL));
    result("mount_bind", mount("/", "/tmp", NULL, MS_BIND, NULL));
    result("umount_proc", umount2("/proc", MNT_DETACH));
    result("mount_sysfs", mount("sysfs", "/tmp", "sysfs", 0, NULL));
}

static void try_hostname(void) {
    result("sethostname", sethostname("escaped", 7));
    result("setdomainname", setdomainname("escaped", 7));
}

/* A system call through another ABI, in a child (a filter may kill the caller for it): the
 * 32-bit one (int 0x80, i386 numbers, arch AUDIT_ARCH_I386), or x32 (the 64-bit syscall
 * instruction with __X32_SYSCALL_BIT; most kernels answer ENOSYS). A filter built for x86-64
 * alone must refuse them or kill the caller, not compare their numbers with x86-64's: i386's
 * unshare (310) is x86-64's process_vm_readv, denied by luck, but i386's clone (120) is
 * x86-64's getresgid. A clone that worked made a child: it exits at once and is reaped. */
enum abi { I386, X32 };
static void other_abi(const char *name, enum abi abi, long nr, long a0) {
    pid_t c = fork();
    if (c == 0) {
        long r;
        if (abi == I386)
            __asm__ volatile("int $0x80"
                             : "=a"(r)
                             : "a"(nr), "b"(a0), "c"(0L), "d"(0L), "S"(0L), "D"(0L)
                             : "memory", "r8", "r9", "r10", "r11");
        else
            r = syscall(0x40000000L | nr, a0, 0L, 0L, 0L, 0L) < 0 ? -errno : 0;
        if (r == 0) _exit(0);
        if (r > 0) _exit(waitpid((pid_t)r, NULL, 0) == r ? 0 : 254);
        _exit(r > -254 ? (int)-r : 255);
    }
    int st = 0;
    if (c < 0 || waitpid(c, &st, 0) < 0) {
        result(name, -1);
        return;
    }
    if (WIFSIGNALED(st)) {
        printf("try %s = %s\n", name, sigabbrev_np(WTERMSIG(st)) ?: "signal");
        fflush(stdout);
        return;
    }
    errno = WEXITSTATUS(st) >= 254 ? EINVAL : WEXITSTATUS(st);
    result(name, WEXITSTATUS(st) ? -1 : 0);
}

static void try_ns(void) {
    static const struct {
        const char *name;
        int flag;
    } fl[] = {{"unshare_user", CLONE_NEWUSER}, {"unshare_mnt", CLONE_NEWNS},
              {"unshare_net", CLONE_NEWNET},   {"unshare_pid", CLONE_NEWPID},
              {"unshare_uts", CLONE_NEWUTS},   {"unshare_cgroup", CLONE_NEWCGROUP}};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
        result(fl[i].name, unshare(fl[i].flag));
    other_abi("unshare_user_int80", I386, 310, CLONE_NEWUSER);
    other_abi("unshare_mnt_int80", I386, 310, CLONE_NEWNS);
    other_abi("clone_newuser_int80", I386, 120, CLONE_NEWUSER | SIGCHLD);
    other_abi("unshare_user_x32", X32, 272, CLONE_NEWUSER);
    const char *nss[] = {"mnt", "net", "pid", "user", "uts"};
    for (size_t i = 0; i < 5; i++) {
        char p[64], name[64];
        snprintf(p, sizeof p, "/proc/self/ns/%s", nss[i]);
        snprintf(name, sizeof name, "setns_%s", nss[i]);
        int fd = open(p, O_RDONLY);
        result(name, fd < 0 ? -1 : setns(fd, 0));
        if (fd >= 0) close(fd);
    }
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    result("clone_newuser", pid < 0 ? -1 : 0);
}

static void try_ptrace(pid_t host) {
    result("ptrace_host", ptrace(PTRACE_ATTACH, host, 0, 0) < 0 ? -1 : 0);
    result("kill_host", kill(host, 0));
    pid_t c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    result("ptrace_child", ptrace(PTRACE_ATTACH, c, 0, 0) < 0 ? -1 : 0);
    char buf[8];
    struct iovec l = {buf, sizeof buf}, r = {(void *)&try_ptrace, sizeof buf};
    result("vm_readv_child", process_vm_readv(c, &l, 1, &r, 1, 0) < 0 ? -1 : 0);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
}

static void try_module(void) {
    int fd = open("/bin/busybox", O_RDONLY);
    result("finit_module", (int)syscall(SYS_finit_module, fd, "", 0));
    static char junk[64];
    result("init_module", (int)syscall(SYS_init_module, junk, sizeof junk, ""));
    result("delete_module", (int)syscall(SYS_delete_module, "loop", O_NONBLOCK));
    if (fd >= 0) close(fd);
}

static void try_rlimit(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    struct rlimit up = {rl.rlim_max + 1, rl.rlim_max + 1};
    result("raise_nofile", setrlimit(RLIMIT_NOFILE, &up));
    getrlimit(RLIMIT_CORE, &rl);
    struct rlimit core = {RLIM_INFINITY, RLIM_INFINITY};
    result("raise_core", rl.rlim_max == RLIM_INFINITY ? 0 : setrlimit(RLIMIT_CORE, &core));
}

static void try_cgroup(void) {
    mkdir("/tmp/cg", 0755);
    result("mount_cgroup_pids", mount("cgroup", "/tmp/cg", "cgroup", 0, "pids"));
    result("mount_cgroup2", mount("cgroup2", "/tmp/cg", "cgroup2", 0, NULL));
    result("open_sys_fs_cgroup", open("/sys/fs/cgroup/pids/pids.max", O_WRONLY));
    result("open_sys_fs_cgroup2", open("/sys/fs/cgroup/pids.max", O_WRONLY));
}

static void try_device(void) {
    result("mknod_blk", mknod("/tmp/disk", S_IFBLK | 0600, makedev(8, 0)));
    result("open_blk", open("/tmp/disk", O_RDONLY));
    result("mknod_mem", mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1)));
    result("open_mem", open("/tmp/mem", O_RDONLY));
    result("open_dev_mem", open("/dev/mem", O_RDONLY));
    result("open_dev_kmsg", open("/dev/kmsg", O_RDONLY));
    result("iopl", iopl(3));
    /* anything in /dev besides the four the container gets */
    DIR *d = opendir("/dev");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        static const char *const ok[] = {".",   "..", "null",  "zero",   "urandom",
                                         "tty", "fd", "stdin", "stdout", "stderr"};
        int known = 0;
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
            known |= !strcmp(e->d_name, ok[i]);
        if (known) continue;
        char p[300], name[300];
        snprintf(p, sizeof p, "/dev/%s", e->d_name);
        snprintf(name, sizeof name, "open_dev_%s", e->d_name);
        result(name, open(p, O_RDONLY));
    }
    if (d) closedir(d);
}

/* Terminal injection: TIOCSTI pushes bytes into a terminal's input queue as if typed; on the
 * caller's terminal they run in the caller's shell once the container is gone. */
static void inject(const char *name, int fd, unsigned long req) {
    static const char cmd[] = "echo vlab-injected\n";
    long rc = 0;
    for (size_t i = 0; i < sizeof cmd - 1 && rc == 0; i++)
        rc = syscall(SYS_ioctl, fd, req, &cmd[i]);
    result(name, rc < 0 ? -1 : 0);
}

static void try_tty(void) {
    /* the controlling terminal, whichever it is: only a process of the caller's session has one */
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
    result("open_dev_tty", tty);
    for (int fd = 0; fd < 3; fd++) {
        char name[32];
        snprintf(name, sizeof name, "tiocsti_fd%d", fd);
        inject(name, fd, TIOCSTI);
    }
    if (tty >= 0) inject("tiocsti_dev_tty", tty, TIOCSTI);
    /* the kernel reads the request as 32 bits: a filter comparing all 64 can be passed by */
    inject("tiocsti_high_bits", 0, TIOCSTI | (1UL << 32));
    char sub[2] = {6 /* TIOCL_GETSHIFTSTATE: harmless, and answered only by a VT */, 0};
    int rc = ioctl(0, TIOCLINUX, sub);
    printf("tioclinux_errno=%s\n", rc < 0 ? strerrorname_np(errno) : "none");
    result("tioclinux_fd0", rc);
    if (tty >= 0) close(tty);
}

/* The kernel's own file or directory, rather than what masks it: a read of it is "ok". */
static void try_read_kernel(const char *path) {
    char name[128];
    snprintf(name, sizeof name, "read_%s", path);
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        result(name, -1);
        return;
    }
    struct statfs fs;
    struct stat st;
    int rc = fstatfs(fd, &fs);
    if (!rc) rc = fstat(fd, &st);
    close(fd);
    if (!rc && fs.f_type != PROC_SUPER_MAGIC && fs.f_type != SYSFS_MAGIC) {
        printf("try %s = masked\n", name);
        /* a masked directory is an empty tmpfs: one left writable is a place to hide files
         * from the host's view of /proc (and, without nodev/nosuid/noexec, to use them) */
        if (S_ISDIR(st.st_mode)) {
            char p[300];
            snprintf(p, sizeof p, "%s/prober-planted", path);
            snprintf(name, sizeof name, "create_in_%s", path);
            int w = open(p, O_CREAT | O_WRONLY | O_EXCL, 0644);
            result(name, w);
            if (w >= 0) close(w);
        }
        return;
    }
    result(name, rc);
}

static void try_masked(void) {
    static const char *const paths[] = {"/proc/kcore",
                                        "/proc/keys",
                                        "/proc/latency_stats",
                                        "/proc/timer_list",
                                        "/proc/timer_stats",
                                        "/proc/sched_debug",
                                        "/proc/acpi",
                                        "/proc/scsi",
                                        "/proc/asound",
                                        "/sys/firmware",
                                        "/sys/devices/virtual/powercap"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        try_read_kernel(paths[i]);
}

/* Writable mounts and files under /proc and /sys that reach the whole machine. Files are only
 * opened for writing, never written: on a broken sandbox they are the host's. */
static void try_readonly(void) {
    static const char *const trees[] = {"/proc/bus",           "/proc/fs", "/proc/irq", "/proc/sys",
                                        "/proc/sysrq-trigger", "/sys"};
    for (size_t i = 0; i < sizeof trees / sizeof trees[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "writable_%s", trees[i]);
        struct statvfs v;
        struct statfs fs;
        if (statvfs(trees[i], &v) || statfs(trees[i], &fs)) {
            result(name, -1);
        } else if (fs.f_type != PROC_SUPER_MAGIC && fs.f_type != SYSFS_MAGIC) {
            printf("try %s = not the kernel's\n", name); /* an image's empty /sys, say */
        } else if (v.f_flag & ST_RDONLY) {
            printf("try %s = read-only\n", name);
        } else {
            result(name, 0);
        }
    }
    static const char *const files[] = {"/proc/sys/kernel/core_pattern",
                                        "/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches",
                                        "/proc/sysrq-trigger", "/proc/irq/default_smp_affinity"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "open_write_%s", files[i]);
        int fd = open(files[i], O_WRONLY);
        result(name, fd);
        if (fd >= 0) close(fd);
    }
}

/* Metadata changes to the container's device nodes, to the values they already have: a node
 * that is the host's changes only its ctime, which the test reads on the host's inode. */
static void try_devnode(void) {
    static const char *const nodes[] = {"/dev/null", "/dev/zero", "/dev/urandom", "/dev/tty"};
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        struct stat st;
        char name[64];
        snprintf(name, sizeof name, "stat_%s", nodes[i] + 5);
        if (stat(nodes[i], &st)) {
            printf("did %s = %s\n", name, strerrorname_np(errno));
            continue;
        }
        int rc = chmod(nodes[i], st.st_mode & 07777);
        printf("did chmod_%s = %s\n", nodes[i] + 5, rc ? strerrorname_np(errno) : "ok");
        rc = chown(nodes[i], st.st_uid, st.st_gid);
        printf("did chown_%s = %s\n", nodes[i] + 5, rc ? strerrorname_np(errno) : "ok");
    }
    printf("devnode_done=1\n");
}

static void try_io_uring(void) {
    long params[16] = {0}; /* struct io_uring_params: 120 bytes, all zero */
    long fd = syscall(SYS_io_uring_setup, 4, params);
    result("io_uring_setup", fd < 0 ? -1 : 0);
    if (fd >= 0) close((int)fd);
    result("io_uring_enter", syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0) < 0 ? -1 : 0);
    result("io_uring_register", syscall(SYS_io_uring_register, -1, 0, NULL, 0) < 0 ? -1 : 0);
    fd = syscall(SYS_userfaultfd, 0);
    result("userfaultfd", fd < 0 ? -1 : 0);
    if (fd >= 0) close((int)fd);
}

/* A persona flag the kernel accepted (the call returns the previous persona): READ_IMPLIES_EXEC
 * makes every readable mapping executable, ADDR_NO_RANDOMIZE turns ASLR off for what this
 * process executes next. */
static void persona(const char *name, unsigned long flag) {
    long rc = syscall(SYS_personality, flag);
    result(name, rc < 0 ? -1 : 0);
    syscall(SYS_personality, 0UL);
}

static void try_personality(void) {
    persona("read_implies_exec", READ_IMPLIES_EXEC);
    persona("addr_no_randomize", ADDR_NO_RANDOMIZE);
    persona("addr_compat_layout", ADDR_COMPAT_LAYOUT);
    persona("mmap_page_zero", MMAP_PAGE_ZERO);
    /* bits the kernel drops on the way in (it reads 32): a 64-bit comparison misses them */
    persona("high_bits", (1UL << 32) | READ_IMPLIES_EXEC);
}

/* What the container sees, for a failing test's message (the harness's sbt_view): its
 * namespaces, ids, mounts, limits and privileges, one "view ..." line each. */
static void view(void) {
    static const char *const ns[] = {"pid", "mnt", "uts", "ipc", "net", "user", "cgroup"};
    printf("view ns:");
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char p[64], l[128];
        snprintf(p, sizeof p, "/proc/self/ns/%s", ns[i]);
        ssize_t n = readlink(p, l, sizeof l - 1);
        l[n > 0 ? n : 0] = 0;
        printf(" %s", n > 0 ? l : "?");
    }
    char host[256] = "?", line[1024];
    gethostname(host, sizeof host);
    printf("\nview ids: pid %d uid %d gid %d hostname %s", getpid(), getuid(), getgid(), host);
    static const char *const maps[] = {"uid_map", "gid_map"};
    for (int i = 0; i < 2; i++) {
        char p[64];
        snprintf(p, sizeof p, "/proc/self/%s", maps[i]);
        FILE *f = fopen(p, "r");
        printf(", %s", maps[i]);
        while (f && fgets(line, sizeof line, f)) {
            unsigned long long in, out, count;
            if (sscanf(line, "%llu %llu %llu", &in, &out, &count) == 3)
                printf(" [%llu %llu %llu]", in, out, count);
        }
        if (f) fclose(f);
    }
    printf("\nview cgroup:");
    FILE *f = fopen("/proc/self/cgroup", "r");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        printf(" %s", line);
    }
    if (f) fclose(f);
    /* mountinfo: ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - TYPE SOURCE SUPER */
    f = fopen("/proc/self/mountinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *w[32];
        int n = 0;
        for (char *tok = strtok(line, " "); tok && n < 32; tok = strtok(NULL, " "))
            w[n++] = tok;
        int dash = 6;
        while (dash < n && strcmp(w[dash], "-"))
            dash++;
        if (n < 6 || dash + 2 >= n) continue;
        char prop[64] = "";
        for (int k = 6; k < dash; k++)
            snprintf(prop + strlen(prop), sizeof prop - strlen(prop), " %s", w[k]);
        printf("\nview mount: %s %s %s (%s)%s", w[4], w[dash + 1], w[5], w[dash + 2],
               *prop ? prop : " private");
    }
    if (f) fclose(f);
    f = fopen("/proc/self/status", "r");
    printf("\nview privileges:");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "CapEff:", 7) && strncmp(line, "CapBnd:", 7) &&
            strncmp(line, "NoNewPrivs:", 11) && strncmp(line, "Seccomp:", 8))
            continue;
        line[strcspn(line, "\n")] = 0;
        char *c = strchr(line, ':');
        *c = 0;
        printf(" %s %s", line, c + 1 + strspn(c + 1, " \t"));
    }
    if (f) fclose(f);
    static const struct {
        const char *name;
        int res;
    } rl[] = {{"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC}, {"core", RLIMIT_CORE}};
    printf("\nview rlimits:");
    for (size_t i = 0; i < 3; i++) {
        struct rlimit r;
        if (getrlimit(rl[i].res, &r)) continue;
        if (r.rlim_cur == RLIM_INFINITY)
            printf(" %s unlimited", rl[i].name);
        else
            printf(" %s %llu", rl[i].name, (unsigned long long)r.rlim_cur);
    }
    printf("\nview fds:");
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!numeric(e->d_name) || atoi(e->d_name) == dirfd(d)) continue;
        char p[300], l[256];
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(p, l, sizeof l - 1);
        l[n > 0 ? n : 0] = 0;
        printf(" %s=%s", e->d_name, l);
    }
    if (d) closedir(d);
    printf("\n");
    fflush(stdout);
}

static void forkbomb(void) {
    int n = 0;
    for (;;) {
        pid_t p = fork();
        if (p == 0) {
            pause();
            _exit(0);
        }
        if (p < 0) break;
        if (++n >= 4096) break;
    }
    int e = errno;
    /* then 12 more tries, all refused while the children pause: the group's count of refused
     * forks (pids.events "max") must come to exactly 1 + refused */
    int refused = 0;
    for (int i = 0; i < 12 && n < 4096; i++) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        if (p < 0)
            refused++;
        else
            waitpid(p, NULL, 0);
    }
    printf("forks=%d\nerrno=%s\nrefused=%d\n", n, strerrorname_np(e), refused);
    fflush(stdout);
}

static void alloc(long mib) {
    for (long i = 0; i < mib; i++) {
        char *p = malloc(1 << 20);
        if (!p) {
            printf("malloc_failed=%ld\n", i);
            return;
        }
        memset(p, (int)i + 1, 1 << 20);
        printf("touched=%ld\n", i + 1);
        fflush(stdout);
    }
    printf("done=%ld\n", mib);
}

static double secs(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void spin(double s) {
    double w0 = secs(CLOCK_MONOTONIC), c0 = secs(CLOCK_PROCESS_CPUTIME_ID);
    volatile unsigned long x = 0;
    while (secs(CLOCK_MONOTONIC) - w0 < s)
        for (int i = 0; i < 10000; i++)
            x += (unsigned long)i;
    printf("wall=%.4f\ncpu=%.4f\n", secs(CLOCK_MONOTONIC) - w0,
           secs(CLOCK_PROCESS_CPUTIME_ID) - c0);
}

/* n sleepers named tag (their comm, for the host to look for), each escaped from its parent
 * by a double fork and setsid. */
static void daemons(int n, const char *tag) {
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            setsid();
            if (fork() == 0) {
                prctl(PR_SET_NAME, tag, 0, 0, 0);
                for (;;)
                    pause();
            }
            _exit(0);
        }
        if (p > 0) waitpid(p, NULL, 0);
    }
    printf("daemons=%d\n", n);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "now")) { /* the benchmark's exec timestamp, first thing */
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        printf("t=%lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
        return 0;
    }
    const char *cmd = argc > 1 ? argv[1] : "info";
    const char *arg = argc > 2 ? argv[2] : "";
    if (!strcmp(cmd, "info")) {
        info();
    } else if (!strcmp(cmd, "ipc")) {
        int q = msgget((key_t)strtol(arg, NULL, 0), 0);
        printf("ipc=%s\n", q >= 0 ? "visible" : strerrorname_np(errno));
    } else if (!strcmp(cmd, "write")) {
        do_write();
    } else if (!strcmp(cmd, "escape")) {
        const char *what = arg, *a2 = argc > 3 ? argv[3] : "/";
        if (!strcmp(what, "files"))
            try_files(a2);
        else if (!strcmp(what, "chroot"))
            try_chroot(a2);
        else if (!strcmp(what, "mount"))
            try_mount();
        else if (!strcmp(what, "hostname"))
            try_hostname();
        else if (!strcmp(what, "ns"))
            try_ns();
        else if (!strcmp(what, "ptrace"))
            try_ptrace((pid_t)atoi(a2));
        else if (!strcmp(what, "module"))
            try_module();
        else if (!strcmp(what, "rlimit"))
            try_rlimit();
        else if (!strcmp(what, "cgroup"))
            try_cgroup();
        else if (!strcmp(what, "device"))
            try_device();
        else if (!strcmp(what, "tty"))
            try_tty();
        else if (!strcmp(what, "masked"))
            try_masked();
        else if (!strcmp(what, "readonly"))
            try_readonly();
        else if (!strcmp(what, "devnode"))
            try_devnode();
        else if (!strcmp(what, "io_uring"))
            try_io_uring();
        else if (!strcmp(what, "personality"))
            try_personality();
        else
            return fprintf(stderr, "prober: unknown escape %s\n", what), 2;
        char host[256] = "";
        gethostname(host, sizeof host);
        printf("hostname=%s\n", host);
    } else if (!strcmp(cmd, "stdin")) {
        char buf[256];
        ssize_t n = read(0, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        buf[strcspn(buf, "\n")] = 0;
        printf("stdin=%s\n", n < 0 ? strerrorname_np(errno) : buf);
    } else if (!strcmp(cmd, "view")) {
        view();
    } else if (!strcmp(cmd, "crash")) {
        fflush(stdout);
        *(volatile int *)(uintptr_t)argc = 1; /* argc is never a valid address */
    } else if (!strcmp(cmd, "forkbomb")) {
        forkbomb();
    } else if (!strcmp(cmd, "alloc")) {
        alloc(atol(arg));
    } else if (!strcmp(cmd, "spin")) {
        spin(atof(arg));
    } else if (!strcmp(cmd, "daemons")) {
        daemons(atoi(arg), argc > 3 ? argv[3] : "sb-daemon");
        if (argc > 4 && !strcmp(argv[4], "sleep"))
            for (;;)
                pause();
    } else if (!strcmp(cmd, "sleep")) {
        for (;;)
            pause();
    } else if (!strcmp(cmd, "exit")) {
        return atoi(arg);
    } else {
        fprintf(stderr, "prober: unknown command %s\n", cmd);
        return 2;
    }
    fflush(stdout);
    return 0;
}
