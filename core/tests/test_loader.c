#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "vlab/err.h"
#include "vlab/gpmem.h"
#include "vlab/loader.h"

static struct vlab_gpmem m;
static char err[256];

static void setup(void) {
    vlab_gpmem_init(&m);
    cr_assert_eq(vlab_gpmem_add_ram(&m, 0, 0x100000, "ram"), VLAB_OK, "expected 1 MiB of RAM");
    err[0] = 0;
}
static void teardown(void) {
    vlab_gpmem_destroy(&m);
}

/* A small valid executable: text (RX, 16 bytes at 0x10000) and data (RW, 8 bytes of file,
 * 0x100 in memory: bss) at 0x20000. */
struct image {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[2];
    uint8_t text[16];
    uint8_t data[8];
} __attribute__((packed));

static void make_image(struct image *im) {
    memset(im, 0, sizeof *im);
    memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
    im->eh.e_ident[EI_CLASS] = ELFCLASS64;
    im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    im->eh.e_ident[EI_VERSION] = EV_CURRENT;
    im->eh.e_type = ET_EXEC;
    im->eh.e_machine = EM_X86_64;
    im->eh.e_version = EV_CURRENT;
    im->eh.e_entry = 0x10004;
    im->eh.e_phoff = offsetof(struct image, ph);
    im->eh.e_ehsize = sizeof(Elf64_Ehdr);
    im->eh.e_phentsize = sizeof(Elf64_Phdr);
    im->eh.e_phnum = 2;
    im->ph[0] = (Elf64_Phdr){
        PT_LOAD, PF_R | PF_X, offsetof(struct image, text), 0x10000, 0x10000, 16, 16, 1};
    im->ph[1] = (Elf64_Phdr){
        PT_LOAD, PF_R | PF_W, offsetof(struct image, data), 0x20000, 0x20000, 8, 0x100, 1};
    for (int i = 0; i < 16; i++)
        im->text[i] = (uint8_t)(0x90 + i);
    memset(im->data, 0xd0, sizeof im->data);
}

static int load(const struct image *im, size_t len, struct vlab_elf_info *info) {
    return vlab_load_elf64(&m, im, len, info, err, sizeof err);
}

Test(core, loader_elf64_valid, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    vlab_gpmem_fill(&m, 0x20000, 0xee, 0x200); /* dirty: bss must be zeroed */
    struct vlab_elf_info info;
    int rc = load(&im, sizeof im, &info);
    cr_assert_eq(rc, VLAB_OK, "expected a valid image to load, got %d: %s", rc, err);
    cr_assert_eq(info.entry, 0x10004, "expected entry 0x10004, got %#llx",
                 (unsigned long long)info.entry);
    cr_assert_eq(info.nload, 2, "expected 2 segments, got %u", info.nload);
    cr_assert_eq(info.lowest, 0x10000, "expected lowest 0x10000");
    cr_assert_eq(info.highest, 0x20100, "expected highest 0x20100, got %#llx",
                 (unsigned long long)info.highest);
    uint8_t b[16];
    vlab_gpmem_read(&m, 0x10000, b, 16);
    cr_assert(memcmp(b, im.text, 16) == 0, "expected the text bytes at 0x10000");
    vlab_gpmem_read(&m, 0x20000, b, 8);
    cr_assert(memcmp(b, im.data, 8) == 0, "expected the data bytes at 0x20000");
}

Test(core, loader_elf64_bss_zeroed, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    vlab_gpmem_fill(&m, 0x20000, 0xee, 0x200);
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_OK, "expected OK: %s", err);
    for (uint64_t a = 0x20008; a < 0x20100; a++) {
        uint8_t v;
        vlab_gpmem_read_u8(&m, a, &v);
        cr_assert_eq(v, 0, "expected bss byte at %#llx zeroed, got %#x", (unsigned long long)a, v);
    }
    uint8_t after;
    vlab_gpmem_read_u8(&m, 0x20100, &after);
    cr_assert_eq(after, 0xee, "expected the byte after p_memsz untouched, got %#x", after);
}

