/* The paper's Figure 1 run (examples/fig1-mc-rank3.ini) with BDF against gradient descent,
 * both stopped at the same loss (solver.loss_target), at the example's initial scale and at
 * smaller ones. Prints wall and CPU time, steps, gradient, H·v and loss evaluations per run,
 * and the ratio gd/bdf of CPU time at each scale.
 *
 * usage: bench_fig1 [--config PATH] [--scales 1,0.01] [--targets 3,6] [--methods bdf,gd]
 *                   [--rtols R1,R2,...] [--loss-target 1e-8] [--lr 0.05]
 *                   [--sampling example|none] [--rounds 3] [--repeat-below 10]
 *                   [--set section.key=value ...]
 *
 * A scale is init.c (θ(0) ~ N(0, c w^-γ), so c = 0.01 is a 10x smaller standard deviation);
 * t_max is the example's t_max divided by c (the escape time from a small initialisation of a
 * depth-4 network grows like 1/c), a cap that the loss target should stop every run before.
 * --sampling example keeps the example's 300 log-spaced output times from t_min (each costs a
 * gradient, an SVD of A and the balancedness drift, as `dlnflow run` does); none asks only for
 * t = 0 and t_max, timing the solver alone. --rtols runs bdf once per relative tolerance (the
 * configuration's own without it) and prints a ratio for each.
 *
 * Timing: CPU time of the run alone (CLOCK_PROCESS_CPUTIME_ID around dln_run_trajectory). The
 * runs of a scale are interleaved, round after round (bdf, gd, bdf, gd, ...), so that a change
 * in the machine's load falls on all of them alike; runs whose first round takes at least
 * --repeat-below CPU seconds are not repeated. The table gives the median of the rounds and
 * the fastest (cpu_min); the ratios use the medians.
 *
 * --set applies further overrides to every run (after the ones above, before --rtols), e.g.
 * --set solver.rtol=1e-5.
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
#define MAX_SPECS 8

typedef struct run_record {
  dln_stop stop;
  double t_final, loss_final;
  long steps, solver_grads, grads, hvps, losses;
  double wall, cpu;
} run_record;

/* One configuration timed at one scale, and its rounds. */
typedef struct spec {
  const char *method;
  char setting[32]; /* "rtol=..." or "lr=..." */
  dln_config cfg;
  run_record rec[MAX_ROUNDS];
  int n;
  double cpu; /* median CPU seconds, NaN if the loss target was not reached */
} spec;

static int ignore_sample(const dln_sample *s, void *data)
{
  (void)s;
  (void)data;
  return 0;
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
  dln_run_result r = {0};
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
               "                  [--methods bdf,gd] [--rtols R1,R2,...] [--loss-target L]\n"
               "                  [--lr ETA]\n"
               "                  [--sampling example|none] [--rounds N] [--repeat-below S]\n"
               "                  [--set section.key=value ...]\n");
}

