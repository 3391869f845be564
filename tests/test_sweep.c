/* The sweep grid: parsing axes (lists, ranges, keys varied together), refusals naming the
 * fault, the point order (first axis slowest), replacing an axis, and applying a point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/config.h"
#include "dlnflow/errors.h"
#include "dlnflow/sweep.h"
#include "testlib.h"

static void test_parse_lists(void)
{
  dln_sweep_axis ax;
  int rc = dln_sweep_axis_parse("init.gamma", " 0.75, 1 ,1.5", "t", &ax);
  test_true(rc == DLN_SUCCESS && ax.nvalues == 3 && ax.nkeys == 1, "a list of three values");
  test_true(rc == DLN_SUCCESS && strcmp(ax.values[1], "1") == 0 && strcmp(ax.values[2], "1.5") == 0,
            "values are trimmed and kept in order");
  dln_sweep_axis_release(&ax);

  rc = dln_sweep_axis_parse("init.seed", "1:4,9", "t", &ax);
  test_true(rc == DLN_SUCCESS && ax.nvalues == 5 && strcmp(ax.values[3], "4") == 0 &&
                strcmp(ax.values[4], "9") == 0,
            "a range 1:4 expands to 1..4 and mixes with single values");
  dln_sweep_axis_release(&ax);

  rc = dln_sweep_axis_parse_assignment("init.gamma/solver.t_max = 0.75/31.6, 1.5/1000", "t", &ax);
  test_true(rc == DLN_SUCCESS && ax.nkeys == 2 && ax.nvalues == 2 &&
                strcmp(ax.keys[1], "solver.t_max") == 0 && strcmp(ax.values[2], "1.5") == 0 &&
                strcmp(ax.values[3], "1000") == 0,
            "keys varied together pair their values item by item");
  dln_sweep_axis_release(&ax);
}

/* Parses spec and checks that it fails with a message containing want. */
static void refused(const char *spec, const char *want, const char *what)
{
  dln_sweep_axis ax;
  int rc = dln_sweep_axis_parse_assignment(spec, "--grid", &ax);
  const char *msg = dln_error_message();
  char detail[400];
  snprintf(detail, sizeof detail, "%s refused, message names '%s' (got: %s)", what, want, msg);
  test_true(rc != DLN_SUCCESS && strstr(msg, want) != NULL && strstr(msg, "--grid") != NULL,
            "%s", detail);
  dln_sweep_axis_release(&ax);
}

static void test_refusals(void)
{
  refused("init.gama=1,2", "gama", "an unknown key");
  refused("init.gamma=1,abc", "abc", "a value that is not a number");
  refused("network.depth=2,0", "network.depth", "a value out of bounds");
  refused("init.gamma/solver.t_max=1/10,2", "'2' needs 2 parts", "an item short of a key");
  refused("init.gamma=1,,2", "value 2", "an empty value");
  refused("output.dir=a,b", "output.dir cannot vary", "varying output.dir");
  refused("init.gamma", "is not key=", "a grid without '='");
  refused("init.seed=5:1", "range '5:1'", "a range running downwards");
  refused("init.gamma/init.gamma=1/2", "appears twice", "a key twice in one axis");
  refused("data.teacher_diag=1,2", "takes a list", "a list-valued key");
  refused("init.seed/init.gamma=1/2/3", "'1/2/3' needs 2 parts", "an item with a part too many, shown whole");
}

