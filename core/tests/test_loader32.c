/* ELF32 (i386) images and the class dispatch of vlab_load_elf: the checks are the ELF64 ones,
 * so these tests aim at what is specific to the 32-bit headers: their field layout, the
 * physical addresses a Multiboot kernel is linked with, and the class a caller did not ask
 * for. */
#include <criterion/criterion.h>
#include <elf.h>
#include <stddef.h>
#include <string.h>

#include "vlab/err.h"
#include "vlab/gpmem.h"
#include "vlab/loader.h"

static struct vlab_gpmem m;
static char err[256];

static void setup(void) {
    vlab_gpmem_init(&m);
    cr_assert_eq(vlab_gpmem_add_ram(&m, 0, 0x200000, "ram"), VLAB_OK, "expected 2 MiB of RAM");
    err[0] = 0;
}
static void teardown(void) {
    vlab_gpmem_destroy(&m);
}

/* A higher-half-style kernel: text linked at virtual 0xc0100000, physically at 1 MiB, entry
 * 4 bytes in; data at physical 0x110000 with a bss tail. */
struct image32 {
    Elf32_Ehdr eh;
    Elf32_Phdr ph[2];
    uint8_t text[16];
    uint8_t data[8];
} __attribute__((packed));

static void make32(struct image32 *im) {
    memset(im, 0, sizeof *im);
    memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
    im->eh.e_ident[EI_CLASS] = ELFCLASS32;
    im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    im->eh.e_ident[EI_VERSION] = EV_CURRENT;
    im->eh.e_type = ET_EXEC;
    im->eh.e_machine = EM_386;
    im->eh.e_version = EV_CURRENT;
    im->eh.e_entry = 0xc0100004;
    im->eh.e_phoff = offsetof(struct image32, ph);
    im->eh.e_ehsize = sizeof(Elf32_Ehdr);
    im->eh.e_phentsize = sizeof(Elf32_Phdr);
    im->eh.e_phnum = 2;
    im->ph[0] = (Elf32_Phdr){
        PT_LOAD, offsetof(struct image32, text), 0xc0100000, 0x100000, 16, 16, PF_R | PF_X, 1};
    im->ph[1] = (Elf32_Phdr){
        PT_LOAD, offsetof(struct image32, data), 0xc0110000, 0x110000, 8, 0x100, PF_R | PF_W, 1};
    for (int i = 0; i < 16; i++)
        im->text[i] = (uint8_t)(0x40 + i);
    memset(im->data, 0xd3, sizeof im->data);
}

Test(core, loader_elf32_at_physical_addresses, .init = setup, .fini = teardown) {
    struct image32 im;
    make32(&im);
    vlab_gpmem_fill(&m, 0x110000, 0xee, 0x200); /* dirty: the bss must be zeroed */
    struct vlab_elf_info info;
    int rc = vlab_load_elf32(&m, &im, sizeof im, &info, err, sizeof err);
    cr_assert_eq(rc, VLAB_OK, "expected the ELF32 image to load, got %d: %s", rc, err);
    cr_assert_eq(info.entry, 0xc0100004, "expected e_entry 0xc0100004, got %#llx",
                 (unsigned long long)info.entry);
    cr_assert_eq(info.entry_phys, 0x100004,
                 "expected the entry's physical address 0x100004, got %#llx",
                 (unsigned long long)info.entry_phys);
    cr_assert_eq(info.lowest, 0x100000, "expected lowest 0x100000, got %#llx",
                 (unsigned long long)info.lowest);
    cr_assert_eq(info.highest, 0x110100, "expected highest 0x110100, got %#llx",
                 (unsigned long long)info.highest);
    uint8_t b[16];
    vlab_gpmem_read(&m, 0x100000, b, 16);
    cr_assert(memcmp(b, im.text, 16) == 0, "expected the text bytes at p_paddr 0x100000");
    vlab_gpmem_read(&m, 0x110000, b, 8);
    cr_assert(memcmp(b, im.data, 8) == 0, "expected the data bytes at p_paddr 0x110000");
    for (uint64_t a = 0x110008; a < 0x110100; a++) {
        uint8_t v;
        vlab_gpmem_read_u8(&m, a, &v);
        cr_assert_eq(v, 0, "expected bss byte %#llx zeroed, got %#x", (unsigned long long)a, v);
    }
    uint8_t after;
    vlab_gpmem_read_u8(&m, 0x110100, &after);
    cr_assert_eq(after, 0xee, "expected the byte after p_memsz untouched, got %#x", after);
}

