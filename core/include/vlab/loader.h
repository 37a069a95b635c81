/* Guest image loading into guest physical memory: flat binaries and ELF64 executables.
 * Every image is validated completely before a byte is written, so a rejected image leaves
 * guest memory untouched; every error comes with a sentence in err. */
#ifndef VLAB_LOADER_H
#define VLAB_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vlab/gpmem.h"

/* A flat binary: the bytes as they are, at gpa. VLAB_ERANGE if they do not fit in guest
 * memory, VLAB_EIO if the file cannot be read. *size (may be NULL) gets the byte count. */
int vlab_load_flat(struct vlab_gpmem *mem, const char *path, uint64_t gpa, uint64_t *size,
                   char *err, size_t errlen);
int vlab_load_flat_buf(struct vlab_gpmem *mem, const void *buf, size_t len, uint64_t gpa, char *err,
                       size_t errlen);

struct vlab_elf_info {
    uint64_t entry;      /* e_entry */
    uint64_t entry_phys; /* where e_entry lands: p_paddr + (e_entry - p_vaddr) of its segment */
    uint64_t lowest, highest; /* [lowest, highest) covers every PT_LOAD's physical range */
    unsigned nload;           /* PT_LOAD segments loaded (empty ones not counted) */
};

/* An ELF64 little-endian x86-64 executable (ET_EXEC): each PT_LOAD is copied to its p_paddr,
 * p_memsz - p_filesz bytes after it are zeroed (bss). Rejected with VLAB_EINVAL: a truncated
 * or malformed header, another class/data/machine/type, program headers outside the file, a
 * segment whose file bytes lie outside the file or whose p_filesz exceeds p_memsz, a bad
 * alignment, overlapping segments, an entry point outside every executable segment,
 * dynamic linking; with VLAB_ERANGE: a segment outside guest memory. */
int vlab_load_elf64(struct vlab_gpmem *mem, const void *image, size_t len,
                    struct vlab_elf_info *info, char *err, size_t errlen);
/* The same for an ELF32 i386 executable (EM_386): the same checks, the same errors; what a
 * Multiboot kernel or a 32-bit protected-mode guest usually is. */
int vlab_load_elf32(struct vlab_gpmem *mem, const void *image, size_t len,
                    struct vlab_elf_info *info, char *err, size_t errlen);
/* Either class, by EI_CLASS (anything but ELFCLASS32 is checked as ELF64). */
int vlab_load_elf(struct vlab_gpmem *mem, const void *image, size_t len, struct vlab_elf_info *info,
                  char *err, size_t errlen);
/* True when the image starts with the ELF magic. */
bool vlab_is_elf(const void *image, size_t len);
int vlab_load_elf64_file(struct vlab_gpmem *mem, const char *path, struct vlab_elf_info *info,
                         char *err, size_t errlen);

/* Reads a whole file into a malloc'd buffer; VLAB_EIO / VLAB_ENOMEM, VLAB_EINVAL for a file of
 * more than max bytes. */
int vlab_read_file(const char *path, size_t max, void **buf, size_t *len, char *err, size_t errlen);

#endif
