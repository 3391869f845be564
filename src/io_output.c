/* Files that appear whole or not at all, and locale-independent number formatting
 * (include/dlnflow/io.h).
 *
 * An outfile is written under "path.tmp" and renamed to "path" on commit. rename(2) replaces
 * the final name atomically, so a reader sees either the previous file or the complete new
 * one, never a prefix, even if the run is interrupted or a write fails half way.
 *
 * Static functions:
 *   outfile_reset    - forget every field of an outfile (after commit or abort)
 *   copy_string      - malloc'd copy of a string with an optional suffix
 *   flush_and_close  - flush, sync and close, reporting the first failure
 */
#include "dlnflow/io.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlnflow/errors.h"

/* ---- Atomic output files ------------------------------------------------------------- */

static void outfile_reset(dln_outfile *f)
{
  free(f->path);
  free(f->tmp_path);
  f->fp = NULL;
  f->path = NULL;
  f->tmp_path = NULL;
}

/* Returns a malloc'd "s" followed by suffix, or NULL when out of memory. */
static char *copy_string(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  char *copy = malloc(n + m + 1);
  if (!copy) return NULL;
  memcpy(copy, s, n);
  memcpy(copy + n, suffix, m + 1);
  return copy;
}

int dln_outfile_open(dln_outfile *f, const char *path)
{
  if (!f || !path || !path[0]) return dln_error(DLN_EINVAL, "dln_outfile_open: no path given");
  f->fp = NULL;
  f->path = copy_string(path, "");
  f->tmp_path = copy_string(path, ".tmp");
  if (!f->path || !f->tmp_path) {
    outfile_reset(f);
    return dln_error(DLN_ENOMEM, "dln_outfile_open: out of memory");
  }
  f->fp = fopen(f->tmp_path, "wb");
  if (!f->fp) {
    int code = dln_error(DLN_EIO, "%s: cannot open for writing: %s", f->tmp_path,
                         strerror(errno));
    outfile_reset(f);
    return code;
  }
  return DLN_SUCCESS;
}

/* Flushes and closes fp; returns 0 or the errno of the first failure. A buffered write
 * error only shows up in ferror() or in fflush()/fclose(), so all three are checked. */
static int flush_and_close(FILE *fp)
{
  int err = 0;
  if (fflush(fp) != 0) err = errno ? errno : EIO;
  if (!err && ferror(fp)) err = EIO;
  /* Without fsync a crash shortly after rename can leave an empty file under the final
   * name on some filesystems. EINVAL means the file cannot be synced (a pipe, say): fine. */
  if (!err && fsync(fileno(fp)) != 0 && errno != EINVAL) err = errno;
  if (fclose(fp) != 0 && !err) err = errno ? errno : EIO;
  return err;
}

int dln_outfile_commit(dln_outfile *f)
{
  if (!f || !f->fp) return dln_error(DLN_EINVAL, "dln_outfile_commit: the file is not open");
  errno = 0;
  int err = flush_and_close(f->fp);
  f->fp = NULL;
  if (!err && rename(f->tmp_path, f->path) != 0) err = errno;
  if (err) {
    int code = dln_error(DLN_EIO, "%s: write failed: %s", f->path, strerror(err));
    remove(f->tmp_path);
    outfile_reset(f);
    return code;
  }
  outfile_reset(f);
  return DLN_SUCCESS;
}

void dln_outfile_abort(dln_outfile *f)
{
  if (!f) return;
  if (f->fp) {
    fclose(f->fp);
    remove(f->tmp_path);
  }
  outfile_reset(f);
}

/* ---- Number formatting --------------------------------------------------------------- */

/* 17 significant digits make every double round-trip exactly through strtod. The library
 * never calls setlocale, but a host program may: a decimal separator other than '.' (a
 * comma in fr_FR, possibly several bytes elsewhere) is put back to '.' so that CSV and JSON
 * stay readable everywhere. */
char *dln_format_double(char *buf, size_t size, double x, int empty_nan)
{
  if (!buf || size == 0) return buf;
  if (isnan(x)) {
    snprintf(buf, size, "%s", empty_nan ? "" : "nan"); /* never "-nan" */
    return buf;
  }
  snprintf(buf, size, "%.17g", x);
  const char *point = localeconv()->decimal_point;
  if (point && point[0] != '\0' && strcmp(point, ".") != 0) {
    char *at = strstr(buf, point);
    if (at) {
      size_t len = strlen(point);
      *at = '.';
      memmove(at + 1, at + len, strlen(at + len) + 1);
    }
  }
  return buf;
}
