/* Guests that others wrote (issue 14): flat images linked elsewhere than 0x10000 (§2.2), ELF32
 * executables (§2.2), Multiboot kernels (§2.3), the debug console on port 0xe9 and QEMU's
 * isa-debug-exit (§4.2, §4.3), and a boot sector entered as a BIOS enters it (§3.1). */
#include <stdlib.h>

#include "vlab/x86.h"
#include "vmm_test.h"

static bool zero_bytes(const struct tvm *t, uint64_t gpa, uint64_t len) {
    const uint8_t *p = vlab_gpmem_hva(&t->vm.mem, gpa, len);
    for (uint64_t i = 0; p && i < len; i++)
        if (p[i]) return false;
    return p != NULL;
}

static uint32_t rd32(const struct tvm *t, uint64_t gpa) {
    uint32_t v = 0;
    const uint8_t *p = vlab_gpmem_hva(&t->vm.mem, gpa, 4);
    if (p) memcpy(&v, p, 4);
    return v;
}

/* vmm_load of the image in t->image (possibly edited), expecting rc. */
static void expect_load(struct tvm *t, int rc, const char *what, const char *word,
                        const char *section) {
    int got = vmm_load(&t->vm, t->image, t->len);
    cr_assert_eq(got, rc, "vmm_load of %s: expected %s, got %s: %s (handout %s)", what,
                 vlab_strerror(rc), vlab_strerror(got), t->vm.err, section);
    if (word)
        cr_assert(strstr(t->vm.err, word),
                  "vmm_load of %s: expected vm->err to say '%s', got "
                  "\"%s\" (handout %s)",
                  what, word, t->vm.err, section);
}

/* vmm_load of a copy of len bytes at image, expecting VLAB_OK. */
static void expect_load_image(struct tvm *t, const void *image, size_t len, const char *what) {
    free(t->image);
    t->image = malloc(len);
    cr_assert_not_null(t->image);
    memcpy(t->image, image, len);
    t->len = len;
    expect_load(t, VLAB_OK, what, NULL, "§2.3");
}

/* A 64-byte Multiboot image whose header sits at an edge of the file and whose load_addr is
 * 0x200000: loaded whole there, entered at entry; t is freed after. */
static void expect_whole_file(struct tvm *t, const uint32_t img[16], uint32_t entry,
                              const char *what) {
    expect_load_image(t, img, 16 * sizeof img[0], what);
    cr_assert(t->vm.multiboot && t->vm.entry == entry &&
                  !memcmp(vlab_gpmem_hva(&t->vm.mem, 0x200000, 16 * sizeof img[0]), img,
                          16 * sizeof img[0]),
              "expected %s loaded: the whole file at 0x200000 (its load_addr), entry %#x; entry "
              "is %#llx (handout §2.3)",
              what, entry, (unsigned long long)t->vm.entry);
    tvm_free(t);
}

/* ---------------- §2.2 flat images placed by cfg, ELF32 ---------------- */

