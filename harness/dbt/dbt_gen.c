/* Random guests for lab dbt: see dbt_gen.h. */
#include "dbt_gen.h"

#include <capstone/capstone.h>
#include <string.h>

#include "rng.h"
#include "vlab/stats.h"

#define SCRATCH   0x8000u /* 16 dwords the safe instructions read and write */
#define SAVESP    0x8104u
#define NO_TARGET 0xffffu

enum kind { RAW, JCC, SITE, PATCH, SLOT, SLOTOP, TABLE, CALL, POPF, STACK, PAD, REP, NKINDS };
static const char *const kind_name[NKINDS] = {"instruction",
                                              "jcc over an instruction",
                                              "patch site (mov $imm, %reg)",
                                              "store into a patch site's immediate",
                                              "data word on a code page",
                                              "access to a data word on a code page",
                                              "indirect jump through a table",
                                              "call whose callee moves the return address",
                                              "popf of an image",
                                              "push onto a code page",
                                              "jump over bytes never run (moves the code on)",
                                              "rep stosb/movsb into a patch site's immediate"};

static const uint8_t regs[] = {0, 1, 2, 3, 6, 7}; /* eax ecx edx ebx esi edi; ebp counts */

/* One random instruction (or a balanced pair) into b; its length. Safe instructions of every
 * shape the translator copies, and cli/sti/pushf/popf/out that it must not. */
static uint8_t one(struct vlab_rng *r, uint8_t *b) {
    uint8_t n = 0, a = regs[vlab_rng_below(r, 6)], c = regs[vlab_rng_below(r, 6)];
    static const uint8_t alu[] = {0x01, 0x29, 0x31, 0x21, 0x09, 0x11, 0x19, 0x39, 0x85};
    static const uint8_t shifts[] = {0, 1, 4, 5, 7}, flagops[] = {0xf8, 0xf9, 0xf5};
    static const unsigned weight[] = {6, 16, 6, 4, 4, 4, 4, 3, 3, 3, 3, 2, 3, 1, 3};
    uint32_t v;
#define B(...) (b[n++] = (uint8_t)(__VA_ARGS__))
#define W(x)   (v = (uint32_t)(x), memcpy(b + n, &v, 4), n += 4)
    switch (vlab_rng_weighted(r, weight, sizeof weight / sizeof weight[0])) {
    case 0: B(0xb8 + a), W(vlab_rng_next(r) & 0xffff); break;
    case 1: B(alu[vlab_rng_below(r, sizeof alu)]), B(0xc0 | c << 3 | a); break;
    case 2: B(0x83), B(0xc0 | vlab_rng_below(r, 8) << 3 | a), B(vlab_rng_next(r)); break;
    case 3: B(vlab_rng_chance(r, 50) ? 0x40 + a : 0x48 + a); break;
    case 4:
        B(0xc1), B(0xc0 | shifts[vlab_rng_below(r, 5)] << 3 | a);
        B(vlab_rng_range(r, 1, 31));
        break;
    case 5: B(0x0f), B(0xaf), B(0xc0 | a << 3 | c); break;
    case 6:
        B(vlab_rng_chance(r, 50) ? 0x89 : 0x8b), B(a << 3 | 5);
        W(SCRATCH + 4 * (uint32_t)vlab_rng_below(r, 16));
        break;
    case 7: B(0x50 + a), B(0x58 + c); break;
    case 8: B(flagops[vlab_rng_below(r, 3)]); break;
    case 9: B(0x0f), B(0x90 + vlab_rng_below(r, 16)), B(0xc0); break;
    case 10: B(0x9c), B(0x58 + a); break;                            /* pushf; pop a */
    case 11: B(0x9c), B(0x01), B(0xc0 | c << 3 | a), B(0x9d); break; /* pushf; add; popf */
    case 12: B(vlab_rng_chance(r, 50) ? 0xfa : 0xfb); break;
    case 13: B(0xe6), B(0x80); break; /* out 0x80, al: drives the timer */
    default: B(0x0f), B(0x4f - vlab_rng_below(r, 16)), B(0xc0 | a << 3 | c); break;
    }
#undef B
#undef W
    return n;
}

