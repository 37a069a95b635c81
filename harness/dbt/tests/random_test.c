/* Task 1 and 2 (§2, §3): seeded random instruction streams drawn from the safe set (ALU,
 * shifts, multiplies, memory moves, push/pop, flag twiddling, short forward branches) and the
 * sensitive one (cli, sti, pushf, popf, out to a port that drives the virtual timer), with
 * forward jcc in both encodings (7x rel8 and 0F 8x rel32), looped so that chained CCFs run them
 * again. A failure names its seed. */
#include "dbt_gen.h"
#include "dbt_test.h"
#include "rng.h"

#define SEEDS   24
#define INSNS   160
#define ROUNDS  12
#define SCRATCH 0x8000u /* 16 dwords the stream reads and writes */

struct gen {
    uint8_t b[16384];
    size_t n;
};

static void u8(struct gen *g, uint8_t v) {
    g->b[g->n++] = v;
}
static void u32(struct gen *g, uint32_t v) {
    memcpy(g->b + g->n, &v, 4);
    g->n += 4;
}

static const uint8_t regs[] = {0, 1, 2, 3, 6, 7}; /* eax ecx edx ebx esi edi; ebp counts */

/* One random instruction (or a balanced pair) into g. */
static void one(struct gen *g, struct vlab_rng *r) {
    uint8_t a = regs[vlab_rng_below(r, 6)], c = regs[vlab_rng_below(r, 6)];
    static const uint8_t alu[] = {0x01, 0x29, 0x31, 0x21, 0x09, 0x11, 0x19, 0x39, 0x85};
    static const unsigned weight[] = {6, 20, 6, 4, 4, 4, 4, 3, 3, 3, 3, 2, 3, 2, 3};
    switch (vlab_rng_weighted(r, weight, sizeof weight / sizeof weight[0])) {
    case 0: u8(g, 0xb8 + a), u32(g, (uint32_t)vlab_rng_next(r) & 0xffff); break;
    case 1: u8(g, alu[vlab_rng_below(r, sizeof alu)]), u8(g, (uint8_t)(0xc0 | c << 3 | a)); break;
    case 2:
        u8(g, 0x83), u8(g, (uint8_t)(0xc0 | vlab_rng_below(r, 8) << 3 | a)),
            u8(g, (uint8_t)vlab_rng_next(r));
        break;
    case 3: u8(g, (uint8_t)(vlab_rng_chance(r, 50) ? 0x40 + a : 0x48 + a)); break;
    case 4:
        u8(g, 0xc1),
            u8(g, (uint8_t)(0xc0 | (uint8_t[]){0, 1, 4, 5, 7}[vlab_rng_below(r, 5)] << 3 | a)),
            u8(g, (uint8_t)vlab_rng_range(r, 1, 31));
        break;
    case 5: u8(g, 0x0f), u8(g, 0xaf), u8(g, (uint8_t)(0xc0 | a << 3 | c)); break;
    case 6: /* mov [scratch], r / mov r, [scratch] */
        u8(g, vlab_rng_chance(r, 50) ? 0x89 : 0x8b), u8(g, (uint8_t)(a << 3 | 5));
        u32(g, SCRATCH + 4 * (uint32_t)vlab_rng_below(r, 16));
        break;
    case 7: u8(g, 0x50 + a), u8(g, 0x58 + c); break;                           /* push a; pop c */
    case 8: u8(g, (uint8_t[]){0xf8, 0xf9, 0xf5}[vlab_rng_below(r, 3)]); break; /* clc stc cmc */
    case 9:
        u8(g, 0x0f), u8(g, (uint8_t)(0x90 + vlab_rng_below(r, 16))), u8(g, 0xc0);
        break;                                    /* setcc al */
    case 10: u8(g, 0x9c), u8(g, 0x58 + a); break; /* pushf; pop a */
    case 11: u8(g, 0x9c), u8(g, 0x01), u8(g, (uint8_t)(0xc0 | c << 3 | a)), u8(g, 0x9d); break;
    case 12: u8(g, vlab_rng_chance(r, 50) ? 0xfa : 0xfb); break; /* cli / sti */
    case 13: u8(g, 0xe6), u8(g, 0x80); break;                    /* out 0x80, al */
    default:
        u8(g, 0x0f), u8(g, 0x4f - (uint8_t)vlab_rng_below(r, 16)),
            u8(g, (uint8_t)(0xc0 | a << 3 | c));
        break; /* cmovcc */
    }
}

static size_t generate(uint64_t seed, uint8_t *out) {
    struct gen g = {.n = 0};
    struct vlab_rng r;
    vlab_rng_seed(&r, seed);
    dbt_gen_timer_prologue(g.b + g.n);
    g.n += DBT_GEN_PROLOGUE_LEN;
    u8(&g, 0xbd), u32(&g, ROUNDS); /* mov ebp, ROUNDS */
    size_t body = g.n;
    for (int i = 0; i < INSNS; i++) {
        if (vlab_rng_chance(&r, 8)) { /* jcc forward over the next instruction */
            size_t at = g.n;
            uint8_t cc = (uint8_t)vlab_rng_below(&r, 16);
            if (vlab_rng_chance(&r, 33)) { /* the 0F 8x rel32 form: its condition is byte 2 */
                u8(&g, 0x0f), u8(&g, (uint8_t)(0x80 + cc)), u32(&g, 0);
                one(&g, &r);
                uint32_t d = (uint32_t)(g.n - at - 6);
                memcpy(g.b + at + 2, &d, 4);
            } else {
                u8(&g, (uint8_t)(0x70 + cc)), u8(&g, 0);
                one(&g, &r);
                g.b[at + 1] = (uint8_t)(g.n - at - 2);
            }
        } else {
            one(&g, &r);
        }
    }
    u8(&g, 0x4d);                                                      /* dec ebp */
    u8(&g, 0x0f), u8(&g, 0x85), u32(&g, (uint32_t)(body - (g.n + 4))); /* jnz body */
    u8(&g, 0xfa), u8(&g, 0xf4);                                        /* cli; hlt */
    memcpy(out, g.b, g.n);
    return g.n;
}

Test(dbt, translate_random_streams, .timeout = DBT_TIMEOUT) {
    static uint8_t code[0x7200 - DBT_GUEST_BASE];
    uint64_t irqs = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        memset(code, 0, sizeof code);
        size_t n = generate(seed, code);
        cr_assert_lt(n, DBT_GEN_HANDLER - DBT_GUEST_BASE,
                     "generated stream too long (harness bug)");
        /* the handler and the IDT descriptor, at fixed places after the stream */
        struct dbt_vm_config cfg = {.code = code, .code_len = dbt_gen_timer_tail(code)};
        struct dbt_vm *o = dbt_t_oracle(&cfg);
        struct dbt_vm *dv = dbt_t_translated(&cfg, SEC_TRANSLATE);
        char buf[2048];
        const char *diff = dbt_vm_compare(o, dv, buf, sizeof buf);
        cr_assert_null(diff,
                       "random stream seed %llu (%d instructions, %d rounds): expected the "
                       "translated run to look exactly like the oracle's, but %s %s",
                       (unsigned long long)seed, INSNS, ROUNDS, diff, SEC_TRANSLATE);
        irqs += o->st.irqs;
        dbt_vm_close(o);
        dbt_vm_close(dv);
    }
    /* The streams are only a test of the interrupt window if interrupts happen in them. */
    cr_assert_gt(irqs, SEEDS,
                 "expected the random streams to take timer interrupts, the oracle "
                 "took %llu (a harness problem) %s",
                 (unsigned long long)irqs, SEC_IRQ);
}
