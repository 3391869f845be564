/* dlnflow: gradient flow of deep linear networks, saddle by saddle. Dispatches subcommands. */
#include <cblas.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
  fprintf(out,
          "usage: dlnflow <command> [options]\n"
          "\n"
          "commands:\n"
          "  run CONFIG [--out DIR] [section.key=value ...]   integrate one run\n"
          "  escape CONFIG --alphas MAX:MIN:COUNT [...]       escape times from alpha theta0\n"
          "  distances CONFIG --widths ... --gammas ...       Theorem 1: distances to saddle, minimum\n"
          "  greedy CONFIG [--compare RUN_DIR] [...]          greedy low-rank algorithm\n"
          "  sweep CONFIG [--grid key=v1,v2,...] [--jobs N]   runs over a grid of settings\n"
          "  keys                                             list the configuration keys\n"
          "  plot RUN_DIR|SWEEP_DIR [--format png,svg] [...]  draw a run or a sweep with gnuplot\n"
          "\n"
          "dlnflow <command> --help shows a command's options; docs/ has a page per command.\n");
}

int main(int argc, char **argv)
{
  /* GSL's default handler aborts; the library checks every status instead. */
  gsl_set_error_handler_off();
  /* One BLAS thread unless the user asks otherwise: runs stay bit-for-bit repeatable and a
   * sweep's parallel runs do not fight over cores. */
  if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
  if (argc < 2) {
    usage(stderr);
    return DLN_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(stdout);
    return DLN_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("dlnflow %s\n", DLNFLOW_VERSION);
    return DLN_EXIT_OK;
  }
  if (strcmp(argv[1], "run") == 0) return dln_cmd_run(argc - 1, argv + 1);
  if (strcmp(argv[1], "escape") == 0) return dln_cmd_escape(argc - 1, argv + 1);
  if (strcmp(argv[1], "distances") == 0) return dln_cmd_distances(argc - 1, argv + 1);
  if (strcmp(argv[1], "greedy") == 0) return dln_cmd_greedy(argc - 1, argv + 1);
  if (strcmp(argv[1], "sweep") == 0) return dln_cmd_sweep(argc - 1, argv + 1);
  if (strcmp(argv[1], "keys") == 0) return dln_cmd_keys(argc - 1, argv + 1);
  if (strcmp(argv[1], "plot") == 0) return dln_cmd_plot(argc - 1, argv + 1);
  fprintf(stderr, "dlnflow: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return DLN_EXIT_USAGE;
}
