/* Image loaders. An image is untrusted input (a student's guest, a hostile test): every
 * header field is checked, with overflow-safe arithmetic, before anything is copied. */
#include "vlab/loader.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vlab/err.h"

#define MAX_IMAGE (256u << 20)

#define fail vlab_say /* the sentence into err, rc returned */

int vlab_read_file(const char *path, size_t max, void **buf, size_t *len, char *err,
                   size_t errlen) {
    if (!path || !buf || !len) return fail(err, errlen, VLAB_EINVAL, "no file name");
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, VLAB_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    unsigned char *p = malloc(cap);
    while (p) {
        if (n == cap) {
            if (cap >= max) {
                /* cap can be max exactly: one byte more says the file is larger */
                if (n == max && fgetc(f) != EOF) n++;
                break;
            }
            unsigned char *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                p = NULL;
                break;
            }
            p = q;
            cap *= 2;
        }
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!p) return fail(err, errlen, VLAB_ENOMEM, "%s: out of memory", path);
    if (bad) {
        free(p);
        return fail(err, errlen, VLAB_EIO, "%s: read error", path);
    }
    if (n > max) {
        free(p);
        return fail(err, errlen, VLAB_EINVAL, "%s: larger than %zu bytes", path, max);
    }
    *buf = p;
    *len = n;
    return VLAB_OK;
}

/* Whether [gpa, gpa+len) is covered by guest memory regions (adjacent ones may be chained). */
static int check_range(const struct vlab_gpmem *mem, uint64_t gpa, uint64_t len, bool write) {
    if (len == 0) return VLAB_OK;
    if (len - 1 > UINT64_MAX - gpa) return VLAB_ERANGE;
    uint64_t left = len;
    while (left) {
        const struct vlab_mem_region *r = vlab_gpmem_find(mem, gpa);
        if (!r) return VLAB_ERANGE;
        if (write && (r->flags & VLAB_MEM_READONLY)) return VLAB_EINVAL;
        uint64_t in = r->size - (gpa - r->gpa);
        if (in >= left) return VLAB_OK;
        left -= in;
        gpa += in;
    }
    return VLAB_OK;
}

int vlab_load_flat_buf(struct vlab_gpmem *mem, const void *buf, size_t len, uint64_t gpa, char *err,
                       size_t errlen) {
    if (!mem || (!buf && len)) return fail(err, errlen, VLAB_EINVAL, "no memory or no image");
    int rc = check_range(mem, gpa, len, true);
    if (rc == VLAB_ERANGE)
        return fail(err, errlen, rc, "image of %zu bytes at gpa %#llx does not fit in guest memory",
                    len, (unsigned long long)gpa);
    if (rc != VLAB_OK)
        return fail(err, errlen, rc, "image at gpa %#llx would overwrite read-only memory",
                    (unsigned long long)gpa);
    return vlab_gpmem_write(mem, gpa, buf, len);
}

int vlab_load_flat(struct vlab_gpmem *mem, const char *path, uint64_t gpa, uint64_t *size,
                   char *err, size_t errlen) {
    void *buf;
    size_t len;
    int rc = vlab_read_file(path, MAX_IMAGE, &buf, &len, err, errlen);
    if (rc != VLAB_OK) return rc;
    rc = vlab_load_flat_buf(mem, buf, len, gpa, err, errlen);
    free(buf);
    if (rc == VLAB_OK && size) *size = len;
    return rc;
}

static bool pow2_or_zero(uint64_t x) {
    return (x & (x - 1)) == 0;
}

