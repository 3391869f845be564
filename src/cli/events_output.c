/* Saddle events out of a run: events.json, the A matrices beside it, the table on stdout,
 * and the comparison --verify makes between two runs (docs/events.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dlnflow/errors.h"
#include "dlnflow/io.h"

static json_t *real_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *reals(const double *x, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, real_or_null(x[i]));
  return a;
}

static const char *kind_name(dln_plateau_kind k)
{
  return k == DLN_PLATEAU_SADDLE ? "saddle" : "minimum";
}

/* The file name of one of a plateau's matrices: A_<which>_<index>.npy. */
static void matrix_name(char *buf, size_t size, const char *which, size_t index)
{
  snprintf(buf, size, "A_%s_%zu.npy", which, index);
}

static json_t *description_json(const dln_description *d)
{
  json_t *top = json_array();
  for (size_t t = 0; t < d->ntriples; t++)
    json_array_append_new(top, json_pack("{s:f, s:o, s:o}", "value", d->grad_c_sv[t], "u",
                                         reals(d->grad_c_u + t * d->rows, d->rows), "v",
                                         reals(d->grad_c_v + t * d->cols, d->cols)));
  json_t *layers = json_array();
  const double *sv = d->layer_sv;
  for (size_t l = 0; l < d->depth; l++) {
    json_array_append_new(layers, reals(sv, d->layer_nsv[l]));
    sv += d->layer_nsv[l];
  }
  json_t *hessian = json_null();
  if (d->has_hessian)
    hessian = json_pack("{s:f, s:f, s:I, s:s, s:I, s:o, s:o}", "lambda_min",
                        d->hessian.lambda_min, "lambda_max", d->hessian.lambda_max, "negative",
                        (json_int_t)d->hessian.negative, "method",
                        d->hessian.dense ? "dense" : "lanczos", "lanczos_steps",
                        (json_int_t)d->hessian.lanczos_steps, "lowest",
                        reals(d->lowest, d->nlowest), "highest", reals(d->highest, d->nhighest));
  return json_pack("{s:f, s:o, s:f, s:f, s:f, s:f, s:f, s:I, s:o, s:o, s:o, s:o, s:o}", "loss",
                   d->loss, "test_loss", real_or_null(d->test_loss), "excess_loss",
                   d->excess_loss, "theta_norm", d->theta_norm, "grad_norm", d->grad_norm,
                   "grad_c_norm", d->grad_c_norm, "nuclear_norm", d->nuclear_norm, "rank",
                   (json_int_t)d->rank, "singular_values", reals(d->sv, d->nsv),
                   "grad_c_top", top, "layer_singular_values", layers, "balance",
                   reals(d->balance, d->depth > 1 ? d->depth - 1 : 0), "hessian", hessian);
}

json_t *dln_cli_events_json(const dln_events *ev, const dln_events_options *o)
{
  json_t *list = json_array();
  char entry[64], closest[64], exit_name[64];
  for (size_t i = 0; i < dln_events_count(ev); i++) {
    const dln_plateau *r = dln_events_get(ev, i);
    matrix_name(entry, sizeof entry, "entry", i);
    matrix_name(closest, sizeof closest, "closest", i);
    matrix_name(exit_name, sizeof exit_name, "exit", i);
    json_t *rec = json_pack("{s:I, s:s, s:s, s:f, s:f, s:o, s:f, s:f, s:f, s:{s:s, s:s, s:o}}",
                            "index", (json_int_t)r->index, "kind", kind_name(r->kind),
                            "minimum_type", r->minimum_type, "t_entry", r->t_entry,
                            "t_closest", r->t_closest, "t_exit", real_or_null(r->t_exit),
                            "significance", r->significance, "indicator", r->indicator, "kick",
                            r->kick, "files", "A_entry", entry, "A_closest", closest, "A_exit",
                            r->A_exit ? json_string(exit_name) : json_null());
    json_t *described = description_json(&r->closest);
    json_object_update(rec, described); /* flat: loss, rank, ... of the closest approach */
    json_decref(described);
    json_object_set_new(rec, "loss_closest", json_real(r->closest.loss));
    json_object_set_new(rec, "loss", json_real(dln_plateau_loss(r)));
    json_object_set_new(rec, "critical",
                        r->refined ? description_json(&r->critical) : json_null());
    json_object_set_new(rec, "newton",
                        r->newton.iterations > 0 || r->refined
                            ? json_pack("{s:b, s:I, s:f, s:f, s:f}", "converged",
                                        r->newton.converged, "iterations",
                                        (json_int_t)r->newton.iterations, "grad_norm_start",
                                        r->newton.grad_norm_start, "grad_norm",
                                        r->newton.grad_norm, "distance", r->newton.distance)
                            : json_null());
    json_array_append_new(list, rec);
  }
  size_t saddles = 0;
  for (size_t i = 0; i < dln_events_count(ev); i++)
    saddles += dln_events_get(ev, i)->kind == DLN_PLATEAU_SADDLE;
  return json_pack("{s:o, s:I, s:I, s:f, s:{s:s, s:f, s:f, s:f, s:f, s:f, s:f}}", "plateaus",
                   list, "saddles", (json_int_t)saddles, "discarded",
                   (json_int_t)dln_events_discarded(ev), "loss_floor",
                   dln_events_loss_floor(ev), "definitions", "indicator",
                   "J = t |grad L|^2 / (L - loss_floor)", "enter", o->enter, "exit", o->exit,
                   "depth", o->depth, "grad_c_tol", o->grad_c_tol, "rank_tol",
                   o->describe.rank_tol, "perturb", o->perturb);
}