Test(vmm, setup_load_flat_placed) {
    struct tvm t;
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
    t.vm.cfg.place_flat = true; /* load 0, entry 0: kvm-hello-world's guest */
    tvm_read_guest(&t, "zero_protected.bin");
    expect_load(&t, VLAB_OK, "zero_protected.bin at 0", NULL, "§2.2");
    const void *at = vlab_gpmem_hva(&t.vm.mem, 0, t.len);
    cr_assert(at && !memcmp(at, t.image, t.len) && t.vm.entry == 0,
              "expected the image at guest-physical 0 and entry 0 with cfg.place_flat, load_gpa "
              "0, entry_gpa 0; entry is %#llx (handout §2.2)",
              (unsigned long long)t.vm.entry);
    cr_assert(zero_bytes(&t, VMM_LOAD_GPA, t.len), "expected nothing at 0x10000 (handout §2.2)");
    tvm_free(&t);

    /* Refused, memory untouched: entry outside the image, past RAM, over the GDT. */
    static const struct {
        enum vmm_mode mode;
        uint64_t load, entry;
        int rc;
        const char *why;
    } bad[] = {
        {VMM_MODE_PROTECTED, 0x20000, 0x10000, VLAB_EINVAL, "entry below the image"},
        {VMM_MODE_PROTECTED, 0x20000, 0x30000, VLAB_EINVAL, "entry past the image"},
        {VMM_MODE_PROTECTED, T_RAM - 8, T_RAM - 8, VLAB_ERANGE, "an image past the end of RAM"},
        {VMM_MODE_PROTECTED, UINT64_MAX - 4, UINT64_MAX - 4, VLAB_ERANGE, "a wrapping address"},
        {VMM_MODE_PROTECTED, 0xff0, 0xff0, VLAB_EINVAL, "an image over the GDT at 0x1000"},
        {VMM_MODE_LONG, 0x7c00, 0x7c00, VLAB_EINVAL, "an image over the long-mode page tables"},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tvm_create(&t, VLAB_HV_UNICORN, bad[i].mode);
        t.vm.cfg.place_flat = true;
        t.vm.cfg.load_gpa = bad[i].load;
        t.vm.cfg.entry_gpa = bad[i].entry;
        tvm_read_guest(&t, "zero_protected.bin");
        expect_load(&t, bad[i].rc, bad[i].why, NULL, "§2.2");
        cr_assert(t.vm.err[0], "expected a sentence in vm->err for %s (handout §2.2)", bad[i].why);
        cr_assert(zero_bytes(&t, 0, T_RAM), "expected guest memory untouched after %s (§2.2)",
                  bad[i].why);
        tvm_free(&t);
    }
    /* The edges of each rule: an entry one past the image's end, an image inside the
     * protected-mode GDT/TSS page, and images touching the areas without overlapping them. */
    tvm_read_guest(&t, "zero_protected.bin");
    size_t len = t.len;
    const struct {
        enum vmm_mode mode;
        uint64_t load, entry;
        int rc;
        const char *what;
    } edge[] = {
        {VMM_MODE_PROTECTED, 0x20000, 0x20000 + len, VLAB_EINVAL, "an entry one past the image"},
        {VMM_MODE_PROTECTED, 0x1100, 0x1100, VLAB_EINVAL, "an image inside [0x1000, 0x2000)"},
        {VMM_MODE_PROTECTED, 0x1000 - len, 0x1000 - len, VLAB_OK, "an image ending at 0x1000"},
        {VMM_MODE_PROTECTED, VMM_PT_GPA, VMM_PT_GPA, VLAB_OK, "a protected-mode image at 0x2000"},
        {VMM_MODE_LONG, VMM_PT_END, VMM_PT_END, VLAB_OK, "a long-mode image at 0x8000"},
        {VMM_MODE_REAL, VMM_GDT_GPA, VMM_GDT_GPA, VLAB_OK, "a real-mode image at 0x1000"},
    };
    tvm_free(&t);
    for (unsigned i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        tvm_create(&t, VLAB_HV_UNICORN, edge[i].mode);
        t.vm.cfg.place_flat = true;
        t.vm.cfg.load_gpa = edge[i].load;
        t.vm.cfg.entry_gpa = edge[i].entry;
        tvm_read_guest(&t, "zero_protected.bin");
        expect_load(&t, edge[i].rc, edge[i].what, NULL, "§2.2");
        if (edge[i].rc != VLAB_OK)
            cr_assert(zero_bytes(&t, 0, T_RAM), "expected guest memory untouched after %s (§2.2)",
                      edge[i].what);
        tvm_free(&t);
    }
    /* An image that ends exactly where RAM does fits. */
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
    t.vm.cfg.place_flat = true;
    tvm_read_guest(&t, "zero_protected.bin");
    t.vm.cfg.load_gpa = t.vm.cfg.entry_gpa = T_RAM - t.len;
    expect_load(&t, VLAB_OK, "an image ending at the last byte of RAM", NULL, "§2.2");
    const void *end = vlab_gpmem_hva(&t.vm.mem, T_RAM - t.len, t.len);
    cr_assert(end && !memcmp(end, t.image, t.len),
              "expected the image in the last %zu bytes of RAM (handout §2.2)", t.len);
    tvm_free(&t);
    /* A real-mode boot sector may sit at 0x7c00: real mode writes no tables there. */
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_REAL);
    t.vm.cfg.place_flat = true;
    t.vm.cfg.load_gpa = t.vm.cfg.entry_gpa = 0x7c00;
    tvm_read_guest(&t, "boot_sector.bin");
    expect_load(&t, VLAB_OK, "boot_sector.bin at 0x7c00 in real mode", NULL, "§2.2");
    tvm_free(&t);
}

