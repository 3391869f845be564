/* How accurate are the runs bench_fig1 times? The Figure 1 run (examples/fig1-mc-rank3.ini)
 * by bdf at several relative tolerances and by gradient descent at several learning rates,
 * each compared with a tight bdf reference in quantities that do not depend on the network's
 * hidden-layer rotations: the loss, the singular values of A = W_L ... W_1, the times at which
 * the loss first falls through fixed levels, the plateau (saddle) times of the event tracker,
 * and the state where the run stops at the loss target.
 *
 * usage: bench_accuracy [--config PATH] [--reference-rtol 1e-10] [--rtols 1e-4,1e-5,1e-6]
 *                       [--lrs 0.05] [--loss-target 1e-8] [--dt 0.05] [--t-end T]
 *                       [--levels 2,1,0.5,0.1,1e-2,...] [--set section.key=value ...]
 *
 * Every configuration is run twice:
 *   - the grid run: output at t = k dt up to t_end (default: the first grid point after the
 *     reference reaches the loss target, plus 0.5%), no loss target, saddle events tracked.
 *     dt must be a multiple of every learning rate: gd's rows are its own iterates (no
 *     interpolation); for bdf the rows come from CVODE's dense output. Level crossings are
 *     interpolated linearly in log(loss) between rows. (Asking for output at dt changes CVODE's
 *     first step size, so a grid run's steps differ a little from the timed run's.)
 *   - the timed run: exactly what bench_fig1 times (output at 0 and t_max only, stop at the
 *     loss target): its stop time, singular values and test loss.
 * Output: per run, the largest errors against the reference; then the crossing times of each
 * level and the plateau times. gd's event times are reported at the iterate after the
 * crossing (resolution one learning rate).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "dlnflow/errors.h"
#include "dlnflow/events.h"
#include "dlnflow/run.h"
#include "dlnflow/setup.h"

#define MAX_LIST 16
#define MAX_SETS 16
#define MAX_RUNS 24
#define NSV 4          /* singular values of A kept per row (the target has rank 3) */
#define MAX_PLATEAUS 16

typedef struct trace {
  char label[64];
  /* grid run */
  size_t n, cap;
  double *t, *loss, *sv; /* sv: NSV per row */
  size_t nplat;
  int kind[MAX_PLATEAUS]; /* 0 saddle, 1 minimum */
  double t_entry[MAX_PLATEAUS], t_closest[MAX_PLATEAUS], t_exit[MAX_PLATEAUS];
  long grid_steps;
  /* timed run */
  long steps;
  double t_final, loss_final, test_final, sv_final[NSV];
} trace;

static int record_row(const dln_sample *s, void *data)
{
  trace *tr = data;
  if (tr->n == tr->cap) {
    size_t cap = tr->cap ? 2 * tr->cap : 1024;
    double *t = realloc(tr->t, cap * sizeof *t);
    if (t) tr->t = t;
    double *l = realloc(tr->loss, cap * sizeof *l);
    if (l) tr->loss = l;
    double *v = realloc(tr->sv, cap * NSV * sizeof *v);
    if (v) tr->sv = v;
    if (!t || !l || !v) return dln_error(DLN_ENOMEM, "bench_accuracy: out of memory");
    tr->cap = cap;
  }
  tr->t[tr->n] = s->t;
  tr->loss[tr->n] = s->loss;
  for (size_t k = 0; k < NSV; k++) tr->sv[tr->n * NSV + k] = k < s->nsv ? s->sv[k] : 0.0;
  tr->n++;
  return DLN_SUCCESS;
}

static int ignore_sample(const dln_sample *s, void *data)
{
  (void)s;
  (void)data;
  return DLN_SUCCESS;
}

/* Loads the configuration with the method's overrides, then the user's, then t_max (when
 * positive: the grid runs end at t_end whatever the user set). */
