#include "benchjson.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MAX_VALUES 512

struct value {
    char measure[96], unit[24], on[40], why[160];
    double value;
    unsigned runs;
    bool missing;
};
static struct value values[MAX_VALUES];
static unsigned nvalues;

/* Truncating copy (snprintf would do, but GCC warns on every truncation it can foresee). */
static void copy(char *dst, size_t len, const char *src) {
    size_t i = 0;
    for (; src && src[i] && i + 1 < len; i++)
        dst[i] = src[i];
    dst[i] = 0;
}

void hlib_bench_value(const char *measure, const char *unit, double value, unsigned runs,
                      const char *on) {
    if (nvalues == MAX_VALUES) return;
    struct value *v = &values[nvalues++];
    copy(v->measure, sizeof v->measure, measure);
    copy(v->unit, sizeof v->unit, unit);
    copy(v->on, sizeof v->on, on);
    v->why[0] = 0;
    /* NaN and infinities are not JSON: a value that did not come out is a missing one. */
    v->missing = !isfinite(value);
    if (v->missing) copy(v->why, sizeof v->why, "no finite value came out");
    v->value = value;
    v->runs = runs;
}

void hlib_bench_missing(const char *measure, const char *unit, const char *on, const char *why) {
    hlib_bench_value(measure, unit, 0, 0, on);
    if (nvalues && !strcmp(values[nvalues - 1].measure, measure)) {
        values[nvalues - 1].missing = true;
        copy(values[nvalues - 1].why, sizeof values[0].why, why);
    }
}

static void put_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* The solution the binary was built from: build/<sol>/<lab>/bench-<lab> -> <sol>. */
static void solution(char *out, size_t len) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    copy(out, len, "unknown");
    if (n <= 0) return;
    exe[n] = 0;
    for (int i = 0; i < 2; i++) {
        char *slash = strrchr(exe, '/');
        if (!slash) return;
        *slash = 0;
    }
    char *slash = strrchr(exe, '/');
    copy(out, len, slash ? slash + 1 : exe);
}

static void cpu_model(char *out, size_t len) {
    copy(out, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon || strncmp(line, "model name", 10)) continue;
        colon += 1 + (colon[1] == ' ');
        colon[strcspn(colon, "\n")] = 0;
        copy(out, len, colon);
        break;
    }
    if (f) fclose(f);
}

static int write_file(const char *path, const char *lab, const char *sol) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    struct utsname u;
    if (uname(&u)) memset(&u, 0, sizeof u);
    char cpu[256], when[32];
    cpu_model(cpu, sizeof cpu);
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm >= 0) close(kvm);
    fprintf(f, "{\n  \"schema\": \"vlab-bench/1\",\n  \"lab\": ");
    put_string(f, lab);
    fprintf(f, ",\n  \"solution\": ");
    put_string(f, sol);
    fprintf(f, ",\n  \"when\": \"%s\",\n  \"machine\": {\"arch\": ", when);
    put_string(f, u.machine);
    fprintf(f, ", \"kernel\": ");
    put_string(f, u.release);
    fprintf(f, ", \"cpu\": ");
    put_string(f, cpu);
    fprintf(f, ", \"cpus\": %ld, \"root\": %s, \"kvm\": %s},\n  \"measures\": [",
            sysconf(_SC_NPROCESSORS_ONLN), geteuid() == 0 ? "true" : "false",
            kvm >= 0 ? "true" : "false");
    for (unsigned i = 0; i < nvalues; i++) {
        const struct value *v = &values[i];
        fprintf(f, "%s\n    {\"measure\": ", i ? "," : "");
        put_string(f, v->measure);
        fprintf(f, ", \"unit\": ");
        put_string(f, v->unit);
        if (v->missing)
            fprintf(f, ", \"value\": null, \"runs\": 0");
        else
            fprintf(f, ", \"value\": %.6g, \"runs\": %u", v->value, v->runs);
        fprintf(f, ", \"on\": ");
        put_string(f, v->on);
        if (v->missing) {
            fprintf(f, ", \"why\": ");
            put_string(f, v->why);
        }
        fputc('}', f);
    }
    fprintf(f, "\n  ]\n}\n");
    return fclose(f) ? -1 : 0;
}

int hlib_bench_json(const char *lab) {
    char sol[64], dir[128], path[256];
    solution(sol, sizeof sol);
    snprintf(dir, sizeof dir, "build/bench/%s", sol);
    int rc = 0;
    if (mkdir("build", 0777) && errno != EEXIST) rc = -1;
    if (mkdir("build/bench", 0777) && errno != EEXIST) rc = -1;
    if (mkdir(dir, 0777) && errno != EEXIST) rc = -1;
    snprintf(path, sizeof path, "build/bench/%s.json", lab);
    if (!rc && write_file(path, lab, sol)) rc = -1;
    snprintf(path, sizeof path, "%s/%s.json", dir, lab);
    if (!rc && write_file(path, lab, sol)) rc = -1;
    if (rc) fprintf(stderr, "bench-%s: cannot write %s\n", lab, path);
    nvalues = 0;
    return rc;
}
