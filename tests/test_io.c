/* Tests for matrix and entry files (src/io_matrix.c) and atomic output (src/io_output.c).
 *
 * Round trips must be bit-exact (17 significant digits and raw NPY bytes both preserve every
 * double), and every malformed input must fail with its code and a message that points at
 * the file, line and column to fix. Scratch files go to the current directory (meson runs
 * tests in the build folder) under names carrying the process id, and are removed.
 */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlnflow/errors.h"
#include "dlnflow/io.h"
#include "testlib.h"

/* High-entropy values, plus the edges of the double range and a negative zero. */
static const double SAMPLE[] = {2.385,  -0.1,    1.0 / 3.0, 6.02214076e23, -1e-300, 4.9e-324,
                                1.7976931348623157e308, -0.0, 1e15 + 0.3, -7.25, 0.7071067811865476,
                                3.0};
#define SAMPLE_ROWS 4
#define SAMPLE_COLS 3

/* ---- Helpers ------------------------------------------------------------------------- */

/* Writes "test_io_<pid>_<name>" into buf: unique per run, so parallel runs do not collide. */
static const char *scratch(char *buf, size_t size, const char *name)
{
  snprintf(buf, size, "test_io_%ld_%s", (long)getpid(), name);
  return buf;
}

static void write_text(const char *path, const char *text)
{
  FILE *fp = fopen(path, "wb");
  if (!fp) return;
  fputs(text, fp);
  fclose(fp);
}

static int file_exists(const char *path)
{
  FILE *fp = fopen(path, "rb");
  if (fp) fclose(fp);
  return fp != NULL;
}

static int message_has(const char *needle) { return strstr(dln_error_message(), needle) != NULL; }

/* The message to print beside a check: the library's diagnosis when the call failed. */
static const char *why(int rc) { return rc == DLN_SUCCESS ? "ok" : dln_error_message(); }

/* Builds an NPY v1.0 file by hand from a header dict and raw little-endian doubles, as numpy
 * would (the tests run on little-endian hosts). */
static void write_npy_by_hand(const char *path, const char *dict, const double *data, size_t n)
{
  unsigned char buf[512];
  size_t dict_len = strlen(dict);
  size_t header_len = 64 - 10; /* pad to a 64-byte boundary */
  while (10 + header_len < 10 + dict_len + 1) header_len += 64;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(header_len & 0xff);
  buf[9] = (unsigned char)(header_len >> 8);
  memset(buf + 10, ' ', header_len);
  memcpy(buf + 10, dict, dict_len);
  buf[10 + header_len - 1] = '\n';
  FILE *fp = fopen(path, "wb");
  if (!fp) return;
  fwrite(buf, 1, 10 + header_len, fp);
  fwrite(data, sizeof *data, n, fp);
  fclose(fp);
}

static int same_bits(const double *a, const double *b, size_t n)
{
  return memcmp(a, b, n * sizeof *a) == 0;
}

/* ---- Formatting ---------------------------------------------------------------------- */

static void test_format(void)
{
  char buf[40];
  test_true(strcmp(dln_format_double(buf, sizeof buf, 0.1, 0), "0.10000000000000001") == 0,
            "format 0.1 with 17 digits: %s", buf);
  test_true(strcmp(dln_format_double(buf, sizeof buf, NAN, 0), "nan") == 0, "format NaN as nan");
  test_true(strcmp(dln_format_double(buf, sizeof buf, -NAN, 0), "nan") == 0,
            "format -NaN as nan, not -nan");
  test_true(strcmp(dln_format_double(buf, sizeof buf, NAN, 1), "") == 0,
            "format NaN as empty with empty_nan");
  test_true(strcmp(dln_format_double(buf, sizeof buf, INFINITY, 0), "inf") == 0, "format inf");
  test_true(strcmp(dln_format_double(buf, sizeof buf, -INFINITY, 1), "-inf") == 0,
            "format -inf");
  double back = strtod(dln_format_double(buf, sizeof buf, 1.0 / 3.0, 0), NULL);
  test_true(back == 1.0 / 3.0, "1/3 round-trips through format and strtod");
}

