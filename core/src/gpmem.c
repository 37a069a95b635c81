#include "vlab/gpmem.h"

#include <string.h>
#include <sys/mman.h>

#include "vlab/err.h"
#include "vlab/x86.h"

void vlab_gpmem_init(struct vlab_gpmem *m) {
    if (m) memset(m, 0, sizeof *m);
}

void vlab_gpmem_destroy(struct vlab_gpmem *m) {
    if (!m) return;
    for (unsigned i = 0; i < m->nregions && i < VLAB_GPMEM_MAX_REGIONS; i++) {
        struct vlab_mem_region *r = &m->region[i];
        if ((r->flags & VLAB_MEM_OWNED) && r->hva) munmap(r->hva, r->size);
    }
    memset(m, 0, sizeof *m);
}

/* Checks shared by both add functions; returns the sorted insertion index or an error. */
static int check_new_region(const struct vlab_gpmem *m, uint64_t gpa, uint64_t size) {
    if (!m || m->nregions > VLAB_GPMEM_MAX_REGIONS) return VLAB_EINVAL;
    if (size == 0 || (gpa | size) & (X86_PAGE_SIZE - 1)) return VLAB_EINVAL;
    /* The exclusive end gpa + size must be representable so every r->gpa + r->size is exact. */
    if (size > UINT64_MAX - gpa) return VLAB_EINVAL;
    if ((uint64_t)(size_t)size != size) return VLAB_EINVAL;
    unsigned pos = 0;
    for (unsigned i = 0; i < m->nregions; i++) {
        const struct vlab_mem_region *r = &m->region[i];
        if (gpa < r->gpa + r->size && r->gpa < gpa + size) return VLAB_EINVAL;
        if (r->gpa < gpa) pos = i + 1;
    }
    if (m->nregions == VLAB_GPMEM_MAX_REGIONS) return VLAB_ENOMEM;
    return (int)pos;
}

static void insert_region(struct vlab_gpmem *m, unsigned pos, uint64_t gpa, uint64_t size,
                          void *hva, unsigned flags, const char *name) {
    memmove(&m->region[pos + 1], &m->region[pos], (m->nregions - pos) * sizeof m->region[0]);
    struct vlab_mem_region *r = &m->region[pos];
    memset(r, 0, sizeof *r);
    r->gpa = gpa;
    r->size = size;
    r->hva = hva;
    r->flags = flags;
    if (name) strncpy(r->name, name, sizeof r->name - 1);
    m->nregions++;
}

int vlab_gpmem_add_ram(struct vlab_gpmem *m, uint64_t gpa, uint64_t size, const char *name) {
    int pos = check_new_region(m, gpa, size);
    if (pos < 0) return pos;
    /* NORESERVE: labs map large sparse guests and touch only a few pages. */
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return VLAB_ENOMEM;
    insert_region(m, (unsigned)pos, gpa, size, p, VLAB_MEM_OWNED, name);
    return VLAB_OK;
}

int vlab_gpmem_add_region(struct vlab_gpmem *m, uint64_t gpa, uint64_t size, void *hva,
                          unsigned flags, const char *name) {
    /* OWNED would make destroy() munmap memory the caller allocated some other way. */
    if (!hva || (flags & ~(unsigned)VLAB_MEM_READONLY)) return VLAB_EINVAL;
    int pos = check_new_region(m, gpa, size);
    if (pos < 0) return pos;
    insert_region(m, (unsigned)pos, gpa, size, hva, flags, name);
    return VLAB_OK;
}

static const struct vlab_mem_region *find(const struct vlab_gpmem *m, uint64_t gpa) {
    unsigned n = m->nregions < VLAB_GPMEM_MAX_REGIONS ? m->nregions : VLAB_GPMEM_MAX_REGIONS;
    for (unsigned i = 0; i < n; i++) {
        const struct vlab_mem_region *r = &m->region[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size) return r;
    }
    return NULL;
}

const struct vlab_mem_region *vlab_gpmem_find(const struct vlab_gpmem *m, uint64_t gpa) {
    return m ? find(m, gpa) : NULL;
}

void *vlab_gpmem_hva(const struct vlab_gpmem *m, uint64_t gpa, size_t len) {
    if (!m) return NULL;
    if (len == 0) len = 1;
    const struct vlab_mem_region *r = find(m, gpa);
    if (!r || len > r->size - (gpa - r->gpa)) return NULL;
    return r->hva + (gpa - r->gpa);
}