static int load(dln_config *cfg, const char *config, const char *method, double rtol, double lr,
                double loss_target, double t_max, const char *const *sets, size_t nsets)
{
  char o_method[64], o_rtol[64], o_lr[64], o_target[64], o_tmax[64];
  snprintf(o_method, sizeof o_method, "solver.method=%s", method);
  snprintf(o_rtol, sizeof o_rtol, "solver.rtol=%.17g", rtol);
  snprintf(o_lr, sizeof o_lr, "solver.learning_rate=%.17g", lr);
  snprintf(o_target, sizeof o_target, "solver.loss_target=%.17g", loss_target);
  snprintf(o_tmax, sizeof o_tmax, "solver.t_max=%.17g", t_max);
  const char *overrides[5 + MAX_SETS] = {o_method, o_rtol, o_lr, o_target};
  size_t n = 4;
  for (size_t i = 0; i < nsets; i++) overrides[n++] = sets[i];
  if (t_max > 0.0) overrides[n++] = o_tmax;
  return bench_load_config(cfg, config, overrides, n);
}

/* The timed run: output at 0 and t_max, stop at the loss target. */
static int timed_run(const dln_config *cfg, trace *tr)
{
  dln_setup setup;
  int status = dln_setup_build(cfg, &setup);
  if (status != DLN_SUCCESS) return status;
  double times[2] = {0.0, cfg->solver.t_max};
  dln_run_options ro = {.rank_tol = cfg->rank_tol};
  dln_run_result r = {0};
  status = dln_run_trajectory(setup.problem, setup.theta0, &cfg->solver, times, 2, &ro, NULL,
                              ignore_sample, NULL, &r);
  if (status == DLN_SUCCESS) {
    if (r.stop != DLN_STOP_LOSS_TARGET)
      status = dln_error(DLN_ESOLVER, "%s stopped (%s) before the loss target", tr->label,
                         dln_stop_name(r.stop));
    tr->steps = r.stats.steps;
    tr->t_final = r.last.t;
    tr->loss_final = r.last.loss;
    tr->test_final = r.last.test_loss;
    for (size_t k = 0; k < NSV; k++) tr->sv_final[k] = k < r.last.nsv ? r.sv_last[k] : 0.0;
  }
  dln_setup_release(&setup);
  return status;
}

/* The grid run: rows at k dt up to t_end, events tracked. */
static int grid_run(const dln_config *cfg, double dt, double t_end, trace *tr)
{
  dln_setup setup;
  int status = dln_setup_build(cfg, &setup);
  if (status != DLN_SUCCESS) return status;
  size_t count = (size_t)floor(t_end / dt + 1e-9) + 1;
  double *times = malloc(count * sizeof *times);
  dln_events *ev = NULL;
  dln_events_options eo = cfg->events;
  eo.describe.rank_tol = cfg->rank_tol;
  if (!times) status = dln_error(DLN_ENOMEM, "bench_accuracy: out of memory");
  if (status == DLN_SUCCESS) status = dln_events_alloc(setup.problem, &eo, &ev);
  if (status == DLN_SUCCESS) {
    for (size_t k = 0; k < count; k++) times[k] = (double)k * dt;
    dln_run_options ro = {.rank_tol = cfg->rank_tol};
    dln_run_result r = {0};
    status = dln_run_trajectory(setup.problem, setup.theta0, &cfg->solver, times, count, &ro,
                                ev, record_row, tr, &r);
    tr->grid_steps = r.stats.steps;
  }
  if (status == DLN_SUCCESS) {
    tr->nplat = dln_events_count(ev) < MAX_PLATEAUS ? dln_events_count(ev) : MAX_PLATEAUS;
    for (size_t i = 0; i < tr->nplat; i++) {
      const dln_plateau *p = dln_events_get(ev, i);
      tr->kind[i] = p->kind == DLN_PLATEAU_MINIMUM;
      tr->t_entry[i] = p->t_entry;
      tr->t_closest[i] = p->t_closest;
      tr->t_exit[i] = p->t_exit;
    }
  }
  dln_events_free(ev);
  free(times);
  dln_setup_release(&setup);
  return status;
}

/* First time the loss is at or below level, interpolated in log(loss); NaN if never. */
static double crossing(const trace *tr, double level)
{
  for (size_t i = 0; i < tr->n; i++) {
    if (tr->loss[i] > level) continue;
    if (i == 0) return tr->t[0];
    double a = log(tr->loss[i - 1]), b = log(tr->loss[i]), c = log(level);
    return tr->t[i - 1] + (tr->t[i] - tr->t[i - 1]) * (a - c) / (a - b);
  }
  return NAN;
}