Test(core, loader_elf64_truncated_header, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    int rc = load(&im, sizeof(Elf64_Ehdr) - 1, NULL);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a truncated header, got %d", rc);
    cr_assert(strstr(err, "truncated"), "expected 'truncated' in the message, got %s", err);
    rc = load(&im, 3, NULL);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for 3 bytes, got %d", rc);
}

Test(core, loader_elf64_null_arguments, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    cr_assert_eq(vlab_load_elf64(&m, NULL, sizeof im, NULL, err, sizeof err), VLAB_EINVAL,
                 "expected EINVAL for no image");
    cr_assert_eq(vlab_load_elf64(NULL, &im, sizeof im, NULL, err, sizeof err), VLAB_EINVAL,
                 "expected EINVAL for no guest memory");
}

Test(core, loader_elf64_wrong_class_machine_type, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    im.eh.e_ident[EI_CLASS] = ELFCLASS32;
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected ELFCLASS32 refused");
    cr_assert(strstr(err, "class"), "expected the message to name the class, got %s", err);
    make_image(&im);
    im.eh.e_machine = EM_AARCH64;
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected EM_AARCH64 refused");
    cr_assert(strstr(err, "machine"), "expected the message to name the machine, got %s", err);
    make_image(&im);
    im.eh.e_type = ET_DYN;
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected ET_DYN refused");
    make_image(&im);
    im.eh.e_ident[EI_DATA] = ELFDATA2MSB;
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected big-endian refused");
    make_image(&im);
    im.eh.e_ident[1] = 'X';
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected a bad magic refused");
    make_image(&im);
    im.eh.e_phentsize = 32;
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected e_phentsize 32 refused");
    uint8_t b;
    vlab_gpmem_read_u8(&m, 0x10000, &b);
    cr_assert_eq(b, 0, "expected nothing written by refused images, got %#x", b);
}

Test(core, loader_elf64_phdrs_out_of_file, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    im.eh.e_phoff = sizeof im - 8;
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected phdrs past EOF refused");
    cr_assert(strstr(err, "outside"), "expected 'outside' in the message, got %s", err);
    make_image(&im);
    im.eh.e_phoff = UINT64_MAX - 8; /* offset + size would wrap */
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected a wrapping e_phoff refused");
    make_image(&im);
    im.ph[1].p_offset = sizeof im - 4; /* 8 file bytes, only 4 in the file */
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL,
                 "expected segment bytes past EOF refused");
    make_image(&im);
    im.ph[1].p_offset = UINT64_MAX - 2;
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected a wrapping p_offset refused");
    make_image(&im);
    im.ph[1].p_filesz = 0x200; /* > p_memsz */
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected p_filesz > p_memsz refused");
}

Test(core, loader_elf64_segment_outside_memory, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    im.ph[1].p_paddr = im.ph[1].p_vaddr = 0xfff80; /* runs past the 1 MiB of RAM */
    int rc = load(&im, sizeof im, NULL);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a segment past guest memory, got %d", rc);
    cr_assert(strstr(err, "outside guest memory"), "expected the message to say so, got %s", err);
    make_image(&im);
    im.ph[1].p_paddr = UINT64_MAX - 0x10;
    rc = load(&im, sizeof im, NULL);
    cr_assert(rc == VLAB_EINVAL || rc == VLAB_ERANGE, "expected a wrapping segment refused, got %d",
              rc);
    uint8_t b;
    vlab_gpmem_read_u8(&m, 0x10000, &b);
    cr_assert_eq(b, 0, "expected the valid first segment not written either, got %#x", b);
}

Test(core, loader_elf64_overlapping_segments, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    im.ph[1].p_paddr = im.ph[1].p_vaddr = 0x1000f; /* last byte of text */
    int rc = load(&im, sizeof im, NULL);
    cr_assert_eq(rc, VLAB_EINVAL, "expected overlapping segments refused, got %d", rc);
    cr_assert(strstr(err, "overlap"), "expected 'overlap' in the message, got %s", err);
    make_image(&im);
    im.ph[1].p_paddr = im.ph[1].p_vaddr = 0x10010; /* touching is fine */
    rc = load(&im, sizeof im, NULL);
    cr_assert_eq(rc, VLAB_OK, "expected adjacent segments accepted, got %d: %s", rc, err);
}

