/* Guest physical memory: a set of non-overlapping host-backed regions and bounds-checked
 * accessors. Every accessor returns an error for an address outside the regions; none crashes. */
#ifndef VLAB_GPMEM_H
#define VLAB_GPMEM_H

#include <stddef.h>
#include <stdint.h>

#define VLAB_GPMEM_MAX_REGIONS 16

enum vlab_mem_flags {
    VLAB_MEM_READONLY = 1u << 0, /* guest writes through the accessors fail with VLAB_EINVAL */
    VLAB_MEM_OWNED = 1u << 1,    /* hva was mmapped by vlab_gpmem_add_ram and is unmapped on free */
};

struct vlab_mem_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *hva;
    unsigned flags;
    char name[32];
};

struct vlab_gpmem {
    struct vlab_mem_region region[VLAB_GPMEM_MAX_REGIONS];
    unsigned nregions; /* kept sorted by gpa */
};

/* Zeroed, empty memory map. */
void vlab_gpmem_init(struct vlab_gpmem *m);
/* Unmaps owned regions and empties the map. */
void vlab_gpmem_destroy(struct vlab_gpmem *m);

/* Adds anonymous zero-filled RAM. gpa and size must be 4 KiB aligned, size > 0, no wrap-around
 * (gpa + size <= 2^64 - 1), no overlap with an existing region (VLAB_EINVAL); VLAB_ENOMEM if the
 * map is full or mmap fails. */
int vlab_gpmem_add_ram(struct vlab_gpmem *m, uint64_t gpa, uint64_t size, const char *name);
/* Adds caller-owned host memory (not freed by destroy). Same checks as add_ram. */
int vlab_gpmem_add_region(struct vlab_gpmem *m, uint64_t gpa, uint64_t size, void *hva,
                          unsigned flags, const char *name);

/* The region holding gpa, or NULL. */
const struct vlab_mem_region *vlab_gpmem_find(const struct vlab_gpmem *m, uint64_t gpa);
/* Host pointer for [gpa, gpa+len) when the whole range lies in one region, else NULL.
 * len 0 is treated as 1. */
void *vlab_gpmem_hva(const struct vlab_gpmem *m, uint64_t gpa, size_t len);

/* Copies that may span adjacent regions; VLAB_ERANGE if any byte is outside guest memory
 * (nothing is copied then), VLAB_EINVAL for a write touching a read-only region. */
int vlab_gpmem_read(const struct vlab_gpmem *m, uint64_t gpa, void *buf, size_t len);
int vlab_gpmem_write(struct vlab_gpmem *m, uint64_t gpa, const void *buf, size_t len);
int vlab_gpmem_fill(struct vlab_gpmem *m, uint64_t gpa, int byte, size_t len);

/* Little-endian scalar accessors (unaligned allowed). */
int vlab_gpmem_read_u8(const struct vlab_gpmem *m, uint64_t gpa, uint8_t *v);
int vlab_gpmem_read_u16(const struct vlab_gpmem *m, uint64_t gpa, uint16_t *v);
int vlab_gpmem_read_u32(const struct vlab_gpmem *m, uint64_t gpa, uint32_t *v);
int vlab_gpmem_read_u64(const struct vlab_gpmem *m, uint64_t gpa, uint64_t *v);
int vlab_gpmem_write_u8(struct vlab_gpmem *m, uint64_t gpa, uint8_t v);
int vlab_gpmem_write_u16(struct vlab_gpmem *m, uint64_t gpa, uint16_t v);
int vlab_gpmem_write_u32(struct vlab_gpmem *m, uint64_t gpa, uint32_t v);
int vlab_gpmem_write_u64(struct vlab_gpmem *m, uint64_t gpa, uint64_t v);

#endif
