/* Matrices in and out: CSV (no header) and NPY float64, plus matrix-completion entry lists
 * (include/dlnflow/io.h).
 *
 * Every reader reports the first fault with enough context to fix the file by hand: the
 * path, and for text formats the line and column ("data/x.csv:12: column 3: 'abc' is not a
 * number"). NaN and infinity are rejected at the door so that no later stage has to ask.
 *
 * NPY follows the format description of numpy.lib.format: a magic string "\x93NUMPY", a
 * version byte pair, a little-endian header length (2 bytes in v1.0, 4 bytes in v2.0/3.0)
 * and a Python dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (r, c), },
 * padded with spaces and a newline, followed by the raw data.
 *
 * Static functions:
 *   Text helpers:   strip_line_end, skip_blank, trim_field, is_skipped_line, parse_double_c,
 *                   parse_index, grow_doubles
 *   CSV reading:    csv_parse_row, csv_read
 *   NPY reading:    host_is_little_endian, swap_bytes, read_le, npy_dict_value,
 *                   npy_parse_descr, npy_parse_fortran, npy_parse_shape, npy_read_header,
 *                   npy_check_size, npy_read_data, npy_read
 *   Dispatch:       has_npy_suffix
 *   Entries:        entries_parse_line, entries_push
 *   Writing:        write_csv_rows, write_npy_header, write_npy_data
 */
#include "dlnflow/io.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "dlnflow/errors.h"

/* How much of an offending token a message quotes. */
#define SHOWN_CHARS 60
/* numpy writes headers of a few hundred bytes; anything far larger is not an NPY file. */
#define NPY_HEADER_MAX (1u << 20)
/* numpy >= 1.14 aligns the data to 64 bytes (earlier versions used 16; both read fine). */
#define NPY_ALIGN 64
#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6

/* ---- Text helpers -------------------------------------------------------------------- */

/* Removes a trailing "\n" or "\r\n" in place. */
static void strip_line_end(char *line)
{
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
}

