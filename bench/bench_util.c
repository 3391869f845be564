/* Shared helpers of the benchmark programs (bench_util.h). */
#include "bench_util.h"

#include <cblas.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlnflow/errors.h"

static double clock_seconds(clockid_t id)
{
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bench_wall(void) { return clock_seconds(CLOCK_MONOTONIC); }
double bench_cpu(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

static int compare_doubles(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *x, size_t n)
{
  if (n == 0) return NAN;
  qsort(x, n, sizeof *x, compare_doubles);
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

void bench_init(void)
{
  gsl_set_error_handler_off();
  if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
}

int bench_load_config(dln_config *cfg, const char *path, const char *const *overrides,
                      size_t noverrides)
{
  dln_config_defaults(cfg);
  int status = dln_config_load(cfg, path);
  for (size_t i = 0; status == DLN_SUCCESS && i < noverrides; i++)
    status = dln_config_override(cfg, overrides[i], "benchmark");
  if (status == DLN_SUCCESS) status = dln_config_validate(cfg);
  if (status != DLN_SUCCESS)
    fprintf(stderr, "benchmark: %s: %s\n", dln_strerror(status), dln_error_message());
  return status;
}

size_t bench_parse_list(const char *text, double *out, size_t max)
{
  size_t n = 0;
  char *copy = strdup(text);
  if (!copy) return 0;
  for (char *tok = strtok(copy, ","); tok && n < max; tok = strtok(NULL, ",")) out[n++] = atof(tok);
  free(copy);
  return n;
}

const char *bench_vector_kind(void)
{
#ifdef BENCH_PLAIN_VECTORS
  return "plain";
#else
  return "fast";
#endif
}
