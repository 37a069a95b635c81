/* Unicorn, loaded the first time the unicorn backend is opened rather than at program start:
 * libunicorn takes about 5 ms to load and relocate, paid by every program linked with it — a
 * VMM on /dev/kvm and every lab that never emulates a CPU included. Code that includes this
 * header after <unicorn/unicorn.h> calls the same uc_* names through the loaded table. */
#ifndef VLAB_UC_LAZY_H
#define VLAB_UC_LAZY_H

#include <stddef.h>
#include <unicorn/unicorn.h>

struct vlab_uc_api {
    uc_err (*open)(uc_arch, uc_mode, uc_engine **);
    uc_err (*close)(uc_engine *);
    uc_err (*ctl)(uc_engine *, uc_control_type, ...);
    const char *(*strerror)(uc_err);
    uc_err (*reg_write)(uc_engine *, int, const void *);
    uc_err (*reg_read)(uc_engine *, int, void *);
    uc_err (*mem_read)(uc_engine *, uint64_t, void *, size_t);
    uc_err (*emu_start)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t);
    uc_err (*emu_stop)(uc_engine *);
    uc_err (*hook_add)(uc_engine *, uc_hook *, int, void *, void *, uint64_t, uint64_t, ...);
    uc_err (*mem_map_ptr)(uc_engine *, uint64_t, size_t, uint32_t, void *);
    uc_err (*mmio_map)(uc_engine *, uint64_t, size_t, uc_cb_mmio_read_t, void *, uc_cb_mmio_write_t,
                       void *);
};
extern struct vlab_uc_api vlab_uc;

/* Loads libunicorn (once; thread-safe). 0, or -1 with the reason in why. */
int vlab_uc_load(char *why, size_t len);

#define uc_open        (vlab_uc.open)
#define uc_close       (vlab_uc.close)
#define uc_ctl         (vlab_uc.ctl)
#define uc_strerror    (vlab_uc.strerror)
#define uc_reg_write   (vlab_uc.reg_write)
#define uc_reg_read    (vlab_uc.reg_read)
#define uc_mem_read    (vlab_uc.mem_read)
#define uc_emu_start   (vlab_uc.emu_start)
#define uc_emu_stop    (vlab_uc.emu_stop)
#define uc_hook_add    (vlab_uc.hook_add)
#define uc_mem_map_ptr (vlab_uc.mem_map_ptr)
#define uc_mmio_map    (vlab_uc.mmio_map)

#endif