/* Under a decimal-comma locale, when one is installed, output still uses '.' and input
 * with '.' still parses. */
static void test_decimal_comma_locale(void)
{
  const char *names[] = {"fr_FR.UTF-8", "fr_FR.utf8", "de_DE.UTF-8", "de_DE.utf8"};
  const char *found = NULL;
  for (size_t k = 0; k < sizeof names / sizeof names[0] && !found; k++)
    if (setlocale(LC_NUMERIC, names[k])) found = names[k];
  if (!found) return; /* no such locale on this machine: nothing to check */
  char buf[40], path[64];
  test_true(strcmp(dln_format_double(buf, sizeof buf, 2.5, 0), "2.5") == 0,
            "format 2.5 under %s gives '.': %s", found, buf);
  scratch(path, sizeof path, "locale.csv");
  write_text(path, "2.5,-0.125\n");
  dln_matrix m;
  int rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_SUCCESS && m.data[0] == 2.5 && m.data[1] == -0.125,
            "read '2.5,-0.125' under %s", found);
  dln_matrix_release(&m);
  remove(path);
  setlocale(LC_NUMERIC, "C");
}

/* ---- Round trips --------------------------------------------------------------------- */

static void test_csv_round_trip(void)
{
  char path[64];
  scratch(path, sizeof path, "round.csv");
  int rc = dln_matrix_write_csv(path, SAMPLE, SAMPLE_ROWS, SAMPLE_COLS);
  test_true(rc == DLN_SUCCESS, "write CSV: %s", why(rc));
  dln_matrix m;
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_SUCCESS, "read CSV back: %s", why(rc));
  test_true(m.rows == SAMPLE_ROWS && m.cols == SAMPLE_COLS, "CSV shape %zu x %zu", m.rows,
            m.cols);
  test_true(rc == DLN_SUCCESS && same_bits(m.data, SAMPLE, SAMPLE_ROWS * SAMPLE_COLS),
            "CSV round trip is bit-exact (incl. subnormal, max and -0)");
  dln_matrix_release(&m);
  test_true(m.data == NULL && m.rows == 0 && m.cols == 0, "release zeroes the matrix");
  dln_matrix_release(&m); /* a second release is a no-op */
  dln_matrix_release(NULL);
  remove(path);
}

static void test_npy_round_trip(void)
{
  char path[64];
  scratch(path, sizeof path, "round.npy");
  int rc = dln_matrix_write_npy(path, SAMPLE, SAMPLE_ROWS, SAMPLE_COLS);
  test_true(rc == DLN_SUCCESS, "write NPY: %s", why(rc));
  FILE *fp = fopen(path, "rb");
  long size = -1;
  if (fp) {
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    fclose(fp);
  }
  test_true(size == 128 + SAMPLE_ROWS * SAMPLE_COLS * 8,
            "NPY header padded to a multiple of 64 bytes (file size %ld)", size);
  dln_matrix m;
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_SUCCESS, "read NPY back: %s", why(rc));
  test_true(m.rows == SAMPLE_ROWS && m.cols == SAMPLE_COLS, "NPY shape %zu x %zu", m.rows,
            m.cols);
  test_true(rc == DLN_SUCCESS && same_bits(m.data, SAMPLE, SAMPLE_ROWS * SAMPLE_COLS),
            "NPY round trip is bit-exact");
  dln_matrix_release(&m);
  remove(path);
}

/* ---- NPY variants and faults --------------------------------------------------------- */

