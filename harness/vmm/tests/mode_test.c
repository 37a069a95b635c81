/* Task 2 (handout §3): the entry state of each CPU mode, checked field by field and then by
 * running a guest that depends on it. */
#include <stddef.h>

#include "vlab/pt.h"
#include "vlab/x86.h"
#include "vmm_test.h"

/* Boots file in mode on Unicorn and reads the state vmm_setup_mode left in the vCPU. */
static void boot_state(struct tvm *t, enum vmm_mode mode, const char *file, struct vlab_regs *r,
                       struct vlab_sregs *s) {
    tvm_boot(t, VLAB_HV_UNICORN, mode, file);
    cr_assert_eq(vlab_hv_get_regs(t->vm.vcpu, r), VLAB_OK, "expected KVM_GET_REGS to work");
    cr_assert_eq(vlab_hv_get_sregs(t->vm.vcpu, s), VLAB_OK, "expected KVM_GET_SREGS to work");
}

/* The descriptor the guest's GDT holds for a selector, as the CPU would load it. */
static struct x86_segment gdt_entry(struct tvm *t, const struct vlab_sregs *s, uint16_t sel) {
    struct x86_segment d = {0};
    uint64_t raw = 0;
    cr_assert((uint64_t)(sel & ~7u) + 7 <= s->gdt.limit,
              "expected selector %#x inside the GDT (limit %#x) (handout §3.2)", sel, s->gdt.limit);
    cr_assert_eq(vlab_gpmem_read_u64(&t->vm.mem, s->gdt.base + (sel & ~7u), &raw), VLAB_OK,
                 "expected the GDT (base %#llx) in guest RAM (handout §3.2)",
                 (unsigned long long)s->gdt.base);
    x86_desc_decode(raw, &d);
    return d;
}

/* The hidden part the VMM loaded must be what the GDT says: the guest reloads it. */
static void expect_matches_gdt(struct tvm *t, const struct vlab_sregs *s,
                               const struct vlab_seg *seg, const char *name) {
    struct x86_segment d = gdt_entry(t, s, seg->selector);
    uint16_t attr = d.attr;
    cr_assert_eq(d.limit, seg->limit,
                 "%s (selector %#x): the GDT entry's limit %#x (after G scaling) does not match "
                 "the segment register's %#x: the guest's first reload would change it (handout "
                 "§3.2)",
                 name, seg->selector, d.limit, seg->limit);
    cr_assert(d.base == seg->base && (attr & 0xf) == seg->type && !!(attr & X86_SEG_S) == seg->s &&
                  !!(attr & X86_SEG_P) == seg->present && !!(attr & X86_SEG_L) == seg->l &&
                  !!(attr & X86_SEG_DB) == seg->db,
              "%s (selector %#x): the GDT entry in guest memory (base %#llx type %#x S %d P %d L "
              "%d D %d) does not match the segment register (base %#llx type %#x S %d P %d L %d "
              "D %d): the guest's first reload would change it (handout §3.2)",
              name, seg->selector, (unsigned long long)d.base, attr & 0xf, !!(attr & X86_SEG_S),
              !!(attr & X86_SEG_P), !!(attr & X86_SEG_L), !!(attr & X86_SEG_DB),
              (unsigned long long)seg->base, seg->type, seg->s, seg->present, seg->l, seg->db);
}

/* TR: the 104-byte TSS at VMM_TSS_GPA, its limit 0x67, as the GDT's descriptor says. */
static void expect_tss(struct tvm *t, const struct vlab_sregs *s) {
    cr_assert(s->tr.selector == 0x18 && s->tr.base == VMM_TSS_GPA && s->tr.limit == 0x67,
              "expected TR selector 0x18, base %#llx, limit 0x67 (a 104-byte TSS), got %#x base "
              "%#llx limit %#x (handout §3.2)",
              (unsigned long long)VMM_TSS_GPA, s->tr.selector, (unsigned long long)s->tr.base,
              s->tr.limit);
    expect_matches_gdt(t, s, &s->tr, "TR");
}

/* Protected and long mode: CR0.ET and CR0.NE as a boot loader leaves them (VMX requires NE),
 * and the LDT unusable (no LDT: VM entry checks a usable LDTR's descriptor). */