Test(core, loader_elf32_refusals, .init = setup, .fini = teardown) {
    struct image32 im;
    make32(&im);
    im.ph[1].p_paddr = 0x1fff80; /* past the 2 MiB of RAM */
    int rc = vlab_load_elf32(&m, &im, sizeof im, NULL, err, sizeof err);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a segment past guest memory, got %d", rc);
    cr_assert(strstr(err, "outside guest memory"), "expected the message to say so, got %s", err);
    make32(&im);
    im.ph[1].p_paddr = 0x10000f; /* the last byte of text */
    rc = vlab_load_elf32(&m, &im, sizeof im, NULL, err, sizeof err);
    cr_assert_eq(rc, VLAB_EINVAL, "expected overlapping segments refused, got %d", rc);
    cr_assert(strstr(err, "overlap"), "expected 'overlap' in the message, got %s", err);
    make32(&im);
    im.ph[1].p_offset = sizeof im - 4;
    cr_assert_eq(vlab_load_elf32(&m, &im, sizeof im, NULL, err, sizeof err), VLAB_EINVAL,
                 "expected segment bytes past the end of the file refused");
    make32(&im);
    im.eh.e_machine = EM_X86_64;
    cr_assert_eq(vlab_load_elf32(&m, &im, sizeof im, NULL, err, sizeof err), VLAB_EINVAL,
                 "expected an ELF32 for EM_X86_64 (x32) refused");
    cr_assert(strstr(err, "machine"), "expected the message to name the machine, got %s", err);
    make32(&im);
    im.eh.e_phentsize = sizeof(Elf64_Phdr);
    cr_assert_eq(vlab_load_elf32(&m, &im, sizeof im, NULL, err, sizeof err), VLAB_EINVAL,
                 "expected ELF64-sized program headers in an ELF32 refused");
    cr_assert_eq(vlab_load_elf32(&m, &im, sizeof(Elf32_Ehdr) - 1, NULL, err, sizeof err),
                 VLAB_EINVAL, "expected a truncated header refused");
    uint8_t b;
    vlab_gpmem_read_u8(&m, 0x100000, &b);
    cr_assert_eq(b, 0, "expected nothing written by refused images, got %#x", b);
}

Test(core, loader_elf_dispatches_on_class, .init = setup, .fini = teardown) {
    struct image32 im;
    make32(&im);
    struct vlab_elf_info info = {0};
    int rc = vlab_load_elf(&m, &im, sizeof im, &info, err, sizeof err);
    cr_assert_eq(rc, VLAB_OK, "expected vlab_load_elf to take an ELF32, got %d: %s", rc, err);
    cr_assert_eq(info.entry_phys, 0x100004, "expected entry_phys 0x100004, got %#llx",
                 (unsigned long long)info.entry_phys);
    cr_assert(vlab_is_elf(&im, sizeof im), "expected the ELF magic recognised");
    cr_assert(!vlab_is_elf("\x7f"
                           "EL",
                           3),
              "expected 3 bytes not taken for an ELF");
    /* The ELF64 loader still refuses the other class by name. */
    rc = vlab_load_elf64(&m, &im, sizeof im, NULL, err, sizeof err);
    cr_assert_eq(rc, VLAB_EINVAL, "expected vlab_load_elf64 to refuse an ELF32, got %d", rc);
    cr_assert(strstr(err, "class"), "expected the message to name the class, got %s", err);
}