static char *skip_blank(char *s)
{
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

/* Returns the field without surrounding blanks (modifies the end in place). */
static char *trim_field(char *s)
{
  s = skip_blank(s);
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
  return s;
}

/* Blank lines and '#' comments carry no data. */
static int is_skipped_line(char *line)
{
  const char *s = skip_blank(line);
  return *s == '\0' || *s == '#';
}

/* Parses the whole of text as a double, whatever the process locale: strtod expects the
 * locale's decimal separator, so a '.' is translated to it first when it differs (the
 * library never calls setlocale, but a host program may). Returns 1 when all of text is a
 * number (possibly infinite or NaN), 0 otherwise. */
static int parse_double_c(const char *text, double *x)
{
  char local[128];
  const char *point = localeconv()->decimal_point;
  const char *dot = strchr(text, '.');
  if (dot && point && strcmp(point, ".") != 0) {
    size_t head = (size_t)(dot - text), plen = strlen(point), tail = strlen(dot + 1);
    if (head + plen + tail + 1 > sizeof local) return 0;
    memcpy(local, text, head);
    memcpy(local + head, point, plen);
    memcpy(local + head + plen, dot + 1, tail + 1);
    text = local;
  }
  if (*text == '\0' || isspace((unsigned char)*text)) return 0;
  char *end;
  *x = strtod(text, &end);
  return *end == '\0';
}

/* Parses a 0-based index: decimal digits only (strtoull would accept "-1" and wrap it). */
static int parse_index(const char *text, size_t *index)
{
  if (!isdigit((unsigned char)text[0])) return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (*end != '\0' || errno == ERANGE || v > SIZE_MAX) return 0;
  *index = (size_t)v;
  return 1;
}

/* Makes room for one more double in *values (capacity doubles as needed). */
static int grow_doubles(double **values, size_t n, size_t *cap)
{
  if (n < *cap) return DLN_SUCCESS;
  size_t new_cap = *cap ? 2 * *cap : 64;
  if (new_cap < *cap || new_cap > SIZE_MAX / sizeof **values) return DLN_ENOMEM;
  double *grown = realloc(*values, new_cap * sizeof **values);
  if (!grown) return DLN_ENOMEM;
  *values = grown;
  *cap = new_cap;
  return DLN_SUCCESS;
}

/* ---- CSV reading --------------------------------------------------------------------- */

typedef struct csv_reader {
  const char *path;
  double *values;    /* row-major, grown as rows arrive (owned until handed out) */
  size_t n, cap;     /* values stored, capacity */
  size_t rows, cols; /* rows read so far; values per row (set by the first row) */
  size_t first_line; /* line of the first row, quoted when a later row differs */
} csv_reader;

/* Parses one line (already known to hold data) into r->values. */
static int csv_parse_row(csv_reader *r, size_t lineno, char *line)
{
  size_t col = 0;
  for (char *field = line;;) {
    char *comma = strchr(field, ',');
    if (comma) *comma = '\0';
    col++;
    char *token = trim_field(field);
    double x;
    if (!parse_double_c(token, &x))
      return dln_error(DLN_EFORMAT, "%s:%zu: column %zu: '%.*s' is not a number", r->path,
                       lineno, col, SHOWN_CHARS, token);
    if (!isfinite(x))
      return dln_error(DLN_ENONFINITE, "%s:%zu: column %zu: '%.*s' is not a finite number",
                       r->path, lineno, col, SHOWN_CHARS, token);
    if (grow_doubles(&r->values, r->n, &r->cap) != DLN_SUCCESS)
      return dln_error(DLN_ENOMEM, "%s:%zu: out of memory", r->path, lineno);
    r->values[r->n++] = x;
    if (!comma) break;
    field = comma + 1;
  }
  if (r->rows == 0) {
    r->cols = col;
    r->first_line = lineno;
  } else if (col != r->cols) {
    return dln_error(DLN_EFORMAT, "%s:%zu: expected %zu values (as on line %zu), found %zu",
                     r->path, lineno, r->cols, r->first_line, col);
  }
  r->rows++;
  return DLN_SUCCESS;
}

static int csv_read(const char *path, dln_matrix *out)
{
  FILE *fp = fopen(path, "r");
  if (!fp) return dln_error(DLN_EIO, "%s: cannot open: %s", path, strerror(errno));
  csv_reader r = {.path = path};
  char *line = NULL;
  size_t line_cap = 0, lineno = 0;
  int status = DLN_SUCCESS;
  while (status == DLN_SUCCESS) {
    errno = 0;
    if (getline(&line, &line_cap, fp) < 0) break;
    lineno++;
    strip_line_end(line);
    /* Skip a UTF-8 byte order mark, which spreadsheet exports like to add. */
    char *start = (lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0) ? line + 3 : line;
    if (!is_skipped_line(start)) status = csv_parse_row(&r, lineno, start);
  }
  /* getline returns -1 both at the end and on failure; only feof tells them apart. */
  if (status == DLN_SUCCESS && !feof(fp))
    status = dln_error(errno == ENOMEM ? DLN_ENOMEM : DLN_EIO, "%s:%zu: read failed: %s", path,
                       lineno + 1, strerror(errno ? errno : EIO));
  if (status == DLN_SUCCESS && r.rows == 0)
    status = dln_error(DLN_EFORMAT, "%s: no data (the file is empty or holds only comments)",
                       path);
  free(line);
  fclose(fp);
  if (status != DLN_SUCCESS) {
    free(r.values);
    return status;
  }
  out->rows = r.rows;
  out->cols = r.cols;
  out->data = r.values;
  return DLN_SUCCESS;
}

/* ---- NPY reading --------------------------------------------------------------------- */

typedef struct npy_header {
  size_t rows, cols;  /* 1-D arrays are read as rows x 1 */
  int fortran;        /* data stored column-major */
  size_t data_offset; /* bytes before the first value */
} npy_header;

static int host_is_little_endian(void)
{
  const uint16_t probe = 1;
  unsigned char first;
  memcpy(&first, &probe, 1);
  return first == 1;
}

/* Reverses the byte order of n doubles (NPY data is little-endian; the host may not be). */
static void swap_bytes(double *values, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char b[sizeof(double)], r[sizeof(double)];
    memcpy(b, &values[i], sizeof b);
    for (size_t k = 0; k < sizeof b; k++) r[k] = b[sizeof b - 1 - k];
    memcpy(&values[i], r, sizeof r);
  }
}