static void test_npy_fortran_order(void)
{
  char path[64];
  scratch(path, sizeof path, "fortran.npy");
  /* A = [[1.5, -2.25, 3.125], [4.5, 5.75, -6.875]] stored column by column. */
  const double columns[] = {1.5, 4.5, -2.25, 5.75, 3.125, -6.875};
  const double rows[] = {1.5, -2.25, 3.125, 4.5, 5.75, -6.875};
  write_npy_by_hand(path, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", columns,
                    6);
  dln_matrix m;
  int rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_SUCCESS && m.rows == 2 && m.cols == 3, "read Fortran-order NPY 2 x 3: %s",
            why(rc));
  test_true(rc == DLN_SUCCESS && same_bits(m.data, rows, 6),
            "Fortran-order data transposed to row-major");
  dln_matrix_release(&m);
  remove(path);
}

static void test_npy_one_dimensional(void)
{
  char path[64];
  scratch(path, sizeof path, "vector.npy");
  const double v[] = {0.25, -1.125, 9.5};
  write_npy_by_hand(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", v, 3);
  dln_matrix m;
  int rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_SUCCESS && m.rows == 3 && m.cols == 1 && same_bits(m.data, v, 3),
            "1-D NPY read as a 3 x 1 column: %s", why(rc));
  dln_matrix_release(&m);
  remove(path);
}

static void test_npy_faults(void)
{
  char path[64];
  dln_matrix m;
  const double v[] = {1.0, 2.0, 3.0, 4.0};
  scratch(path, sizeof path, "f4.npy");
  write_npy_by_hand(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", v, 1);
  int rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_EFORMAT && message_has("'<f4'") && message_has(path),
            "NPY '<f4' rejected, naming the dtype: %s", why(rc));
  test_true(m.data == NULL && m.rows == 0, "failed read leaves an empty matrix");

  write_npy_by_hand(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", v, 4);
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_EFORMAT && message_has("bytes"),
            "NPY shorter than its shape rejected: %s", why(rc));

  write_npy_by_hand(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 2), }", v,
                    4);
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_EFORMAT && message_has("dimensions"), "3-D NPY rejected: %s",
            why(rc));

  const double bad[] = {1.0, NAN};
  write_npy_by_hand(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", bad, 2);
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_ENONFINITE && message_has("(0, 1)"), "NaN in NPY rejected at (0, 1): %s",
            why(rc));

  write_text(path, "1,2\n");
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_EFORMAT && message_has("not an NPY file"), "CSV named .npy rejected: %s",
            why(rc));
  remove(path);
}

/* ---- CSV faults and leniencies ------------------------------------------------------- */

static void test_csv_lenient(void)
{
  char path[64];
  scratch(path, sizeof path, "lenient.csv");
  write_text(path, "\xEF\xBB\xBF# a comment\n\n 1.5 , -2\r\n\t# indented comment\n3,4.25e1\n");
  dln_matrix m;
  int rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_SUCCESS && m.rows == 2 && m.cols == 2 && m.data[0] == 1.5 &&
                m.data[1] == -2.0 && m.data[3] == 42.5,
            "CSV with BOM, comments, blank lines, CRLF and spaces: %s", why(rc));
  dln_matrix_release(&m);
  remove(path);
}

