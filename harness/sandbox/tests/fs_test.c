/* Task 2: the root filesystem: an overlay over the image (which never changes), pivot_root
 * with the old root gone, /proc, a minimal /dev and /tmp. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sb_test.h"

Test(sandbox, fs_no_host_files, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char secret[512];
    snprintf(secret, sizeof secret, "%s/host-secret-%d", t.tmp, (int)getpid());
    FILE *f = fopen(secret, "w");
    cr_assert(f, "harness: cannot create %s", secret);
    fputs("host only\n", f);
    fclose(f);
    sbt_run(&t, "escape", "files", secret, NULL);
    unlink(secret);
    cr_assert(t.rc == VLAB_OK, "sb_run: expected VLAB_OK, got %d (%s) %s", t.rc,
              vlab_strerror(t.rc), SB_SEC_PIVOT);
    sbt_expect_all_blocked(&t, SB_SEC_PIVOT, "reading the host file outside the image");
    sbt_run(&t, "escape", "files", "/etc/shadow", NULL); /* the host has one, the image not */
    sbt_expect_all_blocked(&t, SB_SEC_PIVOT, "reading the host's /etc/shadow");
    sbt_fini(&t);
}

static bool exists(const char *dir, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return !lstat(p, &st);
}

/* Every entry of the image as "path mode size mtime" lines: what the container must not
 * change, whatever name a stray write would have. */
static char *listing;
static size_t listing_len, listing_cap;
static size_t image_prefix;

static int note(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)flag;
    (void)ftw;
    char line[1200];
    const char *rel = path[image_prefix] ? path + image_prefix : "/";
    int n = snprintf(line, sizeof line, "%s %o %lld %lld.%09ld\n", rel, (unsigned)st->st_mode,
                     (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    if (listing_len + (size_t)n + 1 > listing_cap) {
        listing_cap = 2 * (listing_cap + (size_t)n + 1);
        listing = realloc(listing, listing_cap);
        cr_assert(listing, "harness: out of memory");
    }
    memcpy(listing + listing_len, line, (size_t)n + 1);
    listing_len += (size_t)n;
    return 0;
}

static char *image_listing(const char *image) {
    listing = NULL;
    listing_len = listing_cap = 0;
    image_prefix = strlen(image);
    nftw(image, note, 16, FTW_PHYS);
    return listing ? listing : strdup("");
}

/* The first line of a that b lacks, or NULL. */
static const char *first_missing(const char *a, const char *b, char *buf, size_t len) {
    for (const char *p = a; *p;) {
        size_t l = strcspn(p, "\n");
        char line[1200];
        snprintf(line, sizeof line, "%.*s\n", (int)l, p);
        const char *q = strstr(b, line);
        while (q && q != b && q[-1] != '\n') /* "/usr/bin ..." holds "/bin ..." */
            q = strstr(q + 1, line);
        if (!q) {
            snprintf(buf, len, "%.*s", (int)l, p);
            return buf;
        }
        p += l + (p[l] == '\n');
    }
    return NULL;
}

Test(sandbox, fs_writes_in_upper, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char *before = image_listing(t.image);
    sbt_run_ok(&t, SB_SEC_ROOT, "write", NULL);
    const char *tries[] = {"overwrite_marker", "new_file", "unlink_hostname", "mkdir",
                           "chmod_busybox"};
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "try %s = ok\n", tries[i]);
        cr_expect(strstr(t.out, line),
                  "inside, %s should work (the root is writable, copy-on-write): prober said "
                  "%.600s %s",
                  tries[i], t.out, SB_SEC_ROOT);
    }
    char v[256] = "?";
    cr_expect_str_eq(sbt_get(&t, "marker", v, sizeof v) ? v : "?", "changed inside",
                     "reading back /etc/marker inside after writing it %s", SB_SEC_ROOT);

    /* the image itself: untouched */
    char p[1024], text[256] = "";
    snprintf(p, sizeof p, "%s/etc/marker", t.image);
    sb_read_file(p, text, sizeof text);
    cr_expect_str_eq(text, SB_IMAGE_MARKER,
                     "the image's /etc/marker changed on the host: writes must land in the "
                     "overlay's upper layer, never in the image %s",
                     SB_SEC_ROOT);
    char etc[600];
    snprintf(etc, sizeof etc, "%s/etc", t.image);
    cr_expect(!exists(etc, "newfile"),
              "a file created inside appeared in the image (%s/newfile) %s", etc, SB_SEC_ROOT);
    cr_expect(exists(etc, "hostname"), "deleting /etc/hostname inside deleted it from the image %s",
              SB_SEC_ROOT);
    cr_expect(!exists(t.image, "newdir"), "a directory made inside appeared in the image %s",
              SB_SEC_ROOT);
    struct stat st;
    snprintf(p, sizeof p, "%s/bin/busybox", t.image);
    cr_expect(!stat(p, &st) && (st.st_mode & 07777) == 0755,
              "chmod inside changed the image's /bin/busybox to %o %s",
              (unsigned)(st.st_mode & 07777), SB_SEC_ROOT);
    char *after = image_listing(t.image), diff[1200];
    const char *gone = first_missing(before, after, diff, sizeof diff);
    cr_expect(!gone,
              "the image changed on the host: \"%s\" (path mode size mtime) is gone or "
              "different %s",
              gone, SB_SEC_ROOT);
    const char *added = gone ? NULL : first_missing(after, before, diff, sizeof diff);
    cr_expect(!added,
              "the image changed on the host: \"%s\" (path mode size mtime) is new: "
              "writes (and the overlay's upper and work directories) belong outside it %s",
              added, SB_SEC_ROOT);
    free(before);
    free(after);

    /* the next container starts from the image again */
    sbt_run_ok(&t, SB_SEC_ROOT, "info", NULL);
    sbt_get(&t, "marker", v, sizeof v);
    cr_expect_str_eq(v, "vlab image marker",
                     "a second container should see the image's /etc/marker, not the first one's "
                     "write %s",
                     SB_SEC_ROOT);
    sbt_fini(&t);
}

