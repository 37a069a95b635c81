/* The block device's backing store: bytes that are a function of their offset and a seed, so
 * a test can tell which sector landed where without keeping a copy. */
#include <stdlib.h>

#include "vmm.h"

uint8_t vmm_disk_pattern(uint64_t offset, uint64_t seed) {
    uint64_t x = (offset + 1) * 0x9e3779b97f4a7c15ull ^ seed;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return (uint8_t)(x >> 56);
}

int vmm_disk_create(struct vmm_disk *disk, uint32_t sectors, uint64_t seed) {
    size_t n = (size_t)sectors * VMM_BLK_SECTOR_SIZE;
    disk->data = malloc(n ? n : 1);
    if (!disk->data) return VLAB_ENOMEM;
    for (size_t i = 0; i < n; i++)
        disk->data[i] = vmm_disk_pattern(i, seed);
    disk->sectors = sectors;
    return VLAB_OK;
}

void vmm_disk_destroy(struct vmm_disk *disk) {
    free(disk->data);
    disk->data = NULL;
    disk->sectors = 0;
}