Test(vmm, setup_load_elf32) {
    struct tvm t;
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
    tvm_read_guest(&t, "mb_elf.bin");
    /* Without its Multiboot magic it is a plain ELF32 executable linked at 1 MiB. */
    uint8_t *img = t.image;
    for (size_t off = 0; off + 4 <= t.len; off += 4)
        if (!memcmp(img + off, "\x02\xb0\xad\x1b", 4)) memset(img + off, 0, 12);
    vlab_gpmem_fill(&t.vm.mem, 0x100000, 0xee, 0x3000); /* dirty: the bss must be zeroed */
    expect_load(&t, VLAB_OK, "an ELF32 executable", NULL, "§2.2");
    cr_assert_eq(t.vm.entry, 0xc0100060,
                 "expected the ELF32's e_entry 0xc0100060, got %#llx (§2.2)",
                 (unsigned long long)t.vm.entry);
    cr_assert(!memcmp(vlab_gpmem_hva(&t.vm.mem, 0x100000, t.len), t.image, t.len),
              "expected the ELF32's one PT_LOAD at its physical address 0x100000, not its "
              "virtual 0xc0100000 (§2.2)");
    cr_assert(zero_bytes(&t, 0x100000 + t.len, 0x1000),
              "expected the ELF32's bss (p_memsz - p_filesz) zeroed (handout §2.2)");
    cr_assert(!t.vm.multiboot, "expected an ELF without a Multiboot header not taken for one");
    tvm_free(&t);
}

/* ---------------- §2.3 Multiboot ---------------- */

