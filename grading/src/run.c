#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crit.h"
#include "reap.h"

#define REPORT_CAP (16u << 20) /* a Criterion report of one test is a few KiB */

volatile sig_atomic_t run_stop;

double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { P_OUT, P_REPORT, P_STATUS, P_NPIPES };

struct capture {
    int fd[P_NPIPES]; /* read ends, -1 once at EOF */
    struct run_result *rr;
    size_t out_cap;
};

/* Reads what fd i has; returns false at EOF or error (and closes it). */
static bool pump(struct capture *c, int i) {
    char buf[16384];
    ssize_t n = read(c->fd[i], buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) {
        close(c->fd[i]);
        c->fd[i] = -1;
        return false;
    }
    struct run_result *rr = c->rr;
    size_t len = (size_t)n;
    if (i == P_OUT) {
        if (rr->out.len < c->out_cap) {
            size_t room = c->out_cap - rr->out.len;
            sb_append(&rr->out, buf, len < room ? len : room);
        }
        rr->out_total += len;
    } else if (i == P_REPORT) {
        if (rr->report.len + len <= REPORT_CAP)
            sb_append(&rr->report, buf, len);
        else
            rr->report_truncated = true;
    } else if (rr->setup.stage == 0 && len >= sizeof rr->setup) {
        memcpy(&rr->setup, buf, sizeof rr->setup);
    }
    return true;
}

/* Reads every open pipe until all writers are gone or the budget runs out. Only called after
 * the sweep, so every writer is dead and EOF comes at once; the budget is for the impossible. */
static void drain(struct capture *c, double budget) {
    double end = mono_now() + budget;
    for (;;) {
        struct pollfd pfd[P_NPIPES];
        int n = 0, map[P_NPIPES];
        for (int i = 0; i < P_NPIPES; i++) {
            if (c->fd[i] >= 0) {
                pfd[n] = (struct pollfd){.fd = c->fd[i], .events = POLLIN};
                map[n++] = i;
            }
        }
        double left = end - mono_now();
        if (n == 0 || left <= 0) break;
        int r = poll(pfd, (nfds_t)n, (int)(left * 1000) + 1);
        if (r < 0 && errno != EINTR) break;
        for (int k = 0; k < n && r > 0; k++)
            if (pfd[k].revents) pump(c, map[k]);
    }
    for (int i = 0; i < P_NPIPES; i++)
        if (c->fd[i] >= 0) close(c->fd[i]), c->fd[i] = -1;
}

static int make_pipe(int p[2]) {
    if (pipe2(p, O_CLOEXEC)) {
        fprintf(stderr, "vlab-grade: pipe: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int run_process(const struct run_spec *rs, struct run_result *rr) {
    int pipes[P_NPIPES][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    struct capture cap = {.fd = {-1, -1, -1}, .rr = rr, .out_cap = rs->out_cap};
    bool kill_uid = rs->sb->mode == SB_DROP_UID && !rs->lim->privileged;

    *rr = (struct run_result){0};
    for (int i = 0; i < P_NPIPES; i++) {
        if (i == P_REPORT && !rs->want_report) continue;
        if (make_pipe(pipes[i])) goto fail_pipes;
    }

    unsigned long nproc = rs->lim->procs;
    if (rs->sb->mode == SB_USERNS || (rs->sb->mode == SB_NONE && getuid() != 0))
        nproc += count_user_tasks(getuid()); /* the limit counts every task of the user */

    struct sandbox sb = *rs->sb;
    if (rs->lim->privileged && getuid() == 0) sb.mode = SB_NONE;
    sb.tmp_size = rs->lim->fsize; /* no file in it may grow past that anyway */
    struct child_setup cs = {
        .sb = &sb,
        .lim = rs->lim,
        .nproc = nproc,
        .parent = getpid(),
        .cwd = rs->cwd,
        .done_path = rs->done_path,
        .done_token = rs->done_token,
        .argv = rs->argv,
        .out_fd = pipes[P_OUT][1],
        .report_fd = pipes[P_REPORT][1],
        .status_fd = pipes[P_STATUS][1],
    };

    fflush(NULL); /* or the child's copy of stdio buffers could be flushed twice */
    double t0 = mono_now();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "vlab-grade: fork: %s\n", strerror(errno));
        goto fail_pipes;
    }
    if (pid == 0) sandbox_exec(&cs);
    rr->pid = pid;

    for (int i = 0; i < P_NPIPES; i++) {
        if (pipes[i][1] >= 0) close(pipes[i][1]);
        cap.fd[i] = pipes[i][0];
        if (cap.fd[i] >= 0) fcntl(cap.fd[i], F_SETFL, O_NONBLOCK);
    }
    int pidfd = pidfd_open(pid, 0); /* -1 on old kernels: then poll in short ticks */

    bool exited = false;
    double t_end;
    for (;;) {
        if (waitpid(pid, &rr->wstatus, WNOHANG) == pid) {
            exited = true;
            break;
        }
        double now = mono_now();
        if (run_stop) {
            rr->stopped = true;
            break;
        }
        if (now >= rs->deadline) {
            rr->timed_out = true;
            break;
        }
        struct pollfd pfd[P_NPIPES + 1];
        int n = 0, map[P_NPIPES];
        for (int i = 0; i < P_NPIPES; i++) {
            if (cap.fd[i] >= 0) {
                pfd[n] = (struct pollfd){.fd = cap.fd[i], .events = POLLIN};
                map[n++] = i;
            }
        }
        int npipes = n;
        if (pidfd >= 0) pfd[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        double left = rs->deadline - now;
        int ms = (int)(left * 1000) + 1;
        if (ms > 1000) ms = 1000;
        if (pidfd < 0 && ms > 20) ms = 20;
        if (ms < 1) ms = 1;
        int r = poll(pfd, (nfds_t)n, ms);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "vlab-grade: poll: %s\n", strerror(errno));
            rr->stopped = true;
            break;
        }
        for (int k = 0; k < npipes && r > 0; k++)
            if (pfd[k].revents) pump(&cap, map[k]);
    }
    t_end = mono_now();
    if (!exited) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &rr->wstatus, 0) < 0 && errno == EINTR)
            ;
    }
    rr->seconds = t_end - t0;
    if (pidfd >= 0) close(pidfd);

    rr->leftovers = !reaper_sweep(pid, kill_uid, sb.uid);
    crit_remove_socket(pid); /* left behind if the runner was killed */
    drain(&cap, 2.0);
    return 0;

fail_pipes:
    for (int i = 0; i < P_NPIPES; i++) {
        if (pipes[i][0] >= 0) close(pipes[i][0]);
        if (pipes[i][1] >= 0) close(pipes[i][1]);
    }
    return -1;
}

void run_result_free(struct run_result *rr) {
    sb_free(&rr->out);
    sb_free(&rr->report);
}
