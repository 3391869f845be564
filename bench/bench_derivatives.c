/* Time per loss, gradient (dln_problem_gradient) and Hessian-vector product (dln_problem_hvp)
 * on the paper's Figure 1 problem (examples/fig1-mc-rank3.ini: 10x10 rank-3 matrix completion,
 * 80% observed, depth 4) at hidden widths w = 100 and 1000, one BLAS thread.
 *
 * usage: bench_derivatives [--config PATH] [--widths 100,1000] [--rounds 5] [--min-round 0.5]
 *
 * Each operation is timed in CPU time (CLOCK_PROCESS_CPUTIME_ID: the machine is shared, and
 * waiting for a core is not the operation's cost) in rounds of at least --min-round seconds (the
 * repetition count is calibrated first); the table gives the median over --rounds rounds of
 * the time per call. H·v is timed as CVODE's GMRES calls it: repeatedly at the point of the
 * last gradient, so each product is one tangent pass plus one Hessian pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "dlnflow/errors.h"
#include "dlnflow/init.h"
#include "dlnflow/problem.h"
#include "dlnflow/setup.h"

#define MAX_WIDTHS 16
#define MAX_ROUNDS 101

typedef enum op_kind { OP_LOSS, OP_GRADIENT, OP_HVP } op_kind;

typedef struct bench_case {
  dln_problem *p;
  const double *theta;
  const double *v;
  double *out;
} bench_case;

static int run_op(bench_case *c, op_kind op, long reps)
{
  double loss;
  for (long i = 0; i < reps; i++) {
    int status;
    switch (op) {
    case OP_LOSS: status = dln_problem_loss(c->p, c->theta, &loss); break;
    case OP_GRADIENT: status = dln_problem_gradient(c->p, c->theta, &loss, c->out); break;
    default: status = dln_problem_hvp(c->p, c->theta, c->v, c->out); break;
    }
    if (status != DLN_SUCCESS) {
      fprintf(stderr, "bench_derivatives: %s\n", dln_error_message());
      return status;
    }
  }
  return DLN_SUCCESS;
}

/* Writes the median seconds per call over `rounds` rounds of >= min_round seconds each. */
static int time_op(bench_case *c, op_kind op, int rounds, double min_round, double *per_call,
                   long *reps_out)
{
  double loss;
  /* The hvp reuses the point of the last gradient; the loss pass invalidates it. */
  if (op == OP_HVP && dln_problem_gradient(c->p, c->theta, &loss, c->out) != DLN_SUCCESS)
    return DLN_EINVAL;
  if (run_op(c, op, 1) != DLN_SUCCESS) return DLN_EINVAL; /* warm-up */
  /* Calibrate: double the batch until it takes a tenth of a round. */
  long reps = 1;
  for (;;) {
    double t0 = bench_cpu();
    if (run_op(c, op, reps) != DLN_SUCCESS) return DLN_EINVAL;
    double dt = bench_cpu() - t0;
    if (dt >= 0.1 * min_round) {
      reps = (long)((double)reps * 1.1 * min_round / dt) + 1;
      break;
    }
    reps *= 2;
  }
  double samples[MAX_ROUNDS];
  for (int r = 0; r < rounds; r++) {
    double t0 = bench_cpu();
    if (run_op(c, op, reps) != DLN_SUCCESS) return DLN_EINVAL;
    double dt = bench_cpu() - t0;
    samples[r] = dt / (double)reps;
    if (dt < min_round) reps = (long)((double)reps * 1.1 * min_round / dt) + 1;
  }
  *per_call = bench_median(samples, (size_t)rounds);
  *reps_out = reps;
  return DLN_SUCCESS;
}

static void usage(FILE *out)
{
  fprintf(out, "usage: bench_derivatives [--config PATH] [--widths W1,W2,...] [--rounds N] "
               "[--min-round SECONDS]\n");
}

int main(int argc, char **argv)
{
  const char *config = "examples/fig1-mc-rank3.ini";
  size_t widths[MAX_WIDTHS] = {100, 1000}, nwidths = 2;
  int rounds = 5;
  double min_round = 0.5;
  for (int i = 1; i < argc; i++) {
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--config") == 0 && next) {
      config = argv[++i];
    } else if (strcmp(argv[i], "--widths") == 0 && next) {
      nwidths = 0;
      char *copy = strdup(argv[++i]);
      for (char *tok = strtok(copy, ","); tok && nwidths < MAX_WIDTHS; tok = strtok(NULL, ","))
        widths[nwidths++] = strtoul(tok, NULL, 10);
      free(copy);
    } else if (strcmp(argv[i], "--rounds") == 0 && next) {
      rounds = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--min-round") == 0 && next) {
      min_round = atof(argv[++i]);
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (rounds < 1 || rounds > MAX_ROUNDS || !(min_round > 0.0) || nwidths == 0) {
    usage(stderr);
    return 2;
  }
  bench_init();
  printf("# loss, gradient and H.v times on %s (depth 4), one BLAS thread\n", config);
  printf("# median over %d rounds of >= %.2g CPU seconds each; CPU time per call\n", rounds,
         min_round);
  printf("%6s %9s %12s %14s %12s %9s\n", "width", "P", "loss [us]", "gradient [us]", "H.v [us]",
         "H.v/grad");
  for (size_t k = 0; k < nwidths; k++) {
    char width_override[64];
    snprintf(width_override, sizeof width_override, "network.width=%zu", widths[k]);
    const char *overrides[] = {width_override};
    dln_config cfg;
    if (bench_load_config(&cfg, config, overrides, 1) != DLN_SUCCESS) return 1;
    dln_setup setup;
    if (dln_setup_build(&cfg, &setup) != DLN_SUCCESS) {
      fprintf(stderr, "bench_derivatives: %s\n", dln_error_message());
      return 1;
    }
    size_t P = dln_problem_nparams(setup.problem);
    double *v = malloc(P * sizeof *v), *out = malloc(P * sizeof *out);
    if (!v || !out) return 1;
    /* A direction of unit-variance entries, independent of θ(0). */
    dln_init_gaussian(dln_problem_network(setup.problem), 1.0, 0.0, 12345, v);
    bench_case c = {setup.problem, setup.theta0, v, out};
    double t_loss, t_grad, t_hvp;
    long reps_loss, reps_grad, reps_hvp;
    if (time_op(&c, OP_LOSS, rounds, min_round, &t_loss, &reps_loss) != DLN_SUCCESS ||
        time_op(&c, OP_GRADIENT, rounds, min_round, &t_grad, &reps_grad) != DLN_SUCCESS ||
        time_op(&c, OP_HVP, rounds, min_round, &t_hvp, &reps_hvp) != DLN_SUCCESS)
      return 1;
    printf("%6zu %9zu %12.1f %14.1f %12.1f %9.2f\n", widths[k], P, 1e6 * t_loss, 1e6 * t_grad,
           1e6 * t_hvp, t_hvp / t_grad);
    fflush(stdout);
    free(v);
    free(out);
    dln_setup_release(&setup);
  }
  return 0;
}