static void expect_cr0_and_ldt(const struct vlab_sregs *s) {
    cr_assert((s->cr0 & (X86_CR0_ET | X86_CR0_NE)) == (X86_CR0_ET | X86_CR0_NE),
              "expected CR0.ET (bit 4) and CR0.NE (bit 5) set, CR0 %#llx (handout §3.2)",
              (unsigned long long)s->cr0);
    cr_assert(s->ldt.unusable,
              "expected the LDT unusable in protected and long mode (no LDT), got LDTR "
              "selector %#x type %#x P %d unusable %d (handout §3.2)",
              s->ldt.selector, s->ldt.type, s->ldt.present, s->ldt.unusable);
}

/* Below VMM_LOAD_GPA the VMM writes its GDT, a zeroed 104-byte TSS and (long mode) its page
 * tables up to tables_end: every other byte is still the zero vmm_create gave it. */
static void expect_low_memory(struct tvm *t, const struct vlab_sregs *s, uint64_t tables_end) {
    const uint8_t *low = vlab_gpmem_hva(&t->vm.mem, 0, VMM_LOAD_GPA);
    cr_assert_not_null(low);
    for (uint64_t a = VMM_TSS_GPA; a < VMM_TSS_GPA + 0x68; a++)
        cr_assert_eq(low[a], 0,
                     "expected the 104-byte TSS at %#llx zeroed, byte %#llx is %#x (handout §3.2)",
                     (unsigned long long)VMM_TSS_GPA, (unsigned long long)a, low[a]);
    for (uint64_t a = 0; a < VMM_LOAD_GPA; a++) {
        bool gdt = a >= VMM_GDT_GPA && a <= VMM_GDT_GPA + s->gdt.limit;
        bool tables = a >= VMM_PT_GPA && a < tables_end;
        cr_assert(gdt || tables || low[a] == 0,
                  "expected nothing written below %#llx but the GDT [%#llx, %#llx], the TSS and "
                  "the page tables [%#llx, %#llx): guest-physical %#llx is %#x (handout §3.2, "
                  "§3.3)",
                  (unsigned long long)VMM_LOAD_GPA, (unsigned long long)VMM_GDT_GPA,
                  (unsigned long long)(VMM_GDT_GPA + s->gdt.limit), (unsigned long long)VMM_PT_GPA,
                  (unsigned long long)tables_end, (unsigned long long)a, low[a]);
    }
}

static void expect_flat(const struct vlab_seg *seg, const char *name, bool code) {
    cr_assert(seg->base == 0 && seg->limit == 0xffffffff && seg->g,
              "%s: expected a flat segment (base 0, limit 0xffffffff, G 1), got base %#llx limit "
              "%#x G %d (handout §3.2)",
              name, (unsigned long long)seg->base, seg->limit, seg->g);
    cr_assert(seg->present && seg->s,
              "%s: expected P = 1 and S = 1 (a code/data segment, not a "
              "system one) (handout §3.2)",
              name);
    if (code)
        cr_assert(seg->type & 0x8,
                  "%s: expected a code segment type (bit 3 set, e.g. 0xb), got "
                  "%#x: VM entry refuses a data segment in CS (handout §3.2)",
                  name, seg->type);
    else
        cr_assert((seg->type & 0xa) == 0x2,
                  "%s: expected a writable data segment type (e.g. 0x3), "
                  "got %#x (handout §3.2)",
                  name, seg->type);
}

static void expect_common(const struct vlab_regs *r, uint64_t rip) {
    cr_assert_eq(r->rip, rip, "expected RIP %#llx, got %#llx (handout §3)", (unsigned long long)rip,
                 (unsigned long long)r->rip);
    cr_assert_eq(r->rsp, VMM_STACK_TOP, "expected RSP %#llx, got %#llx (handout §3)",
                 (unsigned long long)VMM_STACK_TOP, (unsigned long long)r->rsp);
    cr_assert_eq(r->rflags, 0x2, "expected RFLAGS 0x2 (interrupts off), got %#llx (handout §3)",
                 (unsigned long long)r->rflags);
    const uint64_t gpr[] = {r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->r8,
                            r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};
    static const char *const name[] = {"RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R8",
                                       "R9",  "R10", "R11", "R12", "R13", "R14", "R15"};
    for (unsigned i = 0; i < sizeof gpr / sizeof gpr[0]; i++)
        cr_assert_eq(gpr[i], 0,
                     "expected %s 0 at entry (every register but RIP, RSP and RFLAGS), "
                     "got %#llx (handout §3)",
                     name[i], (unsigned long long)gpr[i]);
}