/* The entry state and the information a Multiboot loader leaves, on either backend. */
VMM_TEST(mb_state) {
    struct tvm t;
    tvm_config(&t, kind, VMM_MODE_LONG); /* a Multiboot kernel is entered in protected mode */
    /* What follows the command line's NUL is not part of it. */
    static const char cmdline[] = "root=/dev/vda console=ttyS0\0NOT-THE-CMDLINE";
    t.cfg.cmdline = cmdline;
    cr_assert_eq(vmm_create(&t.vm, &t.cfg), VLAB_OK, "vmm_create: %s (handout §2.1)", t.vm.err);
    t.created = true;
    /* Dirty: the information area is zeroed before it is filled. */
    vlab_gpmem_fill(&t.vm.mem, VMM_MBI_GPA, 0xee, VMM_MBI_END - VMM_MBI_GPA);
    tvm_load(&t, "mb_elf.bin");
    cr_assert_eq(vmm_setup_mode(&t.vm), VLAB_OK, "vmm_setup_mode: %s (handout §3)", t.vm.err);
    struct vlab_regs r;
    struct vlab_sregs s;
    cr_assert_eq(vlab_hv_get_regs(t.vm.vcpu, &r), VLAB_OK);
    cr_assert_eq(vlab_hv_get_sregs(t.vm.vcpu, &s), VLAB_OK);
    cr_assert(t.vm.multiboot && t.vm.cfg.mode == VMM_MODE_PROTECTED,
              "expected vm->multiboot set and cfg.mode protected after loading a Multiboot "
              "kernel (handout §2.3)");
    cr_assert((uint32_t)r.rax == VMM_MB_BOOT_MAGIC && (uint32_t)r.rbx == VMM_MBI_GPA,
              "expected EAX = 0x2badb002 and EBX = 0x8000 at a Multiboot entry, got EAX %#llx "
              "EBX %#llx (handout §2.3)",
              (unsigned long long)r.rax, (unsigned long long)r.rbx);
    cr_assert_eq(r.rip, 0x100060,
                 "expected RIP = the physical address of the ELF entry (e_entry 0xc0100060 in a "
                 "segment linked at 0xc0100000, loaded at 0x100000): 0x100060, got %#llx (§2.3)",
                 (unsigned long long)r.rip);
    cr_assert((s.cr0 & X86_CR0_PE) && !(s.cr0 & X86_CR0_PG) && !(s.efer & X86_EFER_LMA) &&
                  s.cs.db && !s.cs.l && s.cs.base == 0 && s.cs.limit == 0xffffffff &&
                  s.ds.base == 0 && s.ds.limit == 0xffffffff,
              "expected 32-bit protected mode, paging off, flat 4 GiB CS and DS; got CR0 %#llx "
              "EFER %#llx CS.db %u CS.l %u (handout §2.3)",
              (unsigned long long)s.cr0, (unsigned long long)s.efer, s.cs.db, s.cs.l);
    struct vmm_mb_info info;
    cr_assert_eq(vlab_gpmem_read(&t.vm.mem, VMM_MBI_GPA, &info, sizeof info), VLAB_OK);
    uint32_t want = VMM_MBI_F_MEM | VMM_MBI_F_CMDLINE | VMM_MBI_F_MMAP | VMM_MBI_F_LOADER;
    cr_assert_eq(info.flags, want, "expected Multiboot info flags %#x, got %#x (handout §2.3)",
                 want, info.flags);
    cr_assert(info.mem_lower == 640 && info.mem_upper == (T_RAM >> 10) - 1024,
              "expected mem_lower 640 and mem_upper %llu KiB, got %u and %u (handout §2.3)",
              (unsigned long long)(T_RAM >> 10) - 1024, info.mem_lower, info.mem_upper);
    cr_assert(info.cmdline == VMM_MBI_CMDLINE && info.mmap_addr == VMM_MBI_MMAP &&
                  info.mmap_length == 2 * sizeof(struct vmm_mb_mmap) &&
                  info.boot_loader_name == VMM_MBI_NAME,
              "expected cmdline at 0x8200, mmap at 0x8100 (48 bytes), the loader name at 0x8180; "
              "got %#x, %#x (%u bytes), %#x (handout §2.3)",
              info.cmdline, info.mmap_addr, info.mmap_length, info.boot_loader_name);
    cr_assert_str_eq((const char *)vlab_gpmem_hva(&t.vm.mem, VMM_MBI_CMDLINE, 28),
                     "root=/dev/vda console=ttyS0",
                     "expected cfg.cmdline at 0x8200, NUL-terminated (handout §2.3)");
    struct vmm_mb_mmap map[2];
    cr_assert_eq(vlab_gpmem_read(&t.vm.mem, VMM_MBI_MMAP, map, sizeof map), VLAB_OK);
    cr_assert(map[0].size == 20 && map[0].addr == 0 && map[0].len == 0xa0000 && map[0].type == 1 &&
                  map[1].size == 20 && map[1].addr == 1u << 20 &&
                  map[1].len == T_RAM - (1u << 20) && map[1].type == 1,
              "expected the memory map {20, 0, 0xa0000, 1}, {20, 1 MiB, ram_size - 1 MiB, 1}; "
              "got {%u, %#llx, %#llx, %u}, {%u, %#llx, %#llx, %u} (handout §2.3)",
              map[0].size, (unsigned long long)map[0].addr, (unsigned long long)map[0].len,
              map[0].type, map[1].size, (unsigned long long)map[1].addr,
              (unsigned long long)map[1].len, map[1].type);
    cr_assert_str_eq((const char *)vlab_gpmem_hva(&t.vm.mem, VMM_MBI_NAME, 9), "vlab-vmm",
                     "expected the boot loader's name \"vlab-vmm\" at 0x8180 (handout §2.3)");
    /* Every byte of [VMM_MBI_GPA, VMM_MBI_END) the four parts do not cover is zero. */
    static const struct {
        uint64_t from, to;
        const char *after;
    } gaps[] = {
        {VMM_MBI_GPA + sizeof info, VMM_MBI_MMAP, "the information structure"},
        {VMM_MBI_MMAP + sizeof map, VMM_MBI_NAME, "the memory map"},
        {VMM_MBI_NAME + 9, VMM_MBI_CMDLINE, "the loader's name"},
        {VMM_MBI_CMDLINE + 28, VMM_MBI_END, "the command line's NUL"},
    };
    for (unsigned i = 0; i < sizeof gaps / sizeof gaps[0]; i++)
        cr_assert(zero_bytes(&t, gaps[i].from, gaps[i].to - gaps[i].from),
                  "expected [%#llx, %#llx), after %s, zero: zero [VMM_MBI_GPA, VMM_MBI_END) "
                  "first and copy no byte past a string's NUL (handout §2.3)",
                  (unsigned long long)gaps[i].from, (unsigned long long)gaps[i].to, gaps[i].after);
    tvm_free(&t);
}

