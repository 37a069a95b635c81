/* Finding the caller's control groups and removing the container groups left behind: shared by
 * the tests, the benchmark and vlab-sandbox (cleanup). Harness code, not the student's. */
#define _GNU_SOURCE
#include "sb_groups.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

unsigned sb_hierarchies(struct sb_hier *h, unsigned max) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    unsigned n = 0;
    char line[1024];
    while (f && n < max && fgets(line, sizeof line, f)) {
        char *sep = strstr(line, " - ");
        char type[32], src[128];
        if (!sep || sscanf(sep + 3, "%31s %127s %255s", type, src, h[n].opts) != 3) continue;
        if (strcmp(type, "cgroup") && strcmp(type, "cgroup2")) continue;
        if (sscanf(line, "%*s %*s %*s %*s %255s", h[n].mnt) != 1) continue;
        h[n].v2 = !strcmp(type, "cgroup2");
        n++;
    }
    if (f) fclose(f);
    return n;
}

static bool word_in(const char *list, const char *w) {
    size_t n = strlen(w);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, w, n)) return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

bool sb_hier_path(const struct sb_hier *h, char *path, size_t len) {
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[1024];
    bool found = false;
    while (!found && f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        const char *field = c1 + 1;
        bool match;
        if (h->v2) {
            match = !*field;
        } else {
            /* every controller of the line's field must be among the mount's options */
            char copy[256];
            snprintf(copy, sizeof copy, "%s", field);
            match = *field != 0;
            for (char *tok = strtok(copy, ","); tok && match; tok = strtok(NULL, ","))
                match = word_in(h->opts, tok);
        }
        if (match) {
            snprintf(path, len, "%s%s", h->mnt, strcmp(c2 + 1, "/") ? c2 + 1 : "");
            found = true;
        }
    }
    if (f) fclose(f);
    return found;
}

/* Groups made inside a container's group (by its program, or by a test that blocks removal on
 * purpose) go first: cgroupfs refuses to rmdir a group with children however long one retries,
 * which once made every later cleanup spend its whole retry budget on one leftover. depth
 * bounds a hostile nesting. */
static void remove_tree(const char *dir, int depth) {
    DIR *d = depth < 16 ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[1024];
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) < sizeof sub)
            remove_tree(sub, depth + 1);
    }
    if (d) closedir(d);
    char path[1100], buf[4096];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    for (int tries = 0; tries < 500; tries++) {
        if (sb_read_file(path, buf, sizeof buf) > 0)
            for (char *p = strtok(buf, "\n"); p; p = strtok(NULL, "\n"))
                kill((pid_t)atoi(p), SIGKILL);
        if (!rmdir(dir) || errno != EBUSY) return;
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
}

void sb_group_remove(const char *dir) {
    remove_tree(dir, 0);
}

unsigned sb_hier_dirs(const struct sb_hier *h, char dirs[2][512]) {
    unsigned n = 0;
    if (sb_hier_path(h, dirs[0], sizeof dirs[0])) n++;
    if (!n || strcmp(dirs[0], h->mnt)) snprintf(dirs[n++], sizeof dirs[0], "%s", h->mnt);
    return n;
}

unsigned sb_groups_each(bool (*match)(const char *name, const void *arg), const void *arg,
                        void (*each)(const char *path, void *ctx), void *ctx) {
    struct sb_hier h[16];
    unsigned nh = sb_hierarchies(h, 16), n = 0;
    for (unsigned i = 0; i < nh; i++) {
        char dirs[2][512];
        for (unsigned k = 0, nd = sb_hier_dirs(&h[i], dirs); k < nd; k++) {
            DIR *d = opendir(dirs[k]);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (!match(e->d_name, arg)) continue;
                char g[1100];
                if ((size_t)snprintf(g, sizeof g, "%s/%s", dirs[k], e->d_name) >= sizeof g)
                    continue;
                each(g, ctx);
                n++;
            }
            if (d) closedir(d);
        }
    }
    return n;
}

static void remove_one(const char *path, void *ctx) {
    (void)ctx;
    sb_group_remove(path);
}

unsigned sb_groups_remove_if(bool (*match)(const char *name, const void *arg), const void *arg) {
    return sb_groups_each(match, arg, remove_one, NULL);
}

static bool of_dead_process(const char *name, const void *arg) {
    (void)arg;
    int pid;
    if (sscanf(name, "vlab-sb-%d-", &pid) != 1 || pid == getpid()) return false;
    return kill(pid, 0) != 0 && errno == ESRCH;
}

unsigned sb_groups_sweep_dead(void) {
    return sb_groups_remove_if(of_dead_process, NULL);
}

static bool of_this_pid(const char *name, const void *arg) {
    (void)arg;
    int pid;
    return sscanf(name, "vlab-sb-%d-", &pid) == 1 && pid == getpid();
}

unsigned sb_groups_sweep_stale(void) {
    return sb_groups_sweep_dead() + sb_groups_remove_if(of_this_pid, NULL);
}