void dbt_gen_random(struct dbt_gen *g, uint64_t seed, unsigned items) {
    struct vlab_rng r;
    vlab_rng_seed(&r, seed);
    memset(g, 0, sizeof *g);
    g->seed = seed;
    g->rounds = (unsigned)vlab_rng_range(&r, 2, 5);
    if (items > DBT_GEN_MAX_ITEMS) items = DBT_GEN_MAX_ITEMS;
    static const unsigned weight[NKINDS] = {40, 6, 10, 10, 5, 8, 4, 4, 3, 3, 3, 3};
    uint32_t pad = 0;
    for (unsigned i = 0; i < items; i++) {
        struct dbt_gen_item *it = &g->it[g->n++];
        it->kind = (uint8_t)vlab_rng_weighted(&r, weight, NKINDS);
        it->reg = regs[vlab_rng_below(&r, 6)];
        it->id = (uint16_t)i;
        it->n = (uint8_t)vlab_rng_below(&r, 6);
        switch (it->kind) {
        case RAW:
        case JCC:
            it->len[0] = one(&r, it->bytes[0]), it->form = (uint8_t)vlab_rng_below(&r, 16);
            break;
        case SITE: it->v = (uint32_t)vlab_rng_next(&r); break;
        case PATCH:
            it->form = (uint8_t)vlab_rng_below(&r, 4), it->v = (uint32_t)vlab_rng_next(&r);
            break;
        case SLOT: it->v = (uint32_t)vlab_rng_next(&r); break;
        case SLOTOP:
            it->form = (uint8_t)vlab_rng_below(&r, 5), it->v = (uint32_t)vlab_rng_next(&r);
            break;
        case TABLE:
            for (int k = 0; k < 4; k++) {
                it->len[k] = one(&r, it->bytes[k]);
                if (it->len[k] > 6 || it->bytes[k][0] == 0x9d ||
                    it->bytes[k][it->len[k] - 1] == 0x9d)
                    it->len[k] = 1, it->bytes[k][0] = 0x90;
            }
            break;
        case CALL: it->v = (uint32_t)vlab_rng_range(&r, 1, 6); break;
        case REP:
            it->form = (uint8_t)vlab_rng_below(&r, 2), it->v = (uint32_t)vlab_rng_next(&r);
            break;
        case STACK: it->form = (uint8_t)vlab_rng_below(&r, 2); break;
        case PAD: /* spreads the body over pages, so that blocks straddle them */
            it->v = pad < 12288 ? (uint32_t)vlab_rng_range(&r, 400, 2000) : 0;
            pad += it->v;
            break;
        case POPF: {
            static const uint32_t bits[] = {0x100,   0x4000, 0x40000, 0x200000, 0x10000,
                                            0x20000, 0x200,  0x3000,  0x400,    0x8d5};
            uint32_t img = 0x2;
            for (unsigned k = 0; k < sizeof bits / sizeof bits[0]; k++)
                if (vlab_rng_chance(&r, 30)) img |= bits[k];
            it->v = img & ~0x400u; /* DF stays clear: the string instructions of others */
            break;
        }
        default: break;
        }
    }
    /* What each store aims at: a patch site or a data word, named by its item's id, so that
     * removing other items while minimizing leaves the aim alone. */
    uint16_t site_id[DBT_GEN_MAX_ITEMS], slot_id[DBT_GEN_MAX_ITEMS];
    unsigned ns = 0, nd = 0;
    for (unsigned i = 0; i < g->n; i++) {
        if (g->it[i].kind == SITE) site_id[ns++] = g->it[i].id;
        if (g->it[i].kind == SLOT) slot_id[nd++] = g->it[i].id;
    }
    for (unsigned i = 0; i < g->n; i++) {
        struct dbt_gen_item *it = &g->it[i];
        bool to_site = it->kind == PATCH || it->kind == REP;
        bool to_slot = it->kind == SLOTOP || it->kind == STACK;
        it->target = NO_TARGET;
        if (to_site && ns) it->target = site_id[vlab_rng_below(&r, ns)];
        if (to_slot && nd) it->target = slot_id[vlab_rng_below(&r, nd)];
    }
}

struct out {
    uint8_t *p;
    size_t n;
};
static void b8(struct out *o, uint32_t v) {
    if (o->n < DBT_GEN_CODE_MAX) o->p[o->n] = (uint8_t)v;
    o->n++;
}
static void b32(struct out *o, uint32_t v) {
    for (int i = 0; i < 4; i++)
        b8(o, v >> (8 * i));
}
static void bytes(struct out *o, const uint8_t *b, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        b8(o, b[i]);
}
static uint32_t here(const struct out *o) {
    return DBT_GUEST_BASE + (uint32_t)o->n;
}

