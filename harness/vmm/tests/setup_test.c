/* Task 1 (handout §2): guest RAM, the vCPU and its devices, loading a guest image. */
#define _GNU_SOURCE /* pthread_setattr_default_np */
#include <dirent.h>
#include <elf.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "vmm_test.h"

/* Entries in /proc/self/DIR: the threads (task) or open files (fd) of this test process. */
static unsigned count_entries(const char *dir) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/%s", dir);
    DIR *d = opendir(path);
    cr_assert_not_null(d, "expected to read %s", path);
    unsigned n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.';
    closedir(d);
    return n - (dir[0] == 'f'); /* opendir's own descriptor */
}

Test(vmm, setup_create) {
    struct tvm t;
    unsigned threads = count_entries("task"), fds = count_entries("fd");
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    const struct vlab_gpmem *m = &t.vm.mem;
    cr_assert(m->nregions == 1 && m->region[0].gpa == 0 && m->region[0].size == T_RAM,
              "expected one RAM region [0, %#llx) in vm->mem, got %u region(s), the first at "
              "%#llx size %#llx (handout §2.1)",
              (unsigned long long)T_RAM, m->nregions, (unsigned long long)m->region[0].gpa,
              (unsigned long long)m->region[0].size);
    cr_assert(t.vm.hv && t.vm.vcpu, "expected vm->hv and vm->vcpu (handout §2.1)");
    cr_assert_eq(vlab_hv_kind(t.vm.hv), VLAB_HV_UNICORN,
                 "expected the backend asked for (unicorn), got %s (handout §2.1)",
                 vlab_hv_kind_name(vlab_hv_kind(t.vm.hv)));
    uint8_t lsr = vlab_uart_read(&t.vm.uart, VLAB_UART_LSR);
    cr_assert_eq(lsr, 0x60, "expected the UART initialised (LSR 0x60), got %#x (handout §2.1)",
                 lsr);
    cr_assert_eq(t.vm.blk.status, VMM_BLK_IDLE,
                 "expected the block device's STATUS 0xff before any command, got %#x (§2.1)",
                 t.vm.blk.status);
    cr_assert_not_null(t.vm.console.buf, "expected vmm_console_init called (handout §2.1)");
    vlab_uart_write(&t.vm.uart, VLAB_UART_THR, 'x');
    cr_assert_str_eq(t.vm.console.buf, "x",
                     "expected the UART's output wired to the console (vmm_uart_tx), got "
                     "\"%s\" (handout §2.1)",
                     t.vm.console.buf);
    /* Destroy after a successful create: everything released and NULL, and safe again. */
    vmm_destroy(&t.vm);
    cr_assert(!t.vm.hv && !t.vm.vcpu && !t.vm.console.buf && t.vm.mem.nregions == 0,
              "expected vmm_destroy to release everything and set what it freed to NULL "
              "(vm->hv %p, vm->vcpu %p, console.buf %p, %u RAM region(s) left) (handout §2.1)",
              (void *)t.vm.hv, (void *)t.vm.vcpu, (void *)t.vm.console.buf, t.vm.mem.nregions);
    vmm_destroy(&t.vm); /* twice is safe (vmm.h) */
    t.created = false;
    tvm_free(&t);
    /* The backend's own resources (the watchdog's thread, its descriptors) go with vlab_hv_close.
     */
    cr_assert(count_entries("task") == threads && count_entries("fd") == fds,
              "expected vmm_destroy to leave no thread or file of the VM behind (vlab_hv_close): "
              "%u threads and %u open files before vmm_create, %u and %u after vmm_destroy "
              "(handout §2.1)",
              threads, fds, count_entries("task"), count_entries("fd"));
}