static int load_segments(struct vlab_gpmem *mem, const unsigned char *img, size_t len,
                         const Elf64_Ehdr *ehp, const Elf64_Phdr *ph, struct vlab_elf_info *info,
                         char *err, size_t errlen) {
    const Elf64_Ehdr eh = *ehp;
    struct vlab_elf_info out = {.entry = eh.e_entry, .lowest = UINT64_MAX};
    bool entry_ok = false;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type == PT_INTERP || p->p_type == PT_DYNAMIC)
            return fail(err, errlen, VLAB_EINVAL,
                        "segment %u: dynamic linking (PT_INTERP/PT_DYNAMIC) is not supported", i);
        if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
        if (p->p_filesz > p->p_memsz)
            return fail(err, errlen, VLAB_EINVAL, "segment %u: p_filesz %#llx > p_memsz %#llx", i,
                        (unsigned long long)p->p_filesz, (unsigned long long)p->p_memsz);
        if (p->p_offset > len || p->p_filesz > len - p->p_offset)
            return fail(err, errlen, VLAB_EINVAL,
                        "segment %u: file bytes [%#llx, +%#llx) lie outside the %zu-byte file", i,
                        (unsigned long long)p->p_offset, (unsigned long long)p->p_filesz, len);
        if (!pow2_or_zero(p->p_align) ||
            (p->p_align > 1 && (p->p_vaddr - p->p_offset) % p->p_align != 0))
            return fail(err, errlen, VLAB_EINVAL,
                        "segment %u: bad alignment %#llx (p_vaddr and p_offset must agree "
                        "modulo a power of two)",
                        i, (unsigned long long)p->p_align);
        if (p->p_memsz - 1 > UINT64_MAX - p->p_paddr || p->p_memsz - 1 > UINT64_MAX - p->p_vaddr)
            return fail(err, errlen, VLAB_EINVAL, "segment %u: address + size wraps around", i);
        int rc = check_range(mem, p->p_paddr, p->p_memsz, true);
        if (rc != VLAB_OK)
            return fail(err, errlen, rc, "segment %u: [%#llx, +%#llx) is %s", i,
                        (unsigned long long)p->p_paddr, (unsigned long long)p->p_memsz,
                        rc == VLAB_ERANGE ? "outside guest memory" : "in read-only memory");
        for (unsigned j = 0; j < i; j++) {
            const Elf64_Phdr *q = &ph[j];
            if (q->p_type != PT_LOAD || q->p_memsz == 0) continue;
            if (p->p_paddr <= q->p_paddr + (q->p_memsz - 1) &&
                q->p_paddr <= p->p_paddr + (p->p_memsz - 1))
                return fail(err, errlen, VLAB_EINVAL, "segments %u and %u overlap", j, i);
        }
        if ((p->p_flags & PF_X) && eh.e_entry >= p->p_vaddr &&
            eh.e_entry - p->p_vaddr < p->p_memsz) {
            entry_ok = true;
            /* A higher-half kernel links its entry at a virtual address; a VMM that starts it
             * with paging off needs where that byte lands. */
            out.entry_phys = p->p_paddr + (eh.e_entry - p->p_vaddr);
        }
        if (p->p_paddr < out.lowest) out.lowest = p->p_paddr;
        if (p->p_paddr + p->p_memsz > out.highest) out.highest = p->p_paddr + p->p_memsz;
        out.nload++;
    }
    if (out.nload == 0) return fail(err, errlen, VLAB_EINVAL, "no PT_LOAD segment to load");
    if (!entry_ok)
        return fail(err, errlen, VLAB_EINVAL,
                    "entry point %#llx is not inside an executable PT_LOAD segment",
                    (unsigned long long)eh.e_entry);
    /* Everything checked: now copy, then zero each bss tail. */
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
        int rc = vlab_gpmem_write(mem, p->p_paddr, img + p->p_offset, p->p_filesz);
        if (rc == VLAB_OK)
            rc = vlab_gpmem_fill(mem, p->p_paddr + p->p_filesz, 0, p->p_memsz - p->p_filesz);
        if (rc != VLAB_OK) return fail(err, errlen, rc, "segment %u: copy failed", i);
    }
    if (info) *info = out;
    return VLAB_OK;
}

/* What differs between the two classes the loader takes; every check is the same. */
struct elf_class {
    unsigned char cls;
    uint16_t machine, ehsize, phentsize;
    const char *class_rule, *arch, *tag, *machine_name; /* for messages */
};
static const struct elf_class elf64 = {
    ELFCLASS64, EM_X86_64, sizeof(Elf64_Ehdr), sizeof(Elf64_Phdr), "only ELFCLASS64 is loaded",
    "x86-64",   "ELF",     "EM_X86_64"};
static const struct elf_class elf32 = {
    ELFCLASS32, EM_386,  sizeof(Elf32_Ehdr), sizeof(Elf32_Phdr), "expected ELFCLASS32", "x86",
    "ELF32",    "EM_386"};

/* The header checks, on the header widened to ELF64 (ELF32's fields are narrower, not
 * different), against the class c the file must be. */
static int check_header(const Elf64_Ehdr *eh, const struct elf_class *c, size_t len, char *err,
                        size_t errlen) {
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return fail(err, errlen, VLAB_EINVAL, "not an ELF file (bad magic)");
    if (eh->e_ident[EI_CLASS] != c->cls)
        return fail(err, errlen, VLAB_EINVAL, "ELF class %u: %s", eh->e_ident[EI_CLASS],
                    c->class_rule);
    if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return fail(err, errlen, VLAB_EINVAL, "ELF data encoding %u: %s is little-endian",
                    eh->e_ident[EI_DATA], c->arch);
    if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
        return fail(err, errlen, VLAB_EINVAL, "ELF version %u/%u, expected %u",
                    eh->e_ident[EI_VERSION], eh->e_version, EV_CURRENT);
    if (eh->e_machine != c->machine)
        return fail(err, errlen, VLAB_EINVAL, "%s machine %u, expected %s (%u)", c->tag,
                    eh->e_machine, c->machine_name, c->machine);
    if (eh->e_type != ET_EXEC)
        return fail(err, errlen, VLAB_EINVAL, "ELF type %u: only executables (ET_EXEC) are loaded",
                    eh->e_type);
    if (eh->e_ehsize != c->ehsize)
        return fail(err, errlen, VLAB_EINVAL, "e_ehsize %u, expected %zu", eh->e_ehsize,
                    (size_t)c->ehsize);
    if (eh->e_phentsize != c->phentsize)
        return fail(err, errlen, VLAB_EINVAL, "e_phentsize %u, expected %zu", eh->e_phentsize,
                    (size_t)c->phentsize);
    if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
        return fail(err, errlen, VLAB_EINVAL, "e_phnum %u: no program headers", eh->e_phnum);
    uint64_t phbytes = (uint64_t)eh->e_phnum * c->phentsize;
    if (eh->e_phoff > len || phbytes > len - eh->e_phoff)
        return fail(err, errlen, VLAB_EINVAL,
                    "program headers [%#llx, +%#llx) lie outside the %zu-byte file",
                    (unsigned long long)eh->e_phoff, (unsigned long long)phbytes, len);
    return VLAB_OK;
}

