#include "tool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

uint64_t hlib_parse_size(const char *s) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    switch (*end) {
    case 'k':
    case 'K': v <<= 10, end++; break;
    case 'm':
    case 'M': v <<= 20, end++; break;
    case 'g':
    case 'G': v <<= 30, end++; break;
    default: break;
    }
    return *end || end == s ? 0 : v;
}

int hlib_bench_table(const char *lab, const char *table) {
    fputs(table, stdout);
    fflush(stdout);
    if (mkdir("build", 0777) && errno != EEXIST) perror("mkdir build");
    if (mkdir("build/bench", 0777) && errno != EEXIST) perror("mkdir build/bench");
    char path[256];
    snprintf(path, sizeof path, "build/bench/%s.md", lab);
    FILE *f = fopen(path, "w");
    bool bad = !f;
    if (f) bad = (fputs(table, f) < 0) | (fclose(f) != 0);
    if (bad) {
        fprintf(stderr, "bench-%s: cannot write %s\n", lab, path);
        return -1;
    }
    return 0;
}