static void test_csv_faults(void)
{
  char path[64], where[160];
  dln_matrix m;
  scratch(path, sizeof path, "ragged.csv");
  write_text(path, "1,2,3\n# comment\n4,5\n");
  int rc = dln_matrix_read(path, &m);
  snprintf(where, sizeof where, "%s:3:", path);
  test_true(rc == DLN_EFORMAT && message_has(where) && message_has("expected 3") &&
                message_has("found 2"),
            "ragged CSV names line 3 and the counts: %s", why(rc));

  write_text(path, "1,2,3\n4,nan,6\n");
  rc = dln_matrix_read(path, &m);
  snprintf(where, sizeof where, "%s:2: column 2", path);
  test_true(rc == DLN_ENONFINITE && message_has(where), "NaN in CSV names line and column: %s",
            why(rc));

  write_text(path, "1,2,3\n4,5,inf\n");
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_ENONFINITE && message_has(":2: column 3"), "inf in CSV rejected: %s",
            why(rc));

  write_text(path, "1,2,abc\n");
  rc = dln_matrix_read(path, &m);
  snprintf(where, sizeof where, "%s:1: column 3: 'abc' is not a number", path);
  test_true(rc == DLN_EFORMAT && message_has(where), "non-number names line and column: %s",
            why(rc));

  write_text(path, "1,,3\n");
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_EFORMAT && message_has("column 2: ''"), "empty field rejected: %s",
            why(rc));

  write_text(path, "1,2\n3,4,\n");
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_EFORMAT && message_has(":2: column 3"), "trailing comma rejected: %s",
            why(rc));

  write_text(path, "");
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_EFORMAT && message_has(path) && message_has("no data"),
            "empty CSV rejected: %s", why(rc));

  write_text(path, "# only a comment\n\n");
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_EFORMAT, "comment-only CSV rejected: %s", why(rc));
  remove(path);

  scratch(path, sizeof path, "does_not_exist.csv");
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_EIO && message_has(path) && message_has("cannot open"),
            "missing CSV is an I/O error naming the file: %s", why(rc));
  scratch(path, sizeof path, "does_not_exist.npy");
  rc = dln_matrix_read(path, &m);
  test_true(rc == DLN_EIO && message_has(path), "missing NPY is an I/O error: %s",
            why(rc));
  test_true(dln_matrix_read(NULL, &m) == DLN_EINVAL, "NULL path is an invalid argument");
}

/* ---- Entries ------------------------------------------------------------------------- */

static void test_entries(void)
{
  char path[64], where[160];
  dln_entry *e = NULL;
  size_t n = 0;
  const double target_data[] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5}; /* 2 x 3 */
  dln_matrix target = {2, 3, (double *)target_data};
  scratch(path, sizeof path, "entries.csv");

  write_text(path, "# row,col,value\n0,2,-1.25\n1, 0 ,7e-3\n\n1,2,0\n");
  int rc = dln_entries_read(path, 2, 3, NULL, &e, &n);
  test_true(rc == DLN_SUCCESS && n == 3, "entries with values: %zu read: %s", n,
            why(rc));
  test_true(rc == DLN_SUCCESS && e[0].row == 0 && e[0].col == 2 && e[0].value == -1.25 &&
                e[1].row == 1 && e[1].col == 0 && e[1].value == 7e-3 && e[2].value == 0.0,
            "entries with values parsed exactly");
  free(e);

  write_text(path, "0,1\n1,2\n1,1,9.75\n");
  rc = dln_entries_read(path, 2, 3, &target, &e, &n);
  test_true(rc == DLN_SUCCESS && n == 3 && e[0].value == 1.5 && e[1].value == 5.5 &&
                e[2].value == 9.75,
            "entries without values take them from the target: %s", why(rc));
  free(e);

  rc = dln_entries_read(path, 2, 3, NULL, &e, &n);
  snprintf(where, sizeof where, "%s:1:", path);
  test_true(rc != DLN_SUCCESS && message_has(where) && message_has("no target"),
            "entry without value and no target rejected: %s", why(rc));
  test_true(e == NULL && n == 0, "failed read returns no entries");

  write_text(path, "0,1,2\n2,0,1\n");
  rc = dln_entries_read(path, 2, 3, NULL, &e, &n);
  snprintf(where, sizeof where, "%s:2: row 2", path);
  test_true(rc == DLN_EDIM && message_has(where), "row index out of range names the line: %s",
            why(rc));

  write_text(path, "0,3,2\n");
  rc = dln_entries_read(path, 2, 3, NULL, &e, &n);
  test_true(rc == DLN_EDIM && message_has(":1: col 3"), "column index out of range: %s",
            why(rc));

  write_text(path, "-1,0,2\n");
  rc = dln_entries_read(path, 2, 3, NULL, &e, &n);
  test_true(rc == DLN_EFORMAT && message_has("'-1'"), "negative index rejected: %s",
            why(rc));

  write_text(path, "0,0,nan\n");
  rc = dln_entries_read(path, 2, 3, NULL, &e, &n);
  test_true(rc == DLN_ENONFINITE && message_has(":1:"), "NaN entry value rejected: %s",
            why(rc));

  write_text(path, "0,0,1,2\n");
  rc = dln_entries_read(path, 2, 3, NULL, &e, &n);
  test_true(rc == DLN_EFORMAT && message_has("found 4 fields"), "four fields rejected: %s",
            why(rc));

  write_text(path, "# nothing\n");
  rc = dln_entries_read(path, 2, 3, NULL, &e, &n);
  test_true(rc == DLN_EFORMAT && message_has("no entries"), "empty entries file rejected: %s",
            why(rc));

  rc = dln_entries_read(path, 3, 3, &target, &e, &n);
  test_true(rc == DLN_EDIM, "target of the wrong shape rejected: %s", why(rc));
  remove(path);
}