/* Row of tr at time t (the grids are the same), or -1. */
static long row_at(const trace *tr, double t, size_t hint)
{
  if (hint < tr->n && fabs(tr->t[hint] - t) <= 1e-9 * (1.0 + fabs(t))) return (long)hint;
  return -1;
}

static int print_runs(const trace *ref, const trace *runs, size_t nruns, const double *levels,
                      size_t nlevels, double t_end)
{
  double sv_scale = 0.0;
  for (size_t k = 0; k < NSV; k++) sv_scale += ref->sv_final[k] * ref->sv_final[k];
  sv_scale = sqrt(sv_scale);

  printf("\n# errors against the reference, over t in [0, %.6g]\n", t_end);
  printf("# max|dt| levels: largest shift of the level-crossing times; loss rel.err: "
         "max_t |L/L_ref - 1|;\n# sv err: max_t ||s(t) - s_ref(t)|| / ||s_ref(final)|| "
         "(top %d singular values of A); dt events: largest shift of plateau times;\n"
         "# at stop: the timed run's stop time minus the reference's, and "
         "max_i |s_i/s_ref,i - 1| over the target's rank 3\n", NSV);
  printf("%-18s %7s %7s %12s %12s %12s %12s %12s %12s %12s\n", "run", "steps", "grid", "max|dt|lev",
         "lossrelerr", "sverr", "max|dt|ev", "t_stop", "dt_stop", "sv_stop_rel");
  for (size_t r = 0; r < nruns; r++) {
    const trace *tr = &runs[r];
    double max_dt = 0.0;
    for (size_t l = 0; l < nlevels; l++) {
      double a = crossing(tr, levels[l]), b = crossing(ref, levels[l]);
      if (isfinite(a) && isfinite(b) && fabs(a - b) > max_dt) max_dt = fabs(a - b);
      if (isfinite(a) != isfinite(b)) max_dt = INFINITY;
    }
    double loss_err = 0.0, sv_err = 0.0;
    size_t compared = 0;
    for (size_t i = 0; i < tr->n; i++) {
      long j = row_at(ref, tr->t[i], i);
      if (j < 0) continue;
      compared++;
      double e = fabs(tr->loss[i] / ref->loss[j] - 1.0);
      if (e > loss_err) loss_err = e;
      double d = 0.0;
      for (size_t k = 0; k < NSV; k++) {
        double x = tr->sv[i * NSV + k] - ref->sv[(size_t)j * NSV + k];
        d += x * x;
      }
      if (sqrt(d) / sv_scale > sv_err) sv_err = sqrt(d) / sv_scale;
    }
    if (compared != ref->n || tr->n != ref->n) {
      fprintf(stderr, "bench_accuracy: %s: %zu rows against the reference's %zu (%zu matched)\n",
              tr->label, tr->n, ref->n, compared);
      return 1;
    }
    double ev_dt = 0.0;
    if (tr->nplat != ref->nplat) {
      ev_dt = INFINITY;
    } else {
      for (size_t p = 0; p < tr->nplat; p++) {
        double pairs[3][2] = {{tr->t_entry[p], ref->t_entry[p]},
                              {tr->t_closest[p], ref->t_closest[p]},
                              {tr->t_exit[p], ref->t_exit[p]}};
        for (int q = 0; q < 3; q++)
          if (isfinite(pairs[q][0]) && isfinite(pairs[q][1]) && pairs[q][1] < t_end &&
              fabs(pairs[q][0] - pairs[q][1]) > ev_dt)
            ev_dt = fabs(pairs[q][0] - pairs[q][1]);
      }
    }
    double sv_stop = 0.0;
    for (size_t k = 0; k < 3 && k < NSV; k++) {
      double e = fabs(tr->sv_final[k] / ref->sv_final[k] - 1.0);
      if (e > sv_stop) sv_stop = e;
    }
    printf("%-18s %7ld %7ld %12.3e %12.3e %12.3e %12.3e %12.6f %12.3e %12.3e\n", tr->label,
           tr->steps, tr->grid_steps, max_dt, loss_err, sv_err, ev_dt, tr->t_final,
           tr->t_final - ref->t_final, sv_stop);
  }

  printf("\n# time at which the loss first falls to each level (reference), and each run's "
         "shift from it\n%-10s %14s", "level", "reference");
  for (size_t r = 0; r < nruns; r++) printf(" %18s", runs[r].label);
  printf("\n");
  for (size_t l = 0; l < nlevels; l++) {
    double b = crossing(ref, levels[l]);
    printf("%-10g %14.6f", levels[l], b);
    for (size_t r = 0; r < nruns; r++) printf(" %+18.3e", crossing(&runs[r], levels[l]) - b);
    printf("\n");
  }

  printf("\n# plateau times (reference) and each run's shift from them\n%-12s %14s",
         "plateau", "reference");
  for (size_t r = 0; r < nruns; r++) printf(" %18s", runs[r].label);
  printf("\n");
  for (size_t p = 0; p < ref->nplat; p++) {
    const char *names[3] = {"t_entry", "t_closest", "t_exit"};
    for (int q = 0; q < 3; q++) {
      const double *rv = q == 0 ? ref->t_entry : q == 1 ? ref->t_closest : ref->t_exit;
      if (!isfinite(rv[p]) || rv[p] >= t_end || (q < 2 && p == 0)) continue;
      char name[32];
      snprintf(name, sizeof name, "%zu %s %s", p, ref->kind[p] ? "min" : "sad", names[q]);
      printf("%-12s %14.6f", name, rv[p]);
      for (size_t r = 0; r < nruns; r++) {
        const trace *tr = &runs[r];
        const double *v = q == 0 ? tr->t_entry : q == 1 ? tr->t_closest : tr->t_exit;
        printf(" %+18.3e", p < tr->nplat ? v[p] - rv[p] : NAN);
      }
      printf("\n");
    }
  }

  printf("\n# the timed runs at their stop (loss target): singular values of A, test loss\n");
  printf("%-18s %14s %12s %12s %12s %12s %12s\n", "run", "t_stop", "loss", "test_loss", "sv1",
         "sv2", "sv3");
  const trace *all[MAX_RUNS + 1];
  all[0] = ref;
  for (size_t r = 0; r < nruns; r++) all[r + 1] = &runs[r];
  for (size_t r = 0; r <= nruns; r++)
    printf("%-18s %14.6f %12.4e %12.4e %12.8f %12.8f %12.8f\n", all[r]->label, all[r]->t_final,
           all[r]->loss_final, all[r]->test_final, all[r]->sv_final[0], all[r]->sv_final[1],
           all[r]->sv_final[2]);
  return 0;
}