Test(vmm, setup_bad_ram_size) {
    /* The edges are RAM sizes like any other (3 GiB is only reserved: the mapping is sparse). */
    static const uint64_t good[] = {VMM_RAM_MIN, VMM_RAM_MAX};
    for (unsigned i = 0; i < 2; i++) {
        struct tvm t;
        tvm_config(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
        t.cfg.ram_size = good[i];
        int rc = vmm_create(&t.vm, &t.cfg);
        cr_assert_eq(rc, VLAB_OK,
                     "vmm_create with ram_size %#llx: expected VLAB_OK (from 1 MiB to 3 GiB "
                     "inclusive), got %s: %s (handout §2.1)",
                     (unsigned long long)good[i], vlab_strerror(rc), t.vm.err);
        t.created = true;
        tvm_free(&t);
    }
    static const uint64_t bad[] = {0, VMM_RAM_MIN - 4096, VMM_RAM_MIN + 1, VMM_RAM_MAX + 4096,
                                   1ull << 40};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tvm t;
        tvm_config(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
        t.cfg.ram_size = bad[i];
        int rc = vmm_create(&t.vm, &t.cfg);
        cr_assert_eq(rc, VLAB_EINVAL,
                     "vmm_create with ram_size %#llx: expected VLAB_EINVAL, got %s (handout §2.1)",
                     (unsigned long long)bad[i], vlab_strerror(rc));
        cr_assert(t.vm.err[0], "expected a sentence in vm->err for ram_size %#llx (handout §2.1)",
                  (unsigned long long)bad[i]);
        /* A failed create leaves nothing behind, and destroy is still safe, even twice. */
        vmm_destroy(&t.vm);
        vmm_destroy(&t.vm);
        tvm_free(&t);
    }
}

Test(vmm, setup_bad_backend) {
    struct tvm t;
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_LONG); /* the good case first */
    tvm_free(&t);
    tvm_config(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    t.cfg.backend = (enum vlab_hv_kind)7;
    int rc = vmm_create(&t.vm, &t.cfg);
    cr_assert_neq(rc, VLAB_OK, "vmm_create with backend 7: expected an error (handout §2.1)");
    cr_assert(t.vm.err[0], "expected a sentence in vm->err (handout §2.1)");
    cr_assert(!t.vm.hv && !t.vm.vcpu && t.vm.mem.nregions == 0,
              "expected everything released after a failed vmm_create (handout §2.1)");
    vmm_destroy(&t.vm);
    tvm_free(&t);

    /* A later step failing: Unicorn starts a thread when the watchdog is first armed. With
     * threads given 64 MiB stacks and 16 MiB of address space left, RAM (1 MiB), the VM and
     * the vCPU (its 1 MiB emulation stack) fit, and arming the watchdog fails. */
    tvm_config(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    t.cfg.ram_size = VMM_RAM_MIN;
    pthread_attr_t dflt, big;
    cr_assert_eq(pthread_getattr_default_np(&dflt), 0);
    cr_assert_eq(pthread_getattr_default_np(&big), 0);
    cr_assert_eq(pthread_attr_setstacksize(&big, 64u << 20), 0);
    cr_assert_eq(pthread_setattr_default_np(&big), 0);
    struct rlimit old;
    bool squeezed = tvm_squeeze_address_space(&old, "a watchdog that cannot be armed");
    rc = squeezed ? vmm_create(&t.vm, &t.cfg) : VLAB_OK;
    setrlimit(RLIMIT_AS, &old);
    pthread_setattr_default_np(&dflt);
    pthread_attr_destroy(&big);
    pthread_attr_destroy(&dflt);
    if (!squeezed) {
        tvm_free(&t);
        return;
    }
    cr_assert_neq(rc, VLAB_OK,
                  "expected vmm_create to fail when the watchdog cannot be armed (no address "
                  "space for the backend's watchdog thread) (handout §2.1)");
    cr_assert(t.vm.err[0] && !t.vm.hv && !t.vm.vcpu && t.vm.mem.nregions == 0,
              "expected a sentence in vm->err and everything released when arming the watchdog "
              "fails, got \"%s\" (vm->hv %p, %u RAM region(s) left) (handout §2.1)",
              t.vm.err, (void *)t.vm.hv, t.vm.mem.nregions);
    tvm_free(&t);
}

Test(vmm, setup_load_flat) {
    struct tvm t;
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    tvm_load(&t, "compute.bin");
    cr_assert_eq(t.vm.entry, VMM_LOAD_GPA, "expected entry %#llx, got %#llx (handout §2.2)",
                 (unsigned long long)VMM_LOAD_GPA, (unsigned long long)t.vm.entry);
    const void *at = vlab_gpmem_hva(&t.vm.mem, VMM_LOAD_GPA, t.len);
    cr_assert(at && !memcmp(at, t.image, t.len),
              "expected the image's %zu bytes at guest-physical 0x10000 (handout §2.2)", t.len);
    tvm_free(&t);
}

/* Every byte of RAM, to prove a rejected image changed nothing. */
static uint8_t *snapshot(const struct tvm *t) {
    uint8_t *s = malloc(T_RAM);
    cr_assert_not_null(s);
    memcpy(s, t->vm.mem.region[0].hva, T_RAM);
    return s;
}

static void expect_rejected(struct tvm *t, const void *image, size_t len, const char *what) {
    uint8_t *before = snapshot(t);
    int rc = vmm_load(&t->vm, image, len);
    cr_assert_neq(rc, VLAB_OK, "vmm_load of %s: expected an error, got VLAB_OK (handout §2.2)",
                  what);
    cr_assert(t->vm.err[0], "vmm_load of %s: expected a sentence in vm->err (handout §2.2)", what);
    cr_assert(!memcmp(before, t->vm.mem.region[0].hva, T_RAM),
              "vmm_load of %s: expected guest memory untouched after the error (handout §2.2)",
              what);
    free(before);
}

Test(vmm, setup_load_flat_too_big) {
    struct tvm t;
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    size_t len = T_RAM - VMM_LOAD_GPA + 1;
    uint8_t *big = malloc(len);
    cr_assert_not_null(big);
    memset(big, 0x90, len);
    expect_rejected(&t, big, len, "a flat image one byte too large for RAM above 0x10000");
    cr_assert_eq(vmm_load(&t.vm, big, len - 1), VLAB_OK,
                 "expected a flat image that exactly fills RAM above 0x10000 to load: %s (§2.2)",
                 t.vm.err);
    free(big);
    tvm_free(&t);
}

Test(vmm, setup_load_elf) {
    struct tvm t;
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    tvm_load(&t, "hello_c.elf");
    const Elf64_Ehdr *eh = t.image;
    cr_assert_eq(t.vm.entry, eh->e_entry, "expected entry = e_entry %#llx, got %#llx (§2.2)",
                 (unsigned long long)eh->e_entry, (unsigned long long)t.vm.entry);
    unsigned loads = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const Elf64_Phdr *)((const uint8_t *)t.image + eh->e_phoff) + i;
        if (ph->p_type != PT_LOAD || !ph->p_filesz) continue;
        loads++;
        const void *at = vlab_gpmem_hva(&t.vm.mem, ph->p_paddr, ph->p_filesz);
        cr_assert(at && !memcmp(at, (const uint8_t *)t.image + ph->p_offset, ph->p_filesz),
                  "expected PT_LOAD %u's %llu bytes at its p_paddr %#llx (handout §2.2)", i,
                  (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_paddr);
    }
    cr_assert_gt(loads, 0, "expected hello_c.elf to have a PT_LOAD segment");
    tvm_free(&t);
}

/* A copy of hello_c.elf with every PT_LOAD's addresses moved by delta (set to `to` if set). */
static void *moved_elf(const struct tvm *t, uint64_t to) {
    uint8_t *copy = malloc(t->len);
    cr_assert_not_null(copy);
    memcpy(copy, t->image, t->len);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)copy;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr *ph = (Elf64_Phdr *)(copy + eh->e_phoff) + i;
        if (ph->p_type != PT_LOAD) continue;
        eh->e_entry = eh->e_entry - ph->p_vaddr + to;
        ph->p_paddr = ph->p_vaddr = to;
        break;
    }
    return copy;
}

Test(vmm, setup_load_elf_rejected) {
    struct tvm t;
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    tvm_read_guest(&t, "hello_c.elf");
    expect_rejected(&t, t.image, 40, "an ELF cut short in its header");
    void *low = moved_elf(&t, 0x1000);
    expect_rejected(&t, low, t.len, "an ELF loading at 0x1000, over the VMM's GDT");
    free(low);
    void *high = moved_elf(&t, T_RAM);
    expect_rejected(&t, high, t.len, "an ELF loading past the end of RAM");
    free(high);
    tvm_free(&t);
}