Test(sandbox, fs_dev_minimal, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_run_ok(&t, SB_SEC_DEV, "info", NULL);
    char dev[2048] = "";
    sbt_get(&t, "dev", dev, sizeof dev);
    const char *need[] = {"null", "zero", "urandom", "tty"};
    for (int i = 0; i < 4; i++)
        cr_expect(sbt_list_has(dev, need[i]), "/dev inside should have %s; it has: %s %s", need[i],
                  dev, SB_SEC_DEV);
    const char *allowed[] = {"null",   "zero",   "urandom", "tty",  "fd", "stdin",
                             "stdout", "stderr", "pts",     "ptmx", "shm"};
    for (const char *p = dev; *p;) {
        size_t l = strcspn(p, ",");
        bool ok = false;
        for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
            ok |= strlen(allowed[i]) == l && !strncmp(p, allowed[i], l);
        cr_expect(ok, "/dev inside should be minimal, it has \"%.*s\" (all: %s) %s", (int)l, p, dev,
                  SB_SEC_DEV);
        p += l + (p[l] == ',');
    }
    const char *use[] = {"dev_null_write", "dev_zero_read", "dev_urandom_read"};
    for (int i = 0; i < 3; i++) {
        char line[64];
        snprintf(line, sizeof line, "try %s = ok\n", use[i]);
        cr_expect(strstr(t.out, line), "inside, %s failed: %.400s %s", use[i], t.out, SB_SEC_DEV);
    }
    /* read and write for everyone, nothing more (no execute, no setuid/sticky bits) */
    for (int i = 0; i < 4; i++) {
        char key[32], mode[32] = "?";
        snprintf(key, sizeof key, "mode_%s", need[i]);
        sbt_get(&t, key, mode, sizeof mode);
        cr_expect_str_eq(mode, "666", "/dev/%s inside should have mode 0666, it has %s %s", need[i],
                         mode, SB_SEC_DEV);
    }
    /* the device each one is: a regular file in its place reads, writes and has mode 0666 too */
    const char *node[] = {"char 1:3", "char 1:5", "char 1:9", "char 5:0"};
    for (int i = 0; i < 4; i++) {
        char key[32], what[64] = "?";
        snprintf(key, sizeof key, "node_%s", need[i]);
        sbt_get(&t, key, what, sizeof what);
        cr_expect_str_eq(what, node[i],
                         "/dev/%s inside should be the character device %s, it is \"%s\" %s",
                         need[i], node[i] + 5, what, SB_SEC_DEV);
    }
    sbt_fini(&t);
}