/* Returns the unsigned little-endian integer in bytes[0..n-1]. */
static size_t read_le(const unsigned char *bytes, size_t n)
{
  size_t v = 0;
  for (size_t k = n; k > 0; k--) v = (v << 8) | bytes[k - 1];
  return v;
}

/* Returns a pointer to the value of key in the header dict (after "'key':" and blanks), or
 * NULL. numpy writes keys with single quotes; double quotes are accepted too. */
static const char *npy_dict_value(const char *dict, const char *key)
{
  char quoted[32];
  for (int q = 0; q < 2; q++) {
    char mark = q == 0 ? '\'' : '"';
    snprintf(quoted, sizeof quoted, "%c%s%c", mark, key, mark);
    const char *at = strstr(dict, quoted);
    if (!at) continue;
    at += strlen(quoted);
    while (isspace((unsigned char)*at)) at++;
    if (*at != ':') return NULL;
    at++;
    while (isspace((unsigned char)*at)) at++;
    return at;
  }
  return NULL;
}

/* Accepts only '<f8'; anything else is named in the message. */
static int npy_parse_descr(const char *path, const char *dict)
{
  const char *v = npy_dict_value(dict, "descr");
  if (!v) return dln_error(DLN_EFORMAT, "%s: NPY header has no 'descr'", path);
  if (*v != '\'' && *v != '"')
    return dln_error(DLN_EFORMAT, "%s: structured dtype %.*s is not supported (only float64 '<f8')",
                     path, SHOWN_CHARS, v);
  const char *end = strchr(v + 1, *v);
  if (!end) return dln_error(DLN_EFORMAT, "%s: NPY header: unterminated 'descr'", path);
  int len = (int)(end - v - 1);
  if (len != 3 || strncmp(v + 1, "<f8", 3) != 0)
    return dln_error(DLN_EFORMAT, "%s: dtype '%.*s' is not supported (only float64 '<f8')",
                     path, len < SHOWN_CHARS ? len : SHOWN_CHARS, v + 1);
  return DLN_SUCCESS;
}

static int npy_parse_fortran(const char *path, const char *dict, int *fortran)
{
  const char *v = npy_dict_value(dict, "fortran_order");
  if (v && strncmp(v, "True", 4) == 0) {
    *fortran = 1;
  } else if (v && strncmp(v, "False", 5) == 0) {
    *fortran = 0;
  } else {
    return dln_error(DLN_EFORMAT, "%s: NPY header: 'fortran_order' is not True or False", path);
  }
  return DLN_SUCCESS;
}

/* Parses "(r, c)", "(r,)" or "(r)". Rejects scalars, more than two dimensions and empty
 * arrays. */