static void usage(FILE *out)
{
  fprintf(out, "usage: bench_accuracy [--config PATH] [--reference-rtol R] [--rtols R1,R2,...]\n"
               "                      [--lrs ETA1,...] [--loss-target L] [--dt DT] [--t-end T]\n"
               "                      [--levels L1,L2,...] [--set section.key=value ...]\n");
}

int main(int argc, char **argv)
{
  const char *config = "examples/fig1-mc-rank3.ini";
  double ref_rtol = 1e-10, loss_target = 1e-8, dt = 0.05, t_end = 0.0;
  double rtols[MAX_LIST] = {1e-4, 1e-5, 1e-6}, lrs[MAX_LIST] = {0.05};
  double levels[MAX_LIST] = {2, 1, 0.5, 0.1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8};
  size_t nrtols = 3, nlrs = 1, nlevels = 11;
  const char *sets[MAX_SETS];
  size_t nsets = 0;
  for (int i = 1; i < argc; i++) {
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--config") == 0 && next) {
      config = argv[++i];
    } else if (strcmp(argv[i], "--reference-rtol") == 0 && next) {
      ref_rtol = atof(argv[++i]);
    } else if (strcmp(argv[i], "--rtols") == 0 && next) {
      nrtols = bench_parse_list(argv[++i], rtols, MAX_LIST);
    } else if (strcmp(argv[i], "--lrs") == 0 && next) {
      nlrs = bench_parse_list(argv[++i], lrs, MAX_LIST);
    } else if (strcmp(argv[i], "--loss-target") == 0 && next) {
      loss_target = atof(argv[++i]);
    } else if (strcmp(argv[i], "--dt") == 0 && next) {
      dt = atof(argv[++i]);
    } else if (strcmp(argv[i], "--t-end") == 0 && next) {
      t_end = atof(argv[++i]);
    } else if (strcmp(argv[i], "--levels") == 0 && next) {
      nlevels = bench_parse_list(argv[++i], levels, MAX_LIST);
    } else if (strcmp(argv[i], "--set") == 0 && next && nsets < MAX_SETS) {
      sets[nsets++] = argv[++i];
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (!(ref_rtol > 0.0) || !(loss_target > 0.0) || !(dt > 0.0) || nrtols + nlrs > MAX_RUNS) {
    usage(stderr);
    return 2;
  }
  for (size_t i = 0; i < nlrs; i++)
    if (!(lrs[i] > 0.0) || fabs(dt / lrs[i] - round(dt / lrs[i])) > 1e-9 || dt < lrs[i]) {
      fprintf(stderr, "bench_accuracy: --dt %g must be a multiple of every learning rate (%g): "
                      "gd's rows are its iterates\n", dt, lrs[i]);
      return 2;
    }
  bench_init();

  static trace ref, runs[MAX_RUNS];
  size_t nruns = 0;
  snprintf(ref.label, sizeof ref.label, "ref bdf %g", ref_rtol);
  for (size_t i = 0; i < nrtols; i++) snprintf(runs[nruns++].label, 64, "bdf %g", rtols[i]);
  for (size_t i = 0; i < nlrs; i++) snprintf(runs[nruns++].label, 64, "gd %g", lrs[i]);

  printf("# Figure 1 run (%s): accuracy against bdf at rtol %g; loss target %g; grid dt %g\n",
         config, ref_rtol, loss_target, dt);
  for (size_t s = 0; s < nsets; s++) printf("# override: %s\n", sets[s]);
  fflush(stdout);

  dln_config cfg;
  if (load(&cfg, config, "bdf", ref_rtol, 0.05, loss_target, 0.0, sets, nsets) != DLN_SUCCESS ||
      timed_run(&cfg, &ref) != DLN_SUCCESS) {
    fprintf(stderr, "bench_accuracy: reference: %s\n", dln_error_message());
    return 1;
  }
  /* Past the reference's stop by 0.5%, so that every level down to the target is crossed. */
  if (!(t_end > 0.0)) t_end = ceil(1.005 * ref.t_final / dt) * dt;
  printf("# reference reaches the loss target at t = %.9g; rows every %g up to t_end = %.9g\n",
         ref.t_final, dt, t_end);
  fflush(stdout);
  if (load(&cfg, config, "bdf", ref_rtol, 0.05, 0.0, t_end, sets, nsets) != DLN_SUCCESS ||
      grid_run(&cfg, dt, t_end, &ref) != DLN_SUCCESS) {
    fprintf(stderr, "bench_accuracy: reference grid: %s\n", dln_error_message());
    return 1;
  }
  for (size_t r = 0; r < nruns; r++) {
    int gd = r >= nrtols;
    const char *method = gd ? "gd" : "bdf";
    double rtol = gd ? 1e-6 : rtols[r], lr = gd ? lrs[r - nrtols] : 0.05;
    if (load(&cfg, config, method, rtol, lr, loss_target, 0.0, sets, nsets) != DLN_SUCCESS ||
        timed_run(&cfg, &runs[r]) != DLN_SUCCESS ||
        load(&cfg, config, method, rtol, lr, 0.0, t_end, sets, nsets) != DLN_SUCCESS ||
        grid_run(&cfg, dt, t_end, &runs[r]) != DLN_SUCCESS) {
      fprintf(stderr, "bench_accuracy: %s: %s\n", runs[r].label, dln_error_message());
      return 1;
    }
    fprintf(stderr, "bench_accuracy: %s done\n", runs[r].label);
  }
  return print_runs(&ref, runs, nruns, levels, nlevels, t_end);
}
