/* Reading what a Criterion 2.4 test binary says about itself: its --list tree and the JSON
 * report of a --filter'ed run.
 *
 * The report is read by its layout, not with a JSON parser: Criterion 2.4.1 prints assertion
 * messages and skip reasons into the JSON verbatim, without escaping, so any message with a
 * quote, backslash or control character makes the report invalid JSON (or, worse, valid JSON
 * with a different meaning: "C:\temp" would decode a tab). The layout is fixed by Criterion's
 * templates (src/io/json.c) and every line of user text in it is indented and quoted, so the
 * structural lines can be told apart from message text. */
#ifndef VLAB_GRADE_CRIT_H
#define VLAB_GRADE_CRIT_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>

struct crit_list {
    char **tests; /* tests of the lab's suite, in listing order */
    size_t ntests;
    char **other; /* "suite/test" of any other suite */
    size_t nother;
};

/* Parses `test-L --list` output. Returns -1 if no suite header was found at all. */
int crit_parse_list(const char *out, const char *suite, struct crit_list *l);
void crit_list_free(struct crit_list *l);
bool crit_list_has(const struct crit_list *l, const char *test);

struct crit_entry {
    char status[16]; /* PASSED FAILED ERRORED SKIPPED */
    char *message;   /* messages in assertion order, one per line; NULL when none */
};

/* Finds suite/test in a report. Returns false if the report has no such entry. */
bool crit_find_test(const char *report, const char *suite, const char *test, struct crit_entry *e);

/* Criterion's runner binds its message server at the fixed path /tmp/criterion_<pid>.sock
 * (not under TMPDIR). A runner we SIGKILL leaves the socket behind, and with /tmp's sticky bit a
 * later runner of another uid that gets the same pid cannot replace it: it aborts with "Could
 * not initialize the message server: Address already in use". Removing the file at a pid's
 * path before the runner starts and after it ends keeps that from charging a student. */
void crit_remove_socket(pid_t pid);
/* Whether /tmp/criterion_<pid>.sock exists and cannot be removed (another user's, in a sticky
 * /tmp): a runner with that pid would abort. */
bool crit_socket_blocked(pid_t pid);
/* Forks and reaps throwaway children while the next pid the kernel will hand out is one whose
 * socket path is blocked, at most max times; returns how many pids it used up. Only a hint
 * (another process may take the pid first): the child checks again before exec. */
unsigned long crit_skip_blocked_pids(unsigned long max);

#endif
