#define _GNU_SOURCE
#include "host.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "strbuf.h"

/* The kernel's own mounts, by file system type: a v2 root is v2; a tmpfs of v1 hierarchies
 * with a cgroup2 "unified" beside them is hybrid (systemd's layout, and these machines'). */
static const char *cgroup_version(void) {
    struct statfs fs;
    if (statfs("/sys/fs/cgroup", &fs)) return "none";
    if (fs.f_type == CGROUP2_SUPER_MAGIC) return "v2";
    if (fs.f_type == CGROUP_SUPER_MAGIC) return "v1";
    if (fs.f_type != TMPFS_MAGIC) return "none";
    if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
        return "hybrid";
    return "v1";
}

const char *host_no_kvm(void) {
#if defined(__x86_64__)
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) return "no /dev/kvm";
    close(fd);
    return NULL;
#else
    return "not an x86-64 host";
#endif
}

void host_probe(struct host *h) {
    struct utsname u;
    *h = (struct host){.root = geteuid() == 0, .cgroup = cgroup_version(), .kvm = !host_no_kvm()};
    if (uname(&u) == 0) {
        snprintf(h->arch, sizeof h->arch, "%s", u.machine);
        snprintf(h->kernel, sizeof h->kernel, "%s", u.release);
    } else {
        strcpy(h->arch, "unknown");
        strcpy(h->kernel, "unknown");
    }
}

char *host_text(const struct host *h) {
    struct strbuf sb = {0};
    sb_printf(&sb, "%s, Linux %s, ", h->arch, h->kernel);
    if (h->root)
        sb_puts(&sb, "as root");
    else
        sb_printf(&sb, "as uid %u (not root)", (unsigned)geteuid());
    if (strcmp(h->cgroup, "none") == 0)
        sb_puts(&sb, ", no cgroup file system");
    else if (strcmp(h->cgroup, "hybrid") == 0)
        sb_puts(&sb, ", cgroup v1 and v2 (hybrid)");
    else
        sb_printf(&sb, ", cgroup %s", h->cgroup);
    sb_puts(&sb, h->kvm ? ", /dev/kvm usable" : ", no usable /dev/kvm");
    return sb_steal(&sb);
}