Test(core, loader_elf64_entry_outside_text, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    im.eh.e_entry = 0x20000; /* in the data segment, not executable */
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected entry in data refused");
    cr_assert(strstr(err, "entry"), "expected the message to name the entry point, got %s", err);
    make_image(&im);
    im.ph[0].p_align = 3;
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected alignment 3 refused");
    make_image(&im);
    im.ph[0].p_type = PT_INTERP;
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL, "expected PT_INTERP refused");
}

/* The entry must lie in [p_vaddr, p_vaddr + p_memsz): its first byte counts, the byte just past
 * the end does not. */
Test(core, loader_elf64_entry_at_segment_bounds, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    im.eh.e_entry = 0x10010; /* one past the 16 bytes of text */
    cr_assert_eq(load(&im, sizeof im, NULL), VLAB_EINVAL,
                 "expected entry at the text's end refused");
    struct vlab_elf_info info;
    for (uint64_t e = 0x10000; e < 0x10010; e += 0xf) {
        make_image(&im);
        im.eh.e_entry = e;
        int rc = load(&im, sizeof im, &info);
        cr_assert_eq(rc, VLAB_OK, "expected entry %#llx accepted, got %d: %s",
                     (unsigned long long)e, rc, err);
        cr_assert_eq(info.entry_phys, e, "expected entry_phys %#llx, got %#llx",
                     (unsigned long long)e, (unsigned long long)info.entry_phys);
    }
}

/* Only PT_LOAD segments with bytes in memory are loaded: a note is not copied (however large
 * its p_memsz), an empty PT_LOAD is skipped wherever it claims to be. */
Test(core, loader_elf64_skips_non_load_and_empty, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    im.ph[1].p_type = PT_NOTE;
    struct vlab_elf_info info;
    int rc = load(&im, sizeof im, &info);
    cr_assert_eq(rc, VLAB_OK, "expected a PT_NOTE ignored, got %d: %s", rc, err);
    cr_assert_eq(info.nload, 1, "expected 1 segment loaded, got %u", info.nload);
    uint8_t b;
    vlab_gpmem_read_u8(&m, 0x20000, &b);
    cr_assert_eq(b, 0, "expected the note's bytes not copied to its p_paddr, got %#x", b);
    make_image(&im);
    im.ph[1].p_paddr = im.ph[1].p_vaddr = 0xfffffffffffff000ull; /* nowhere: but empty */
    im.ph[1].p_filesz = im.ph[1].p_memsz = 0;
    rc = load(&im, sizeof im, &info);
    cr_assert_eq(rc, VLAB_OK, "expected an empty PT_LOAD skipped, got %d: %s", rc, err);
    cr_assert_eq(info.nload, 1, "expected the empty segment not counted, got %u", info.nload);
}

/* A higher-half kernel may link a segment that ends exactly at 2^64 (the last virtual byte):
 * that does not wrap. One whose physical end is 2^64 lies outside guest memory (ERANGE), it
 * does not wrap either. */
Test(core, loader_elf64_segment_ends_at_top, .init = setup, .fini = teardown) {
    struct image im;
    make_image(&im);
    im.ph[0].p_vaddr = 0xfffffffffffff000ull;
    im.ph[0].p_offset = 0; /* p_vaddr and p_offset agree modulo p_align */
    im.ph[0].p_filesz = 0;
    im.ph[0].p_memsz = 0x1000;
    im.eh.e_entry = 0xfffffffffffffff0ull;
    struct vlab_elf_info info;
    int rc = load(&im, sizeof im, &info);
    cr_assert_eq(rc, VLAB_OK, "expected a segment ending at 2^64 loaded, got %d: %s", rc, err);
    cr_assert_eq(info.entry_phys, 0x10ff0, "expected entry_phys 0x10ff0, got %#llx",
                 (unsigned long long)info.entry_phys);
    make_image(&im);
    im.ph[1].p_paddr = 0xfffffffffffff000ull;
    im.ph[1].p_memsz = 0x1000;
    rc = load(&im, sizeof im, NULL);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE (not a wrap) at the top, got %d: %s", rc, err);
}