int vlab_load_elf64(struct vlab_gpmem *mem, const void *image, size_t len,
                    struct vlab_elf_info *info, char *err, size_t errlen) {
    if (!mem || !image) return fail(err, errlen, VLAB_EINVAL, "no memory or no image");
    const unsigned char *img = image;
    Elf64_Ehdr eh;
    if (len < sizeof eh)
        return fail(err, errlen, VLAB_EINVAL, "truncated ELF header: %zu bytes, need %zu", len,
                    sizeof eh);
    memcpy(&eh, img, sizeof eh); /* the image may be unaligned */
    int rc = check_header(&eh, &elf64, len, err, errlen);
    if (rc != VLAB_OK) return rc;
    Elf64_Phdr *ph = malloc((size_t)eh.e_phnum * sizeof *ph);
    if (!ph) return fail(err, errlen, VLAB_ENOMEM, "out of memory");
    memcpy(ph, img + eh.e_phoff, (size_t)eh.e_phnum * sizeof *ph);
    rc = load_segments(mem, img, len, &eh, ph, info, err, errlen);
    free(ph);
    return rc;
}

/* ELF32 (i386) headers are widened to ELF64 ones: the header checks, the segment checks and the
 * copy are the ELF64 ones, so both classes refuse exactly the same layouts. */
int vlab_load_elf32(struct vlab_gpmem *mem, const void *image, size_t len,
                    struct vlab_elf_info *info, char *err, size_t errlen) {
    if (!mem || !image) return fail(err, errlen, VLAB_EINVAL, "no memory or no image");
    const unsigned char *img = image;
    Elf32_Ehdr n;
    if (len < sizeof n)
        return fail(err, errlen, VLAB_EINVAL, "truncated ELF header: %zu bytes, need %zu", len,
                    sizeof n);
    memcpy(&n, img, sizeof n);
    Elf64_Ehdr eh = {.e_type = n.e_type,
                     .e_machine = n.e_machine,
                     .e_version = n.e_version,
                     .e_entry = n.e_entry,
                     .e_phoff = n.e_phoff,
                     .e_ehsize = n.e_ehsize,
                     .e_phentsize = n.e_phentsize,
                     .e_phnum = n.e_phnum};
    memcpy(eh.e_ident, n.e_ident, EI_NIDENT);
    int rc = check_header(&eh, &elf32, len, err, errlen);
    if (rc != VLAB_OK) return rc;
    Elf64_Phdr *ph = calloc(eh.e_phnum, sizeof *ph);
    if (!ph) return fail(err, errlen, VLAB_ENOMEM, "out of memory");
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf32_Phdr p;
        memcpy(&p, img + eh.e_phoff + (size_t)i * sizeof p, sizeof p);
        ph[i] = (Elf64_Phdr){
            .p_type = p.p_type,
            .p_flags = p.p_flags,
            .p_offset = p.p_offset,
            .p_vaddr = p.p_vaddr,
            .p_paddr = p.p_paddr,
            .p_filesz = p.p_filesz,
            .p_memsz = p.p_memsz,
            .p_align = p.p_align,
        };
    }
    rc = load_segments(mem, img, len, &eh, ph, info, err, errlen);
    free(ph);
    return rc;
}

int vlab_load_elf(struct vlab_gpmem *mem, const void *image, size_t len, struct vlab_elf_info *info,
                  char *err, size_t errlen) {
    if (!mem || !image) return fail(err, errlen, VLAB_EINVAL, "no memory or no image");
    const unsigned char *img = image;
    if (len > EI_CLASS && memcmp(img, ELFMAG, SELFMAG) == 0 && img[EI_CLASS] == ELFCLASS32)
        return vlab_load_elf32(mem, image, len, info, err, errlen);
    return vlab_load_elf64(mem, image, len, info, err, errlen);
}

bool vlab_is_elf(const void *image, size_t len) {
    return image && len >= SELFMAG && memcmp(image, ELFMAG, SELFMAG) == 0;
}

int vlab_load_elf64_file(struct vlab_gpmem *mem, const char *path, struct vlab_elf_info *info,
                         char *err, size_t errlen) {
    void *buf;
    size_t len;
    int rc = vlab_read_file(path, MAX_IMAGE, &buf, &len, err, errlen);
    if (rc != VLAB_OK) return rc;
    rc = vlab_load_elf64(mem, buf, len, info, err, errlen);
    free(buf);
    return rc;
}