/* One layout pass: with site and slot addresses from the previous pass (the instruction sizes
 * do not depend on them), recording this pass's. */
static void layout(const struct dbt_gen *g, struct out *o, const uint32_t *addr_in,
                   uint32_t *addr_out, uint32_t *starts) {
    static uint8_t kind_of[DBT_GEN_MAX_ITEMS]; /* by item id: what is still there */
    memset(kind_of, 0xff, sizeof kind_of);
    for (unsigned i = 0; i < g->n; i++)
        kind_of[g->it[i].id] = g->it[i].kind;
    uint8_t pro[DBT_GEN_PROLOGUE_LEN];
    dbt_gen_timer_prologue(pro);
    bytes(o, pro, sizeof pro);
    b8(o, 0xbd), b32(o, g->rounds);
    uint32_t body = here(o);
    for (unsigned i = 0; i < g->n; i++) {
        const struct dbt_gen_item *it = &g->it[i];
        if (starts) starts[i] = here(o);
        /* the first pass only needs the sizes: any address will do */
        bool aims = it->target != NO_TARGET;
        uint32_t site = aims && kind_of[it->target] == SITE ? addr_in[it->target] + 1 : 0;
        uint32_t slot = aims && kind_of[it->target] == SLOT ? addr_in[it->target] : 0;
        switch (it->kind) {
        case RAW: bytes(o, it->bytes[0], it->len[0]); break;
        case JCC:
            b8(o, 0x70 + (it->form & 15)), b8(o, it->len[0]);
            bytes(o, it->bytes[0], it->len[0]);
            break;
        case SITE:
            addr_out[it->id] = here(o);
            b8(o, 0xb8 + it->reg), b32(o, it->v);
            break;
        case PATCH:
            if (!site) break;
            if (it->form == 0) b8(o, 0xff), b8(o, 0x05), b32(o, site);
            if (it->form == 1) b8(o, 0x83), b8(o, 0x05), b32(o, site), b8(o, it->v);
            if (it->form == 2) b8(o, 0x89), b8(o, it->reg << 3 | 5), b32(o, site);
            if (it->form == 3)
                b8(o, 0x80), b8(o, 0x05), b32(o, site + (it->v & 3)), b8(o, it->v >> 8);
            break;
        case SLOT:
            b8(o, 0xeb), b8(o, 4);
            addr_out[it->id] = here(o);
            b32(o, it->v);
            break;
        case SLOTOP:
            if (!slot) break;
            if (it->form == 0) b8(o, 0xff), b8(o, 0x05), b32(o, slot);
            if (it->form == 1) b8(o, 0x89), b8(o, it->reg << 3 | 5), b32(o, slot);
            if (it->form == 2) b8(o, 0x01), b8(o, it->reg << 3 | 5), b32(o, slot);
            if (it->form == 3) b8(o, 0x8b), b8(o, it->reg << 3 | 5), b32(o, slot);
            if (it->form == 4) b8(o, 0xc7), b8(o, 0x05), b32(o, slot), b32(o, it->v);
            break;
        case TABLE: {
            /* mov %reg, %eax; and $3, %eax; jmp *T(,%eax,4); T: L0..L3; Li: insn; jmp J */
            b8(o, 0x89), b8(o, 0xc0 | it->reg << 3);
            b8(o, 0x83), b8(o, 0xe0), b8(o, 3);
            uint32_t t = here(o) + 7;
            b8(o, 0xff), b8(o, 0x24), b8(o, 0x85), b32(o, t);
            uint32_t l[4], len = 0;
            for (int k = 0; k < 4; k++)
                len += it->len[k] + (k < 3 ? 5u : 0u);
            uint32_t at = t + 16, j = t + 16 + len;
            for (int k = 0; k < 4; k++) {
                l[k] = at;
                at += it->len[k] + (k < 3 ? 5u : 0u);
            }
            for (int k = 0; k < 4; k++)
                b32(o, l[k]);
            for (int k = 0; k < 4; k++) {
                bytes(o, it->bytes[k], it->len[k]);
                if (k < 3) b8(o, 0xe9), b32(o, j - (here(o) + 4));
            }
            break;
        }
        case CALL: {
            /* call F; <v nops>; jmp J; F: addl $v, (%esp); ret; J: */
            uint32_t f = here(o) + 5 + it->v + 2;
            b8(o, 0xe8), b32(o, f - (here(o) + 4));
            for (uint32_t k = 0; k < it->v; k++)
                b8(o, 0x90);
            b8(o, 0xeb), b8(o, 5);
            b8(o, 0x83), b8(o, 0x04), b8(o, 0x24), b8(o, it->v);
            b8(o, 0xc3);
            break;
        }
        case POPF: b8(o, 0x68), b32(o, it->v), b8(o, 0x9d); break;
        case PAD:
            b8(o, 0xe9), b32(o, it->v);
            for (uint32_t k = 0; k < it->v; k++)
                b8(o, 0xcc);
            break;
        case STACK:
            if (!slot) break;
            b8(o, 0x89), b8(o, 0x25), b32(o, SAVESP);
            b8(o, 0xbc), b32(o, slot + 4);
            if (it->form) /* call .+5; pop: a call pushing onto a code page */
                b8(o, 0xe8), b32(o, 0);
            else
                b8(o, 0x50 + it->reg);
            b8(o, 0x58 + regs[it->n % 6]);
            b8(o, 0x8b), b8(o, 0x25), b32(o, SAVESP);
            break;
        case REP: /* 1-4 bytes of a site's immediate, by rep stosb or rep movsb from SCRATCH */
            if (!site) break;
            b8(o, 0xbf), b32(o, site);
            b8(o, 0xb9), b32(o, 1 + (it->v & 3));
            b8(o, 0xfc); /* cld */
            if (it->form)
                b8(o, 0xbe), b32(o, SCRATCH + 4 * ((it->v >> 2) & 15)), b8(o, 0xf3), b8(o, 0xa4);
            else
                b8(o, 0xb0), b8(o, it->v >> 8), b8(o, 0xf3), b8(o, 0xaa);
            break;
        default: break;
        }
    }
    if (starts) starts[g->n] = here(o);
    b8(o, 0x4d);                                            /* dec ebp */
    b8(o, 0x0f), b8(o, 0x85), b32(o, body - (here(o) + 4)); /* jnz body */
    b8(o, 0xfa), b8(o, 0xf4);                               /* cli; hlt */
}

