/* Shared helpers of the benchmark programs: clocks, medians, configuration loading. */
#ifndef DLNFLOW_BENCH_UTIL_H
#define DLNFLOW_BENCH_UTIL_H

#include <stddef.h>

#include "dlnflow/config.h"

/* Seconds on CLOCK_MONOTONIC and on CLOCK_PROCESS_CPUTIME_ID. */
double bench_wall(void);
double bench_cpu(void);

/* Median of x[0..n-1] (sorts x in place); NaN for n = 0. */
double bench_median(double *x, size_t n);

/* One BLAS thread (OPENBLAS_NUM_THREADS=1 unless the environment says otherwise) and GSL's
 * aborting error handler off, as the command line does. */
void bench_init(void);

/* Defaults, then path, then each "section.key=value" override, then validation. Prints the
 * library's message to stderr and returns its status on failure. */
int bench_load_config(dln_config *cfg, const char *path, const char *const *overrides,
                      size_t noverrides);

/* Parses "a,b,c" into out (at most max numbers); returns how many. */
size_t bench_parse_list(const char *text, double *out, size_t max);

/* "fast" or "plain": which N_Vector kernels this binary links (bench/nvector_plain.c). */
const char *bench_vector_kind(void);

#endif
