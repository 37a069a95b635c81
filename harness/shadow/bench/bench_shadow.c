/* make bench: the same seeded guest workloads under shadow paging and under nested paging, with
 * the deterministic counters the lecture compares (VM exits, hidden faults, emulated page-table
 * writes, memory references per TLB miss and per access), medians over 3 seeds, plus
 * translations per second on the TLB-hit path. Writes build/bench/shadow.md and prints it.
 * Reports only: no bound on time. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "benchjson.h"
#include "sh_machine.h"
#include "sh_os.h"
#include "tool.h"
#include "vlab/stats.h"

#define OPS   100000
#define SEEDS 3
#define HITS  2000000
#define RUNS  7

static struct sh_os os;
/* Keeps the compiler from dropping accesses whose values nobody reads. */
static volatile uint64_t sink;

struct row {
    double exits, hidden, emulated, nfaults, refs_per_miss, refs_per_access, miss_pct, ns_per_op;
};

static double med(double *v) {
    return vlab_median_double(v, SEEDS);
}

/* One workload in one mode, SEEDS seeds, no oracle (the tests check correctness). */
static int run(const struct sh_profile *p, enum sh_mode mode, bool oos, struct row *r, char *err,
               size_t len) {
    double ex[SEEDS], hf[SEEDS], em[SEEDS], nf[SEEDS], rm[SEEDS], ra[SEEDS], mp[SEEDS], ns[SEEDS];
    for (int s = 0; s < SEEDS; s++) {
        struct sh_vm *vm;
        struct sh_vm_config cfg = {.mode = mode, .seed = 100 + (uint64_t)s, .oos = oos};
        int rc = sh_vm_create(&vm, &cfg, err, len);
        if (rc) return rc;
        uint64_t t0 = vlab_now_ns();
        bool ok = sh_os_init(&os, p, 100 + (uint64_t)s, vm, false);
        for (uint64_t i = 0; ok && i < OPS; i++)
            ok = sh_os_step(&os);
        uint64_t t = vlab_now_ns() - t0;
        if (!ok) {
            snprintf(err, len, "%s", os.err);
            sh_os_fini(&os);
            sh_vm_destroy(vm);
            return VLAB_EINVAL;
        }
        const struct sh_counters *c = &vm->c;
        ex[s] = (double)c->exits;
        hf[s] = (double)c->hidden_faults;
        em[s] = (double)c->emulated_writes;
        nf[s] = (double)c->nested_faults;
        rm[s] = c->walks ? (double)c->walk_reads / (double)c->walks : 0;
        ra[s] = (double)c->walk_reads / (double)c->accesses;
        mp[s] = 100.0 * (double)c->tlb_misses / (double)c->accesses;
        ns[s] = (double)t / OPS;
        sh_os_fini(&os);
        sh_vm_destroy(vm);
    }
    *r = (struct row){med(ex), med(hf), med(em), med(nf), med(rm), med(ra), med(mp), med(ns)};
    return VLAB_OK;
}

/* Translations per second when every access hits the TLB: the hardware's fast path, the same
 * in both modes (the TLB caches the final gVA -> hPA translation). */
static double tlb_hit_rate(enum sh_mode mode, char *err, size_t len) {
    struct sh_vm *vm;
    struct sh_vm_config cfg = {.mode = mode, .seed = 1};
    if (sh_vm_create(&vm, &cfg, err, len)) return -1;
    if (!sh_os_init(&os, &sh_profile_pingpong, 1, vm, false) || !sh_os_touch_round(&os, 1)) {
        snprintf(err, len, "%s", os.err);
        sh_os_fini(&os);
        sh_vm_destroy(vm);
        return -1;
    }
    uint64_t t[RUNS], acc = 0;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = vlab_now_ns();
        for (unsigned i = 0; i < HITS; i++) {
            struct sh_outcome o;
            sh_vm_access(vm, 0x10000000ull + 8 * (i & 511), VLAB_ACC_USER, 0, &o);
            acc += o.value;
        }
        t[r] = vlab_now_ns() - t0;
    }
    double per_s = 1e9 * HITS / (double)vlab_median_u64(t, RUNS);
    if (vm->c.tlb_hits < (uint64_t)RUNS * HITS - 1) per_s = -2; /* not the hit path after all */
    sh_os_fini(&os);
    sh_vm_destroy(vm);
    sink = acc;
    return per_s;
}