Test(vmm, mode_real_state) {
    struct tvm t;
    struct vlab_regs r;
    struct vlab_sregs s;
    boot_state(&t, VMM_MODE_REAL, "hello_real.bin", &r, &s);
    cr_assert(!(s.cr0 & X86_CR0_PE), "expected CR0.PE clear in real mode, CR0 %#llx (§3.1)",
              (unsigned long long)s.cr0);
    cr_assert(s.cs.selector == 0x1000 && s.cs.base == 0x10000,
              "expected CS = 0x1000 with base 0x10000 (base = selector * 16), got CS %#x base "
              "%#llx (handout §3.1)",
              s.cs.selector, (unsigned long long)s.cs.base);
    cr_assert(s.ds.selector == 0x1000 && s.ds.base == 0x10000 && s.es.base == 0x10000,
              "expected DS = ES = CS (0x1000, base 0x10000), got DS %#x base %#llx, ES base %#llx "
              "(handout §3.1)",
              s.ds.selector, (unsigned long long)s.ds.base, (unsigned long long)s.es.base);
    cr_assert(s.ss.selector == 0 && s.ss.base == 0,
              "expected SS = 0 with base 0, got %#x base %#llx (handout §3.1)", s.ss.selector,
              (unsigned long long)s.ss.base);
    cr_assert(s.cs.limit == 0xffff && s.ds.limit == 0xffff && s.ss.limit == 0xffff,
              "expected 64 KiB limits (0xffff) in real mode, got CS %#x DS %#x SS %#x (§3.1)",
              s.cs.limit, s.ds.limit, s.ss.limit);
    static const struct {
        const char *name;
        size_t at;
    } data[] = {{"ES", offsetof(struct vlab_sregs, es)},
                {"FS", offsetof(struct vlab_sregs, fs)},
                {"GS", offsetof(struct vlab_sregs, gs)}};
    for (unsigned i = 0; i < 3; i++) {
        const struct vlab_seg *seg = (const struct vlab_seg *)((const char *)&s + data[i].at);
        cr_assert(seg->selector == 0x1000 && seg->base == 0x10000 && seg->limit == 0xffff &&
                      seg->present && seg->s && seg->type == 0x3,
                  "expected %s = DS (selector 0x1000, base 0x10000, limit 0xffff, data type 0x3, "
                  "S 1, P 1), got selector %#x base %#llx limit %#x type %#x S %d P %d (§3.1)",
                  data[i].name, seg->selector, (unsigned long long)seg->base, seg->limit, seg->type,
                  seg->s, seg->present);
    }
    cr_assert(s.tr.selector == 0 && s.tr.base == 0 && s.ldt.selector == 0 && s.ldt.base == 0,
              "expected TR and LDTR with selector 0 and base 0 in real mode, got TR %#x base "
              "%#llx, LDTR %#x base %#llx (§3.1)",
              s.tr.selector, (unsigned long long)s.tr.base, s.ldt.selector,
              (unsigned long long)s.ldt.base);
    cr_assert(s.tr.present && !s.tr.s && s.tr.type == X86_SEG_TYPE_TSS_BUSY && s.tr.limit == 0xffff,
              "expected TR a present busy TSS even in real mode (type 0xb, S 0, P 1, limit "
              "0xffff: VMX checks TR in every mode), got type %#x S %d P %d limit %#x (§3.1)",
              s.tr.type, s.tr.s, s.tr.present, s.tr.limit);
    cr_assert(s.ldt.present && !s.ldt.s && s.ldt.type == X86_SEG_TYPE_LDT && s.ldt.limit == 0xffff,
              "expected LDTR a present LDT (type 0x2, S 0, P 1, limit 0xffff) in real mode, got "
              "type %#x S %d P %d limit %#x (§3.1)",
              s.ldt.type, s.ldt.s, s.ldt.present, s.ldt.limit);
    cr_assert(s.gdt.base == 0 && s.gdt.limit == 0xffff && s.idt.base == 0 && s.idt.limit == 0x3ff,
              "expected GDTR base 0 limit 0xffff and IDTR base 0 limit 0x3ff (the vector table) "
              "in real mode, got GDTR %#llx/%#x IDTR %#llx/%#x (§3.1)",
              (unsigned long long)s.gdt.base, s.gdt.limit, (unsigned long long)s.idt.base,
              s.idt.limit);
    cr_assert(!(s.cr0 & (X86_CR0_PE | X86_CR0_PG)),
              "expected CR0.PE and CR0.PG clear in real mode (0x10, ET alone, will do), got %#llx "
              "(§3.1)",
              (unsigned long long)s.cr0);
    expect_common(&r, 0);
    tvm_free(&t);

    /* Where the entry is not at a 64 KiB boundary: CS keeps the block's selector, IP the rest;
     * the last byte below 1 MiB is reachable (CS 0xf000, IP 0xffff), 1 MiB is not. */
    static const struct {
        uint64_t load, entry;
        uint16_t cs;
    } at[] = {{0x12350, 0x12350, 0x1000}, {0, 0xfffff, 0xf000}}; /* 0: ending at 1 MiB */
    for (unsigned i = 0; i < 2; i++) {
        tvm_config(&t, VLAB_HV_UNICORN, VMM_MODE_REAL);
        tvm_read_guest(&t, "boot_sector.bin");
        t.cfg.place_flat = true;
        t.cfg.load_gpa = at[i].load ? at[i].load : 0x100000 - t.len;
        t.cfg.entry_gpa = at[i].entry;
        tvm_boot_cfg(&t, "boot_sector.bin");
        cr_assert_eq(vlab_hv_get_regs(t.vm.vcpu, &r), VLAB_OK);
        cr_assert_eq(vlab_hv_get_sregs(t.vm.vcpu, &s), VLAB_OK);
        cr_assert(s.cs.selector == at[i].cs && s.cs.base == (uint64_t)at[i].cs << 4 &&
                      s.ds.selector == at[i].cs && r.rip == at[i].entry - ((uint64_t)at[i].cs << 4),
                  "entry %#llx: expected CS = DS = %#x (entry >> 4 & 0xf000) and IP %#llx, got CS "
                  "%#x base %#llx, DS %#x, IP %#llx (handout §3.1)",
                  (unsigned long long)at[i].entry, at[i].cs,
                  (unsigned long long)(at[i].entry - ((uint64_t)at[i].cs << 4)), s.cs.selector,
                  (unsigned long long)s.cs.base, s.ds.selector, (unsigned long long)r.rip);
        tvm_free(&t);
    }
    tvm_config(&t, VLAB_HV_UNICORN, VMM_MODE_REAL);
    t.cfg.ram_size = 2u << 20;
    t.cfg.place_flat = true;
    t.cfg.load_gpa = t.cfg.entry_gpa = 0x100000;
    cr_assert_eq(vmm_create(&t.vm, &t.cfg), VLAB_OK, "vmm_create: %s (handout §2.1)", t.vm.err);
    t.created = true;
    tvm_load(&t, "boot_sector.bin");
    int rc = vmm_setup_mode(&t.vm);
    cr_assert(rc == VLAB_EINVAL && t.vm.err[0],
              "expected vmm_setup_mode to refuse a real-mode entry at 1 MiB (VLAB_EINVAL and a "
              "sentence: real mode reaches only [0, 1 MiB)), got %s \"%s\" (handout §3.1)",
              vlab_strerror(rc), t.vm.err);
    tvm_free(&t);
}

