/* Matrices in and out (CSV without header, or NPY float64), and files that appear whole or
 * not at all: every writer goes to "path.tmp" and renames on commit, so an interrupted or
 * failed run never leaves a partial file under a final name. */
#ifndef DLNFLOW_IO_H
#define DLNFLOW_IO_H

#include <stddef.h>
#include <stdio.h>

#include "dlnflow/cost.h"

/* A dense row-major matrix that owns its data. */
typedef struct dln_matrix {
  size_t rows, cols;
  double *data;
} dln_matrix;

/* Reads a matrix from path: ".npy" (float64 '<f8', C or Fortran order, 1-D read as a column
 * or 2-D) or anything else as CSV (comma separated, no header, '#' comment lines and blank
 * lines skipped, every row the same length). Rejects NaN and infinite values. Messages name
 * the file and, for CSV, the line and column. Returns DLN_EIO, DLN_EFORMAT, DLN_ENONFINITE,
 * DLN_ENOMEM. */
int dln_matrix_read(const char *path, dln_matrix *out);

/* Frees m->data and zeroes m; NULL or an empty matrix is a no-op. */
void dln_matrix_release(dln_matrix *m);

/* Reads matrix-completion entries: lines "row,col" (value taken from target, which must then
 * be given) or "row,col,value", 0-based. Indices must lie inside rows x cols. Writes a malloc'd
 * array (caller frees) and its length. */
int dln_entries_read(const char *path, size_t rows, size_t cols, const dln_matrix *target,
                     dln_entry **entries, size_t *count);

/* A file written atomically. */
typedef struct dln_outfile {
  FILE *fp;         /* write through this */
  char *path;       /* final name */
  char *tmp_path;   /* name while being written */
} dln_outfile;

/* Opens path.tmp for writing ("wb"). */
int dln_outfile_open(dln_outfile *f, const char *path);
/* Flushes, closes and renames to the final name. Returns DLN_EIO if any write failed. */
int dln_outfile_commit(dln_outfile *f);
/* Closes and removes the temporary file; safe on an unopened or committed outfile. */
void dln_outfile_abort(dln_outfile *f);

/* Writes a row-major matrix as NPY v1.0 ('<f8', C order), atomically. */
int dln_matrix_write_npy(const char *path, const double *data, size_t rows, size_t cols);
/* Writes a row-major matrix as CSV with 17 significant digits, atomically. */
int dln_matrix_write_csv(const char *path, const double *data, size_t rows, size_t cols);

/* Formats x with 17 significant digits into buf independently of the locale ("nan" for NaN,
 * an empty string when x is NaN and empty_nan is set). Returns buf. */
char *dln_format_double(char *buf, size_t size, double x, int empty_nan);

#endif
