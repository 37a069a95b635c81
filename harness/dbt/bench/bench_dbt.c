/* make bench: the translator against direct execution and the oracle on the same guests, in the
 * same run. Per guest: guest instructions (counted by the oracle), wall time of direct
 * execution (compute only), of the translated run and of the oracle (medians of RUNS runs);
 * dispatcher entries with and without chaining, exits and translations per 1,000 guest
 * instructions; the syscall microbenchmark's cost per int/iret round trip. Writes a Markdown
 * table to build/bench/dbt.md and prints it. Reports only: no bound on time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dbt_vm.h"
#include "tool.h"
#include "vlab/stats.h"

#define RUNS 5

enum mode { DIRECT, TRANSLATED, UNCHAINED, ORACLE };

static const char *const guests[] = {"compute",   "timer",    "pushf", "uart",   "sysregs",
                                     "recursion", "indirect", "smc",   "syscall"};

/* One run; NULL when it failed (the message is printed). */
static struct dbt_vm *run(const char *guest, enum mode m, uint64_t *ns) {
    struct dbt_vm_config cfg = {
        .guest = guest, .no_ram_hash = true, .no_chain = m == UNCHAINED, .uart_input = "bench"};
    char err[256];
    struct dbt_vm *vm = dbt_vm_open(&cfg, err, sizeof err);
    if (!vm) {
        fprintf(stderr, "bench-dbt: %s: %s\n", guest, err);
        return NULL;
    }
    uint64_t t0 = vlab_now_ns();
    int rc = m == DIRECT   ? dbt_vm_run_direct(vm)
             : m == ORACLE ? dbt_vm_run_oracle(vm)
                           : dbt_vm_run_translated(vm);
    *ns = vlab_now_ns() - t0;
    if (rc != VLAB_OK) {
        fprintf(stderr, "bench-dbt: %s (%s): %s\n", guest,
                m == DIRECT   ? "direct"
                : m == ORACLE ? "oracle"
                              : "translated",
                vm->err);
        dbt_vm_close(vm);
        return NULL;
    }
    return vm;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median wall time of RUNS runs; *last keeps the counters of the last one. */
static uint64_t median(const char *guest, enum mode m, struct dbt_stats *last) {
    uint64_t t[RUNS];
    for (int i = 0; i < RUNS; i++) {
        struct dbt_vm *vm = run(guest, m, &t[i]);
        if (!vm) return 0;
        if (last) *last = vm->st;
        dbt_vm_close(vm);
    }
    qsort(t, RUNS, sizeof t[0], cmp_u64);
    return t[RUNS / 2];
}

static const char *label(const char *argv0) {
    if (strstr(argv0, "/reference/")) return "reference/dbt";
    if (strstr(argv0, "/labs/")) return "labs/dbt";
    return "dbt";
}

int main(int argc, char **argv) {
    (void)argc;
    char md[16384];
    size_t n = 0;
    n += (size_t)snprintf(
        md + n, sizeof md - n,
        "## dbt: translated vs direct execution (%s), medians of %d runs\n\n"
        "| guest | guest insns | oracle ms | translated ms | dispatches "
        "/1k insns (chained) | (unchained) | emulation exits /1k | CCFs | CCF bytes / "
        "guest byte | µs in dbt_enter per CCF |\n|---|---:|---:|---:|---:|---:|"
        "---:|---:|---:|---:|\n",
        label(argv[0]), RUNS);
    int failed = 0;
    for (size_t g = 0; g < sizeof guests / sizeof guests[0]; g++) {
        struct dbt_stats so = {0}, st = {0}, su = {0};
        uint64_t to = median(guests[g], ORACLE, &so);
        uint64_t tt = median(guests[g], TRANSLATED, &st);
        uint64_t tu = median(guests[g], UNCHAINED, &su);
        if (!to || !tt || !tu) {
            failed = 1;
            continue;
        }
        double k = (double)so.guest_insns / 1000.0;
        uint64_t exits = st.exits_emulate;
        n += (size_t)snprintf(
            md + n, sizeof md - n,
            "| %s | %llu | %.2f | %.2f | %.3f | %.3f | %.3f | %llu | %.1f | %.1f |\n", guests[g],
            (unsigned long long)so.guest_insns, (double)to / 1e6, (double)tt / 1e6,
            (double)st.dispatches / k, (double)su.dispatches / k, (double)exits / k,
            (unsigned long long)st.translations,
            st.guest_bytes ? (double)st.ccf_bytes / (double)st.guest_bytes : 0.0,
            st.translations ? (double)st.enter_ns / 1e3 / (double)st.translations : 0.0);
    }
    /* Direct vs translated on the compute guest: the instruction rate in the same run. */
    struct dbt_stats so = {0};
    uint64_t td = median("compute", DIRECT, NULL), tt = median("compute", TRANSLATED, NULL);
    median("compute", ORACLE, &so);
    if (td && tt) {
        double insns = (double)so.guest_insns;
        n += (size_t)snprintf(md + n, sizeof md - n,
                              "\n| compute guest | M guest insns/s | slowdown |\n|---|---:|---:|\n"
                              "| direct (Unicorn, no virtualization) | %.0f | 1.00x |\n"
                              "| translated (this translator) | %.0f | %.2fx |\n",
                              insns / ((double)td / 1e3), insns / ((double)tt / 1e3),
                              (double)tt / (double)td);
    } else
        failed = 1;
    /* The syscall microbenchmark: int $0x80 + iret, 2000 round trips. */
    struct dbt_stats ss = {0};
    uint64_t tso = median("syscall", ORACLE, NULL), tst = median("syscall", TRANSLATED, &ss);
    if (tso && tst)
        n += (size_t)snprintf(md + n, sizeof md - n,
                              "\n| syscall microbenchmark (2000 x int/iret) | ns per round trip | "
                              "VMM exits per round trip |\n|---|---:|---:|\n"
                              "| trap-and-emulate (the oracle) | %.0f | 2 |\n"
                              "| binary translation | %.0f | %.2f |\n",
                              (double)tso / 2000.0, (double)tst / 2000.0,
                              (double)ss.exits_emulate / 2000.0);
    else
        failed = 1;
    if (hlib_bench_table("dbt", md) == 0) printf("\nwritten to build/bench/dbt.md\n");
    return failed;
}
