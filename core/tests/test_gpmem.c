#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "vlab/err.h"
#include "vlab/gpmem.h"

static struct vlab_gpmem m;

static void setup(void) {
    vlab_gpmem_init(&m);
}
static void teardown(void) {
    vlab_gpmem_destroy(&m);
}

static void add(uint64_t gpa, uint64_t size, const char *name) {
    int rc = vlab_gpmem_add_ram(&m, gpa, size, name);
    cr_assert_eq(rc, VLAB_OK, "expected RAM %s at %#llx+%#llx, got %d", name,
                 (unsigned long long)gpa, (unsigned long long)size, rc);
}

Test(core, gpmem_add_ram_basic, .init = setup, .fini = teardown) {
    add(0x10000, 0x4000, "a-name-that-is-much-longer-than-thirty-one-chars");
    cr_assert_eq(m.nregions, 1, "expected 1 region, got %u", m.nregions);
    const struct vlab_mem_region *r = vlab_gpmem_find(&m, 0x13fff);
    cr_assert_not_null(r, "expected the last byte to be found");
    cr_assert_eq(r->flags, VLAB_MEM_OWNED, "expected OWNED flag, got %#x", r->flags);
    cr_assert_eq(strlen(r->name), 31, "expected the name truncated to 31 chars, got %zu",
                 strlen(r->name));
    cr_assert_null(vlab_gpmem_find(&m, 0x14000), "expected the end to be exclusive");
    cr_assert_null(vlab_gpmem_find(&m, 0xffff), "expected the byte before to be outside");
    uint8_t buf[0x4000];
    memset(buf, 0xee, sizeof buf);
    cr_assert_eq(vlab_gpmem_read(&m, 0x10000, buf, sizeof buf), VLAB_OK, "expected read OK");
    for (size_t i = 0; i < sizeof buf; i++)
        cr_assert_eq(buf[i], 0, "expected zero-filled RAM, byte %zu is %#x", i, buf[i]);
    add(0x20000, 0x1000, NULL);
    cr_assert_str_eq(m.region[1].name, "", "expected an empty name for NULL, got \"%s\"",
                     m.region[1].name);
}

Test(core, gpmem_add_rejects_bad_regions, .init = setup, .fini = teardown) {
    add(0x100000, 0x10000, "base");
    struct {
        const char *what;
        uint64_t gpa, size;
        int want;
    } bad[] = {
        {"misaligned gpa", 0x200800, 0x1000, VLAB_EINVAL},
        {"misaligned size", 0x200000, 0x1800, VLAB_EINVAL},
        {"zero size", 0x200000, 0, VLAB_EINVAL},
        {"exact overlap", 0x100000, 0x10000, VLAB_EINVAL},
        {"overlap at start", 0xff000, 0x2000, VLAB_EINVAL},
        {"overlap at end", 0x10f000, 0x2000, VLAB_EINVAL},
        {"contained", 0x104000, 0x1000, VLAB_EINVAL},
        {"containing", 0x0, 0x200000, VLAB_EINVAL},
        {"wrap-around", 0xfffffffffffff000ull, 0x2000, VLAB_EINVAL},
        {"end at 2^64", 0xfffffffffffff000ull, 0x1000, VLAB_EINVAL},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = vlab_gpmem_add_ram(&m, bad[i].gpa, bad[i].size, bad[i].what);
        cr_assert_eq(rc, bad[i].want, "%s: expected %d, got %d", bad[i].what, bad[i].want, rc);
        static uint8_t host[0x2000];
        rc = vlab_gpmem_add_region(&m, bad[i].gpa, bad[i].size, host, 0, bad[i].what);
        cr_assert_eq(rc, bad[i].want, "%s (add_region): expected %d, got %d", bad[i].what,
                     bad[i].want, rc);
    }
    cr_assert_eq(m.nregions, 1, "expected only the base region, got %u", m.nregions);
    /* Touching but not overlapping is fine. */
    add(0xff000, 0x1000, "below");
    add(0x110000, 0x1000, "above");
    int rc = vlab_gpmem_add_ram(NULL, 0, 0x1000, "x");
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL map, got %d", rc);
    rc = vlab_gpmem_add_region(&m, 0x400000, 0x1000, NULL, 0, "x");
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL hva, got %d", rc);
    static uint8_t host[0x1000];
    rc = vlab_gpmem_add_region(&m, 0x400000, 0x1000, host, VLAB_MEM_OWNED, "x");
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a caller region claiming OWNED, got %d", rc);
}

