/* Pieces shared by `dlnflow plot`'s two drawings, a run folder (cmd_plot.c) and a sweep folder
 * (plot_sweep.c): CSV fields, gnuplot strings, and running gnuplot on a script into figures
 * that appear whole (plot_gnuplot.c). */
#ifndef DLNFLOW_CLI_PLOT_H
#define DLNFLOW_CLI_PLOT_H

#include <stddef.h>
#include <stdio.h>

enum { DLN_PLOT_PNG = 1, DLN_PLOT_SVG = 2 };

/* Splits line (modified in place, trailing newline removed) at commas into at most max
 * fields; a field that starts with '"' runs to its closing quote ("" inside is one quote, and
 * the quotes are removed). Returns the number of fields, or max + 1 if there are more. */
size_t dln_plot_split_fields(char *line, char **fields, size_t max);

/* Reads a whole field as a number (NaN and infinities as strtod spells them); 0 or -1. */
int dln_plot_parse_number(const char *s, double *x);

/* Returns the 1-based column of name among the n header fields, or 0. */
int dln_plot_find_column(char **names, size_t n, const char *name);

/* The most fields a CSV line read for a plot may have. */
#define DLN_PLOT_MAX_COLUMNS 4096

/* Called with the fields of CSV line `line` (1 for the header); non-zero stops the reading. */
typedef int (*dln_plot_csv_fn)(char **fields, size_t n, long line, void *data);

/* Reads a CSV file: header() with its first line, then row() with each other line once it is
 * known to have as many fields as the header. Problems are named with path and line. */
int dln_plot_read_csv(const char *path, dln_plot_csv_fn header, dln_plot_csv_fn row, void *data);

/* Writes s as a gnuplot single-quoted string (a quote is doubled; nothing else is special). */
void dln_plot_put_quoted(FILE *fp, const char *s);

/* Opens the loop over the formats that draws figure NAME (width x height pixels) in each:
 * the terminal (pngcairo or svg, enhanced text, white background) and its output. The figure's
 * plots follow; dln_plot_end_figures closes the loop. */
void dln_plot_begin_figures(FILE *fp, const char *name, int width, int height);
void dln_plot_end_figures(FILE *fp);

/* Writes the body of a gnuplot script: everything after the preamble dln_plot_draw writes,
 * which sets `out` (the output folder), `formats` ('png svg', 'png' or 'svg') and `suffix`;
 * each figure goes to out . '/NAME.' . fmt . suffix. */
typedef int (*dln_plot_script_fn)(FILE *fp, void *data);

/* Creates dir (and its parents), writes DIR/NAME.gp.tmp (the preamble, then fn's body) with
 * suffix '.tmp', runs gnuplot ($DLNFLOW_GNUPLOT) on it and renames each DIR/NAME.<fmt>.tmp to
 * DIR/NAME.<fmt>, printing the names written. With keep_script the script is written again
 * with suffix '' and kept as DIR/NAME.gp (run it again with gnuplot), else removed. On failure
 * nothing new is left: temporary files are removed, and dir if this call created it.
 * gnuplot's warnings go to stderr, and so does the failure. Returns DLN_EXIT_OK or
 * DLN_EXIT_FAILED. */
int dln_plot_draw(const char *dir, const char *name, int formats, int keep_script,
                  dln_plot_script_fn fn, void *data);

/* `dlnflow plot SWEEP` (plot_sweep.c): draws a sweep folder into out_dir/sweep.{png,svg} with
 * the [plot] keys of sweep.json's config, then the overrides ("plot.key=value"). Returns an
 * exit code; messages go to stderr. */
int dln_plot_sweep(const char *sweep_dir, const char *out_dir, int formats, char **overrides,
                   size_t noverrides);

#endif