int dln_cli_write_event_matrices(const char *dir, const dln_events *ev)
{
  char name[64], path[DLN_PATH_MAX + 80];
  for (size_t i = 0; i < dln_events_count(ev); i++) {
    const dln_plateau *r = dln_events_get(ev, i);
    const double *which[3] = {r->A_entry, r->closest.A, r->A_exit};
    const char *names[3] = {"entry", "closest", "exit"};
    for (int k = 0; k < 3; k++) {
      if (!which[k]) continue;
      matrix_name(name, sizeof name, names[k], i);
      snprintf(path, sizeof path, "%s/%s", dir, name);
      int status = dln_matrix_write_npy(path, which[k], r->closest.rows, r->closest.cols);
      if (status != DLN_SUCCESS) return status;
    }
  }
  return DLN_SUCCESS;
}

void dln_cli_print_events(FILE *out, const dln_events *ev)
{
  size_t n = dln_events_count(ev);
  fprintf(out, "  plateaus %zu kept, %zu discarded as shallow\n", n, dln_events_discarded(ev));
  if (n == 0) return;
  fprintf(out, "     #  kind      t_entry     t_closest   t_exit      loss        rank  "
               "|grad C|    lambda_min  neg\n");
  for (size_t i = 0; i < n; i++) {
    const dln_plateau *r = dln_events_get(ev, i);
    const dln_description *d = r->refined ? &r->critical : &r->closest;
    char exit_text[16];
    if (isnan(r->t_exit))
      snprintf(exit_text, sizeof exit_text, "%s", "-");
    else
      snprintf(exit_text, sizeof exit_text, "%.5g", r->t_exit);
    fprintf(out, "  %4zu  %-8s  %-10.5g  %-10.5g  %-10s  %-10.4g  %4zu  %-10.3g  ", i,
            kind_name(r->kind), r->t_entry, r->t_closest, exit_text, dln_plateau_loss(r),
            d->rank, d->grad_c_norm);
    if (d->has_hessian)
      fprintf(out, "%-10.3g  %zu\n", d->hessian.lambda_min, d->hessian.negative);
    else
      fprintf(out, "-           -\n");
  }
}

/* |a - b| / max(|a|, |b|), 0 when both vanish or both are NaN (never left). */
static double relative_change(double a, double b)
{
  if (isnan(a) && isnan(b)) return 0.0;
  if (isnan(a) || isnan(b)) return INFINITY;
  double scale = fmax(fabs(a), fabs(b));
  return scale > 0.0 ? fabs(a - b) / scale : 0.0;
}

json_t *dln_cli_events_compare(const dln_events *run, const dln_events *tight, double rtol,
                               FILE *out)
{
  size_t n = dln_events_count(run), m = dln_events_count(tight);
  double worst[4] = {0};
  static const char *names[4] = {"t_entry", "t_closest", "t_exit", "loss"};
  json_t *each = json_array();
  int same_kinds = n == m;
  for (size_t i = 0; i < n && i < m; i++) {
    const dln_plateau *a = dln_events_get(run, i), *b = dln_events_get(tight, i);
    double change[4] = {relative_change(a->t_entry, b->t_entry),
                        relative_change(a->t_closest, b->t_closest),
                        relative_change(a->t_exit, b->t_exit),
                        relative_change(dln_plateau_loss(a), dln_plateau_loss(b))};
    same_kinds &= a->kind == b->kind && a->closest.rank == b->closest.rank &&
                  a->refined == b->refined;
    json_t *rec = json_object();
    json_object_set_new(rec, "index", json_integer((json_int_t)i));
    for (int k = 0; k < 4; k++) {
      json_object_set_new(rec, names[k], real_or_null(change[k]));
      if (change[k] > worst[k]) worst[k] = change[k];
    }
    json_array_append_new(each, rec);
  }
  json_t *largest = json_object();
  for (int k = 0; k < 4; k++) json_object_set_new(largest, names[k], real_or_null(worst[k]));
  if (out) {
    fprintf(out, "  verify   rtol %.3g: %zu plateaus against %zu%s; largest relative change: "
                 "t_entry %.2g, t_closest %.2g, t_exit %.2g, loss %.2g\n",
            rtol, m, n, same_kinds ? ", same kinds and ranks" : " (THE RECORDS DIFFER)",
            worst[0], worst[1], worst[2], worst[3]);
  }
  return json_pack("{s:f, s:I, s:I, s:b, s:o, s:o}", "rtol", rtol, "plateaus", (json_int_t)m,
                   "plateaus_at_run_tolerance", (json_int_t)n, "same_records", same_kinds,
                   "largest_relative_change", largest, "per_plateau", each);
}