Test(core, gpmem_regions_sorted_and_full, .init = setup, .fini = teardown) {
    uint64_t order[] = {5, 1, 9, 3, 0, 15, 7, 2, 14, 4, 11, 6, 8, 13, 10, 12};
    for (unsigned i = 0; i < VLAB_GPMEM_MAX_REGIONS; i++)
        add(order[i] * 0x10000, 0x1000, "r");
    for (unsigned i = 0; i < VLAB_GPMEM_MAX_REGIONS; i++)
        cr_assert_eq(m.region[i].gpa, i * 0x10000ull, "slot %u: expected gpa %#llx, got %#llx", i,
                     i * 0x10000ull, (unsigned long long)m.region[i].gpa);
    int rc = vlab_gpmem_add_ram(&m, 0x1000000, 0x1000, "one too many");
    cr_assert_eq(rc, VLAB_ENOMEM, "expected ENOMEM when full, got %d", rc);
    cr_assert_eq(m.nregions, VLAB_GPMEM_MAX_REGIONS, "expected %d regions, got %u",
                 VLAB_GPMEM_MAX_REGIONS, m.nregions);
}

Test(core, gpmem_read_out_of_range, .init = setup, .fini = teardown) {
    add(0x1000, 0x1000, "ram");
    uint8_t buf[16];
    memset(buf, 0x77, sizeof buf);
    int rc = vlab_gpmem_read(&m, 0x3000, buf, 4);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE fully outside, got %d", rc);
    rc = vlab_gpmem_read(&m, 0x1ff8, buf, 16);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a read running off the end, got %d", rc);
    rc = vlab_gpmem_read(&m, 0xff8, buf, 16);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a read starting before, got %d", rc);
    for (size_t i = 0; i < sizeof buf; i++)
        cr_assert_eq(buf[i], 0x77, "expected buffer untouched, byte %zu is %#x", i, buf[i]);
    uint64_t v;
    rc = vlab_gpmem_read_u64(&m, 0x1ffc, &v);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a u64 straddling the end, got %d", rc);
    rc = vlab_gpmem_write_u32(&m, 0x2000, 1);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a write outside, got %d", rc);
    rc = vlab_gpmem_fill(&m, 0x1800, 0, 0x1000);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a fill running off the end, got %d", rc);
    cr_assert_eq(vlab_gpmem_read(&m, 0x1800, buf, 1), VLAB_OK, "expected read OK");
    cr_assert_eq(buf[0], 0, "expected the failed fill to write nothing, got %#x", buf[0]);
}

Test(core, gpmem_wraparound, .init = setup, .fini = teardown) {
    add(0, 0x1000, "low");
    uint8_t buf[8];
    /* A naive end = gpa + len would wrap to 4 and land inside the low region. */
    int rc = vlab_gpmem_read(&m, 0xfffffffffffffffcull, buf, 8);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a wrapping read, got %d", rc);
    rc = vlab_gpmem_write(&m, 0xfffffffffffffffcull, buf, 8);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a wrapping write, got %d", rc);
    rc = vlab_gpmem_read(&m, 0x10, buf, SIZE_MAX);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for len SIZE_MAX, got %d", rc);
    cr_assert_null(vlab_gpmem_hva(&m, 0x10, SIZE_MAX), "expected no hva for len SIZE_MAX");
    cr_assert_null(vlab_gpmem_hva(&m, 0xfffffffffffffffcull, 8), "expected no hva when wrapping");
}

Test(core, gpmem_spanning_adjacent_regions, .init = setup, .fini = teardown) {
    add(0x1000, 0x1000, "a");
    static uint8_t host[0x1000] __attribute__((aligned(4096)));
    cr_assert_eq(vlab_gpmem_add_region(&m, 0x2000, 0x1000, host, 0, "b"), VLAB_OK,
                 "expected region b");
    add(0x3000, 0x1000, "c");
    uint8_t in[0x2008], out[0x2008];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 7 + 3);
    int rc = vlab_gpmem_write(&m, 0x1ff8, in, sizeof in);
    cr_assert_eq(rc, VLAB_OK, "expected a write across three regions, got %d", rc);
    cr_assert_eq(host[0], in[8], "expected region b to receive byte 8, got %#x", host[0]);
    rc = vlab_gpmem_read(&m, 0x1ff8, out, sizeof out);
    cr_assert_eq(rc, VLAB_OK, "expected a read across three regions, got %d", rc);
    cr_assert(memcmp(in, out, sizeof in) == 0, "expected the read to return what was written");
    uint64_t v;
    cr_assert_eq(vlab_gpmem_write_u64(&m, 0x1ffd, 0x1122334455667788ull), VLAB_OK,
                 "expected an unaligned u64 across regions");
    cr_assert_eq(vlab_gpmem_read_u64(&m, 0x1ffd, &v), VLAB_OK, "expected read back");
    cr_assert_eq(v, 0x1122334455667788ull, "expected 0x1122334455667788, got %#llx",
                 (unsigned long long)v);
    cr_assert_null(vlab_gpmem_hva(&m, 0x1ffc, 8), "expected no single hva across regions");
}

