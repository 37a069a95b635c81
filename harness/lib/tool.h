/* Small pieces the labs' benchmarks and command-line tools share. */
#ifndef VLAB_HLIB_TOOL_H
#define VLAB_HLIB_TOOL_H

#include <stdint.h>

/* "64M" -> bytes: a decimal number with an optional K, M or G suffix; 0 when malformed. */
uint64_t hlib_parse_size(const char *s);

/* A benchmark's Markdown table: printed on stdout and written to build/bench/<lab>.md (relative
 * to the working directory, as `make bench` runs it). Returns 0, or -1 when the file could not
 * be written (with a message on stderr; the table was still printed). */
int hlib_bench_table(const char *lab, const char *table);

#endif
