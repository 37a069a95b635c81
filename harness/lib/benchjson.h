/* A benchmark's results as data, beside its Markdown table: one schema for every lab
 * ("vlab-bench/1", docs/architecture.md), read by `make report` (report/vlab-report.c).
 * Written to build/bench/<lab>.json (the last run, like <lab>.md) and to
 * build/bench/<sol>/<lab>.json, where <sol> is the solution the bench binary was built from
 * (build/<sol>/<lab>/bench-<lab>): the report sets the student's numbers beside the reference's,
 * so the two must not overwrite each other. */
#ifndef VLAB_HLIB_BENCHJSON_H
#define VLAB_HLIB_BENCHJSON_H

/* One value: the median of RUNS runs (1 for a deterministic counter), in UNIT, measured ON
 * ("unicorn", "kvm", "host", "software model"). MEASURE is a dotted id unique in the lab. */
void hlib_bench_value(const char *measure, const char *unit, double value, unsigned runs,
                      const char *on);
/* A measure the bench could not take here, and why ("not root", "not implemented"). */
void hlib_bench_missing(const char *measure, const char *unit, const char *on, const char *why);
/* Writes the values given so far as LAB's files and forgets them; 0, or -1 (message on stderr). */
int hlib_bench_json(const char *lab);

#endif