Test(vmm, mode_protected_state) {
    struct tvm t;
    struct vlab_regs r;
    struct vlab_sregs s;
    boot_state(&t, VMM_MODE_PROTECTED, "hello_protected.bin", &r, &s);
    cr_assert((s.cr0 & X86_CR0_PE) && !(s.cr0 & X86_CR0_PG),
              "expected CR0.PE set and CR0.PG clear, CR0 %#llx (handout §3.2)",
              (unsigned long long)s.cr0);
    expect_cr0_and_ldt(&s);
    cr_assert(!(s.efer & (X86_EFER_LME | X86_EFER_LMA)),
              "expected EFER.LME and LMA clear in protected mode, EFER %#llx (§3.2)",
              (unsigned long long)s.efer);
    cr_assert_eq(s.gdt.base, VMM_GDT_GPA, "expected the GDT at %#llx, got %#llx (handout §3.2)",
                 (unsigned long long)VMM_GDT_GPA, (unsigned long long)s.gdt.base);
    /* limit = size - 1: the offset of the table's last byte, 8n - 1 for n descriptors, and at
     * least the null, code, data and TSS descriptors' */
    cr_assert((s.gdt.limit & 7) == 7 && s.gdt.limit >= 0x1f,
              "expected GDTR.limit = the GDT's size - 1 (0x1f for null, code, data and TSS), got "
              "%#x (handout §3.2)",
              s.gdt.limit);
    cr_assert(s.cs.selector == 0x08 && s.ds.selector == 0x10 && s.ss.selector == 0x10,
              "expected CS 0x08, DS and SS 0x10, got %#x %#x %#x (handout §3.2)", s.cs.selector,
              s.ds.selector, s.ss.selector);
    expect_flat(&s.cs, "CS", true);
    cr_assert(s.cs.db && !s.cs.l,
              "CS: expected a 32-bit code segment (D = 1, L = 0), got D %d L %d "
              "(handout §3.2)",
              s.cs.db, s.cs.l);
    expect_flat(&s.ds, "DS", false);
    expect_flat(&s.ss, "SS", false);
    expect_flat(&s.es, "ES", false);
    expect_flat(&s.fs, "FS", false);
    expect_flat(&s.gs, "GS", false);
    cr_assert(s.es.selector == 0x10 && s.fs.selector == 0x10 && s.gs.selector == 0x10,
              "expected ES, FS and GS 0x10, got %#x %#x %#x (handout §3.2)", s.es.selector,
              s.fs.selector, s.gs.selector);
    expect_matches_gdt(&t, &s, &s.cs, "CS");
    expect_matches_gdt(&t, &s, &s.ds, "DS");
    cr_assert(s.tr.present && !s.tr.s && s.tr.type == X86_SEG_TYPE_TSS_BUSY,
              "expected TR a present busy TSS (S 0, type 0xb), got P %d S %d type %#x (§3.2)",
              s.tr.present, s.tr.s, s.tr.type);
    expect_tss(&t, &s);
    expect_low_memory(&t, &s, VMM_PT_GPA);
    expect_common(&r, VMM_LOAD_GPA);
    tvm_free(&t);
}

