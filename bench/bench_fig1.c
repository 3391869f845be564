/* The paper's Figure 1 run (examples/fig1-mc-rank3.ini) with BDF against gradient descent,
 * both stopped at the same loss (solver.loss_target), at the example's initial scale and at
 * smaller ones. Prints wall and CPU time, steps, gradient, H·v and loss evaluations per run,
 * and the ratio gd/bdf of CPU time at each scale.
 *
 * usage: bench_fig1 [--config PATH] [--scales 1,0.01] [--targets 3,6] [--methods bdf,gd]
 *                   [--loss-target 1e-8] [--lr 0.05] [--sampling example|none]
 *                   [--rounds 3] [--repeat-below 10] [--set section.key=value ...]
 *
 * A scale is init.c (θ(0) ~ N(0, c w^-γ), so c = 0.01 is a 10x smaller standard deviation);
 * t_max is the example's t_max divided by c (the escape time from a small initialisation of a
 * depth-4 network grows like 1/c), a cap that the loss target should stop every run before.
 * --sampling example keeps the example's 300 log-spaced output times from t_min (each costs a
 * gradient, an SVD of A and the balancedness drift, as `dlnflow run` does); none asks only for
 * t = 0 and t_max, timing the solver alone. Runs whose first round takes less than
 * --repeat-below CPU seconds are repeated --rounds times and the medians reported.
 *
 * --set applies further overrides to every run (after the ones above), e.g. --set solver.rtol=1e-5.
 *
 * Built twice: bench_fig1 with the library's optimised N_Vector kernels and
 * bench_fig1_plainvec with SUNDIALS' plain serial ones (bench/nvector_plain.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "dlnflow/errors.h"
#include "dlnflow/run.h"
#include "dlnflow/setup.h"

#define MAX_LIST 16
#define MAX_ROUNDS 25
#define MAX_SETS 16

typedef struct run_record {
  dln_stop stop;
  double t_final, loss_final;
  long steps, solver_grads, grads, hvps, losses;
  double wall, cpu;
} run_record;

static int ignore_sample(const dln_sample *s, void *data)
{
  (void)s;
  (void)data;
  return 0;
}

static size_t parse_list(const char *text, double *out)
{
  size_t n = 0;
  char *copy = strdup(text);
  for (char *tok = strtok(copy, ","); tok && n < MAX_LIST; tok = strtok(NULL, ","))
    out[n++] = atof(tok);
  free(copy);
  return n;
}

/* One run of the configuration; fills rec. */
static int run_once(const dln_config *cfg, int sample_like_example, run_record *rec)
{
  dln_setup setup;
  int status = dln_setup_build(cfg, &setup);
  if (status != DLN_SUCCESS) {
    fprintf(stderr, "bench_fig1: %s\n", dln_error_message());
    return status;
  }
  double *times = NULL;
  size_t ntimes = 0;
  if (sample_like_example) {
    status = dln_run_times(cfg->t_min, cfg->solver.t_max, cfg->out_samples, cfg->times,
                           cfg->ntimes, &times, &ntimes);
  } else {
    times = malloc(2 * sizeof *times);
    if (times) {
      times[0] = 0.0;
      times[1] = cfg->solver.t_max;
      ntimes = 2;
    } else {
      status = DLN_ENOMEM;
    }
  }
  dln_problem_counters before = dln_problem_get_counters(setup.problem);
  dln_run_result r;
  dln_run_options ro = {.rank_tol = cfg->rank_tol};
  if (status == DLN_SUCCESS)
    status = dln_run_trajectory(setup.problem, setup.theta0, &cfg->solver, times, ntimes,
                                &ro, NULL, ignore_sample, NULL, &r);
  if (status != DLN_SUCCESS) {
    fprintf(stderr, "bench_fig1: %s\n", dln_error_message());
  } else {
    dln_problem_counters after = dln_problem_get_counters(setup.problem);
    rec->stop = r.stop;
    rec->t_final = r.last.t;
    rec->loss_final = r.last.loss;
    rec->steps = r.stats.steps;
    rec->solver_grads = r.stats.rhs_evals;
    rec->grads = after.gradients - before.gradients;
    rec->hvps = after.hvps - before.hvps;
    rec->losses = after.losses - before.losses;
    rec->wall = r.wall_seconds;
    rec->cpu = r.cpu_seconds;
  }
  free(times);
  dln_setup_release(&setup);
  return status;
}

static void usage(FILE *out)
{
  fprintf(out, "usage: bench_fig1 [--config PATH] [--scales C1,C2,...] [--targets R1,R2,...]\n"
               "                  [--methods bdf,gd] [--loss-target L] [--lr ETA]\n"
               "                  [--sampling example|none] [--rounds N] [--repeat-below S]\n"
               "                  [--set section.key=value ...]\n");
}

