/* libFuzzer harness: core's guest image loaders (ELF64, ELF32, flat) on arbitrary bytes, into a
 * guest memory of two RAM regions with a hole between them. Beyond "no crash, no sanitizer
 * report", it checks the loader's promises (core/include/vlab/loader.h):
 *   - a rejected image leaves guest memory exactly as it was (every byte, both regions);
 *   - an accepted one says where it went: [lowest, highest) lies in guest memory, and the
 *     entry point lands inside it;
 *   - every error comes with a sentence.
 * The first input byte picks the loader and the flat load address; the rest is the image. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vlab/err.h"
#include "vlab/gpmem.h"
#include "vlab/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOW_BASE  0x0ULL
#define LOW_SIZE  0x110000ULL /* 1 MiB + 64 KiB at 0: kernels linked at 1 MiB fit */
#define HIGH_BASE 0x120000ULL /* 64 KiB after a 64 KiB hole that must never be written */
#define HIGH_SIZE 0x10000ULL

static uint8_t low[LOW_SIZE] __attribute__((aligned(4096)));
static uint8_t high[HIGH_SIZE] __attribute__((aligned(4096)));
static uint8_t pattern[LOW_SIZE]; /* what guest memory holds before each load */

static void fill(void) {
    if (!pattern[0]) memset(pattern, 0xa5, sizeof pattern);
    memcpy(low, pattern, sizeof low);
    memcpy(high, pattern, sizeof high);
}

static int untouched(void) {
    return !memcmp(low, pattern, sizeof low) && !memcmp(high, pattern, sizeof high);
}

static int in_guest(uint64_t a, uint64_t b) { /* [a, b) inside one region */
    return (a >= LOW_BASE && b <= LOW_BASE + LOW_SIZE) ||
           (a >= HIGH_BASE && b <= HIGH_BASE + HIGH_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned mode = data[0] & 3;
    /* 960 KiB .. 1.2 MiB: the end of low RAM, the hole, high RAM and past it */
    uint64_t flat_gpa = 0xf0000 + ((uint64_t)(data[0] >> 2) << 12);
    data++, size--;

    struct vlab_gpmem mem;
    vlab_gpmem_init(&mem);
    if (vlab_gpmem_add_region(&mem, LOW_BASE, LOW_SIZE, low, 0, "low") ||
        vlab_gpmem_add_region(&mem, HIGH_BASE, HIGH_SIZE, high, 0, "high"))
        abort();
    fill();

    struct vlab_elf_info info;
    memset(&info, 0xcc, sizeof info);
    char err[256] = "";
    int rc;
    switch (mode) {
    case 0: rc = vlab_load_elf64(&mem, data, size, &info, err, sizeof err); break;
    case 1: rc = vlab_load_elf32(&mem, data, size, &info, err, sizeof err); break;
    case 2: rc = vlab_load_elf(&mem, data, size, &info, err, sizeof err); break;
    default: rc = vlab_load_flat_buf(&mem, data, size, flat_gpa, err, sizeof err); break;
    }

    if (rc != VLAB_OK) {
        if (!untouched()) abort(); /* a rejected image wrote guest memory */
        if (!err[0]) abort();      /* an error without its sentence */
    } else if (mode != 3) {
        /* segments may sit in both regions, the hole between them: each end lies in one */
        if (info.nload && (info.lowest >= info.highest || !in_guest(info.lowest, info.lowest + 1) ||
                           !in_guest(info.highest - 1, info.highest)))
            abort(); /* said it loaded somewhere that is not guest memory */
        if (info.nload && (info.entry_phys < info.lowest || info.entry_phys >= info.highest))
            abort(); /* an entry point outside what was loaded */
    } else if (size && !in_guest(flat_gpa, flat_gpa + size)) {
        abort(); /* a flat image accepted where it does not fit (an empty one loads nothing) */
    }
    vlab_gpmem_destroy(&mem);
    return 0;
}
