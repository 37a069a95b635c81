/* The busybox image and the prober (sb_image.h). */
#define _GNU_SOURCE
#include "sb_image.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sb_find_prober(char *path, size_t len) {
    const char *dir = getenv("VLAB_GUEST_DIR");
    if (dir && *dir) {
        snprintf(path, len, "%s/sb-prober", dir);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0) {
            snprintf(path, len, "cannot read /proc/self/exe: %s", strerror(errno));
            return -1;
        }
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) *slash = 0;
        snprintf(path, len, "%s/guests/sb-prober", self);
    }
    if (access(path, X_OK)) {
        char why[PATH_MAX + 64];
        snprintf(why, sizeof why, "no prober at %s (built by `make`): %s", path, strerror(errno));
        snprintf(path, len, "%s", why);
        return -1;
    }
    return 0;
}

static int copy_file(const char *from, const char *to, mode_t mode) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -errno;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (out < 0) {
        int e = errno;
        close(in);
        return -e;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = -EIO;
            break;
        }
    if (n < 0) rc = -errno;
    close(in);
    if (close(out) && !rc) rc = -errno;
    return rc ? rc : (fchmodat(AT_FDCWD, to, mode, 0) ? -errno : 0);
}

static int put_text(const char *dir, const char *name, const char *text) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "we");
    if (!f) return -errno;
    fputs(text, f);
    return fclose(f) ? -errno : 0;
}

static const char *find_busybox(void) {
    static const char *const where[] = {"/bin/busybox", "/usr/bin/busybox", "/sbin/busybox"};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++)
        if (!access(where[i], X_OK)) return where[i];
    return NULL;
}

int sb_image_build(const char *dir, const char *prober) {
    static const char *const dirs[] = {"",     "/bin", "/sbin", "/etc", "/proc",   "/dev",
                                       "/tmp", "/sys", "/root", "/usr", "/usr/bin"};
    static const char *const applets[] = {"sh",    "true",     "false", "echo", "cat",   "ls",
                                          "sleep", "hostname", "id",    "ps",   "mkdir", "touch",
                                          "rm",    "mount",    "env",   "ip",   "kill",  "grep"};
    const char *bb = find_busybox();
    if (!bb) return -ENOENT;
    char p[PATH_MAX];
    int rc = 0;
    mode_t old = umask(022);
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && !rc; i++) {
        snprintf(p, sizeof p, "%s%s", dir, dirs[i]);
        if (mkdir(p, 0755)) rc = -errno;
    }
    umask(old);
    if (rc) return rc == -EEXIST ? rc : (sb_tree_remove(dir), rc);
    snprintf(p, sizeof p, "%s/bin/busybox", dir);
    rc = copy_file(bb, p, 0755);
    for (size_t i = 0; i < sizeof applets / sizeof applets[0] && !rc; i++) {
        snprintf(p, sizeof p, "%s/bin/%s", dir, applets[i]);
        if (symlink("busybox", p)) rc = -errno;
    }
    if (!rc && prober) {
        snprintf(p, sizeof p, "%s/bin/prober", dir);
        rc = copy_file(prober, p, 0755);
    }
    char etc[PATH_MAX];
    snprintf(etc, sizeof etc, "%s/etc", dir);
    if (!rc) rc = put_text(etc, "marker", SB_IMAGE_MARKER);
    if (!rc) rc = put_text(etc, "hostname", "image\n");
    if (!rc) rc = put_text(etc, "passwd", "root:x:0:0:root:/root:/bin/sh\n");
    if (!rc) rc = put_text(etc, "group", "root:x:0:\n");
    if (rc) sb_tree_remove(dir);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) ? -1 : 0;
}

int sb_tree_remove(const char *dir) {
    return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) ? -errno : 0;
}
