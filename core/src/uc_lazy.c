#define _GNU_SOURCE
#include "uc_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

struct vlab_uc_api vlab_uc;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[256];

static void *sym(void *lib, const char *name) {
    void *p = dlsym(lib, name);
    if (!p && !failure[0]) snprintf(failure, sizeof failure, "%s: %s", name, dlerror());
    return p;
}

static void load(void) {
    /* the soname of Unicorn 2 on Debian and Ubuntu; the dev symlink as a fallback */
    void *lib = dlopen("libunicorn.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libunicorn.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(failure, sizeof failure, "cannot load libunicorn.so.2: %s", dlerror());
        return;
    }
    struct vlab_uc_api a;
    *(void **)&a.open = sym(lib, "uc_open");
    *(void **)&a.close = sym(lib, "uc_close");
    *(void **)&a.ctl = sym(lib, "uc_ctl");
    *(void **)&a.strerror = sym(lib, "uc_strerror");
    *(void **)&a.reg_write = sym(lib, "uc_reg_write");
    *(void **)&a.reg_read = sym(lib, "uc_reg_read");
    *(void **)&a.mem_read = sym(lib, "uc_mem_read");
    *(void **)&a.emu_start = sym(lib, "uc_emu_start");
    *(void **)&a.emu_stop = sym(lib, "uc_emu_stop");
    *(void **)&a.hook_add = sym(lib, "uc_hook_add");
    *(void **)&a.mem_map_ptr = sym(lib, "uc_mem_map_ptr");
    *(void **)&a.mmio_map = sym(lib, "uc_mmio_map");
    if (!failure[0]) vlab_uc = a;
}

int vlab_uc_load(char *why, size_t len) {
    pthread_once(&once, load);
    if (!failure[0]) return 0;
    if (why && len) snprintf(why, len, "%s", failure);
    return -1;
}
