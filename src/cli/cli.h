/* Shared pieces of the dlnflow command line: argument helpers, the run folder, metadata,
 * progress and interrupts. Only src/cli/ prints or exits. */
#ifndef DLNFLOW_CLI_H
#define DLNFLOW_CLI_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>

#include <stdio.h>

#include "dlnflow/config.h"
#include "dlnflow/events.h"
#include "dlnflow/flow.h"
#include "dlnflow/run.h"

/* Exit codes. */
enum {
  DLN_EXIT_OK = 0,
  DLN_EXIT_FAILED = 1,      /* the integration failed; what it had is kept */
  DLN_EXIT_USAGE = 2,       /* bad command line, configuration or data; nothing written */
  DLN_EXIT_INTERRUPTED = 130
};

/* Raised by SIGINT/SIGTERM; polled by the integrator. */
extern volatile sig_atomic_t dln_cli_interrupted;
void dln_cli_catch_interrupts(void);

/* Prints "dlnflow: <what>: <library message>" to stderr. */
void dln_cli_report(const char *what, int status);

/* Loads CONFIG, applies "section.key=value" overrides and --out, and validates. Prints the
 * problem and returns non-zero on failure. */
int dln_cli_load_config(const char *path, char **overrides, size_t noverrides,
                        const char *out_dir, dln_config *cfg);

/* Checks, before any work, that `dlnflow <command>` will be able to create and write dir:
 * an existing dir must be a writable folder, else its nearest existing parent must be.
 * Returns 0, or DLN_EXIT_USAGE after naming the path and the problem on stderr. */
int dln_cli_check_out_dir(const char *command, const char *dir);

/* Sets cfg->out_dir, when neither --out nor output.dir gave one, to runs/<config stem><suffix>. */
void dln_cli_default_out_dir(const char *config, const char *suffix, dln_config *cfg);

/* Takes one argument that is not a known option of `dlnflow <command>`: a "section.key=value"
 * override (into overrides), else the CONFIG (once). Returns 0, or DLN_EXIT_USAGE after
 * naming an unknown option or a second CONFIG. */
int dln_cli_take_argument(const char *command, char *arg, const char **config,
                          char **overrides, size_t *noverrides);

/* Creates dir and its parents (like mkdir -p). */
int dln_cli_make_dir(const char *dir);

/* Takes the run folder's lock (DIR/.dlnflow-lock, flock), refusing a folder another live run
 * writes into; *fd keeps it until dln_cli_unlock_dir. */
int dln_cli_lock_dir(const char *dir, int *fd);
void dln_cli_unlock_dir(const char *dir, int fd);

/* Returns the resolved configuration as a JSON object of sections. */
json_t *dln_cli_config_json(const dln_config *cfg);
/* Returns the solver statistics as a JSON object. */
json_t *dln_cli_stats_json(const dln_flow_stats *s);
/* Returns the versions of dlnflow and the libraries it runs on. */
json_t *dln_cli_versions_json(void);
/* Writes JSON atomically (path.tmp then rename), with 17-digit reals. */
int dln_cli_write_json(const char *path, json_t *root);

/* A progress line on stderr for runs that last longer than a second. */
typedef struct dln_progress {
  double start;       /* wall time at creation */
  double last_print;  /* wall time of the last line */
  int printed;        /* a line was printed (so a final newline is owed on a terminal) */
  int tty;            /* stderr is a terminal */
} dln_progress;
void dln_progress_start(dln_progress *p);
void dln_progress_update(dln_progress *p, double t, double t_max, double loss);
void dln_progress_end(dln_progress *p);

/* Saddle events (events_output.c): events.json's content; the A matrices of every plateau
 * (A_entry_K.npy, A_closest_K.npy, A_exit_K.npy) into dir; the table; and --verify's
 * comparison of a run's events with those of a tighter run (printed to out if not NULL). */
json_t *dln_cli_events_json(const dln_events *ev, const dln_events_options *o);
int dln_cli_write_event_matrices(const char *dir, const dln_events *ev);
void dln_cli_print_events(FILE *out, const dln_events *ev);
json_t *dln_cli_events_compare(const dln_events *run, const dln_events *tight, double rtol,
                               FILE *out);

int dln_cmd_run(int argc, char **argv);
int dln_cmd_keys(int argc, char **argv);
int dln_cmd_plot(int argc, char **argv);
int dln_cmd_escape(int argc, char **argv);
int dln_cmd_distances(int argc, char **argv);
int dln_cmd_greedy(int argc, char **argv);
int dln_cmd_sweep(int argc, char **argv);

#endif
