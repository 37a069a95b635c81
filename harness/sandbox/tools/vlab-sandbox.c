/* vlab-sandbox: runs a command in a container built by labs/sandbox (or reference/sandbox) and
 * prints a resource report on stderr when it ends.
 *   vlab-sandbox run --rootfs DIR [--memory 64M] [--pids 32] [--cpu 0.5] [--userns]
 *                    [--timeout 10] [--hostname NAME] -- CMD...
 *   vlab-sandbox cleanup
 * removes the groups of containers whose vlab-sandbox was killed by SIGKILL (every run does it
 * first, too). A limit not given takes its default (SB_TOOL_* below): a container is never
 * unlimited. Exit status: the command's own; 128+N when signal N ended it, or when SIGINT, SIGTERM
 * or SIGHUP sent to the tool did (the container killed and cleaned up first); 124 when the timeout
 * did; 125 when the container could not be run or the command line is wrong. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox.h"
#include "sb_groups.h"
#include "tool.h"

/* Defaults in the spirit of podman's (pids 2048) and of a laptop: a runaway program in the
 * container takes neither the machine's memory nor its process table nor every CPU. */
#define SB_TOOL_MEMORY (UINT64_C(512) << 20)
#define SB_TOOL_PIDS   256u
#define SB_TOOL_CPUS   1.0

static void usage(FILE *out) {
    fprintf(out, "usage: vlab-sandbox run --rootfs DIR [--memory SIZE] [--pids N] [--cpu CPUS]\n"
                 "                        [--userns] [--timeout SECONDS] [--hostname NAME]\n"
                 "                        -- CMD [ARG...]\n"
                 "  SIZE takes K, M or G; CPUS may be a fraction (0.5). Needs root.\n"
                 "  Defaults: --memory 512M --pids 256 --cpu 1 (swap off), when none is given.\n"
                 "  Without root: a user namespace where root inside is you, and limits only\n"
                 "  when given (they need a delegated cgroup v2 subtree).\n"
                 "  SIGINT, SIGTERM or SIGHUP kill the container, remove its cgroups and mounts,\n"
                 "  and the tool exits 128+signal. SIGKILL kills the container too; its cgroups\n"
                 "  stay until the next run or `vlab-sandbox cleanup`.\n"
                 "       vlab-sandbox cleanup\n");
}

static bool parse_double(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return end != s && !*end && *out >= 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "cleanup")) {
        unsigned n = sb_groups_sweep_dead();
        fprintf(stderr, "vlab-sandbox: removed %u group director%s left by killed runs\n", n,
                n == 1 ? "y" : "ies");
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "run")) {
        usage(argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 125;
    }
    struct sb_config cfg = {.caps = SB_CAPS_DEFAULT, .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2};
    static const struct option opts[] = {
        {"rootfs", required_argument, 0, 'r'},
        {"memory", required_argument, 0, 'm'},
        {"pids", required_argument, 0, 'p'},
        {"cpu", required_argument, 0, 'c'},
        {"userns", no_argument, 0, 'u'},
        {"timeout", required_argument, 0, 't'},
        {"hostname", required_argument, 0, 'H'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    char *end;
    optind = 2;
    while ((c = getopt_long(argc, argv, "+r:m:p:c:ut:H:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': cfg.rootfs = optarg; break;
        case 'm':
            if (!(cfg.limits.memory = hlib_parse_size(optarg))) {
                fprintf(stderr, "vlab-sandbox: bad memory size '%s'\n", optarg);
                return 125;
            }
            break;
        case 'p':
            cfg.limits.pids = (unsigned)strtoul(optarg, &end, 10);
            if (*end || !cfg.limits.pids) {
                fprintf(stderr, "vlab-sandbox: bad pids limit '%s'\n", optarg);
                return 125;
            }
            break;
        case 'c':
            if (!parse_double(optarg, &cfg.limits.cpus) || cfg.limits.cpus == 0) {
                fprintf(stderr, "vlab-sandbox: bad cpu quota '%s'\n", optarg);
                return 125;
            }
            break;
        case 'u': cfg.userns = true; break;
        case 't':
            if (!parse_double(optarg, &cfg.timeout)) {
                fprintf(stderr, "vlab-sandbox: bad timeout '%s'\n", optarg);
                return 125;
            }
            break;
        case 'H': cfg.hostname = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 125;
        }
    }
    if (!cfg.rootfs || optind >= argc) {
        usage(stderr);
        return 125;
    }
    /* A wrong path would otherwise surface as the program "not found" inside the container. */
    struct stat st;
    errno = 0;
    if (stat(cfg.rootfs, &st) || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "vlab-sandbox: --rootfs %s: %s\n", cfg.rootfs,
                errno ? strerror(errno) : "not a directory");
        return 125;
    }
    /* without root, limits need a delegated cgroup v2 subtree: only the ones asked for */
    bool defaults =
        geteuid() == 0 && !cfg.limits.memory && !cfg.limits.pids && cfg.limits.cpus == 0;
    if (defaults) {
        cfg.limits.memory = SB_TOOL_MEMORY;
        cfg.limits.pids = SB_TOOL_PIDS;
        cfg.limits.cpus = SB_TOOL_CPUS;
    }
    cfg.argv = argv + optind;
    sb_groups_sweep_stale(); /* what a vlab-sandbox killed by SIGKILL left */
    struct sb_result r = {0};
    int rc = sb_run(&cfg, &r);
    if (rc != VLAB_OK) {
        fprintf(stderr, "vlab-sandbox: %s: %s\n", cfg.argv[0], vlab_strerror(rc));
        return r.interrupted ? 128 + r.interrupted : 125;
    }
    fflush(stdout);
    fprintf(stderr, "-- vlab-sandbox report\n");
    sb_result_print(stderr, &r);
    if (r.interrupted) return 128 + r.interrupted;
    if (r.timed_out) return 124;
    return r.exited ? r.status : 128 + r.signal;
}
