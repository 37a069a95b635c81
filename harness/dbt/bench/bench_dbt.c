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

#include <sys/syscall.h>
#include <unistd.h>

#include "benchjson.h"
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

/* The popf demo (tools/part0, built beside this bench): pure trap-and-emulate on a CPU where popf
 * neither traps nor takes effect at CPL 3. Its printed lines are the measurement. */
static void popf_demo(const char *argv0) {
    char cmd[4200];
    const char *slash = strrchr(argv0, '/');
    snprintf(cmd, sizeof cmd, "%.*spart0 2>&1", slash ? (int)(slash - argv0 + 1) : 0, argv0);
    FILE *p = popen(cmd, "r");
    char line[512];
    int traps = -1, if_after_popf = -1, vif = -1;
    while (p && fgets(line, sizeof line, p)) {
        const char *at;
        if ((at = strstr(line, "traps taken: "))) traps = atoi(at + 13);
        if (strstr(line, "IF = 0: no trap") && (at = strstr(line, "shows IF = ")))
            if_after_popf = atoi(at + 11);
        if ((at = strstr(line, "virtual IF is still "))) vif = atoi(at + 20);
    }
    if (!p || pclose(p) != 0 || traps < 0 || if_after_popf < 0 || vif < 0) {
        hlib_bench_missing("popf.trap_and_emulate.traps", "traps", "unicorn", "part0 failed");
        return;
    }
    /* cli, popf (IF = 0), popf (IF = 1): three sensitive instructions, one trap (the cli) */
    hlib_bench_value("popf.trap_and_emulate.sensitive", "instructions", 3, 1, "unicorn");
    hlib_bench_value("popf.trap_and_emulate.traps", "traps", traps, 1, "unicorn");
    hlib_bench_value("popf.trap_and_emulate.if_after_popf0", "IF", if_after_popf, 1, "unicorn");
    hlib_bench_value("popf.trap_and_emulate.vif_after_popf1", "IF", vif, 1, "unicorn");
}

/* A real system call on this host (getppid), no virtualization at all: the floor. */
static double native_syscall_ns(void) {
    uint64_t t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = vlab_now_ns();
        for (int i = 0; i < 100000; i++)
            syscall(SYS_getppid);
        t[r] = vlab_now_ns() - t0;
    }
    qsort(t, RUNS, sizeof t[0], cmp_u64);
    return (double)t[RUNS / 2] / 100000.0;
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
            char id[64];
            snprintf(id, sizeof id, "dispatches_per_1k.chained.%s", guests[g]);
            hlib_bench_missing(id, "per 1k insns", "unicorn", "a run failed (see the bench's log)");
            if (!strcmp(guests[g], "pushf"))
                hlib_bench_missing("popf.translated.flag_exits", "exits", "unicorn",
                                   "a run failed (see the bench's log)");
            failed = 1;
            continue;
        }
        double k = (double)so.guest_insns / 1000.0;
        uint64_t exits = st.exits_emulate;
        char id[64];
        snprintf(id, sizeof id, "dispatches_per_1k.chained.%s", guests[g]);
        hlib_bench_value(id, "per 1k insns", (double)st.dispatches / k, 1, "unicorn");
        snprintf(id, sizeof id, "dispatches_per_1k.unchained.%s", guests[g]);
        hlib_bench_value(id, "per 1k insns", (double)su.dispatches / k, 1, "unicorn");
        snprintf(id, sizeof id, "exits_per_1k.%s", guests[g]);
        hlib_bench_value(id, "per 1k insns", (double)exits / k, 1, "unicorn");
        if (!strcmp(guests[g], "pushf")) /* the popf demo's other half: cli/sti/pushf/popf */
            hlib_bench_value("popf.translated.flag_exits", "exits", (double)st.exits_flags, 1,
                             "unicorn");
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
        hlib_bench_value("compute.direct", "M insns/s", insns / ((double)td / 1e3), RUNS,
                         "unicorn");
        hlib_bench_value("compute.translated", "M insns/s", insns / ((double)tt / 1e3), RUNS,
                         "unicorn");
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
    double native = native_syscall_ns();
    hlib_bench_value("syscall.round_trip.native", "ns", native, RUNS, "host");
    if (tso && tst) {
        hlib_bench_value("syscall.round_trip.trap_and_emulate", "ns", (double)tso / 2000.0, RUNS,
                         "unicorn");
        hlib_bench_value("syscall.round_trip.translated", "ns", (double)tst / 2000.0, RUNS,
                         "unicorn");
        hlib_bench_value("syscall.exits.trap_and_emulate", "exits per round trip", 2, 1, "unicorn");
        hlib_bench_value("syscall.exits.translated", "exits per round trip",
                         (double)ss.exits_emulate / 2000.0, 1, "unicorn");
        n += (size_t)snprintf(md + n, sizeof md - n,
                              "\n| syscall microbenchmark (2000 x int/iret) | ns per round trip | "
                              "VMM exits per round trip |\n|---|---:|---:|\n"
                              "| trap-and-emulate (the oracle) | %.0f | 2 |\n"
                              "| binary translation | %.0f | %.2f |\n",
                              (double)tso / 2000.0, (double)tst / 2000.0,
                              (double)ss.exits_emulate / 2000.0);
        n += (size_t)snprintf(md + n, sizeof md - n,
                              "| native system call on the host (getppid) | %.0f | 0 |\n", native);
    } else {
        hlib_bench_missing("syscall.round_trip.translated", "ns", "unicorn",
                           "a run failed (see the bench's log)");
        failed = 1;
    }
    popf_demo(argv[0]);
    if (hlib_bench_table("dbt", md) == 0) printf("\nwritten to build/bench/dbt.md\n");
    hlib_bench_json("dbt");
    return failed;
}
