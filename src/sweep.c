/* A sweep's grid of configuration overrides (include/dlnflow/sweep.h). */
#include "dlnflow/sweep.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"

/* Most values one range "a:b" may expand to. */
#define RANGE_MAX 100000

static char *trim(char *s)
{
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

/* Splits s in place at sep into at most max trimmed parts; returns the count, or max + 1 when
 * there are more. */
static size_t split(char *s, char sep, char **parts, size_t max)
{
  size_t n = 0;
  for (char *p = s;; n++) {
    char *end = strchr(p, sep);
    if (end) *end = '\0';
    if (n < max) parts[n] = trim(p);
    if (!end) return n + 1 <= max ? n + 1 : max + 1;
    p = end + 1;
  }
}

/* Appends one item: nkeys texts, one per key of the axis. */
static int append_item(dln_sweep_axis *axis, char *const *texts, size_t *capacity)
{
  size_t need = (axis->nvalues + 1) * axis->nkeys;
  if (need > *capacity) {
    size_t cap = *capacity ? 2 * *capacity : 16;
    while (cap < need) cap *= 2;
    char **v = realloc(axis->values, cap * sizeof *v);
    if (!v) return dln_error(DLN_ENOMEM, "out of memory for a sweep axis");
    axis->values = v;
    *capacity = cap;
  }
  char **slot = axis->values + axis->nvalues * axis->nkeys;
  for (size_t k = 0; k < axis->nkeys; k++) {
    slot[k] = strdup(texts[k]);
    if (!slot[k]) {
      while (k-- > 0) free(slot[k]);
      return dln_error(DLN_ENOMEM, "out of memory for a sweep axis");
    }
  }
  axis->nvalues++;
  return DLN_SUCCESS;
}

/* Reads "a:b" with whole numbers a <= b; returns 0 when item is not such a range. */
static int parse_range(const char *item, long *a, long *b)
{
  char *end;
  errno = 0;
  *a = strtol(item, &end, 10);
  if (end == item || *end != ':' || errno) return 0;
  const char *second = end + 1;
  *b = strtol(second, &end, 10);
  return end != second && *end == '\0' && !errno;
}

/* Checks that value suits key on a default configuration. */
static int check_value(dln_config *scratch, const char *key, const char *value, const char *where)
{
  char assignment[sizeof scratch->sweep[0].values + 128];
  snprintf(assignment, sizeof assignment, "%s=%s", key, value);
  return dln_config_override(scratch, assignment, where);
}

static int parse_keys(char *keys, const char *where, dln_sweep_axis *axis)
{
  char *parts[DLN_SWEEP_KEYS_MAX];
  size_t n = split(keys, '/', parts, DLN_SWEEP_KEYS_MAX);
  if (n > DLN_SWEEP_KEYS_MAX)
    return dln_error(DLN_EINVAL, "%s: an axis varies at most %d keys together", where,
                     DLN_SWEEP_KEYS_MAX);
  for (size_t k = 0; k < n; k++) {
    if (!parts[k][0] || strlen(parts[k]) >= sizeof axis->keys[k])
      return dln_error(DLN_EFORMAT, "%s: '%s' is not a configuration key section.key", where,
                       parts[k]);
    if (dln_config_key_is_list(parts[k]))
      return dln_error(DLN_EINVAL, "%s: %s takes a list, which a sweep axis cannot vary (its "
                                   "commas would separate the axis's values)", where, parts[k]);
    if (strcmp(parts[k], "output.dir") == 0)
      return dln_error(DLN_EINVAL, "%s: output.dir cannot vary: the sweep gives every point "
                                   "its own folder", where);
    for (size_t j = 0; j < k; j++)
      if (strcmp(parts[j], parts[k]) == 0)
        return dln_error(DLN_EINVAL, "%s: key %s appears twice in one axis", where, parts[k]);
    snprintf(axis->keys[k], sizeof axis->keys[k], "%s", parts[k]);
  }
  axis->nkeys = n;
  return DLN_SUCCESS;
}

static int parse_values(char *values, const char *where, dln_sweep_axis *axis)
{
  dln_config *scratch = malloc(sizeof *scratch);
  if (!scratch) return dln_error(DLN_ENOMEM, "out of memory");
  dln_config_defaults(scratch);
  size_t capacity = 0;
  int status = DLN_SUCCESS;
  char *item = values;
  for (size_t index = 1; status == DLN_SUCCESS && item; index++) {
    char *next = strchr(item, ',');
    if (next) *next++ = '\0';
    item = trim(item);
    char shown[sizeof ((dln_config *)0)->sweep[0].values + 64];
    snprintf(shown, sizeof shown, "%s", item); /* split() cuts item up */
    char *parts[DLN_SWEEP_KEYS_MAX];
    long a, b;
    if (!item[0]) {
      status = dln_error(DLN_EFORMAT, "%s: value %zu of %s is empty", where, index,
                         axis->keys[0]);
    } else if (axis->nkeys == 1 && parse_range(item, &a, &b)) {
      if (b < a || b - a >= RANGE_MAX)
        status = dln_error(DLN_EINVAL, "%s: range '%s' must run upwards over at most %d values",
                           where, item, RANGE_MAX);
      for (long v = a; status == DLN_SUCCESS && v <= b; v++) {
        char text[32], *texts[1] = {text};
        snprintf(text, sizeof text, "%ld", v);
        status = check_value(scratch, axis->keys[0], text, where);
        if (status == DLN_SUCCESS) status = append_item(axis, texts, &capacity);
      }
    } else if (axis->nkeys > 1 && split(item, '/', parts, DLN_SWEEP_KEYS_MAX) != axis->nkeys) {
      status = dln_error(DLN_EFORMAT, "%s: value %zu '%s' needs %zu parts separated by '/', "
                                      "one per key", where, index, shown, axis->nkeys);
    } else {
      if (axis->nkeys == 1) parts[0] = item; /* a lone key's value may hold '/' (a path) */
      for (size_t k = 0; status == DLN_SUCCESS && k < axis->nkeys; k++) {
        if (!parts[k][0])
          status = dln_error(DLN_EFORMAT, "%s: value %zu gives %s nothing", where, index,
                             axis->keys[k]);
        if (status == DLN_SUCCESS) status = check_value(scratch, axis->keys[k], parts[k], where);
      }
      if (status == DLN_SUCCESS) status = append_item(axis, parts, &capacity);
    }
    if (status == DLN_SUCCESS && axis->nvalues > DLN_SWEEP_POINTS_MAX)
      status = dln_error(DLN_EINVAL, "%s: more than %d values", where, DLN_SWEEP_POINTS_MAX);
    item = next;
  }
  free(scratch);
  return status;
}

int dln_sweep_axis_parse(const char *keys, const char *values, const char *where,
                         dln_sweep_axis *axis)
{
  memset(axis, 0, sizeof *axis);
  char *k = strdup(keys ? keys : ""), *v = strdup(values ? values : "");
  int status = k && v ? parse_keys(k, where, axis) : dln_error(DLN_ENOMEM, "out of memory");
  if (status == DLN_SUCCESS && !trim(v)[0])
    status = dln_error(DLN_EFORMAT, "%s: %s has no values", where, axis->keys[0]);
  if (status == DLN_SUCCESS) status = parse_values(v, where, axis);
  free(k);
  free(v);
  if (status != DLN_SUCCESS) dln_sweep_axis_release(axis);
  return status;
}

int dln_sweep_axis_parse_assignment(const char *spec, const char *where, dln_sweep_axis *axis)
{
  memset(axis, 0, sizeof *axis);
  const char *eq = spec ? strchr(spec, '=') : NULL;
  if (!eq)
    return dln_error(DLN_EFORMAT, "%s: '%s' is not key=v1,v2,... (or key1/key2=a1/a2,b1/b2)",
                     where, spec ? spec : "");
  char keys[sizeof axis->keys * 2];
  if ((size_t)(eq - spec) >= sizeof keys)
    return dln_error(DLN_EINVAL, "%s: keys too long", where);
  snprintf(keys, sizeof keys, "%.*s", (int)(eq - spec), spec);
  return dln_sweep_axis_parse(keys, eq + 1, where, axis);
}

static int same_keys(const dln_sweep_axis *a, const dln_sweep_axis *b, size_t *shared)
{
  *shared = 0;
  for (size_t i = 0; i < a->nkeys; i++)
    for (size_t j = 0; j < b->nkeys; j++) *shared += strcmp(a->keys[i], b->keys[j]) == 0;
  return *shared == a->nkeys && *shared == b->nkeys;
}

static void count_points(dln_sweep_grid *grid)
{
  size_t n = 1;
  for (size_t a = 0; a < grid->naxes; a++) n *= grid->axes[a].nvalues;
  grid->npoints = n;
}

size_t dln_sweep_shared_keys(const dln_sweep_axis *a, const dln_sweep_axis *b)
{
  size_t shared;
  same_keys(a, b, &shared);
  return shared;
}

int dln_sweep_grid_add(dln_sweep_grid *grid, dln_sweep_axis *axis, const char *where)
{
  if (grid->naxes == 0) grid->npoints = 1;
  for (size_t a = 0; a < grid->naxes; a++)
    if (dln_sweep_shared_keys(&grid->axes[a], axis))
      return dln_error(DLN_EINVAL, "%s: axis %s shares a key with the axis %s: a key can vary "
                                   "on one axis only", where, axis->keys[0],
                       grid->axes[a].keys[0]);
  if (grid->naxes == DLN_SWEEP_AXES_MAX)
    return dln_error(DLN_EINVAL, "%s: a sweep has at most %d axes", where, DLN_SWEEP_AXES_MAX);
  size_t points = grid->npoints ? grid->npoints : 1;
  if (axis->nvalues == 0 || points > DLN_SWEEP_POINTS_MAX / axis->nvalues)
    return dln_error(DLN_EINVAL, "%s: the sweep would have more than %d points", where,
                     DLN_SWEEP_POINTS_MAX);
  grid->axes[grid->naxes++] = *axis;
  memset(axis, 0, sizeof *axis);
  count_points(grid);
  return DLN_SUCCESS;
}

int dln_sweep_grid_override(dln_sweep_grid *grid, dln_sweep_axis *axis)
{
  size_t place = grid->naxes, kept = 0;
  for (size_t a = 0; a < grid->naxes; a++) {
    size_t shared;
    same_keys(&grid->axes[a], axis, &shared);
    if (shared) {
      if (place == grid->naxes) place = kept;
      dln_sweep_axis_release(&grid->axes[a]);
    } else {
      grid->axes[kept++] = grid->axes[a];
    }
  }
  if (place == grid->naxes) return dln_sweep_grid_add(grid, axis, "--grid"); /* no overlap */
  grid->naxes = kept;
  memmove(&grid->axes[place + 1], &grid->axes[place], (kept - place) * sizeof *grid->axes);
  grid->axes[place] = *axis;
  grid->naxes++;
  memset(axis, 0, sizeof *axis);
  count_points(grid);
  if (grid->npoints > DLN_SWEEP_POINTS_MAX)
    return dln_error(DLN_EINVAL, "the sweep would have more than %d points", DLN_SWEEP_POINTS_MAX);
  return DLN_SUCCESS;
}

int dln_sweep_grid_from_config(const dln_config *cfg, dln_sweep_grid *grid)
{
  memset(grid, 0, sizeof *grid);
  grid->npoints = 1;
  for (size_t i = 0; i < cfg->nsweep; i++) {
    char where[DLN_PATH_MAX + 32];
    snprintf(where, sizeof where, "%s:%d", cfg->source, cfg->sweep[i].line);
    dln_sweep_axis axis;
    int status = dln_sweep_axis_parse(cfg->sweep[i].keys, cfg->sweep[i].values, where, &axis);
    if (status == DLN_SUCCESS) status = dln_sweep_grid_add(grid, &axis, where);
    dln_sweep_axis_release(&axis);
    if (status != DLN_SUCCESS) {
      dln_sweep_grid_release(grid);
      return status;
    }
  }
  return DLN_SUCCESS;
}

const char *dln_sweep_value(const dln_sweep_grid *grid, size_t point, size_t axis, size_t key)
{
  size_t stride = 1;
  for (size_t a = grid->naxes; a-- > axis + 1;) stride *= grid->axes[a].nvalues;
  const dln_sweep_axis *ax = &grid->axes[axis];
  size_t item = (point / stride) % ax->nvalues;
  return ax->values[item * ax->nkeys + key];
}

int dln_sweep_apply(const dln_sweep_grid *grid, size_t point, dln_config *cfg)
{
  char where[64];
  snprintf(where, sizeof where, "sweep point %zu", point);
  for (size_t a = 0; a < grid->naxes; a++)
    for (size_t k = 0; k < grid->axes[a].nkeys; k++) {
      int status = check_value(cfg, grid->axes[a].keys[k], dln_sweep_value(grid, point, a, k),
                               where);
      if (status != DLN_SUCCESS) return status;
    }
  return DLN_SUCCESS;
}

void dln_sweep_axis_release(dln_sweep_axis *axis)
{
  if (!axis) return;
  for (size_t i = 0; axis->values && i < axis->nvalues * axis->nkeys; i++) free(axis->values[i]);
  free(axis->values);
  memset(axis, 0, sizeof *axis);
}

void dln_sweep_grid_release(dln_sweep_grid *grid)
{
  if (!grid) return;
  for (size_t a = 0; a < grid->naxes; a++) dln_sweep_axis_release(&grid->axes[a]);
  memset(grid, 0, sizeof *grid);
}