static int npy_parse_shape(const char *path, const char *dict, npy_header *h)
{
  const char *v = npy_dict_value(dict, "shape");
  if (!v || *v != '(') return dln_error(DLN_EFORMAT, "%s: NPY header has no 'shape'", path);
  size_t dims[2] = {0, 0}, ndim = 0;
  const char *s = v + 1;
  for (;;) {
    while (isspace((unsigned char)*s)) s++;
    if (*s == ')') break;
    char *end;
    errno = 0;
    unsigned long long d = strtoull(s, &end, 10);
    if (end == s || !isdigit((unsigned char)*s) || errno == ERANGE || d > SIZE_MAX)
      return dln_error(DLN_EFORMAT, "%s: NPY header: malformed shape %.*s", path, SHOWN_CHARS, v);
    if (ndim < 2) dims[ndim] = (size_t)d;
    ndim++;
    s = end;
    while (isspace((unsigned char)*s)) s++;
    if (*s == ',') s++;
  }
  if (ndim == 0) return dln_error(DLN_EFORMAT, "%s: 0-d (scalar) arrays are not supported", path);
  if (ndim > 2)
    return dln_error(DLN_EFORMAT, "%s: arrays with more than 2 dimensions are not supported",
                     path);
  h->rows = dims[0];
  h->cols = ndim == 2 ? dims[1] : 1;
  if (h->rows == 0 || h->cols == 0)
    return dln_error(DLN_EFORMAT, "%s: the array is empty (shape %zu x %zu)", path, h->rows,
                     h->cols);
  return DLN_SUCCESS;
}