Test(vmm, mode_long_efer) {
    struct tvm t;
    struct vlab_regs r;
    struct vlab_sregs s;
    boot_state(&t, VMM_MODE_LONG, "hello_long.bin", &r, &s);
    cr_assert(s.efer & X86_EFER_LME, "expected EFER.LME (bit 8), EFER %#llx (handout §3.3)",
              (unsigned long long)s.efer);
    cr_assert(s.efer & X86_EFER_LMA,
              "expected EFER.LMA (bit 10) set too: the CPU sets it when paging comes on with "
              "LME, so a VMM loading the state directly must; EFER %#llx (handout §3.3)",
              (unsigned long long)s.efer);
    cr_assert(s.cr4 & X86_CR4_PAE, "expected CR4.PAE, CR4 %#llx (handout §3.3)",
              (unsigned long long)s.cr4);
    cr_assert((s.cr0 & (X86_CR0_PG | X86_CR0_PE)) == (X86_CR0_PG | X86_CR0_PE),
              "expected CR0.PG and CR0.PE, CR0 %#llx (handout §3.3)", (unsigned long long)s.cr0);
    expect_cr0_and_ldt(&s);
    expect_common(&r, VMM_LOAD_GPA);
    tvm_free(&t);
}

Test(vmm, mode_long_code_segment) {
    struct tvm t;
    struct vlab_regs r;
    struct vlab_sregs s;
    boot_state(&t, VMM_MODE_LONG, "hello_long.bin", &r, &s);
    cr_assert_eq(s.cs.selector, 0x08, "expected CS 0x08, got %#x (handout §3.3)", s.cs.selector);
    cr_assert(s.cs.present && s.cs.s && (s.cs.type & 0x8),
              "CS: expected a present code segment (S 1, type bit 3 set, e.g. 0xb), got P %d S "
              "%d type %#x: the descriptor type bits (handout §3.3)",
              s.cs.present, s.cs.s, s.cs.type);
    cr_assert(s.cs.l && !s.cs.db,
              "CS: expected a 64-bit code segment (L = 1 and D = 0; L and D both set is "
              "reserved), got L %d D %d (handout §3.3)",
              s.cs.l, s.cs.db);
    expect_matches_gdt(&t, &s, &s.cs, "CS");
    expect_matches_gdt(&t, &s, &s.ds, "DS");
    cr_assert(s.tr.present && !s.tr.s && s.tr.type == X86_SEG_TYPE_TSS_BUSY,
              "expected TR a busy 64-bit TSS (type 0xb, S 0, P 1), got type %#x S %d P %d (§3.3)",
              s.tr.type, s.tr.s, s.tr.present);
    expect_tss(&t, &s);
    tvm_free(&t);
}

