#define _GNU_SOURCE
#include "privtmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const privtmp_dirs[] = {"/tmp", "/var/tmp", "/dev/shm", NULL};

#define MAX_KEEP 16

static bool under(const char *path, const char *dir) {
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* mkdir -p for a path inside the fresh tmpfs (never follows anything the test made: nothing of
 * the test runs yet). */
static int make_path(const char *path) {
    char buf[4096];
    if (strlen(path) >= sizeof buf) return errno = ENAMETOOLONG, -1;
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) && errno != EEXIST) return -1;
    return 0;
}

static int cover(const char *dir, const char *const *keep, unsigned long long size) {
    struct stat st;
    if (lstat(dir, &st) || !S_ISDIR(st.st_mode)) return 0; /* nothing shared to replace */

    int fds[MAX_KEEP];
    const char *paths[MAX_KEEP];
    size_t n = 0;
    for (size_t i = 0; keep && keep[i]; i++) {
        if (!under(keep[i], dir)) continue;
        bool inside_other = false; /* a recursive bind of the outer one brings it along */
        for (size_t j = 0; keep[j]; j++)
            if (j != i && under(keep[i], keep[j])) inside_other = true;
        if (inside_other) continue;
        if (n == MAX_KEEP) return errno = E2BIG, -1;
        int fd = open(keep[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            goto fail;
        }
        fds[n] = fd;
        paths[n++] = keep[i];
    }

    char opts[96];
    snprintf(opts, sizeof opts, "mode=1777,size=%llu,nr_inodes=65536", size);
    if (mount("vlab-tmp", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts)) goto fail;
    for (size_t i = 0; i < n; i++) {
        char src[64];
        snprintf(src, sizeof src, "/proc/self/fd/%d", fds[i]);
        if (make_path(paths[i]) || mount(src, paths[i], NULL, MS_BIND | MS_REC, NULL)) goto fail;
    }
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    return 0;
fail:;
    int saved = errno;
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    errno = saved;
    return -1;
}

int privtmp_mount(const char *const *keep, unsigned long long size) {
    for (size_t i = 0; privtmp_dirs[i]; i++)
        if (cover(privtmp_dirs[i], keep, size)) return -1;
    return 0;
}

/* The test's own node of a device (same major:minor) owned by its uid, bound over path in the
 * run's mount namespace: the host's node and its permissions stay as they are. Made on a
 * scratch tmpfs that allows device nodes (the private dirs do not) and detached at once. */
int privtmp_share_device(const char *path, uid_t uid, gid_t gid) {
    struct stat st;
    if (stat(path, &st)) return errno == ENOENT ? 0 : -1;
    if (!S_ISCHR(st.st_mode)) return errno = ENODEV, -1;
    const char *scratch = "/tmp/.vlab-dev";
    char node[64];
    snprintf(node, sizeof node, "%s/node", scratch);
    if (mkdir(scratch, 0700) && errno != EEXIST) return -1;
    if (mount("vlab-dev", scratch, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0700,size=4k")) return -1;
    int rc = -1;
    if (mknod(node, S_IFCHR | 0600, st.st_rdev) == 0 && chown(node, uid, gid) == 0 &&
        mount(node, path, NULL, MS_BIND, NULL) == 0)
        rc = 0;
    int saved = errno;
    umount2(scratch, MNT_DETACH);
    rmdir(scratch);
    errno = saved;
    return rc;
}