Test(core, gpmem_gap_is_out_of_range, .init = setup, .fini = teardown) {
    add(0x1000, 0x1000, "a");
    add(0x3000, 0x1000, "c");
    uint8_t in[0x2008];
    memset(in, 0xab, sizeof in);
    int rc = vlab_gpmem_write(&m, 0x1ffc, in, sizeof in);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE across a hole, got %d", rc);
    uint32_t v = 1;
    cr_assert_eq(vlab_gpmem_read_u32(&m, 0x1ffc, &v), VLAB_OK, "expected read OK");
    cr_assert_eq(v, 0, "expected nothing written before the hole, got %#x", v);
}

Test(core, gpmem_readonly, .init = setup, .fini = teardown) {
    static uint8_t rom[0x1000] __attribute__((aligned(4096)));
    memset(rom, 0x5a, sizeof rom);
    add(0x1000, 0x1000, "ram");
    cr_assert_eq(vlab_gpmem_add_region(&m, 0x2000, 0x1000, rom, VLAB_MEM_READONLY, "rom"), VLAB_OK,
                 "expected ROM added");
    uint8_t b = 0;
    cr_assert_eq(vlab_gpmem_read_u8(&m, 0x2000, &b), VLAB_OK, "expected a ROM read to work");
    cr_assert_eq(b, 0x5a, "expected 0x5a, got %#x", b);
    int rc = vlab_gpmem_write_u8(&m, 0x2000, 1);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL writing ROM, got %d", rc);
    rc = vlab_gpmem_fill(&m, 0x2000, 0, 16);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL filling ROM, got %d", rc);
    uint8_t in[32];
    memset(in, 0xcc, sizeof in);
    rc = vlab_gpmem_write(&m, 0x1ff0, in, sizeof in);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a RAM+ROM write, got %d", rc);
    cr_assert_eq(vlab_gpmem_read_u8(&m, 0x1ff0, &b), VLAB_OK, "expected read OK");
    cr_assert_eq(b, 0, "expected the RAM part untouched, got %#x", b);
    cr_assert_eq(rom[0], 0x5a, "expected the ROM untouched, got %#x", rom[0]);
    rc = vlab_gpmem_write(&m, 0x2ff0, in, sizeof in);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE (outside) to win over read-only, got %d", rc);
}

Test(core, gpmem_scalars_little_endian, .init = setup, .fini = teardown) {
    add(0, 0x1000, "ram");
    cr_assert_eq(vlab_gpmem_write_u32(&m, 0x101, 0x11223344), VLAB_OK, "expected write");
    uint8_t bytes[4];
    cr_assert_eq(vlab_gpmem_read(&m, 0x101, bytes, 4), VLAB_OK, "expected read");
    uint8_t want[4] = {0x44, 0x33, 0x22, 0x11};
    cr_assert(memcmp(bytes, want, 4) == 0, "expected 44 33 22 11, got %02x %02x %02x %02x",
              bytes[0], bytes[1], bytes[2], bytes[3]);
    uint16_t v16;
    cr_assert_eq(vlab_gpmem_read_u16(&m, 0x102, &v16), VLAB_OK, "expected read");
    cr_assert_eq(v16, 0x2233, "expected 0x2233, got %#x", v16);
    cr_assert_eq(vlab_gpmem_write_u16(&m, 0x200, 0xbeef), VLAB_OK, "expected write");
    cr_assert_eq(vlab_gpmem_write_u8(&m, 0x202, 0x7f), VLAB_OK, "expected write");
    uint32_t v32;
    cr_assert_eq(vlab_gpmem_read_u32(&m, 0x200, &v32), VLAB_OK, "expected read");
    cr_assert_eq(v32, 0x007fbeef, "expected 0x007fbeef, got %#x", v32);
    cr_assert_eq(vlab_gpmem_write_u64(&m, 0x300, 0x8877665544332211ull), VLAB_OK, "write");
    uint8_t b7;
    cr_assert_eq(vlab_gpmem_read_u8(&m, 0x307, &b7), VLAB_OK, "expected read");
    cr_assert_eq(b7, 0x88, "expected the top byte last, got %#x", b7);
    int rc = vlab_gpmem_read_u32(&m, 0x100, NULL);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL out, got %d", rc);
}

