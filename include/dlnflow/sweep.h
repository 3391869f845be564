/* A sweep's grid: the Cartesian product of axes of configuration overrides.
 *
 * An axis varies one key ("init.gamma" over "0.75,1,1.5") or several keys together
 * ("init.gamma/solver.t_max" over "0.75/31.6, 1.5/1000": one value per key in each item,
 * separated by '/'; so only a lone key's values may hold '/', such as paths). A single-key
 * axis may give a whole-number range "1:10" (1, 2, ..., 10).
 * Points are numbered with the first axis slowest, so point i's overrides never depend on
 * how the points are later shared among jobs or MPI ranks.
 */
#ifndef DLNFLOW_SWEEP_H
#define DLNFLOW_SWEEP_H

#include <stddef.h>

#include "dlnflow/config.h"

#define DLN_SWEEP_KEYS_MAX 8
#define DLN_SWEEP_POINTS_MAX 1000000

typedef struct dln_sweep_axis {
  size_t nkeys;
  char keys[DLN_SWEEP_KEYS_MAX][64];  /* "section.key" */
  size_t nvalues;
  char **values;                      /* nvalues x nkeys texts, item-major (owned) */
} dln_sweep_axis;

typedef struct dln_sweep_grid {
  dln_sweep_axis axes[DLN_SWEEP_AXES_MAX];
  size_t naxes;
  size_t npoints;                     /* product of the axes' value counts (1 when none) */
} dln_sweep_grid;

/* Parses one axis from its keys and values texts; `where` names its origin in messages
 * ("--grid" or "file:line"). Every key must be a configuration key other than output.dir and
 * the list-valued keys, and every value one that key accepts (checked on a default
 * configuration). Values cannot hold ',' (it separates them). */
int dln_sweep_axis_parse(const char *keys, const char *values, const char *where,
                         dln_sweep_axis *axis);

/* Parses "keys=values" (the --grid form). */
int dln_sweep_axis_parse_assignment(const char *spec, const char *where, dln_sweep_axis *axis);

/* Adds an axis (taking its values); an axis sharing a key with one already there is refused
 * (`where` names the new axis's origin). */
int dln_sweep_grid_add(dln_sweep_grid *grid, dln_sweep_axis *axis, const char *where);

/* The number of keys two axes share. */
size_t dln_sweep_shared_keys(const dln_sweep_axis *a, const dln_sweep_axis *b);

/* Adds an axis in place of every axis sharing a key with it (a --grid overriding [sweep]
 * lines: "init.gamma/solver.t_max" replaces a line "init.gamma"), at the first one's place. */
int dln_sweep_grid_override(dln_sweep_grid *grid, dln_sweep_axis *axis);

/* Builds the grid of a configuration's [sweep] section (messages name the file and line). */
int dln_sweep_grid_from_config(const dln_config *cfg, dln_sweep_grid *grid);

/* The text of key k of axis a at point i. */
const char *dln_sweep_value(const dln_sweep_grid *grid, size_t point, size_t axis, size_t key);

/* Applies point i's overrides to cfg (messages name the point and the key). */
int dln_sweep_apply(const dln_sweep_grid *grid, size_t point, dln_config *cfg);

void dln_sweep_axis_release(dln_sweep_axis *axis);
void dln_sweep_grid_release(dln_sweep_grid *grid);

#endif
