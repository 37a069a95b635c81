#define _GNU_SOURCE
#include "leftover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"
#include "tmpdir.h"

/* World-writable places a test uid can write to without a private mount over them. */
static const char *const shared_dirs[] = {"/tmp",      "/var/tmp",    "/dev/shm",
                                          "/run/lock", "/dev/mqueue", NULL};

/* One /proc/sysvipc table: the column (1-based) of the id and of the creator's uid. */
static const struct ipc_table {
    const char *name, *path;
    int id_col, cuid_col;
} ipc_tables[] = {
    {"shm", "/proc/sysvipc/shm", 2, 10},
    {"sem", "/proc/sysvipc/sem", 2, 7},
    {"msg", "/proc/sysvipc/msg", 2, 10},
};

typedef void (*visit_fn)(void *ctx, const char *item, const char *dir, const char *name,
                         const struct ipc_table *t, int id);

static void visit_dirs(uid_t uid, const char *skip, visit_fn fn, void *ctx) {
    for (size_t i = 0; shared_dirs[i]; i++) {
        DIR *d = opendir(shared_dirs[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            struct stat st;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || st.st_uid != uid)
                continue;
            char *item =
                xasprintf("%s/%s %llu", shared_dirs[i], e->d_name, (unsigned long long)st.st_ino);
            size_t plen = strlen(shared_dirs[i]) + 1 + strlen(e->d_name);
            bool skipped = skip && strncmp(item, skip, plen) == 0 && skip[plen] == '\0';
            if (!skipped) fn(ctx, item, shared_dirs[i], e->d_name, NULL, 0);
            free(item);
        }
        if (d) closedir(d);
    }
}

static void visit_ipc(uid_t uid, visit_fn fn, void *ctx) {
    for (size_t i = 0; i < sizeof ipc_tables / sizeof *ipc_tables; i++) {
        const struct ipc_table *t = &ipc_tables[i];
        FILE *f = fopen(t->path, "re");
        char line[512];
        if (!f) continue;
        if (!fgets(line, sizeof line, f)) line[0] = '\0'; /* the header */
        while (fgets(line, sizeof line, f)) {
            long id = -1;
            unsigned long cuid = (unsigned long)-1;
            char *save = NULL;
            int col = 1;
            for (char *tok = strtok_r(line, " \t\n", &save); tok;
                 tok = strtok_r(NULL, " \t\n", &save), col++) {
                if (col == t->id_col) id = strtol(tok, NULL, 10);
                if (col == t->cuid_col) cuid = strtoul(tok, NULL, 10);
            }
            if (id < 0 || cuid != (unsigned long)uid) continue;
            char *item = xasprintf("%s %ld", t->name, id);
            fn(ctx, item, NULL, NULL, t, (int)id);
            free(item);
        }
        fclose(f);
    }
}

static void add_item(void *ctx, const char *item, const char *dir, const char *name,
                     const struct ipc_table *t, int id) {
    (void)dir, (void)name, (void)t, (void)id;
    struct leftover_snap *s = ctx;
    s->items = xrealloc(s->items, (s->n + 1) * sizeof *s->items);
    s->items[s->n++] = xstrdup(item);
}

void leftover_snapshot(struct leftover_snap *s, uid_t uid) {
    *s = (struct leftover_snap){0};
    visit_dirs(uid, NULL, add_item, s);
    visit_ipc(uid, add_item, s);
}

void leftover_snap_free(struct leftover_snap *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i]);
    free(s->items);
    *s = (struct leftover_snap){0};
}

struct sweep {
    const struct leftover_snap *before;
    size_t removed;
};

static void remove_item(void *ctx, const char *item, const char *dir, const char *name,
                        const struct ipc_table *t, int id) {
    struct sweep *sw = ctx;
    for (size_t i = 0; sw->before && i < sw->before->n; i++)
        if (strcmp(sw->before->items[i], item) == 0) return;
    int rc;
    if (dir) {
        char *path = xasprintf("%s/%s", dir, name);
        rc = unlink(path) == 0 || errno == ENOENT ? 0 : rmtree(path);
        free(path);
    } else if (t->name[1] == 'h') {
        rc = shmctl(id, IPC_RMID, NULL);
    } else if (t->name[1] == 'e') {
        rc = semctl(id, 0, IPC_RMID);
    } else {
        rc = msgctl(id, IPC_RMID, NULL);
    }
    if (rc == 0) sw->removed++;
}

size_t leftover_sweep(const struct leftover_snap *before, uid_t uid, const char *skip) {
    struct sweep sw = {.before = before};
    visit_dirs(uid, skip, remove_item, &sw);
    visit_ipc(uid, remove_item, &sw);
    return sw.removed;
}