/* ---- Atomic output files ------------------------------------------------------------- */

static void test_outfile(void)
{
  char path[64], tmp[80];
  scratch(path, sizeof path, "atomic.txt");
  snprintf(tmp, sizeof tmp, "%s.tmp", path);

  dln_outfile f;
  int rc = dln_outfile_open(&f, path);
  test_true(rc == DLN_SUCCESS && file_exists(tmp) && !file_exists(path),
            "open writes only the .tmp file");
  fputs("partial", f.fp);
  dln_outfile_abort(&f);
  test_true(!file_exists(tmp) && !file_exists(path), "abort leaves no file at all");
  dln_outfile_abort(&f); /* abort after abort is a no-op */

  write_text(path, "old contents\n");
  rc = dln_outfile_open(&f, path);
  fputs("new contents\n", f.fp);
  test_true(rc == DLN_SUCCESS, "reopen over an existing file");
  FILE *fp = fopen(path, "rb");
  char line[64] = "";
  if (fp) {
    if (!fgets(line, sizeof line, fp)) line[0] = '\0';
    fclose(fp);
  }
  test_true(strcmp(line, "old contents\n") == 0, "old file intact until commit");
  rc = dln_outfile_commit(&f);
  test_true(rc == DLN_SUCCESS && file_exists(path) && !file_exists(tmp),
            "commit leaves exactly the final file: %s", why(rc));
  fp = fopen(path, "rb");
  size_t got = 0;
  if (fp) {
    got = fread(line, 1, sizeof line - 1, fp);
    fclose(fp);
  }
  line[got] = '\0';
  test_true(strcmp(line, "new contents\n") == 0, "committed file holds the new contents only");
  dln_outfile_abort(&f); /* abort after commit is a no-op */
  test_true(file_exists(path), "abort after commit keeps the committed file");
  remove(path);

  rc = dln_outfile_open(&f, "no_such_folder_dlnflow/x.csv");
  test_true(rc == DLN_EIO && message_has("no_such_folder_dlnflow/x.csv.tmp"),
            "open in a missing folder is an I/O error naming the file: %s", why(rc));
  dln_outfile_abort(&f); /* safe after a failed open */
  rc = dln_matrix_write_csv("no_such_folder_dlnflow/x.csv", SAMPLE, 1, 1);
  test_true(rc == DLN_EIO, "CSV writer reports the failed open");
}

int main(void)
{
  test_format();
  test_decimal_comma_locale();
  test_csv_round_trip();
  test_npy_round_trip();
  test_npy_fortran_order();
  test_npy_one_dimensional();
  test_npy_faults();
  test_csv_lenient();
  test_csv_faults();
  test_entries();
  test_outfile();
  return test_summary();
}