Test(vmm, mode_long_page_tables) {
    struct tvm t;
    struct vlab_regs r;
    struct vlab_sregs s;
    boot_state(&t, VMM_MODE_LONG, "hello_long.bin", &r, &s);
    cr_assert_eq(s.cr3, VMM_PT_GPA, "expected CR3 %#llx, got %#llx (handout §3.3)",
                 (unsigned long long)VMM_PT_GPA, (unsigned long long)s.cr3);
    static const uint64_t va[] = {0,          0x10000,    0x1fffff,     0x200000,  T_RAM - 1,
                                  0x40000000, 0xbfffffff, VMM_BLK_BASE, 0xffffffff};
    struct vlab_paging pg = {.cr0 = s.cr0, .cr4 = s.cr4, .efer = s.efer};
    for (unsigned i = 0; i < sizeof va / sizeof va[0]; i++) {
        struct vlab_walk w;
        int rc = vlab_pt_walk(&t.vm.mem, &pg, s.cr3, va[i], VLAB_ACC_READ, 0, &w);
        cr_assert_eq(rc, VLAB_OK,
                     "expected %#llx mapped (identity, 2 MiB pages), the walk "
                     "says %s (handout §3.3)",
                     (unsigned long long)va[i], vlab_strerror(rc));
        cr_assert(w.gpa == va[i] && w.page_size == X86_PAGE_2M,
                  "expected %#llx -> %#llx through a 2 MiB page, got %#llx through a %#llx-byte "
                  "page (handout §3.3)",
                  (unsigned long long)va[i], (unsigned long long)va[i], (unsigned long long)w.gpa,
                  (unsigned long long)w.page_size);
    }
    struct vlab_walk w;
    cr_assert_neq(vlab_pt_walk(&t.vm.mem, &pg, s.cr3, 1ull << 32, VLAB_ACC_READ, 0, &w), VLAB_OK,
                  "expected nothing mapped at 4 GiB (handout §3.3)");
    expect_low_memory(&t, &s, VMM_PT_END);
    tvm_free(&t);
}

/* Each mode's hello: it prints only if the state is right, then halts. */
static void hello(enum vlab_hv_kind kind, enum vmm_mode mode, const char *file, const char *text,
                  const char *section) {
    struct tvm t;
    tvm_boot(&t, kind, mode, file);
    tvm_run(&t);
    tvm_expect(&t, VMM_HALTED, section);
    cr_assert_str_eq(t.vm.console.buf, text,
                     "expected the guest to print \"%s\", got \"%.200s\" (handout %s)", text,
                     t.vm.console.buf, section);
    tvm_free(&t);
}

VMM_TEST(mode_real_hello) {
    hello(kind, VMM_MODE_REAL, "hello_real.bin", "Hello from real mode!\n", "§3.1");
}
VMM_TEST(mode_protected_hello) {
    hello(kind, VMM_MODE_PROTECTED, "hello_protected.bin", "Hello from protected mode!\n", "§3.2");
}
VMM_TEST(mode_long_hello) {
    hello(kind, VMM_MODE_LONG, "hello_long.bin", "Hello from long mode!\n", "§3.3");
}
