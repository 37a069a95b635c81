#define _GNU_SOURCE
#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"

char *tmpdir_base_create(void) {
    const char *t = getenv("TMPDIR");
    char *tmpl = xasprintf("%s/vlab-grade.XXXXXX", t && t[0] == '/' ? t : "/tmp");
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "vlab-grade: cannot create a temp dir %s: %s\n", tmpl, strerror(errno));
        free(tmpl);
        return NULL;
    }
    if (chmod(tmpl, 0711)) {
        fprintf(stderr, "vlab-grade: chmod %s: %s\n", tmpl, strerror(errno));
        rmdir(tmpl);
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

char *tmpdir_run_create(const char *base, unsigned n, bool chown_to, uid_t uid, gid_t gid) {
    char *dir = xasprintf("%s/run-%u", base, n);
    if (mkdir(dir, 0700) || (chown_to && chown(dir, uid, gid))) {
        fprintf(stderr, "vlab-grade: cannot prepare %s: %s\n", dir, strerror(errno));
        rmdir(dir);
        free(dir);
        return NULL;
    }
    return dir;
}

/* Directories nested deeper than this are moved up to the top of the tree being removed and
 * emptied from there: the depth of the recursion (and of open descriptors) stays bounded
 * however deep a test nested its directories. */
#define MAX_DEPTH 64

struct rm {
    int top;        /* the tree's top directory */
    unsigned moved; /* directories moved up so far (their new names) */
    bool more;      /* something was moved up: the top needs another pass */
};

/* Empties the directory open as dfd; closes dfd. */
static int empty_dir(struct rm *rm, int dfd, int depth) {
    DIR *d = fdopendir(dfd);
    int rc = 0;
    struct dirent *e;

    if (!d) {
        close(dfd);
        return -1;
    }
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            continue; /* not a directory (symlinks are removed, never followed) */
        if (depth >= MAX_DEPTH) {
            char name[64];
            snprintf(name, sizeof name, ".vlab-rm-%u", rm->moved++);
            fchmodat(dirfd(d), e->d_name, 0700, 0); /* moving a dir writes its ".." */
            if (renameat(dirfd(d), e->d_name, rm->top, name) == 0) {
                rm->more = true;
                continue;
            }
        }
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 && errno == EACCES) {
            /* a test may chmod its own dirs to 000; we own them (or are root) */
            fchmodat(dirfd(d), e->d_name, 0700, 0);
            sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (sub < 0) {
            rc = -1;
            continue;
        }
        fchmod(sub, 0700); /* a read-only dir would refuse the unlinks below */
        if (empty_dir(rm, sub, depth + 1)) rc = -1;
        if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR)) rc = -1;
    }
    closedir(d);
    return rc;
}

int rmtree(const char *path) {
    int top = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top < 0) return errno == ENOENT ? 0 : -1;
    fchmod(top, 0700);
    struct rm rm = {.top = top};
    int rc = 0;
    do { /* each pass removes what it reaches and moves deeper dirs up for the next */
        rm.more = false;
        int dfd = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* reads from the start */
        if (dfd < 0 || empty_dir(&rm, dfd, 0)) rc = -1;
    } while (rm.more);
    close(top);
    if (rmdir(path)) rc = -1;
    return rc;
}