static size_t emit(const struct dbt_gen *g, uint8_t *code, uint32_t *starts) {
    static uint32_t a1[DBT_GEN_MAX_ITEMS], a2[DBT_GEN_MAX_ITEMS];
    for (unsigned i = 0; i < DBT_GEN_MAX_ITEMS; i++)
        a1[i] = 0x1000;
    memset(code, 0, DBT_GEN_CODE_MAX);
    struct out o = {code, 0};
    layout(g, &o, a1, a2, NULL);
    o.n = 0;
    layout(g, &o, a2, a1, starts);
    if (o.n > DBT_GEN_HANDLER - DBT_GUEST_BASE) return 0; /* too long: use fewer items */
    return dbt_gen_timer_tail(code);
}

void dbt_gen_timer_prologue(uint8_t *p) {
    struct out o = {p, 0};
    uint32_t h = DBT_GEN_HANDLER;
    uint32_t lo = (0x08u << 16) | (h & 0xffff), hi = (h & 0xffff0000u) | 0x8e00u;
    b8(&o, 0xc7), b8(&o, 0x05), b32(&o, 0x9000 + 0x20 * 8), b32(&o, lo); /* the gate */
    b8(&o, 0xc7), b8(&o, 0x05), b32(&o, 0x9000 + 0x20 * 8 + 4), b32(&o, hi);
    b8(&o, 0x0f), b8(&o, 0x01), b8(&o, 0x1d), b32(&o, DBT_GEN_IDTDESC); /* lidt */
    b8(&o, 0xb0), b8(&o, 2), b8(&o, 0xe6), b8(&o, 0x40); /* mov al, 2; out 0x40, al */
}

size_t dbt_gen_timer_tail(uint8_t *code) {
    uint8_t *h = code + (DBT_GEN_HANDLER - DBT_GUEST_BASE);
    h[0] = 0xff, h[1] = 0x05; /* inc dword [TICKS] */
    uint32_t t = DBT_GEN_TICKS;
    memcpy(h + 2, &t, 4);
    h[6] = 0xcf; /* iret */
    uint8_t *d = code + (DBT_GEN_IDTDESC - DBT_GUEST_BASE);
    uint16_t lim = 256 * 8 - 1;
    uint32_t base = 0x9000;
    memcpy(d, &lim, 2);
    memcpy(d + 2, &base, 4);
    return DBT_GEN_IDTDESC + 6 - DBT_GUEST_BASE;
}

