/* Task 1: namespaces. Each test runs the prober's `info` in a container and judges what it
 * saw from inside. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb_test.h"

Test(sandbox, ns_pid_one, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_run_ok(&t, SB_SEC_PID, "info", NULL);
    char pid[32] = "?", procs[4096] = "?";
    sbt_get(&t, "pid", pid, sizeof pid);
    sbt_get(&t, "procs", procs, sizeof procs);
    cr_expect_str_eq(pid, "1",
                     "the program should be pid 1 of a new pid namespace, it is pid %s %s", pid,
                     SB_SEC_PID);
    cr_expect_str_eq(procs, "1",
                     "/proc inside should list only the program (pid 1), it lists %u: %.200s %s",
                     sbt_list_len(procs), procs, SB_SEC_PID);
    sbt_fini(&t);
}

Test(sandbox, ns_hostname, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char before[256] = "", after[256] = "", inside[256] = "?";
    gethostname(before, sizeof before);
    t.cfg.hostname = "vlab-box";
    sbt_run_ok(&t, SB_SEC_UTS, "info", NULL);
    gethostname(after, sizeof after);
    sbt_get(&t, "hostname", inside, sizeof inside);
    cr_expect_str_eq(inside, "vlab-box", "hostname inside: expected \"vlab-box\", got \"%s\" %s",
                     inside, SB_SEC_UTS);
    cr_expect_str_eq(after, before, "the host's hostname changed from \"%s\" to \"%s\" %s", before,
                     after, SB_SEC_UTS);
    t.cfg.hostname = NULL;
    sbt_run_ok(&t, SB_SEC_UTS, "info", NULL);
    sbt_get(&t, "hostname", inside, sizeof inside);
    cr_expect_str_eq(inside, "sandbox",
                     "hostname inside with cfg->hostname NULL: expected \"sandbox\", got \"%s\" %s",
                     inside, SB_SEC_UTS);
    sbt_fini(&t);
}

Test(sandbox, ns_ipc, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    key_t key = (key_t)(0x5b000000 | (getpid() & 0xffffff));
    int q = msgget(key, IPC_CREAT | 0600);
    cr_assert(q >= 0, "harness: msgget on the host failed");
    char keys[32], seen[64] = "?";
    snprintf(keys, sizeof keys, "%#x", (unsigned)key);
    sbt_run(&t, "ipc", keys, NULL);
    msgctl(q, IPC_RMID, NULL);
    cr_assert(t.rc == VLAB_OK, "sb_run: expected VLAB_OK, got %d (%s) %s", t.rc,
              vlab_strerror(t.rc), SB_SEC_UTS);
    sbt_get(&t, "ipc", seen, sizeof seen);
    cr_expect_str_eq(seen, "ENOENT",
                     "the host's SysV message queue %s should not exist in the container's ipc "
                     "namespace: expected ENOENT, got %s %s",
                     keys, seen, SB_SEC_UTS);
    sbt_fini(&t);
}

Test(sandbox, ns_net_loopback_only, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_run_ok(&t, SB_SEC_NET, "info", NULL);
    char ifs[1024] = "?", up[8] = "?";
    sbt_get(&t, "netifs", ifs, sizeof ifs);
    sbt_get(&t, "lo_up", up, sizeof up);
    cr_expect_str_eq(ifs, "lo", "network interfaces inside: expected only \"lo\", got \"%s\" %s",
                     ifs, SB_SEC_NET);
    cr_expect_str_eq(up, "1", "lo inside should be up (IFF_UP), it is %s %s",
                     strcmp(up, "0") ? up : "down", SB_SEC_NET);
    sbt_fini(&t);
}

Test(sandbox, ns_mount_private, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_need_root(&t, "the test watches its own mount namespace for the container's mounts, "
                      "and no mount propagates from a user namespace's into it anyway");
    sbt_run_ok(&t, SB_SEC_MNT, "info", NULL);
    char root[512] = "";
    sbt_get(&t, "mount", root, sizeof root); /* the first mount line is the root */
    cr_expect(!strncmp(root, "/ overlay", 9),
              "the container's first mount should be its overlay root at /, got \"%s\" %s", root,
              SB_SEC_ROOT);
    /* the test's namespace is shared: a container mount that is not private shows up here */
    FILE *f = fopen("/proc/self/mountinfo", "re");
    unsigned n = 0, leaked = 0;
    char line[1024], which[1024] = "";
    while (f && fgets(line, sizeof line, f)) {
        if (++n <= t.mounts) continue;
        if (!leaked++) snprintf(which, sizeof which, "%s", line);
    }
    if (f) fclose(f);
    cr_expect(leaked == 0,
              "%u of the container's mounts propagated to the host's mount namespace, e.g. %.300s"
              " %s",
              leaked, which, SB_SEC_MNT);
    sbt_fini(&t);
}

Test(sandbox, ns_cgroup_root, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    if (t.groups) t.cfg.limits.pids = 64; /* else the container stays in the caller's group */
    sbt_run_ok(&t, SB_SEC_CGNS, "info", NULL);
    char cg[2048] = "";
    sbt_get(&t, "cgroup", cg, sizeof cg);
    cr_expect(*cg, "the prober could not read /proc/self/cgroup %s", SB_SEC_CGNS);
    for (const char *p = cg; *p;) {
        size_t l = strcspn(p, ",");
        cr_expect(l == 1 && *p == '/',
                  "every line of /proc/self/cgroup inside should show the container's group as "
                  "\"/\", got \"%.*s\" (all: %s) %s",
                  (int)l, p, cg, SB_SEC_CGNS);
        p += l + (p[l] == ',');
    }
    sbt_fini(&t);
}

