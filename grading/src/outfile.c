#define _GNU_SOURCE
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"

FILE *outfile_open(struct outfile *of, const char *dir, const char *name) {
    *of = (struct outfile){
        .tmp = xasprintf("%s/.%s.XXXXXX", dir, name),
        .path = xasprintf("%s/%s", dir, name),
    };
    int fd = mkostemp(of->tmp, O_CLOEXEC);
    if (fd < 0 || fchmod(fd, 0644) || !(of->f = fdopen(fd, "w"))) {
        fprintf(stderr, "vlab-grade: cannot write %s: %s\n", of->path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(of->tmp);
        }
        free(of->tmp);
        free(of->path);
        return NULL;
    }
    return of->f;
}

int outfile_commit(struct outfile *of) {
    int rc = 0;
    if (fflush(of->f) || ferror(of->f) || fsync(fileno(of->f))) rc = -1;
    if (fclose(of->f)) rc = -1;
    if (rc == 0 && rename(of->tmp, of->path)) rc = -1;
    if (rc) {
        fprintf(stderr, "vlab-grade: cannot write %s: %s\n", of->path, strerror(errno));
        unlink(of->tmp);
    }
    free(of->tmp);
    free(of->path);
    return rc;
}

int ensure_out_dir(const char *dir) {
    char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) && errno != EEXIST) goto fail;
        *s = '/';
    }
    if (mkdir(p, 0755) && errno != EEXIST) goto fail;
    free(p);

    char *probe = xasprintf("%s/.vlab-grade-probe.XXXXXX", dir);
    int fd = mkostemp(probe, O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "vlab-grade: cannot write to the output dir %s: %s\n", dir,
                strerror(errno));
        free(probe);
        return -1;
    }
    close(fd);
    unlink(probe);
    free(probe);
    return 0;
fail:
    fprintf(stderr, "vlab-grade: cannot create the output dir %s: %s\n", p, strerror(errno));
    free(p);
    return -1;
}