size_t dbt_gen_emit(const struct dbt_gen *g, uint8_t *code) {
    return emit(g, code, NULL);
}

uint64_t dbt_gen_last_smc_stops, dbt_gen_last_irqs;

int dbt_gen_check(const struct dbt_gen *g, uint32_t tc_size, char *why, size_t len) {
    static uint8_t code[DBT_GEN_CODE_MAX];
    size_t n = emit(g, code, NULL);
    if (!n) {
        snprintf(why, len, "generated guest too long");
        return -1;
    }
    struct dbt_vm_config cfg = {.code = code, .code_len = n, .tc_size = tc_size};
    char err[256];
    struct dbt_vm *o = dbt_vm_open(&cfg, err, sizeof err), *d = NULL;
    int rc = -1;
    if (!o) {
        snprintf(why, len, "%s", err);
        return -1;
    }
    if (dbt_vm_run_oracle(o) != VLAB_OK) {
        snprintf(why, len, "the oracle failed (a generator bug): %s", o->err);
        goto out;
    }
    d = dbt_vm_open(&cfg, err, sizeof err);
    if (!d) {
        snprintf(why, len, "%s", err);
        goto out;
    }
    rc = 1;
    if (dbt_vm_run_translated(d) != VLAB_OK) {
        snprintf(why, len, "the translated run failed: %s", d->err);
        goto out;
    }
    const char *diff = dbt_vm_compare(o, d, why, len);
    rc = diff ? 1 : 0;
    dbt_gen_last_smc_stops = d->st.smc_stops;
    dbt_gen_last_irqs = o->st.irqs;
out:
    dbt_vm_close(o);
    dbt_vm_close(d);
    return rc;
}

unsigned dbt_gen_minimize(struct dbt_gen *g, uint32_t tc_size, double seconds) {
    char why[2048];
    uint64_t until = seconds > 0 ? vlab_now_ns() + (uint64_t)(seconds * 1e9) : UINT64_MAX;
    for (int pass = 0, removed = 1; removed && pass < 4; pass++) {
        removed = 0;
        for (unsigned i = g->n; i-- > 0 && vlab_now_ns() < until;) {
            struct dbt_gen_item keep = g->it[i];
            memmove(&g->it[i], &g->it[i + 1], (g->n - i - 1) * sizeof g->it[0]);
            g->n--;
            if (dbt_gen_check(g, tc_size, why, sizeof why) == 1) {
                removed = 1;
                continue;
            }
            memmove(&g->it[i + 1], &g->it[i], (g->n - i) * sizeof g->it[0]);
            g->it[i] = keep;
            g->n++;
        }
    }
    while (g->rounds > 1 && vlab_now_ns() < until) {
        g->rounds--;
        if (dbt_gen_check(g, tc_size, why, sizeof why) != 1) {
            g->rounds++;
            break;
        }
    }
    return g->n;
}

void dbt_gen_print(const struct dbt_gen *g, FILE *f) {
    static uint8_t code[DBT_GEN_CODE_MAX];
    static uint32_t starts[DBT_GEN_MAX_ITEMS + 1];
    size_t n = emit(g, code, starts);
    if (!n) return;
    csh cs;
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &cs) != CS_ERR_OK) return;
    fprintf(f, "# seed %llu, %u items, %u rounds, loaded at %#x\n", (unsigned long long)g->seed,
            g->n, g->rounds, DBT_GUEST_BASE);
    for (unsigned i = 0; i < g->n; i++) {
        uint32_t from = starts[i], to = starts[i + 1];
        fprintf(f, "# item %u: %s\n", i, kind_name[g->it[i].kind]);
        cs_insn *in = NULL;
        size_t k = cs_disasm(cs, code + (from - DBT_GUEST_BASE), to - from, from, 0, &in);
        for (size_t j = 0; j < k; j++)
            fprintf(f, "  %#06llx  %-7s %s\n", (unsigned long long)in[j].address, in[j].mnemonic,
                    in[j].op_str);
        cs_free(in, k);
    }
    cs_close(&cs);
}