/* An ELF32 Multiboot kernel, as OSDev's tutorials build one, runs to its isa-debug-exit. */
VMM_TEST(mb_elf_kernel) {
    struct tvm t;
    tvm_create(&t, kind, VMM_MODE_PROTECTED);
    t.vm.cfg.cmdline = "quiet";
    vlab_gpmem_fill(&t.vm.mem, 0x100000, 0xee, 0x3000); /* its bss must come out zeroed */
    tvm_load(&t, "mb_elf.bin");
    cr_assert_eq(vmm_setup_mode(&t.vm), VLAB_OK, "vmm_setup_mode: %s (handout §3)", t.vm.err);
    tvm_run(&t);
    tvm_expect(&t, VMM_EXITED, "§2.3");
    cr_assert_eq(t.res.code, 5,
                 "expected the kernel to end with 5 (0xe1: EAX was not 0x2badb002, 0xe2: the "
                 "information's flags lack mem/cmdline/mmap, 0xe3: its bss was not zeroed), got "
                 "%#llx (handout §2.3)",
                 (unsigned long long)t.res.code);
    cr_assert_str_eq(t.vm.console.buf,
                     "mb-elf: cmdline 'quiet'\nmb-elf: mem_upper 0x00000c00 KiB\n",
                     "expected its COM1 and port 0xe9 lines exactly (handout §2.3, §4.2)");
    tvm_free(&t);
}

/* The header's offset in the image (the first 4-byte aligned magic). */
static size_t mb_offset(const struct tvm *t) {
    const uint8_t *p = t->image;
    for (size_t off = 0; off + 4 <= t->len; off += 4)
        if (!memcmp(p + off, "\x02\xb0\xad\x1b", 4)) return off;
    cr_assert_fail("expected a Multiboot header in the test kernel");
    return 0;
}

static void put32(struct tvm *t, size_t off, uint32_t v) {
    memcpy((uint8_t *)t->image + off, &v, 4);
}

/* A Multiboot kernel placed by its header's address fields (flag 16), at 2 MiB. */
VMM_TEST(mb_flat_kernel) {
    struct tvm t;
    tvm_create(&t, kind, VMM_MODE_REAL); /* ignored: Multiboot enters protected mode */
    t.vm.cfg.cmdline = "a b c";
    vlab_gpmem_fill(&t.vm.mem, 0x200000, 0xee, 0x1000);
    tvm_load(&t, "mb_flat.bin");
    uint32_t entry = rd32(&t, 0x200000 + mb_offset(&t) + 28);
    cr_assert_eq(t.vm.entry, entry,
                 "expected the entry from the header's entry_addr (%#x), got %#llx (§2.3)", entry,
                 (unsigned long long)t.vm.entry);
    cr_assert(zero_bytes(&t, VMM_LOAD_GPA, t.len), "expected nothing at 0x10000 (handout §2.3)");
    cr_assert_eq(vmm_setup_mode(&t.vm), VLAB_OK, "vmm_setup_mode: %s (handout §3)", t.vm.err);
    tvm_run(&t);
    tvm_expect(&t, VMM_EXITED, "§2.3");
    cr_assert_eq(t.res.code, 6,
                 "expected the kernel to end with 6 (0xe1: EAX was not 0x2badb002, 0xe3: the "
                 "bss up to bss_end_addr was not zeroed), got %#llx (handout §2.3)",
                 (unsigned long long)t.res.code);
    cr_assert_str_eq(t.vm.console.buf, "mb-flat: cmdline 'a b c'\n",
                     "expected its command line echoed through port 0xe9 (handout §2.3, §4.2)");
    tvm_free(&t);
}