Test(core, gpmem_hva, .init = setup, .fini = teardown) {
    add(0x4000, 0x2000, "ram");
    uint8_t *base = vlab_gpmem_hva(&m, 0x4000, 0x2000);
    cr_assert_not_null(base, "expected an hva for the whole region");
    cr_assert_eq(vlab_gpmem_hva(&m, 0x4010, 4), base + 0x10, "expected base+0x10");
    cr_assert_eq(vlab_gpmem_hva(&m, 0x5fff, 0), base + 0x1fff,
                 "expected len 0 to be treated as 1 at the last byte");
    cr_assert_null(vlab_gpmem_hva(&m, 0x6000, 0), "expected NULL just past the end");
    cr_assert_null(vlab_gpmem_hva(&m, 0x5fff, 2), "expected NULL running past the end");
    cr_assert_null(vlab_gpmem_hva(NULL, 0x4000, 1), "expected NULL for a NULL map");
    base[0x20] = 0x42;
    uint8_t b;
    cr_assert_eq(vlab_gpmem_read_u8(&m, 0x4020, &b), VLAB_OK, "expected read");
    cr_assert_eq(b, 0x42, "expected the hva to alias guest memory, got %#x", b);
}

Test(core, gpmem_fill_and_zero_length, .init = setup, .fini = teardown) {
    add(0, 0x2000, "ram");
    cr_assert_eq(vlab_gpmem_fill(&m, 0xff0, 0x1ab, 0x20), VLAB_OK, "expected fill OK");
    uint8_t buf[0x22];
    cr_assert_eq(vlab_gpmem_read(&m, 0xfef, buf, sizeof buf), VLAB_OK, "expected read");
    cr_assert_eq(buf[0], 0, "expected the byte before untouched, got %#x", buf[0]);
    for (int i = 1; i <= 0x20; i++)
        cr_assert_eq(buf[i], 0xab, "expected fill byte 0xab at +%d, got %#x", i, buf[i]);
    cr_assert_eq(buf[0x21], 0, "expected the byte after untouched, got %#x", buf[0x21]);
    int rc = vlab_gpmem_read(&m, 0x10000, NULL, 0);
    cr_assert_eq(rc, VLAB_OK, "expected a zero-length read to succeed, got %d", rc);
    rc = vlab_gpmem_read(&m, 0, NULL, 4);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a NULL buffer, got %d", rc);
    rc = vlab_gpmem_write(NULL, 0, buf, 4);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a NULL map, got %d", rc);
    cr_assert_null(vlab_gpmem_find(NULL, 0), "expected NULL find on a NULL map");
}

Test(core, gpmem_destroy_unmaps_owned_only) {
    vlab_gpmem_init(&m);
    static uint8_t host[0x1000] __attribute__((aligned(4096)));
    add(0x10000, 0x3000, "ram");
    cr_assert_eq(vlab_gpmem_add_region(&m, 0x1000, 0x1000, host, 0, "host"), VLAB_OK,
                 "expected host region");
    void *hva = vlab_gpmem_hva(&m, 0x10000, 1);
    unsigned char vec[3];
    cr_assert_eq(mincore(hva, 0x3000, vec), 0, "expected the RAM mapped before destroy");
    vlab_gpmem_destroy(&m);
    cr_assert_eq(m.nregions, 0, "expected an empty map, got %u regions", m.nregions);
    errno = 0;
    int rc = mincore(hva, 0x3000, vec);
    cr_assert(rc == -1 && errno == ENOMEM, "expected the RAM unmapped (mincore ENOMEM), got %d/%d",
              rc, errno);
    host[0] = 1; /* caller memory must still be usable */
    cr_assert_eq(host[0], 1, "expected caller memory intact");
    vlab_gpmem_destroy(&m); /* idempotent */
    vlab_gpmem_destroy(NULL);
}

Test(core, gpmem_large_sparse_ram, .init = setup, .fini = teardown) {
    /* NORESERVE lets a lab declare a big guest while touching a few pages. */
    add(0x100000000ull, 1ull << 30, "big");
    cr_assert_eq(vlab_gpmem_write_u64(&m, 0x100000000ull + (1ull << 30) - 8, 42), VLAB_OK,
                 "expected a write at the top of a 1 GiB region");
}