int main(int argc, char **argv)
{
  const char *config = "examples/fig1-mc-rank3.ini";
  double scales[MAX_LIST] = {1.0, 0.01}, targets[MAX_LIST] = {3.0, 6.0};
  size_t nscales = 2, ntargets = 2;
  const char *methods = "bdf,gd";
  double loss_target = 1e-8, lr = 0.05, repeat_below = 10.0;
  int rounds = 3, sample_like_example = 1;
  const char *sets[MAX_SETS];
  size_t nsets = 0;
  for (int i = 1; i < argc; i++) {
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--config") == 0 && next) {
      config = argv[++i];
    } else if (strcmp(argv[i], "--scales") == 0 && next) {
      nscales = parse_list(argv[++i], scales);
    } else if (strcmp(argv[i], "--targets") == 0 && next) {
      ntargets = parse_list(argv[++i], targets);
    } else if (strcmp(argv[i], "--methods") == 0 && next) {
      methods = argv[++i];
    } else if (strcmp(argv[i], "--loss-target") == 0 && next) {
      loss_target = atof(argv[++i]);
    } else if (strcmp(argv[i], "--lr") == 0 && next) {
      lr = atof(argv[++i]);
    } else if (strcmp(argv[i], "--sampling") == 0 && next) {
      const char *s = argv[++i];
      if (strcmp(s, "example") != 0 && strcmp(s, "none") != 0) {
        usage(stderr);
        return 2;
      }
      sample_like_example = strcmp(s, "example") == 0;
    } else if (strcmp(argv[i], "--rounds") == 0 && next) {
      rounds = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--repeat-below") == 0 && next) {
      repeat_below = atof(argv[++i]);
    } else if (strcmp(argv[i], "--set") == 0 && next && nsets < MAX_SETS) {
      sets[nsets++] = argv[++i];
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (nscales == 0 || rounds < 1 || rounds > MAX_ROUNDS || !(loss_target > 0.0) || !(lr > 0.0)) {
    usage(stderr);
    return 2;
  }
  bench_init();

  char method_list[128];
  snprintf(method_list, sizeof method_list, "%s", methods);
  const char *method_names[MAX_LIST];
  size_t nmethods = 0;
  for (char *tok = strtok(method_list, ","); tok && nmethods < MAX_LIST; tok = strtok(NULL, ","))
    method_names[nmethods++] = tok;

  printf("# Figure 1 run (%s) to loss <= %g; gd at learning rate %g; %s N_Vector kernels;\n",
         config, loss_target, lr, bench_vector_kind());
  printf("# output times: %s; one BLAS thread; t_max = example t_max / c\n",
         sample_like_example ? "the example's (300 log-spaced from t_min)" : "0 and t_max only");
  for (size_t s = 0; s < nsets; s++) printf("# override: %s\n", sets[s]);
  printf("%-8s %-6s %-6s %-12s %10s %10s %8s %9s %9s %8s %8s %9s %9s %6s\n", "init.c", "method",
         "vec", "stop", "t_final", "loss", "steps", "grad(sol)", "grad(all)", "H.v", "loss-ev",
         "wall [s]", "cpu [s]", "rounds");
  int failures = 0;
  for (size_t k = 0; k < nscales; k++) {
    double cpu_of[MAX_LIST] = {0};
    for (size_t m = 0; m < nmethods; m++) {
      char o_method[64], o_c[64], o_target[64], o_lr[64], o_tmax[64];
      dln_config base;
      if (bench_load_config(&base, config, NULL, 0) != DLN_SUCCESS) return 1;
      snprintf(o_method, sizeof o_method, "solver.method=%s", method_names[m]);
      snprintf(o_c, sizeof o_c, "init.c=%.17g", scales[k]);
      snprintf(o_target, sizeof o_target, "solver.loss_target=%.17g", loss_target);
      snprintf(o_lr, sizeof o_lr, "solver.learning_rate=%.17g", lr);
      snprintf(o_tmax, sizeof o_tmax, "solver.t_max=%.17g", base.solver.t_max / scales[k]);
      const char *overrides[5 + MAX_SETS] = {o_method, o_c, o_target, o_lr, o_tmax};
      for (size_t s = 0; s < nsets; s++) overrides[5 + s] = sets[s];
      dln_config cfg;
      if (bench_load_config(&cfg, config, overrides, 5 + nsets) != DLN_SUCCESS) return 1;

      run_record rec[MAX_ROUNDS];
      int n = 0;
      do {
        if (run_once(&cfg, sample_like_example, &rec[n]) != DLN_SUCCESS) return 1;
        n++;
      } while (n < rounds && rec[0].cpu < repeat_below);
      double wall[MAX_ROUNDS], cpu[MAX_ROUNDS];
      for (int r = 0; r < n; r++) {
        wall[r] = rec[r].wall;
        cpu[r] = rec[r].cpu;
      }
      double wall_med = bench_median(wall, (size_t)n), cpu_med = bench_median(cpu, (size_t)n);
      const run_record *a = &rec[0]; /* counts repeat bit for bit from round to round */
      int reached = a->stop == DLN_STOP_LOSS_TARGET;
      if (!reached) failures++;
      cpu_of[m] = reached ? cpu_med : NAN;
      printf("%-8g %-6s %-6s %-12s %10.5g %10.3e %8ld %9ld %9ld %8ld %8ld %9.3f %9.3f %6d\n",
             scales[k], method_names[m], bench_vector_kind(),
             reached ? "loss_target" : dln_stop_name(a->stop), a->t_final, a->loss_final, a->steps,
             a->solver_grads, a->grads, a->hvps, a->losses, wall_med, cpu_med, n);
      fflush(stdout);
    }
    /* The ratio gd/bdf of CPU time, when both ran. */
    int ibdf = -1, igd = -1;
    for (size_t m = 0; m < nmethods; m++) {
      if (strcmp(method_names[m], "bdf") == 0) ibdf = (int)m;
      if (strcmp(method_names[m], "gd") == 0) igd = (int)m;
    }
    if (ibdf >= 0 && igd >= 0) {
      double ratio = cpu_of[igd] / cpu_of[ibdf];
      if (k < ntargets)
        printf("RATIO init.c=%g cpu(gd)/cpu(bdf) = %.2f  target >= %g: %s\n", scales[k], ratio,
               targets[k], isnan(ratio) ? "UNKNOWN" : ratio >= targets[k] ? "MET" : "NOT MET");
      else
        printf("RATIO init.c=%g cpu(gd)/cpu(bdf) = %.2f\n", scales[k], ratio);
      fflush(stdout);
    }
  }
  if (failures) fprintf(stderr, "bench_fig1: %d run(s) stopped before the loss target\n", failures);
  return failures ? 1 : 0;
}