static void emit(const char *table) {
    hlib_bench_table("shadow", table);
    hlib_bench_json("shadow");
}

/* One row as data: measure.<workload>.<mode>, medians over the seeds. */
static void row_json(const char *workload, const char *mode, const struct row *r) {
    const struct {
        const char *measure, *unit;
        double v;
    } f[] = {{"exits", "VM exits", r->exits},
             {"hidden_faults", "faults", r->hidden},
             {"emulated_writes", "writes", r->emulated},
             {"refs_per_miss", "refs per TLB miss", r->refs_per_miss},
             {"refs_per_access", "refs per access", r->refs_per_access}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        char id[96];
        snprintf(id, sizeof id, "%s.%s.%s", f[i].measure, workload, mode);
        hlib_bench_value(id, f[i].unit, f[i].v, SEEDS, "software model");
    }
}

int main(void) {
    static char table[16384];
    char err[6144];
    size_t n = (size_t)snprintf(
        table, sizeof table,
        "## shadow: shadow paging vs nested paging on the same guest\n\n"
        "Each row: %d operations of the seeded guest kernel (sh_os), medians over seeds "
        "100..%d; counters are the machine's (deterministic per seed). \"refs/miss\": entry "
        "reads of the hardware walk per TLB miss (shadow: the 1-D walk of the shadow table; "
        "nested: the 2-D walk). \"refs/access\": the same over all accesses; TLB misses include "
        "the retried walk after each exit. TLB: %d entries, direct-mapped. shadow+OOS: "
        "out-of-sync leaf shadows (at most 8 at a time).\n\n"
        "| workload | mode | VM exits | hidden faults | emulated PT writes | nested faults | "
        "TLB miss %% | refs/miss | refs/access | ns/op (software model) |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        OPS, 100 + SEEDS - 1, SH_TLB_SIZE);
    const struct sh_profile *ps[] = {&sh_profile_sequential,  &sh_profile_random,
                                     &sh_profile_working_set, &sh_profile_fork,
                                     &sh_profile_clock,       &sh_profile_pingpong};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        for (int m = 0; m < 3; m++) {
            static const char *const mname[] = {"shadow", "shadow+OOS", "nested"};
            struct row r;
            enum sh_mode mode = m == 2 ? SH_MODE_NESTED : SH_MODE_SHADOW;
            int rc = run(ps[i], mode, m == 1, &r, err, sizeof err);
            if (rc) {
                char id[96];
                snprintf(id, sizeof id, "exits.%s.%s", ps[i]->name,
                         m == 0   ? "shadow"
                         : m == 1 ? "shadow_oos"
                                  : "nested");
                hlib_bench_missing(id, "VM exits", "software model", err);
                n += (size_t)snprintf(table + n, sizeof table - n, "| %s | %s | %s |\n",
                                      ps[i]->name, mname[m], err);
                if (rc == VLAB_ENOTIMPL || strstr(err, "not implemented")) break;
                continue;
            }
            row_json(ps[i]->name, m == 0 ? "shadow" : m == 1 ? "shadow_oos" : "nested", &r);
            n += (size_t)snprintf(table + n, sizeof table - n,
                                  "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.1f | %.2f | %.2f | "
                                  "%.0f |\n",
                                  ps[i]->name, mname[m], r.exits, r.hidden, r.emulated, r.nfaults,
                                  r.miss_pct, r.refs_per_miss, r.refs_per_access, r.ns_per_op);
        }
    double hs = tlb_hit_rate(SH_MODE_SHADOW, err, sizeof err);
    double hn = tlb_hit_rate(SH_MODE_NESTED, err, sizeof err);
    snprintf(table + n, sizeof table - n,
             "\nTLB-hit path (%d accesses to one warm page, median of %d runs): shadow %.1f M "
             "translations/s, nested %.1f M translations/s (negative: could not measure).\n",
             HITS, RUNS, hs / 1e6, hn / 1e6);
    emit(table);
    return 0;
}