/* Validates the whole of [gpa, gpa+len) before any byte moves, so a failed access is a no-op. */
static int check_span(const struct vlab_gpmem *m, uint64_t gpa, size_t len, int for_write) {
    if (len - 1 > UINT64_MAX - gpa) return VLAB_ERANGE; /* wraps past 2^64 */
    int ro = 0;
    uint64_t left = len;
    while (left) {
        const struct vlab_mem_region *r = find(m, gpa);
        if (!r) return VLAB_ERANGE;
        uint64_t avail = r->size - (gpa - r->gpa);
        uint64_t chunk = left < avail ? left : avail;
        if (r->flags & VLAB_MEM_READONLY) ro = 1;
        gpa += chunk;
        left -= chunk;
    }
    return for_write && ro ? VLAB_EINVAL : VLAB_OK;
}

/* Runs after check_span succeeded: every chunk is known to exist. */
static void copy_span(const struct vlab_gpmem *m, uint64_t gpa, uint8_t *out, const uint8_t *in,
                      int fill, size_t len) {
    while (len) {
        const struct vlab_mem_region *r = find(m, gpa);
        uint64_t avail = r->size - (gpa - r->gpa);
        size_t chunk = len < avail ? len : (size_t)avail;
        uint8_t *h = r->hva + (gpa - r->gpa);
        if (out)
            memcpy(out, h, chunk), out += chunk;
        else if (in)
            memcpy(h, in, chunk), in += chunk;
        else
            memset(h, fill, chunk);
        gpa += chunk;
        len -= chunk;
    }
}

int vlab_gpmem_read(const struct vlab_gpmem *m, uint64_t gpa, void *buf, size_t len) {
    if (!m || (!buf && len)) return VLAB_EINVAL;
    if (len == 0) return VLAB_OK;
    int err = check_span(m, gpa, len, 0);
    if (err) return err;
    copy_span(m, gpa, buf, NULL, 0, len);
    return VLAB_OK;
}

int vlab_gpmem_write(struct vlab_gpmem *m, uint64_t gpa, const void *buf, size_t len) {
    if (!m || (!buf && len)) return VLAB_EINVAL;
    if (len == 0) return VLAB_OK;
    int err = check_span(m, gpa, len, 1);
    if (err) return err;
    copy_span(m, gpa, NULL, buf, 0, len);
    return VLAB_OK;
}

int vlab_gpmem_fill(struct vlab_gpmem *m, uint64_t gpa, int byte, size_t len) {
    if (!m) return VLAB_EINVAL;
    if (len == 0) return VLAB_OK;
    int err = check_span(m, gpa, len, 1);
    if (err) return err;
    copy_span(m, gpa, NULL, NULL, byte, len);
    return VLAB_OK;
}

/* Byte-wise little-endian so the guest's view does not depend on the host's byte order. */
static int read_le(const struct vlab_gpmem *m, uint64_t gpa, unsigned n, uint64_t *v) {
    uint8_t b[8];
    int err = vlab_gpmem_read(m, gpa, b, n);
    if (err) return err;
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++)
        x |= (uint64_t)b[i] << (8 * i);
    *v = x;
    return VLAB_OK;
}

static int write_le(struct vlab_gpmem *m, uint64_t gpa, unsigned n, uint64_t v) {
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return vlab_gpmem_write(m, gpa, b, n);
}

#define DEFINE_SCALAR(bits)                                                                        \
    int vlab_gpmem_read_u##bits(const struct vlab_gpmem *m, uint64_t gpa, uint##bits##_t *v) {     \
        if (!v) return VLAB_EINVAL;                                                                \
        uint64_t x;                                                                                \
        int err = read_le(m, gpa, bits / 8, &x);                                                   \
        if (err) return err;                                                                       \
        *v = (uint##bits##_t)x;                                                                    \
        return VLAB_OK;                                                                            \
    }                                                                                              \
    int vlab_gpmem_write_u##bits(struct vlab_gpmem *m, uint64_t gpa, uint##bits##_t v) {           \
        return write_le(m, gpa, bits / 8, v);                                                      \
    }

DEFINE_SCALAR(8)
DEFINE_SCALAR(16)
DEFINE_SCALAR(32)
DEFINE_SCALAR(64)