/* Reads the magic, version and header dict. */
static int npy_read_header(FILE *fp, const char *path, npy_header *h)
{
  unsigned char pre[NPY_MAGIC_LEN + 2 + 4];
  if (fread(pre, 1, NPY_MAGIC_LEN + 2, fp) != NPY_MAGIC_LEN + 2 ||
      memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
    return dln_error(DLN_EFORMAT, "%s: not an NPY file (no \\x93NUMPY magic)", path);
  int major = pre[NPY_MAGIC_LEN];
  if (major < 1 || major > 3)
    return dln_error(DLN_EFORMAT, "%s: NPY format version %d is not supported", path, major);
  size_t len_bytes = major == 1 ? 2 : 4;
  if (fread(pre + NPY_MAGIC_LEN + 2, 1, len_bytes, fp) != len_bytes)
    return dln_error(DLN_EFORMAT, "%s: truncated NPY header", path);
  size_t header_len = read_le(pre + NPY_MAGIC_LEN + 2, len_bytes);
  if (header_len > NPY_HEADER_MAX)
    return dln_error(DLN_EFORMAT, "%s: NPY header of %zu bytes is implausibly long", path,
                     header_len);
  char *dict = malloc(header_len + 1);
  if (!dict) return dln_error(DLN_ENOMEM, "%s: out of memory", path);
  int status = DLN_SUCCESS;
  if (fread(dict, 1, header_len, fp) != header_len)
    status = dln_error(DLN_EFORMAT, "%s: truncated NPY header", path);
  dict[header_len] = '\0';
  if (status == DLN_SUCCESS) status = npy_parse_descr(path, dict);
  if (status == DLN_SUCCESS) status = npy_parse_fortran(path, dict, &h->fortran);
  if (status == DLN_SUCCESS) status = npy_parse_shape(path, dict, h);
  free(dict);
  h->data_offset = NPY_MAGIC_LEN + 2 + len_bytes + header_len;
  return status;
}

/* A file longer or shorter than its header promises is corrupt (or not what it claims). */
static int npy_check_size(FILE *fp, const char *path, const npy_header *h)
{
  struct stat st;
  if (fstat(fileno(fp), &st) != 0)
    return dln_error(DLN_EIO, "%s: cannot stat: %s", path, strerror(errno));
  if (h->rows > SIZE_MAX / h->cols || h->rows * h->cols > (SIZE_MAX - h->data_offset) / 8)
    return dln_error(DLN_EFORMAT, "%s: shape %zu x %zu is too large", path, h->rows, h->cols);
  size_t expected = h->data_offset + h->rows * h->cols * sizeof(double);
  if (st.st_size < 0 || (unsigned long long)st.st_size != (unsigned long long)expected)
    return dln_error(DLN_EFORMAT, "%s: file has %lld bytes, expected %zu for shape %zu x %zu",
                     path, (long long)st.st_size, expected, h->rows, h->cols);
  return DLN_SUCCESS;
}

/* Reads the values, brings them to host byte order and row-major layout, and checks them. */
static int npy_read_data(FILE *fp, const char *path, const npy_header *h, dln_matrix *out)
{
  size_t n = h->rows * h->cols;
  double *raw = malloc(n * sizeof *raw);
  if (!raw) return dln_error(DLN_ENOMEM, "%s: out of memory for %zu values", path, n);
  if (fread(raw, sizeof *raw, n, fp) != n) {
    free(raw);
    return dln_error(DLN_EIO, "%s: read failed", path);
  }
  if (!host_is_little_endian()) swap_bytes(raw, n);
  double *data = raw;
  if (h->fortran && h->rows > 1 && h->cols > 1) {
    /* Column-major raw[j·rows + i] becomes row-major data[i·cols + j]. */
    data = malloc(n * sizeof *data);
    if (!data) {
      free(raw);
      return dln_error(DLN_ENOMEM, "%s: out of memory for %zu values", path, n);
    }
    for (size_t i = 0; i < h->rows; i++)
      for (size_t j = 0; j < h->cols; j++) data[i * h->cols + j] = raw[j * h->rows + i];
    free(raw);
  }
  for (size_t k = 0; k < n; k++) {
    if (!isfinite(data[k])) {
      char shown[32];
      dln_format_double(shown, sizeof shown, data[k], 0);
      free(data);
      return dln_error(DLN_ENONFINITE, "%s: entry (%zu, %zu) is %s", path, k / h->cols,
                       k % h->cols, shown);
    }
  }
  out->rows = h->rows;
  out->cols = h->cols;
  out->data = data;
  return DLN_SUCCESS;
}

static int npy_read(const char *path, dln_matrix *out)
{
  FILE *fp = fopen(path, "rb");
  if (!fp) return dln_error(DLN_EIO, "%s: cannot open: %s", path, strerror(errno));
  npy_header h = {0};
  /* The header leaves the stream at the first value. */
  int status = npy_read_header(fp, path, &h);
  if (status == DLN_SUCCESS) status = npy_check_size(fp, path, &h);
  if (status == DLN_SUCCESS) status = npy_read_data(fp, path, &h, out);
  fclose(fp);
  return status;
}

/* ---- Public readers ------------------------------------------------------------------ */

/* The format follows the name: ".npy" (any case) is NPY, everything else CSV. */
static int has_npy_suffix(const char *path)
{
  size_t n = strlen(path);
  if (n < 4) return 0;
  const char *ext = path + n - 4;
  return ext[0] == '.' && tolower((unsigned char)ext[1]) == 'n' &&
         tolower((unsigned char)ext[2]) == 'p' && tolower((unsigned char)ext[3]) == 'y';
}

int dln_matrix_read(const char *path, dln_matrix *out)
{
  if (!out) return dln_error(DLN_EINVAL, "dln_matrix_read: out is NULL");
  out->rows = out->cols = 0;
  out->data = NULL;
  if (!path || !path[0]) return dln_error(DLN_EINVAL, "dln_matrix_read: no path given");
  return has_npy_suffix(path) ? npy_read(path, out) : csv_read(path, out);
}

void dln_matrix_release(dln_matrix *m)
{
  if (!m) return;
  free(m->data);
  m->data = NULL;
  m->rows = m->cols = 0;
}

/* ---- Matrix-completion entries ------------------------------------------------------- */

typedef struct entries_reader {
  const char *path;
  size_t rows, cols;
  const dln_matrix *target; /* source of values for "row,col" lines (may be NULL) */
  dln_entry *list;          /* grown as lines arrive (owned until handed out) */
  size_t n, cap;
} entries_reader;

static int entries_push(entries_reader *r, dln_entry e)
{
  if (r->n == r->cap) {
    size_t new_cap = r->cap ? 2 * r->cap : 64;
    if (new_cap > SIZE_MAX / sizeof *r->list) return DLN_ENOMEM;
    dln_entry *grown = realloc(r->list, new_cap * sizeof *grown);
    if (!grown) return DLN_ENOMEM;
    r->list = grown;
    r->cap = new_cap;
  }
  r->list[r->n++] = e;
  return DLN_SUCCESS;
}

/* Parses "row,col" or "row,col,value" into e. */
static int entries_parse_line(entries_reader *r, size_t lineno, char *line, dln_entry *e)
{
  char *field[3];
  size_t nfields = 0;
  for (char *s = line; s; nfields++) {
    char *comma = strchr(s, ',');
    if (comma) *comma = '\0';
    if (nfields < 3) field[nfields] = trim_field(s);
    s = comma ? comma + 1 : NULL;
  }
  if (nfields < 2 || nfields > 3)
    return dln_error(DLN_EFORMAT, "%s:%zu: expected 'row,col' or 'row,col,value', found %zu "
                     "field%s", r->path, lineno, nfields, nfields == 1 ? "" : "s");
  const char *what[2] = {"row", "col"};
  size_t index[2], bound[2] = {r->rows, r->cols};
  for (int k = 0; k < 2; k++) {
    if (!parse_index(field[k], &index[k]))
      return dln_error(DLN_EFORMAT, "%s:%zu: %s '%.*s' is not a whole number >= 0", r->path,
                       lineno, what[k], SHOWN_CHARS, field[k]);
    if (index[k] >= bound[k])
      return dln_error(DLN_EDIM, "%s:%zu: %s %zu is outside 0..%zu (the matrix is %zu x %zu)",
                       r->path, lineno, what[k], index[k], bound[k] - 1, r->rows, r->cols);
  }
  e->row = index[0];
  e->col = index[1];
  if (nfields == 3) {
    if (!parse_double_c(field[2], &e->value))
      return dln_error(DLN_EFORMAT, "%s:%zu: value '%.*s' is not a number", r->path, lineno,
                       SHOWN_CHARS, field[2]);
    if (!isfinite(e->value))
      return dln_error(DLN_ENONFINITE, "%s:%zu: value '%.*s' is not a finite number", r->path,
                       lineno, SHOWN_CHARS, field[2]);
  } else if (r->target) {
    e->value = r->target->data[e->row * r->cols + e->col];
  } else {
    return dln_error(DLN_EFORMAT, "%s:%zu: no value given and no target matrix to take it from",
                     r->path, lineno);
  }
  return DLN_SUCCESS;
}

int dln_entries_read(const char *path, size_t rows, size_t cols, const dln_matrix *target,
                     dln_entry **entries, size_t *count)
{
  if (!entries || !count) return dln_error(DLN_EINVAL, "dln_entries_read: no output given");
  *entries = NULL;
  *count = 0;
  if (!path || !path[0]) return dln_error(DLN_EINVAL, "dln_entries_read: no path given");
  if (target && (target->rows != rows || target->cols != cols || !target->data))
    return dln_error(DLN_EDIM, "dln_entries_read: target is %zu x %zu, expected %zu x %zu",
                     target->rows, target->cols, rows, cols);
  FILE *fp = fopen(path, "r");
  if (!fp) return dln_error(DLN_EIO, "%s: cannot open: %s", path, strerror(errno));
  entries_reader r = {.path = path, .rows = rows, .cols = cols, .target = target};
  char *line = NULL;
  size_t line_cap = 0, lineno = 0;
  int status = DLN_SUCCESS;
  while (status == DLN_SUCCESS) {
    errno = 0;
    if (getline(&line, &line_cap, fp) < 0) break;
    lineno++;
    strip_line_end(line);
    if (is_skipped_line(line)) continue;
    dln_entry e;
    status = entries_parse_line(&r, lineno, line, &e);
    if (status == DLN_SUCCESS && entries_push(&r, e) != DLN_SUCCESS)
      status = dln_error(DLN_ENOMEM, "%s:%zu: out of memory", path, lineno);
  }
  if (status == DLN_SUCCESS && !feof(fp))
    status = dln_error(errno == ENOMEM ? DLN_ENOMEM : DLN_EIO, "%s:%zu: read failed: %s", path,
                       lineno + 1, strerror(errno ? errno : EIO));
  if (status == DLN_SUCCESS && r.n == 0)
    status = dln_error(DLN_EFORMAT, "%s: no entries (the file is empty or holds only comments)",
                       path);
  free(line);
  fclose(fp);
  if (status != DLN_SUCCESS) {
    free(r.list);
    return status;
  }
  *entries = r.list;
  *count = r.n;
  return DLN_SUCCESS;
}

/* ---- Writing ------------------------------------------------------------------------- */

static void write_csv_rows(FILE *fp, const double *data, size_t rows, size_t cols)
{
  char buf[40];
  for (size_t i = 0; i < rows; i++) {
    for (size_t j = 0; j < cols; j++) {
      if (j > 0) fputc(',', fp);
      fputs(dln_format_double(buf, sizeof buf, data[i * cols + j], 0), fp);
    }
    fputc('\n', fp);
  }
}

int dln_matrix_write_csv(const char *path, const double *data, size_t rows, size_t cols)
{
  if (!data && rows * cols > 0)
    return dln_error(DLN_EINVAL, "dln_matrix_write_csv: data is NULL");
  dln_outfile f;
  int status = dln_outfile_open(&f, path);
  if (status != DLN_SUCCESS) return status;
  /* Write errors stick in the stream; commit checks them all at once. */
  write_csv_rows(f.fp, data, rows, cols);
  return dln_outfile_commit(&f);
}

/* Writes magic, version 1.0, header length and the space-padded dict ending in '\n', so
 * that the data starts on an NPY_ALIGN boundary. */
static void write_npy_header(FILE *fp, size_t rows, size_t cols)
{
  char dict[128];
  int len = snprintf(dict, sizeof dict,
                     "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                     cols);
  size_t prefix = NPY_MAGIC_LEN + 2 + 2;
  size_t total = prefix + (size_t)len + 1; /* + the closing newline */
  size_t padded = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
  size_t header_len = padded - prefix;
  unsigned char pre[NPY_MAGIC_LEN + 4] = {0};
  memcpy(pre, NPY_MAGIC, NPY_MAGIC_LEN);
  pre[NPY_MAGIC_LEN] = 1; /* version 1.0 */
  pre[NPY_MAGIC_LEN + 1] = 0;
  pre[NPY_MAGIC_LEN + 2] = (unsigned char)(header_len & 0xff);
  pre[NPY_MAGIC_LEN + 3] = (unsigned char)(header_len >> 8);
  fwrite(pre, 1, sizeof pre, fp);
  fputs(dict, fp);
  for (size_t k = prefix + (size_t)len; k + 1 < padded; k++) fputc(' ', fp);
  fputc('\n', fp);
}

static void write_npy_data(FILE *fp, const double *data, size_t n)
{
  if (host_is_little_endian()) {
    fwrite(data, sizeof *data, n, fp);
    return;
  }
  for (size_t k = 0; k < n; k++) {
    double x = data[k];
    swap_bytes(&x, 1);
    fwrite(&x, sizeof x, 1, fp);
  }
}

int dln_matrix_write_npy(const char *path, const double *data, size_t rows, size_t cols)
{
  if (!data && rows * cols > 0)
    return dln_error(DLN_EINVAL, "dln_matrix_write_npy: data is NULL");
  dln_outfile f;
  int status = dln_outfile_open(&f, path);
  if (status != DLN_SUCCESS) return status;
  write_npy_header(f.fp, rows, cols);
  write_npy_data(f.fp, data, rows * cols);
  return dln_outfile_commit(&f);
}