Test(core, loader_flat, .init = setup, .fini = teardown) {
    uint8_t img[] = {1, 2, 3, 4};
    cr_assert_eq(vlab_load_flat_buf(&m, img, 4, 0x5000, err, sizeof err), VLAB_OK,
                 "expected a flat image loaded: %s", err);
    uint32_t v;
    vlab_gpmem_read_u32(&m, 0x5000, &v);
    cr_assert_eq(v, 0x04030201, "expected the bytes at 0x5000, got %#x", v);
    int rc = vlab_load_flat_buf(&m, img, 4, 0xffffe, err, sizeof err);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE past the end of RAM, got %d", rc);
    cr_assert(strstr(err, "does not fit"), "expected 'does not fit', got %s", err);
    rc = vlab_load_flat(&m, "/nonexistent/guest.bin", 0, NULL, err, sizeof err);
    cr_assert_eq(rc, VLAB_EIO, "expected EIO for a missing file, got %d", rc);
    cr_assert(strstr(err, "/nonexistent/guest.bin"), "expected the path in the message, got %s",
              err);
    char path[] = "/tmp/vlab-loader-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "expected a temp file");
    FILE *f = fdopen(fd, "wb");
    struct image im;
    make_image(&im);
    fwrite(&im, 1, sizeof im, f);
    fclose(f);
    struct vlab_elf_info info;
    rc = vlab_load_elf64_file(&m, path, &info, err, sizeof err);
    remove(path);
    cr_assert_eq(rc, VLAB_OK, "expected the ELF file to load: %s", err);
    cr_assert_eq(info.entry, 0x10004, "expected entry 0x10004");
}

static void write_bytes(const char *path, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "expected to write %s", path);
    for (size_t i = 0; i < n; i++)
        fputc((int)(i * 7 & 0xff), f);
    fclose(f);
}

/* A file of max bytes is read whole and one of max + 1 refused, whatever max is: 8192, a size
 * the doubling buffer reaches exactly, as much as 5000, which it passes. */
Test(core, loader_read_file_max) {
    char path[] = "/tmp/vlab-read-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "expected a temp file");
    close(fd);
    static const size_t sizes[][2] = {{8192, 8192}, {8193, 8192}, {5000, 5000}, {5001, 5000}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i][0], max = sizes[i][1], len = 0;
        write_bytes(path, n);
        void *buf = NULL;
        err[0] = 0;
        int rc = vlab_read_file(path, max, &buf, &len, err, sizeof err);
        if (n <= max) {
            cr_assert_eq(rc, VLAB_OK, "expected a file of %zu bytes read with max %zu: %s", n, max,
                         err);
            cr_assert_eq(len, n, "expected %zu bytes read, got %zu", n, len);
            cr_assert_eq(((uint8_t *)buf)[n - 1], (uint8_t)((n - 1) * 7),
                         "expected the file's last byte last");
            free(buf);
        } else {
            cr_assert_eq(rc, VLAB_EINVAL,
                         "expected a file of %zu bytes refused with max %zu (EINVAL), got %d "
                         "(len %zu)",
                         n, max, rc, len);
            cr_assert(strstr(err, "larger than"), "expected 'larger than', got %s", err);
        }
    }
    remove(path);
}

/* An ELF file over the loader's bound (256 MiB) is refused as too large before it is parsed:
 * a sparse file, so the test writes nothing and reads zeros. */
Test(core, loader_file_too_large, .init = setup, .fini = teardown) {
    char path[] = "/tmp/vlab-big-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "expected a temp file");
    int rc = ftruncate(fd, (256 << 20) + 1);
    close(fd);
    cr_assert_eq(rc, 0, "expected a sparse file of 256 MiB + 1");
    struct vlab_elf_info info;
    rc = vlab_load_elf64_file(&m, path, &info, err, sizeof err);
    remove(path);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a file of 256 MiB + 1, got %d: %s", rc, err);
    cr_assert(strstr(err, "larger than 268435456"),
              "expected 'larger than 268435456 bytes' (256 MiB), got %s", err);
}