Test(vmm, mb_refusals) {
    struct tvm t;
    static const struct {
        const char *file;
        int field;      /* 4-byte field of the header to change */
        uint32_t value; /* its new value; the checksum is fixed up unless field is 2 */
        uint64_t ram;
        int rc;
        const char *word, *what;
    } bad[] = {
        {"mb_flat.bin", 2, 0x12345678, T_RAM, VLAB_EINVAL, "checksum", "a wrong checksum"},
        {"mb_elf.bin", 1, 0x7, T_RAM, VLAB_EINVAL, NULL, "header flag 2 (a video mode)"},
        {"mb_elf.bin", 0, 0, 1u << 20, VLAB_ERANGE, NULL, "an ELF kernel at 1 MiB in 1 MiB of RAM"},
        {"mb_flat.bin", 0, 0, 2u << 20, VLAB_ERANGE, NULL, "a kernel at 2 MiB in 2 MiB of RAM"},
        {"mb_flat.bin", 6, 0x1ff000, T_RAM, VLAB_EINVAL, NULL, "bss_end_addr below load_end_addr"},
        {"mb_flat.bin", 5, 0x100000, T_RAM, VLAB_EINVAL, NULL, "load_end_addr below load_addr"},
        {"mb_flat.bin", 3, 0x100000, T_RAM, VLAB_EINVAL, NULL, "header_addr before the file"},
        {"mb_flat.bin", 7, 0x300000, T_RAM, VLAB_EINVAL, NULL, "entry_addr outside the kernel"},
        {"mb_flat.bin", 4, 0x8000, T_RAM, VLAB_ERANGE, NULL, "a kernel over the VMM's tables"},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tvm_config(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
        t.cfg.ram_size = bad[i].ram;
        int rc = vmm_create(&t.vm, &t.cfg);
        cr_assert_eq(rc, VLAB_OK, "vmm_create: %s (handout §2.1)", t.vm.err);
        t.created = true;
        tvm_read_guest(&t, bad[i].file);
        size_t off = mb_offset(&t);
        if (bad[i].field) {
            put32(&t, off + 4u * (unsigned)bad[i].field, bad[i].value);
            if (bad[i].field == 4) { /* moved whole: the header, no bss, entry after it */
                put32(&t, off + 12, bad[i].value + (uint32_t)off);
                put32(&t, off + 20, 0);
                put32(&t, off + 24, 0);
                put32(&t, off + 28, bad[i].value + (uint32_t)off + 32);
            }
            if (bad[i].field != 2) {
                uint32_t flags;
                memcpy(&flags, (uint8_t *)t.image + off + 4, 4);
                put32(&t, off + 8, (uint32_t) - (VMM_MB_MAGIC + flags));
            }
        }
        expect_load(&t, bad[i].rc, bad[i].what, bad[i].word, "§2.3");
        cr_assert(t.vm.err[0], "expected a sentence in vm->err for %s (handout §2.3)", bad[i].what);
        cr_assert(zero_bytes(&t, 0, t.cfg.ram_size) && !t.vm.multiboot,
                  "expected guest memory untouched and vm->multiboot clear after %s (§2.3)",
                  bad[i].what);
        tvm_free(&t);
    }
    /* The edges: what the checks must let through (a bss_end_addr equal to load_end_addr: no
     * bss; an entry_addr on the last loaded byte; a kernel that ends exactly where RAM does),
     * and an entry_addr one past the loaded bytes, which they must not. */
    static const struct {
        int field, rc;
        const char *what;
    } edge[] = {
        {6, VLAB_OK, "bss_end_addr equal to load_end_addr"},
        {7, VLAB_OK, "entry_addr on the last loaded byte"},
        {0, VLAB_OK, "a kernel whose bss ends exactly at the end of RAM"},
        {8, VLAB_EINVAL, "entry_addr equal to load_end_addr, one past the loaded bytes"},
    };
    for (unsigned i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        tvm_config(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
        tvm_read_guest(&t, "mb_flat.bin");
        size_t off = mb_offset(&t);
        uint32_t h[8];
        memcpy(h, (uint8_t *)t.image + off, sizeof h);
        if (edge[i].field == 6) put32(&t, off + 24, h[5]);
        if (edge[i].field == 7) put32(&t, off + 28, h[5] - 1);
        if (edge[i].field == 8) put32(&t, off + 28, h[5]);
        if (edge[i].field == 0) { /* RAM is whole pages: the bss now ends at one */
            put32(&t, off + 24, 0x201000);
            t.cfg.ram_size = 0x201000;
        }
        cr_assert_eq(vmm_create(&t.vm, &t.cfg), VLAB_OK, "vmm_create: %s (handout §2.1)", t.vm.err);
        t.created = true;
        expect_load(&t, edge[i].rc, edge[i].what, NULL, "§2.3");
        cr_assert(t.vm.multiboot == (edge[i].rc == VLAB_OK), "expected %s %s (handout §2.3)",
                  edge[i].what, edge[i].rc == VLAB_OK ? "loaded as a Multiboot kernel" : "refused");
        tvm_free(&t);
    }
    /* A header that is the file's first byte: load_addr = header_addr, the whole file loaded. */
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
    uint32_t first[16] = {VMM_MB_MAGIC,
                          VMM_MB_ADDRESSES,
                          -(VMM_MB_MAGIC + VMM_MB_ADDRESSES),
                          0x200000,
                          0x200000,
                          0,
                          0,
                          0x200020,
                          0xf4f4f4f4};
    expect_whole_file(&t, first, 0x200020, "a header at offset 0 with load_addr = header_addr");
    /* A header in the file's last 32 bytes: its address fields end where the file does. */
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
    uint32_t last[16] = {0xf4f4f4f4,
                         [8] = VMM_MB_MAGIC,
                         VMM_MB_ADDRESSES,
                         -(VMM_MB_MAGIC + VMM_MB_ADDRESSES),
                         0x200020,
                         0x200000,
                         0,
                         0,
                         0x200000};
    expect_whole_file(&t, last, 0x200000, "a header in the file's last 32 bytes");
    /* Where the header may be: 4-byte aligned in the first 8 KiB. Elsewhere the image is flat. */
    static const size_t where[] = {VMM_MB_SEARCH, 2};
    for (unsigned i = 0; i < 2; i++) {
        tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
        tvm_read_guest(&t, "mb_flat.bin");
        size_t off = mb_offset(&t), len = where[i] + 32;
        uint8_t *img = calloc(1, len);
        cr_assert_not_null(img);
        memcpy(img + where[i], (uint8_t *)t.image + off, 32);
        free(t.image);
        t.image = img;
        t.len = len;
        expect_load(&t, VLAB_OK, where[i] == 2 ? "a misaligned header" : "a header past 8 KiB",
                    NULL, "§2.3");
        cr_assert(!t.vm.multiboot && t.vm.entry == VMM_LOAD_GPA,
                  "expected a magic %s taken for a flat image's bytes, not a Multiboot header "
                  "(handout §2.3)",
                  where[i] == 2 ? "at offset 2" : "at offset 8192");
        tvm_free(&t);
    }
    /* A magic too close to the end for the 12 bytes of magic, flags and checksum: data, and
     * nothing past the file is read (the byte after it would make a wrong checksum). */
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
    uint8_t tail[16] = {0xf4, 0xf4, 0xf4, 0xf4, 0x02, 0xb0, 0xad, 0x1b,
                        0,    0,    0,    0,    0xfe, 0x4f, 0x52};
    free(t.image);
    t.image = malloc(sizeof tail);
    cr_assert_not_null(t.image);
    memcpy(t.image, tail, sizeof tail);
    t.len = 15;
    expect_load(&t, VLAB_OK, "a 15-byte image with a magic at offset 4", NULL, "§2.3");
    cr_assert(!t.vm.multiboot && t.vm.entry == VMM_LOAD_GPA,
              "expected a magic whose header does not fit in the file taken as a flat image's "
              "bytes (handout §2.3)");
    tvm_free(&t);
    /* A command line that does not fit below VMM_MBI_END. */
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
    char *longline = malloc(VMM_CMDLINE_MAX + 2);
    cr_assert_not_null(longline);
    memset(longline, 'x', VMM_CMDLINE_MAX + 1);
    longline[VMM_CMDLINE_MAX + 1] = 0;
    t.vm.cfg.cmdline = longline;
    tvm_read_guest(&t, "mb_flat.bin");
    expect_load(&t, VLAB_EINVAL, "a command line too long for the information area", NULL, "§2.3");
    cr_assert(zero_bytes(&t, 0, T_RAM), "expected guest memory untouched (§2.3)");
    free(longline);
    tvm_free(&t);
}

/* ---------------- §4.2 the debug console, §4.3 isa-debug-exit, §3.1 a boot sector ----------------
 */

static void run_placed(struct tvm *t, enum vlab_hv_kind kind, enum vmm_mode mode, const char *file,
                       uint64_t at) {
    tvm_config(t, kind, mode);
    t->cfg.place_flat = true;
    t->cfg.load_gpa = t->cfg.entry_gpa = at;
    tvm_boot_cfg(t, file);
    tvm_run(t);
}

VMM_TEST(run_debugcon) {
    struct tvm t;
    run_placed(&t, kind, VMM_MODE_PROTECTED, "zero_protected.bin", 0);
    tvm_expect(&t, VMM_HALTED, "§4.2");
    cr_assert_str_eq(t.vm.console.buf, "Hello, world! (protected mode, linked at 0)\n",
                     "expected every byte OUT to port 0xe9 on the console (handout §4.2)");
    uint32_t v = rd32(&t, 0x400);
    cr_assert_eq(v, 42,
                 "expected 42 at 0x400 (0xbad: an IN from port 0xe9 did not read 0xe9), "
                 "got %#x (handout §4.2)",
                 v);
    cr_assert_eq(t.vm.unknown_io, 0, "expected port 0xe9 not counted as unknown I/O (§4.2)");
    cr_assert_eq(t.res.why[0], 0, "expected res.why empty on a clean halt, got \"%s\" (§4.5)",
                 t.res.why);
    tvm_free(&t);
}

VMM_TEST(run_debugcon_string) {
    struct tvm t;
    run_placed(&t, kind, VMM_MODE_LONG, "zero_long.bin", 0);
    tvm_expect(&t, VMM_HALTED, "§4.2");
    cr_assert_str_eq(t.vm.console.buf, "Hello, world! (long mode, linked at 0)\n",
                     "expected a `rep outsb` to port 0xe9 on the console, every byte once "
                     "(handout §4.2)");
    uint64_t v = tvm_read_u64(&t, 0x400);
    cr_assert_eq(v, 42,
                 "expected 42 at 0x400, got %#llx (0xbad: a `rep insb` of 100 bytes from port "
                 "0xe9, one IN exit with count 100, did not read 0xe9 into every element: "
                 "answer each of the exit's count elements; 0xbad2: a `rep insw` of 50 words, "
                 "one exit with size 2 and count 50, did not read 0xffe9 into each: element i "
                 "is the size bytes at data + i * size, one port per byte) (handout §4.2)",
                 (unsigned long long)v);
    cr_assert_eq(t.vm.unknown_io, 0, "expected port 0xe9 not counted as unknown I/O (§4.2)");
    tvm_free(&t);
}

VMM_TEST(run_debug_exit) {
    struct tvm t;
    tvm_run_guest(&t, kind, VMM_MODE_PROTECTED, "debug_exit.bin", VMM_EXITED, "§4.3");
    cr_assert_eq(t.res.code, 0xabcd0010,
                 "expected the whole 4-byte value written to isa-debug-exit (0xabcd0010) in "
                 "res.code, got %#llx: every byte of the OUT counts, little-endian (handout §4.3)",
                 (unsigned long long)t.res.code);
    cr_assert_str_eq(t.vm.console.buf, "tests passed\n",
                     "expected the guest stopped at its OUT to port 0xf4 (handout §4.3)");
    cr_assert(t.res.why[0],
              "expected a sentence in res.why when the guest exits (every outcome but a halt has "
              "one, vmm.h) (handout §4.5)");
    tvm_free(&t);
}

VMM_TEST(mode_real_boot_sector) {
    struct tvm t;
    run_placed(&t, kind, VMM_MODE_REAL, "boot_sector.bin", 0x7c00);
    tvm_expect(&t, VMM_HALTED, "§3.1");
    cr_assert_str_eq(t.vm.console.buf, "Hello from a boot sector at 0x7c00!\n",
                     "expected CS = DS = 0 and IP = 0x7c00 for an entry below 64 KiB (§3.1)");
    uint32_t v = rd32(&t, 0x400) & 0xffff;
    cr_assert_eq(v, 42,
                 "expected the DS-relative store at guest-physical 0x400, got %#x there "
                 "(handout §3.1)",
                 v);
    tvm_free(&t);
}
