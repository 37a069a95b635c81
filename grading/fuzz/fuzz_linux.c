/* libFuzzer harness: core's bzImage header parser, the layout planner and the zero page
 * (core/include/vlab/linux.h) on arbitrary bytes. Beyond "no crash, no sanitizer report", it
 * checks their promises:
 *   - every refusal comes with a sentence;
 *   - an accepted header is a 64-bit bzImage of protocol 2.12 or newer whose kernel is the rest
 *     of the file after the setup sectors, and whose header ends inside the file;
 *   - a plan puts the kernel and its init_size, and the initramfs (page-aligned, at most
 *     initrd_addr_max) inside RAM without overlapping, the entry at the kernel + 0x200;
 *   - the zero page holds the file's header byte for byte except the fields the loader fills,
 *     the sentinel at 0x1ef stays 0, and nothing past the header's end but the e820 map.
 * The first two input bytes pick the RAM size (16 MiB .. 3 GiB) and the initramfs length. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vlab/err.h"
#include "vlab/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t get(const uint8_t *p, size_t off, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[off + i];
    return v;
}

/* the fields vlab_linux_boot_params writes over the file's header */
static int filled(size_t off) {
    return off == VLAB_BZ_TYPE_OF_LOADER ||
           (off >= VLAB_BZ_RAMDISK_IMAGE && off < VLAB_BZ_RAMDISK_SIZE + 4) ||
           (off >= VLAB_BZ_CMD_LINE_PTR && off < VLAB_BZ_CMD_LINE_PTR + 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint64_t ram = (16ull << 20) + ((uint64_t)data[0] << 24);
    if (ram > VLAB_LINUX_RAM_MAX) ram = VLAB_LINUX_RAM_MAX + 4096; /* refused */
    size_t initrd = data[1] < 0x80 ? 0 : ((size_t)(data[1] & 0x7f) << 20) + data[1];
    data += 2, size -= 2;

    struct vlab_bzimage bz;
    char err[300] = "";
    if (vlab_bzimage_parse(data, size, &bz, err, sizeof err) != VLAB_OK) {
        if (!err[0]) abort();
        return 0;
    }
    if (bz.version < VLAB_BZ_MIN_VERSION || !(bz.loadflags & VLAB_BZ_LOADED_HIGH) ||
        !(bz.xloadflags & VLAB_BZ_XLF_KERNEL_64) || bz.hdr_end > size ||
        bz.hdr_end < VLAB_BZ_HEADER_MIN_END || bz.kernel_offset + bz.kernel_size != size ||
        bz.kernel_size == 0 || bz.init_size == 0)
        abort();

    struct vlab_linux_layout l;
    err[0] = 0;
    if (vlab_linux_plan(&bz, ram, 10, initrd, &l, err, sizeof err) != VLAB_OK) {
        if (!err[0]) abort();
        return 0;
    }
    if (l.kernel < (1u << 20) || l.kernel_end > ram || l.kernel_end - l.kernel < bz.init_size ||
        l.kernel_end - l.kernel < bz.kernel_size || l.entry != l.kernel + VLAB_BZ_ENTRY64)
        abort(); /* the kernel is not where it can run */
    if (bz.relocatable && l.kernel % bz.kernel_alignment) abort();
    if (initrd && (l.initrd % 4096 || l.initrd < l.kernel_end || l.initrd_size != initrd ||
                   l.initrd + initrd > ram || l.initrd + initrd - 1 > bz.initrd_addr_max))
        abort(); /* the initramfs overlaps the kernel or lies outside what it may use */
    if (l.ne820 > VLAB_LINUX_E820_MAX) abort();
    for (unsigned i = 0; i < l.ne820; i++)
        if (l.e820[i].addr + l.e820[i].size > ram ||
            (i && l.e820[i].addr < l.e820[i - 1].addr + l.e820[i - 1].size))
            abort(); /* the memory map overlaps itself or claims memory past the end of RAM */

    static uint8_t bp[VLAB_BP_SIZE];
    memset(bp, 0xcc, sizeof bp);
    vlab_linux_boot_params(data, size, &bz, &l, bp);
    if (bp[0x1ef] != 0) abort();
    for (size_t i = VLAB_BZ_SETUP_SECTS; i < bz.hdr_end; i++)
        if (!filled(i) && bp[i] != data[i]) abort(); /* the header not copied as it is */
    for (size_t i = bz.hdr_end; i < VLAB_BP_E820_TABLE; i++)
        if (bp[i] != 0) abort(); /* copied past the header's end */
    if (get(bp, VLAB_BZ_RAMDISK_IMAGE, 4) != (uint32_t)l.initrd ||
        get(bp, VLAB_BZ_RAMDISK_SIZE, 4) != (uint32_t)l.initrd_size ||
        get(bp, VLAB_BZ_CMD_LINE_PTR, 4) != l.cmdline || bp[VLAB_BP_E820_ENTRIES] != l.ne820)
        abort();
    return 0;
}