int main(int argc, char **argv)
{
  const char *config = "examples/fig1-mc-rank3.ini";
  double scales[MAX_LIST] = {1.0, 0.01}, targets[MAX_LIST] = {3.0, 6.0};
  size_t nscales = 2, ntargets = 2;
  const char *methods = "bdf,gd";
  double loss_target = 1e-8, lr = 0.05, repeat_below = 10.0, rtols[MAX_LIST];
  size_t nrtols = 0;
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
      nscales = bench_parse_list(argv[++i], scales, MAX_LIST);
    } else if (strcmp(argv[i], "--targets") == 0 && next) {
      ntargets = bench_parse_list(argv[++i], targets, MAX_LIST);
    } else if (strcmp(argv[i], "--methods") == 0 && next) {
      methods = argv[++i];
    } else if (strcmp(argv[i], "--loss-target") == 0 && next) {
      loss_target = atof(argv[++i]);
    } else if (strcmp(argv[i], "--rtols") == 0 && next) {
      nrtols = bench_parse_list(argv[++i], rtols, MAX_LIST);
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
  printf("# rounds interleave the runs of a scale (run 1, run 2, ..., run 1, run 2, ...); "
         "wall and cpu are medians, cpu_min the fastest round\n");
  for (size_t s = 0; s < nsets; s++) printf("# override: %s\n", sets[s]);
  printf("%-8s %-6s %-6s %-12s %10s %10s %8s %9s %9s %8s %8s %9s %9s %6s %9s %s\n", "init.c",
         "method", "vec", "stop", "t_final", "loss", "steps", "grad(sol)", "grad(all)", "H.v",
         "loss-ev", "wall [s]", "cpu [s]", "rounds", "cpu_min", "setting");
  int failures = 0;
  for (size_t k = 0; k < nscales; k++) {
    /* The runs of this scale: each method, bdf once per --rtols entry. */
    static spec specs[MAX_SPECS];
    size_t nspecs = 0;
    dln_config base;
    if (bench_load_config(&base, config, NULL, 0) != DLN_SUCCESS) return 1;
    for (size_t m = 0; m < nmethods; m++) {
      int per_rtol = nrtols > 0 && strcmp(method_names[m], "gd") != 0;
      for (size_t r = 0; r < (per_rtol ? nrtols : 1) && nspecs < MAX_SPECS; r++) {
        spec *sp = &specs[nspecs++];
        memset(sp, 0, sizeof *sp);
        sp->method = method_names[m];
        char o_method[64], o_c[64], o_target[64], o_lr[64], o_tmax[64], o_rtol[64];
        snprintf(o_method, sizeof o_method, "solver.method=%s", sp->method);
        snprintf(o_c, sizeof o_c, "init.c=%.17g", scales[k]);
        snprintf(o_target, sizeof o_target, "solver.loss_target=%.17g", loss_target);
        snprintf(o_lr, sizeof o_lr, "solver.learning_rate=%.17g", lr);
        snprintf(o_tmax, sizeof o_tmax, "solver.t_max=%.17g", base.solver.t_max / scales[k]);
        const char *overrides[6 + MAX_SETS] = {o_method, o_c, o_target, o_lr, o_tmax};
        size_t no = 5;
        for (size_t s = 0; s < nsets; s++) overrides[no++] = sets[s];
        if (per_rtol) { /* after --set, so that --rtols wins */
          snprintf(o_rtol, sizeof o_rtol, "solver.rtol=%.17g", rtols[r]);
          overrides[no++] = o_rtol;
        }
        if (bench_load_config(&sp->cfg, config, overrides, no) != DLN_SUCCESS) return 1;
        if (strcmp(sp->method, "gd") == 0)
          snprintf(sp->setting, sizeof sp->setting, "lr=%g", sp->cfg.solver.learning_rate);
        else
          snprintf(sp->setting, sizeof sp->setting, "rtol=%g", sp->cfg.solver.rtol);
      }
    }
    /* Round 1 of every run, then further rounds of those under --repeat-below, interleaved. */
    for (int round = 0; round < rounds; round++) {
      for (size_t i = 0; i < nspecs; i++) {
        spec *sp = &specs[i];
        if (round > 0 && sp->rec[0].cpu >= repeat_below) continue;
        if (run_once(&sp->cfg, sample_like_example, &sp->rec[sp->n]) != DLN_SUCCESS) return 1;
        sp->n++;
      }
    }
    for (size_t i = 0; i < nspecs; i++) {
      spec *sp = &specs[i];
      double wall[MAX_ROUNDS], cpu[MAX_ROUNDS], cpu_min = INFINITY;
      for (int r = 0; r < sp->n; r++) {
        wall[r] = sp->rec[r].wall;
        cpu[r] = sp->rec[r].cpu;
        if (cpu[r] < cpu_min) cpu_min = cpu[r];
      }
      double wall_med = bench_median(wall, (size_t)sp->n);
      double cpu_med = bench_median(cpu, (size_t)sp->n);
      const run_record *a = &sp->rec[0]; /* counts repeat bit for bit from round to round */
      int reached = a->stop == DLN_STOP_LOSS_TARGET;
      if (!reached) failures++;
      sp->cpu = reached ? cpu_med : NAN;
      printf("%-8g %-6s %-6s %-12s %10.5g %10.3e %8ld %9ld %9ld %8ld %8ld %9.3f %9.3f %6d %9.3f "
             "%s\n",
             scales[k], sp->method, bench_vector_kind(),
             reached ? "loss_target" : dln_stop_name(a->stop), a->t_final, a->loss_final, a->steps,
             a->solver_grads, a->grads, a->hvps, a->losses, wall_med, cpu_med, sp->n, cpu_min,
             sp->setting);
    }
    /* The ratio gd/bdf of median CPU times, for each bdf run, when gd ran. */
    const spec *gd = NULL;
    for (size_t i = 0; i < nspecs; i++)
      if (strcmp(specs[i].method, "gd") == 0) gd = &specs[i];
    for (size_t i = 0; gd && i < nspecs; i++) {
      if (strcmp(specs[i].method, "bdf") != 0) continue;
      double ratio = gd->cpu / specs[i].cpu;
      if (k < ntargets)
        printf("RATIO init.c=%g cpu(gd)/cpu(bdf) = %.2f  target >= %g: %s  (bdf %s, gd %s)\n",
               scales[k], ratio, targets[k],
               isnan(ratio) ? "UNKNOWN" : ratio >= targets[k] ? "MET" : "NOT MET",
               specs[i].setting, gd->setting);
      else
        printf("RATIO init.c=%g cpu(gd)/cpu(bdf) = %.2f  (bdf %s, gd %s)\n", scales[k], ratio,
               specs[i].setting, gd->setting);
    }
    fflush(stdout);
  }
  if (failures) fprintf(stderr, "bench_fig1: %d run(s) stopped before the loss target\n", failures);
  return failures ? 1 : 0;
}
