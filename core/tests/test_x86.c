#include <criterion/criterion.h>
#include <string.h>

#include "vlab/err.h"
#include "vlab/x86.h"

Test(core, x86_exception_names) {
    struct {
        unsigned v;
        const char *name;
    } known[] = {{0, "#DE"}, {1, "#DB"},  {2, "NMI"},  {3, "#BP"},  {6, "#UD"},
                 {8, "#DF"}, {13, "#GP"}, {14, "#PF"}, {18, "#MC"}, {21, "#CP"}};
    for (unsigned i = 0; i < sizeof known / sizeof known[0]; i++)
        cr_assert_str_eq(x86_exception_name(known[i].v), known[i].name,
                         "vector %u: expected %s, got %s", known[i].v, known[i].name,
                         x86_exception_name(known[i].v));
    unsigned reserved[] = {9, 15, 22, 31, 32, 255, 0xffffffffu};
    for (unsigned i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        cr_assert_str_eq(x86_exception_name(reserved[i]), "#??", "vector %u: expected #??, got %s",
                         reserved[i], x86_exception_name(reserved[i]));
}

Test(core, x86_exception_error_codes) {
    for (unsigned v = 0; v < 256; v++) {
        bool want =
            v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21;
        cr_assert_eq(x86_exception_has_error_code(v), want, "vector %u: expected %s error code", v,
                     want ? "an" : "no");
    }
}

Test(core, x86_canonical_and_indices) {
    cr_assert(x86_is_canonical(0x00007fffffffffffull), "expected the top of the low half OK");
    cr_assert(x86_is_canonical(0xffff800000000000ull), "expected the bottom of the high half OK");
    cr_assert(!x86_is_canonical(0x0000800000000000ull), "expected 0x0000800000000000 rejected");
    cr_assert(!x86_is_canonical(0xffff7fffffffffffull), "expected 0xffff7fffffffffff rejected");
    uint64_t c = x86_canonicalize(0x0000800000000000ull);
    cr_assert_eq(c, 0xffff800000000000ull, "expected sign extension, got %#llx",
                 (unsigned long long)c);
    uint64_t va = (1ull << 39) * 0x1a5 | (1ull << 30) * 3 | (1ull << 21) * 0x100 | 0x7000;
    unsigned want[5] = {0, 7, 0x100, 3, 0x1a5};
    for (int l = 1; l <= 4; l++)
        cr_assert_eq(x86_pt_index(va, l), want[l], "level %d: expected index %#x, got %#x", l,
                     want[l], x86_pt_index(va, l));
}

Test(core, x86_desc_known_values) {
    struct {
        const char *what;
        uint32_t base, limit;
        uint16_t attr;
        uint64_t want;
    } k[] = {
        {"flat code32", 0, 0xffffffff, X86_ATTR_CODE32, 0x00cf9b000000ffffull},
        {"code64", 0, 0xffffffff, X86_ATTR_CODE64, 0x00af9b000000ffffull},
        {"flat data32", 0, 0xffffffff, X86_ATTR_DATA32, 0x00cf93000000ffffull},
        {"code16", 0x12345, 0xffff, X86_ATTR_CODE16, 0x00009b012345ffffull},
        {"dpl3 data, high base", 0xdeadbeef, 0xfffff, X86_ATTR_DATA16 | X86_SEG_DPL(3),
         0xde0ff3adbeefffffull},
    };
    for (unsigned i = 0; i < sizeof k / sizeof k[0]; i++) {
        uint64_t got = x86_desc_encode(k[i].base, k[i].limit, k[i].attr);
        cr_assert_eq(got, k[i].want, "%s: expected %#018llx, got %#018llx", k[i].what,
                     (unsigned long long)k[i].want, (unsigned long long)got);
        struct x86_segment s;
        x86_desc_decode(k[i].want, &s);
        cr_assert_eq(s.base, k[i].base, "%s: expected base %#x, got %#llx", k[i].what, k[i].base,
                     (unsigned long long)s.base);
        cr_assert_eq(s.limit, k[i].limit, "%s: expected limit %#x, got %#x", k[i].what, k[i].limit,
                     s.limit);
        cr_assert_eq(s.attr, k[i].attr, "%s: expected attr %#x, got %#x", k[i].what, k[i].attr,
                     s.attr);
        cr_assert_eq(s.selector, 0, "%s: expected selector 0, got %#x", k[i].what, s.selector);
    }
}

Test(core, x86_desc_round_trip) {
    uint32_t bases[] = {0, 1, 0xfff, 0x123456, 0x80000000u, 0xffffffffu};
    uint32_t raw_limits[] = {0, 1, 0xffff, 0x10000, 0x7ffff, 0xfffff};
    uint16_t attrs[] = {X86_ATTR_CODE16,
                        X86_ATTR_DATA16,
                        X86_ATTR_CODE32,
                        X86_ATTR_DATA32,
                        X86_ATTR_CODE64,
                        X86_SEG_TYPE_TSS_BUSY | X86_SEG_P | X86_SEG_AVL,
                        X86_SEG_TYPE_LDT | X86_SEG_P | X86_SEG_DPL(2)};
    for (unsigned a = 0; a < sizeof attrs / sizeof attrs[0]; a++)
        for (unsigned bi = 0; bi < sizeof bases / sizeof bases[0]; bi++)
            for (unsigned li = 0; li < sizeof raw_limits / sizeof raw_limits[0]; li++) {
                uint32_t limit =
                    (attrs[a] & X86_SEG_G) ? raw_limits[li] << 12 | 0xfff : raw_limits[li];
                uint64_t d = x86_desc_encode(bases[bi], limit, attrs[a]);
                struct x86_segment s;
                memset(&s, 0xff, sizeof s);
                x86_desc_decode(d, &s);
                if (s.base != bases[bi] || s.limit != limit || s.attr != attrs[a])
                    cr_assert_fail("base %#x limit %#x attr %#x: expected a round trip, got "
                                   "base %#llx limit %#x attr %#x (desc %#llx)",
                                   bases[bi], limit, attrs[a], (unsigned long long)s.base, s.limit,
                                   s.attr, (unsigned long long)d);
            }
}

Test(core, x86_desc_unencodable_limits) {
    uint64_t d = x86_desc_encode(0, 0x100000, X86_ATTR_DATA16);
    cr_assert_eq(d, 0, "expected 0 for a byte limit above 0xfffff, got %#llx",
                 (unsigned long long)d);
    d = x86_desc_encode(0, 0x1000, X86_ATTR_DATA32);
    cr_assert_eq(d, 0, "expected 0 for a G limit without low 12 bits set, got %#llx",
                 (unsigned long long)d);
    d = x86_desc_encode(0, 0xffe, X86_ATTR_DATA32);
    cr_assert_eq(d, 0, "expected 0 for G limit 0xffe, got %#llx", (unsigned long long)d);
    d = x86_desc_encode(0, 0xfff, X86_ATTR_DATA32);
    cr_assert_eq(d, 0x00c0930000000000ull, "expected G limit 0xfff to store 0, got %#llx",
                 (unsigned long long)d);
    /* Bits 11:8 of the attributes have no place in a descriptor. */
    d = x86_desc_encode(0, 0xffff, X86_ATTR_DATA16 | 0xf00);
    cr_assert_eq(d, x86_desc_encode(0, 0xffff, X86_ATTR_DATA16),
                 "expected attr bits 11:8 ignored, got %#llx", (unsigned long long)d);
    x86_desc_decode(d, NULL); /* must not crash */
}

Test(core, x86_gdt_selectors) {
    struct x86_gdt g;
    memset(&g, 0xff, sizeof g);
    x86_gdt_init(&g);
    cr_assert_eq(g.count, 1, "expected only the null descriptor, got count %u", g.count);
    cr_assert_eq(g.entry[0], 0, "expected a zero null descriptor, got %#llx",
                 (unsigned long long)g.entry[0]);
    cr_assert_eq(g.entry[1], 0, "expected the table zeroed");
    int sel = x86_gdt_add(&g, 0, 0xffffffff, X86_ATTR_CODE64);
    cr_assert_eq(sel, 0x08, "expected selector 0x08, got %#x", sel);
    sel = x86_gdt_add(&g, 0, 0xffffffff, X86_ATTR_DATA32);
    cr_assert_eq(sel, 0x10, "expected selector 0x10, got %#x", sel);
    sel = x86_gdt_add(&g, 0, 0xffffffff, X86_ATTR_CODE64 | X86_SEG_DPL(3));
    cr_assert_eq(sel, 0x1b, "expected selector 0x1b (RPL 3), got %#x", sel);
    cr_assert_eq(g.entry[1], 0x00af9b000000ffffull, "expected the code64 descriptor, got %#llx",
                 (unsigned long long)g.entry[1]);
    cr_assert_eq(x86_gdt_size(&g), 32, "expected 32 bytes, got %u", x86_gdt_size(&g));
    cr_assert_eq(x86_gdt_limit(&g), 31, "expected limit 31, got %u", x86_gdt_limit(&g));
    int rc = x86_gdt_add(&g, 0, 0x1000, X86_ATTR_DATA32);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for an unencodable limit, got %d", rc);
    cr_assert_eq(g.count, 4, "expected count unchanged at 4, got %u", g.count);
    rc = x86_gdt_add(NULL, 0, 0xffff, X86_ATTR_DATA16);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL, got %d", rc);
}

Test(core, x86_gdt_full) {
    struct x86_gdt g;
    x86_gdt_init(&g);
    for (unsigned i = 1; i < X86_GDT_MAX; i++) {
        int sel = x86_gdt_add(&g, 0, 0xffff, X86_ATTR_DATA16);
        cr_assert_eq(sel, (int)(i << 3), "entry %u: expected selector %#x, got %#x", i, i << 3,
                     sel);
    }
    int rc = x86_gdt_add(&g, 0, 0xffff, X86_ATTR_DATA16);
    cr_assert_eq(rc, VLAB_ENOMEM, "expected ENOMEM when full, got %d", rc);
    rc = x86_gdt_add_system64(&g, 0, 0x67, X86_SEG_TYPE_TSS_AVAIL | X86_SEG_P);
    cr_assert_eq(rc, VLAB_ENOMEM, "expected ENOMEM for a TSS when full, got %d", rc);
    cr_assert_eq(g.count, X86_GDT_MAX, "expected count %d, got %u", X86_GDT_MAX, g.count);
    cr_assert_eq(x86_gdt_limit(&g), X86_GDT_MAX * 8 - 1, "expected limit %d, got %u",
                 X86_GDT_MAX * 8 - 1, x86_gdt_limit(&g));
}

Test(core, x86_gdt_system64) {
    struct x86_gdt g;
    x86_gdt_init(&g);
    x86_gdt_add(&g, 0, 0xffffffff, X86_ATTR_CODE64);
    int sel =
        x86_gdt_add_system64(&g, 0xffff888012345678ull, 0x67, X86_SEG_TYPE_TSS_AVAIL | X86_SEG_P);
    cr_assert_eq(sel, 0x10, "expected selector 0x10, got %#x", sel);
    cr_assert_eq(g.count, 4, "expected two slots used (count 4), got %u", g.count);
    cr_assert_eq(g.entry[2], 0x1200893456780067ull,
                 "expected low half 0x1200893456780067, got %#llx", (unsigned long long)g.entry[2]);
    cr_assert_eq(g.entry[3], 0xffff8880ull, "expected high half 0xffff8880, got %#llx",
                 (unsigned long long)g.entry[3]);
    /* With one slot left a 16-byte descriptor cannot fit. */
    while (g.count < X86_GDT_MAX - 1)
        x86_gdt_add(&g, 0, 0xffff, X86_ATTR_DATA16);
    int rc = x86_gdt_add_system64(&g, 0, 0x67, X86_SEG_TYPE_TSS_AVAIL | X86_SEG_P);
    cr_assert_eq(rc, VLAB_ENOMEM, "expected ENOMEM with one free slot, got %d", rc);
    cr_assert_eq(g.count, X86_GDT_MAX - 1, "expected count unchanged, got %u", g.count);
    sel = x86_gdt_add(&g, 0, 0xffff, X86_ATTR_DATA16);
    cr_assert_eq(sel, (X86_GDT_MAX - 1) << 3, "expected the last slot still usable, got %#x", sel);
}