static void test_grid_order(void)
{
  dln_sweep_grid g;
  memset(&g, 0, sizeof g);
  dln_sweep_axis a, b;
  dln_sweep_axis_parse_assignment("network.width=10,100,1000", "t", &a);
  dln_sweep_axis_parse_assignment("init.seed=1:2", "t", &b);
  test_true(dln_sweep_grid_add(&g, &a, "t") == DLN_SUCCESS &&
                dln_sweep_grid_add(&g, &b, "t") == DLN_SUCCESS,
            "two axes added");
  test_true(g.npoints == 6, "3 x 2 axes give 6 points (got %zu)", g.npoints);
  /* first axis slowest: (10,1) (10,2) (100,1) (100,2) (1000,1) (1000,2) */
  const char *want_w[] = {"10", "10", "100", "100", "1000", "1000"};
  const char *want_s[] = {"1", "2", "1", "2", "1", "2"};
  int ok = 1;
  for (size_t i = 0; i < 6; i++)
    ok &= strcmp(dln_sweep_value(&g, i, 0, 0), want_w[i]) == 0 &&
          strcmp(dln_sweep_value(&g, i, 1, 0), want_s[i]) == 0;
  test_true(ok, "points run through the last axis fastest");

  dln_sweep_axis c;
  dln_sweep_axis_parse_assignment("init.seed=7", "t", &c);
  test_true(dln_sweep_grid_override(&g, &c) == DLN_SUCCESS && g.naxes == 2 && g.npoints == 3 &&
                strcmp(dln_sweep_value(&g, 2, 1, 0), "7") == 0,
            "an axis over the same key replaces the earlier one in place");
  dln_sweep_axis_release(&c);

  dln_sweep_axis d;
  dln_sweep_axis_parse_assignment("init.seed/init.gamma=1/2", "t", &d);
  int rc = dln_sweep_grid_add(&g, &d, "--grid");
  test_true(rc != DLN_SUCCESS && strstr(dln_error_message(), "one axis only") &&
                strstr(dln_error_message(), "--grid"),
            "adding an axis that shares a key is refused, naming its origin (%s)",
            dln_error_message());
  dln_sweep_axis_release(&d);

  dln_sweep_axis e;
  dln_sweep_axis_parse_assignment("init.gamma/network.width=1/5,2/6", "t", &e);
  rc = dln_sweep_grid_override(&g, &e);
  test_true(rc == DLN_SUCCESS && g.naxes == 2 && g.npoints == 2 &&
                strcmp(g.axes[0].keys[0], "init.gamma") == 0 &&
                strcmp(dln_sweep_value(&g, 1, 0, 1), "6") == 0 &&
                strcmp(g.axes[1].keys[0], "init.seed") == 0,
            "an overriding axis takes the place of the axis it shares a key with");
  dln_sweep_axis_release(&e);
  dln_sweep_axis_parse_assignment("network.width=10,100,1000", "t", &e);
  rc = dln_sweep_grid_override(&g, &e);
  test_true(rc == DLN_SUCCESS && g.naxes == 2 && g.npoints == 3 &&
                strcmp(g.axes[0].keys[0], "network.width") == 0,
            "and is itself replaced by one sharing any of its keys");
  dln_sweep_axis_release(&e);

  dln_config *cfg = malloc(sizeof *cfg);
  dln_config_defaults(cfg);
  rc = dln_sweep_apply(&g, 1, cfg);
  test_true(rc == DLN_SUCCESS && cfg->width == 100 && cfg->seed == 7,
            "point 1 sets network.width = 100, init.seed = 7 (got %zu, %lu)", cfg->width,
            cfg->seed);
  free(cfg);
  dln_sweep_grid_release(&g);
}

static void test_from_config(void)
{
  const char *path = "test_sweep_config.ini";
  FILE *fp = fopen(path, "w");
  fprintf(fp, "[network]\ndepth = 2\nwidth = 3\n[sweep]\ninit.gamma = 1, 2\n"
              "network.width/solver.t_max = 5/10, 6/20, 7/30\n");
  fclose(fp);
  dln_config *cfg = malloc(sizeof *cfg);
  dln_config_defaults(cfg);
  int rc = dln_config_load(cfg, path);
  test_true(rc == DLN_SUCCESS && cfg->nsweep == 2 && cfg->width == 3,
            "a [sweep] section loads beside the keys it varies (%s)", dln_error_message());
  dln_sweep_grid g;
  rc = dln_sweep_grid_from_config(cfg, &g);
  test_true(rc == DLN_SUCCESS && g.npoints == 6 && strcmp(dln_sweep_value(&g, 5, 1, 1), "30") == 0,
            "its axes make a 2 x 3 grid");
  dln_sweep_grid_release(&g);

  fp = fopen(path, "w");
  fprintf(fp, "[network]\ndepth = 2\nwidth = 3\n[sweep]\ninit.gamma = 1\ninit.gamma = 2\n");
  fclose(fp);
  dln_config_defaults(cfg);
  rc = dln_config_load(cfg, path);
  test_true(rc != DLN_SUCCESS && strstr(dln_error_message(), ":6:") &&
                strstr(dln_error_message(), "twice"),
            "a [sweep] axis given twice is refused at its line (%s)", dln_error_message());

  fp = fopen(path, "w");
  fprintf(fp, "[network]\ndepth = 2\nwidth = 3\n\n[sweep]\ninit.gamma = 1, x\n");
  fclose(fp);
  dln_config_defaults(cfg);
  rc = dln_config_load(cfg, path);
  if (rc == DLN_SUCCESS) rc = dln_sweep_grid_from_config(cfg, &g);
  test_true(rc != DLN_SUCCESS && strstr(dln_error_message(), "test_sweep_config.ini:6"),
            "a bad [sweep] value is reported with its file and line (%s)", dln_error_message());
  free(cfg);
  remove(path);
}

int main(void)
{
  test_parse_lists();
  test_refusals();
  test_grid_order();
  test_from_config();
  return test_summary();
}