/* The type of the mount at mnt in the prober's mount list, or "", and its options (the last
 * mount there: the one the container sees). */
static const char *mount_type(struct sbt *t, const char *mnt, char *buf, size_t len) {
    buf[0] = 0;
    char want[256];
    snprintf(want, sizeof want, "mount=%s ", mnt);
    for (const char *p = strstr(t->out, want); p; p = strstr(p + 1, want)) {
        if (p != t->out && p[-1] != '\n') continue;
        sscanf(p + strlen(want), "%63s", buf);
    }
    (void)len;
    return buf;
}

static const char *mount_opts(struct sbt *t, const char *mnt, char *buf, size_t len) {
    buf[0] = 0;
    char want[256];
    snprintf(want, sizeof want, "mount=%s ", mnt);
    for (const char *p = strstr(t->out, want); p; p = strstr(p + 1, want)) {
        if (p != t->out && p[-1] != '\n') continue;
        char opts[256] = "";
        if (sscanf(p + strlen(want), "%*s %255s", opts) == 1) snprintf(buf, len, "%s", opts);
    }
    return buf;
}

/* §3.3's flags on one mount: each of the comma-separated want must be among its options. */
static void expect_flags(struct sbt *t, const char *mnt, const char *want) {
    char opts[256], w[64];
    mount_opts(t, mnt, opts, sizeof opts);
    for (const char *p = want; *p;) {
        size_t l = strcspn(p, ",");
        snprintf(w, sizeof w, "%.*s", (int)l, p);
        cr_expect(sbt_list_has(opts, w),
                  "the mount on %s inside should be %s (it is \"%s\"): without %s a program "
                  "could %s there %s",
                  mnt, want, opts, w,
                  !strcmp(w, "nosuid")  ? "gain privileges from a setuid file it made"
                  : !strcmp(w, "nodev") ? "open a device node it made"
                                        : "run a file it wrote",
                  SB_SEC_DEV);
        p += l + (p[l] == ',');
    }
}

Test(sandbox, fs_proc_tmp, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_run_ok(&t, SB_SEC_DEV, "info", NULL);
    char type[64];
    cr_expect_str_eq(mount_type(&t, "/proc", type, sizeof type), "proc",
                     "/proc inside should be a proc mount, it is \"%s\" %s", type, SB_SEC_DEV);
    cr_expect_str_eq(mount_type(&t, "/tmp", type, sizeof type), "tmpfs",
                     "/tmp inside should be a tmpfs, it is \"%s\" %s", type, SB_SEC_DEV);
    expect_flags(&t, "/proc", "nosuid,nodev,noexec");
    expect_flags(&t, "/tmp", "nosuid,nodev");
    expect_flags(&t, "/dev", "nosuid,noexec");
    char root[1024] = "";
    sbt_get(&t, "root", root, sizeof root);
    const char *image[] = {"bin", "sbin", "etc", "proc", "dev", "tmp", "sys", "root", "usr"};
    for (const char *p = root; *p;) {
        size_t l = strcspn(p, ",");
        bool ok = false;
        for (size_t i = 0; i < sizeof image / sizeof image[0]; i++)
            ok |= strlen(image[i]) == l && !strncmp(p, image[i], l);
        cr_expect(ok,
                  "/ inside should hold only the image's entries, it also has \"%.*s\" (the old "
                  "root's mount point left behind?) %s",
                  (int)l, p, SB_SEC_PIVOT);
        p += l + (p[l] == ',');
    }
    char owner[32] = "?";
    sbt_get(&t, "tmp_owner", owner, sizeof owner);
    cr_expect_str_eq(owner, "0", "creating a file in /tmp inside should work, got %s %s", owner,
                     SB_SEC_DEV);
    sbt_fini(&t);
}