Test(sandbox, ns_user_mapped_root, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    t.cfg.userns = true;
    sbt_run_ok(&t, SB_SEC_USER, "info", NULL);
    char uid[32] = "?", map[64] = "?", owner[32] = "?", pid[32] = "?";
    sbt_get(&t, "uid", uid, sizeof uid);
    sbt_get(&t, "uid_map", map, sizeof map);
    sbt_get(&t, "tmp_owner", owner, sizeof owner);
    sbt_get(&t, "pid", pid, sizeof pid);
    char want[64];
    if (t.rootless) /* §2.8: the only map a process without root may write */
        snprintf(want, sizeof want, "0 %u 1", (unsigned)geteuid());
    else
        snprintf(want, sizeof want, "0 %u %u", SB_USERNS_BASE, SB_USERNS_COUNT);
    cr_expect_str_eq(map, want, "uid_map inside: expected \"%s\", got \"%s\" %s", want, map,
                     SB_SEC_USER);
    cr_expect_str_eq(uid, "0",
                     "uid inside a user namespace: expected 0 (the mapped root), got %s: after "
                     "the maps are written the program must become uid 0 %s",
                     uid, SB_SEC_USER);
    cr_expect_str_eq(owner, "0",
                     "a file the program creates in /tmp should belong to the mapped root (0 "
                     "inside), it belongs to %s: the program still runs with host credentials %s",
                     owner, SB_SEC_USER);
    cr_expect_str_eq(pid, "1", "pid inside a user namespace: expected 1, got %s %s", pid,
                     SB_SEC_PID);
    sbt_fini(&t);
}

/* §2.8 as root: a child of the test becomes an ordinary user (nobody) and calls sb_run on an
 * image it can reach, as a student without root would; the container must run, in a user
 * namespace mapping root inside to that user. */
#define SB_NOBODY 65534u
Test(sandbox, ns_rootless, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_need_root(&t, "the test itself becomes an ordinary user; without root every test "
                      "already runs as one");
    /* the test's $TMPDIR may be private to root: the image goes where nobody can reach it */
    char dir[600], img[700];
    snprintf(dir, sizeof dir, "/tmp/sbrootless-%d", (int)getpid());
    sb_tree_remove(dir);
    cr_assert(!mkdir(dir, 0755) && !chown(dir, SB_NOBODY, SB_NOBODY), "harness: %s: %s", dir,
              strerror(errno));
    snprintf(img, sizeof img, "%s/img", dir);
    int rc = sb_image_build(img, t.prober);
    cr_assert(rc == 0, "harness: building %s: %s", img, strerror(-rc));
    struct shared {
        int rc;
        struct sb_result res;
        char out[sizeof t.out];
        char err[sizeof t.err];
    } *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert(sh != MAP_FAILED, "harness: mmap");
    sh->rc = -1000;
    t.cfg.rootfs = img;
    t.cfg.userns = false; /* an ordinary user gets one anyway */
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        /* an ordinary user's process: no supplementary groups, and dumpable again, which
         * setresuid cleared (a normal login process is, so its /proc files are its own) */
        if (setgroups(0, NULL) || setresgid(SB_NOBODY, SB_NOBODY, SB_NOBODY) ||
            setresuid(SB_NOBODY, SB_NOBODY, SB_NOBODY) || prctl(PR_SET_DUMPABLE, 1))
            _exit(3);
        sbt_run(&t, "info", NULL);
        sh->rc = t.rc;
        sh->res = t.res;
        memcpy(sh->out, t.out, sizeof sh->out);
        memcpy(sh->err, t.err, sizeof sh->err);
        _exit(0);
    }
    int st = 0;
    while (p > 0 && waitpid(p, &st, 0) < 0 && errno == EINTR) {
    }
    t.rc = sh->rc;
    t.res = sh->res;
    memcpy(t.out, sh->out, sizeof t.out);
    memcpy(t.err, sh->err, sizeof t.err);
    munmap(sh, sizeof *sh);
    sb_tree_remove(dir);
    cr_assert(p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "harness: the child that became uid %u failed (status 0x%x)", SB_NOBODY, st);
    cr_assert(t.rc == VLAB_OK,
              "sb_run called by uid %u (not root): expected VLAB_OK, got %d (%s); its stderr: "
              "%.500s %s",
              SB_NOBODY, t.rc, vlab_strerror(t.rc), t.err, SB_SEC_ROOTLESS);
    char uid[32] = "?", map[64] = "?", pid[32] = "?", host[64] = "?";
    sbt_get(&t, "uid", uid, sizeof uid);
    sbt_get(&t, "uid_map", map, sizeof map);
    sbt_get(&t, "pid", pid, sizeof pid);
    sbt_get(&t, "hostname", host, sizeof host);
    char want[64];
    snprintf(want, sizeof want, "0 %u 1", SB_NOBODY);
    cr_expect_str_eq(map, want,
                     "uid_map inside, sb_run called by uid %u: expected \"%s\" (the only map it "
                     "may write), got \"%s\" %s",
                     SB_NOBODY, want, map, SB_SEC_ROOTLESS);
    cr_expect(!strcmp(uid, "0") && !strcmp(pid, "1") && !strcmp(host, "sandbox"),
              "inside, sb_run called by uid %u: expected uid 0, pid 1, hostname sandbox; got "
              "uid %s, pid %s, hostname %s %s",
              SB_NOBODY, uid, pid, host, SB_SEC_ROOTLESS);
    sbt_fini(&t);
}
