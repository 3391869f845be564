/* Shared by dlnflow plot's drawings (plot.h): CSV fields, gnuplot strings, and running gnuplot
 * on a script so that the figures appear whole or not at all. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "dlnflow/errors.h"
#include "plot.h"

extern char **environ;

/* The most characters of gnuplot's messages repeated in ours. */
#define GNUPLOT_MESSAGE_MAX 4000

size_t dln_plot_split_fields(char *line, char **fields, size_t max)
{
  line[strcspn(line, "\r\n")] = '\0';
  size_t n = 0;
  for (char *p = line;; p++) {
    if (n == max) return max + 1;
    if (*p == '"') { /* a quoted field: unquote it in place */
      char *w = p, *r = p + 1;
      fields[n++] = p;
      for (; *r; r++) {
        if (*r == '"' && r[1] == '"') r++;
        else if (*r == '"') break;
        *w++ = *r;
      }
      if (*r == '"') r++;
      p = r + strcspn(r, ",");
      *w = '\0';
      if (*p == '\0') return n;
      *p = '\0';
      continue;
    }
    fields[n++] = p;
    p += strcspn(p, ",");
    if (*p == '\0') return n;
    *p = '\0';
  }
}

int dln_plot_parse_number(const char *s, double *x)
{
  char *end;
  errno = 0;
  *x = strtod(s, &end);
  return s[0] != '\0' && *end == '\0' && errno != ERANGE ? 0 : -1;
}

int dln_plot_find_column(char **names, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return (int)i + 1;
  return 0;
}

int dln_plot_read_csv(const char *path, dln_plot_csv_fn header, dln_plot_csv_fn row, void *data)
{
  FILE *fp = fopen(path, "r");
  if (!fp) return dln_error(DLN_EIO, "%s: cannot open: %s", path, strerror(errno));
  char *line = NULL;
  size_t cap = 0, ncols = 0;
  char **fields = malloc(DLN_PLOT_MAX_COLUMNS * sizeof *fields);
  int status = DLN_SUCCESS;
  long lineno = 1;
  if (!fields) {
    status = dln_error(DLN_ENOMEM, "%s: out of memory", path);
  } else if (getline(&line, &cap, fp) < 0) {
    status = dln_error(DLN_EFORMAT, "%s: empty file (no header)", path);
  } else {
    ncols = dln_plot_split_fields(line, fields, DLN_PLOT_MAX_COLUMNS);
    status = ncols > DLN_PLOT_MAX_COLUMNS
                 ? dln_error(DLN_EFORMAT, "%s:1: more than %d columns", path, DLN_PLOT_MAX_COLUMNS)
                 : header(fields, ncols, lineno, data);
  }
  while (status == DLN_SUCCESS && getline(&line, &cap, fp) >= 0) {
    lineno++;
    size_t n = dln_plot_split_fields(line, fields, DLN_PLOT_MAX_COLUMNS);
    if (n != ncols)
      status = dln_error(DLN_EFORMAT, "%s:%ld: %zu fields, the header has %zu", path, lineno,
                         n, ncols);
    else
      status = row(fields, n, lineno, data);
  }
  if (status == DLN_SUCCESS && ferror(fp))
    status = dln_error(DLN_EIO, "%s: read error: %s", path, strerror(errno));
  free(fields);
  free(line);
  fclose(fp);
  return status;
}

void dln_plot_put_quoted(FILE *fp, const char *s)
{
  fputc('\'', fp);
  for (; *s; s++) {
    if (*s == '\'') fputc('\'', fp);
    fputc(*s, fp);
  }
  fputc('\'', fp);
}

/* Runs `gnuplot script` ($DLNFLOW_GNUPLOT if set) with its output collected into msg. Returns
 * DLN_SUCCESS if it exited 0; its messages (warnings included) are in msg either way. */
static int run_gnuplot(const char *script, char *msg, size_t size)
{
  const char *prog = getenv("DLNFLOW_GNUPLOT");
  if (!prog || !prog[0]) prog = "gnuplot";
  msg[0] = '\0';
  int fds[2];
  if (pipe(fds) != 0) return dln_error(DLN_EIO, "cannot run %s: %s", prog, strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  char *argv[] = {(char *)prog, (char *)script, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, prog, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    return dln_error(DLN_EIO, "cannot run %s: %s (install gnuplot-nox, or set DLNFLOW_GNUPLOT)",
                     prog, strerror(err));
  }
  /* Read all it says (so it never blocks on a full pipe), keeping the first size - 1 bytes. */
  size_t len = 0;
  char buf[512];
  ssize_t got;
  while ((got = read(fds[0], buf, sizeof buf)) != 0) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) break;
    size_t keep = len + 1 < size ? size - 1 - len : 0;
    if (keep > (size_t)got) keep = (size_t)got;
    memcpy(msg + len, buf, keep);
    len += keep;
  }
  msg[len] = '\0';
  close(fds[0]);
  int wstatus;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return DLN_SUCCESS;
  /* posix_spawnp may fork before it finds the program has gone: the child then exits 127. */
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 127 && len == 0)
    return dln_error(DLN_EIO, "cannot run %s: not found (install gnuplot-nox, or set "
                     "DLNFLOW_GNUPLOT)", prog);
  return dln_error(DLN_EIO, "%s failed (%s %d): %s", prog,
                   WIFEXITED(wstatus) ? "exit status" : "signal",
                   WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus),
                   len ? msg : "no message");
}

void dln_plot_begin_figures(FILE *fp, const char *name, int width, int height)
{
  fprintf(fp, "do for [fmt in formats] {\n"
              "if (fmt eq 'png') {\n"
              "  set terminal pngcairo size %d,%d enhanced font 'sans,10' background "
              "rgb 'white'\n"
              "} else {\n"
              "  set terminal svg size %d,%d dynamic enhanced font 'sans,11' background "
              "rgb 'white'\n"
              "}\n"
              "set output out . '/%s.' . fmt . suffix\n",
          width, height, width, height, name);
}

void dln_plot_end_figures(FILE *fp) { fprintf(fp, "unset output\n}\n"); }

/* Writes the script: the preamble (output folder, formats, suffix of the figure names), then
 * fn's body. */
static int write_script(const char *path, const char *dir, int formats, const char *suffix,
                        dln_plot_script_fn fn, void *data)
{
  FILE *fp = fopen(path, "w");
  if (!fp) return dln_error(DLN_EIO, "%s: cannot create: %s", path, strerror(errno));
  fprintf(fp, "# Written by dlnflow plot for gnuplot 5.\nset encoding utf8\nout = ");
  dln_plot_put_quoted(fp, dir);
  fprintf(fp, "\nformats = '%s%s%s'\nsuffix = '%s'\n",
          formats & DLN_PLOT_PNG ? "png" : "",
          formats == (DLN_PLOT_PNG | DLN_PLOT_SVG) ? " " : "",
          formats & DLN_PLOT_SVG ? "svg" : "", suffix);
  int status = fn(fp, data);
  if (fclose(fp) != 0 && status == DLN_SUCCESS)
    status = dln_error(DLN_EIO, "%s: write failed", path);
  return status;
}

int dln_plot_draw(const char *dir, const char *name, int formats, int keep_script,
                  dln_plot_script_fn fn, void *data)
{
  static const char *const ext[] = {"png", "svg"};
  struct stat st;
  int existed = stat(dir, &st) == 0;
  int status = dln_cli_make_dir(dir);
  if (status != DLN_SUCCESS) {
    fprintf(stderr, "dlnflow plot: %s\n", dln_error_message());
    return DLN_EXIT_FAILED;
  }
  size_t len = strlen(dir) + strlen(name) + 32;
  char *script = malloc(len), *tmp = malloc(len), *final = malloc(len);
  char *msg = malloc(GNUPLOT_MESSAGE_MAX);
  if (!script || !tmp || !final || !msg) {
    status = dln_error(DLN_ENOMEM, "out of memory");
    goto done;
  }
  snprintf(script, len, "%s/%s.gp.tmp", dir, name);
  status = write_script(script, dir, formats, ".tmp", fn, data);
  if (status == DLN_SUCCESS) status = run_gnuplot(script, msg, GNUPLOT_MESSAGE_MAX);
  /* gnuplot's warnings (an empty range, a bad value) are worth seeing even when it succeeds. */
  if (status == DLN_SUCCESS && msg[0]) fprintf(stderr, "dlnflow plot: gnuplot: %s", msg);
  for (int k = 0; k < 2 && status == DLN_SUCCESS; k++) {
    if (!(formats & (1 << k))) continue;
    snprintf(tmp, len, "%s/%s.%s.tmp", dir, name, ext[k]);
    if (stat(tmp, &st) != 0 || st.st_size == 0)
      status = dln_error(DLN_EIO, "gnuplot drew nothing into %s", tmp);
  }
  /* The script kept beside the figures draws them under their final names. */
  if (status == DLN_SUCCESS && keep_script)
    status = write_script(script, dir, formats, "", fn, data);
  for (int k = 0; k < 2 && status == DLN_SUCCESS; k++) {
    if (!(formats & (1 << k))) continue;
    snprintf(tmp, len, "%s/%s.%s.tmp", dir, name, ext[k]);
    snprintf(final, len, "%s/%s.%s", dir, name, ext[k]);
    if (rename(tmp, final) != 0)
      status = dln_error(DLN_EIO, "%s: cannot rename to %s: %s", tmp, final, strerror(errno));
    else
      printf("dlnflow plot: wrote %s\n", final);
  }
  if (status == DLN_SUCCESS && keep_script) {
    snprintf(final, len, "%s/%s.gp", dir, name);
    if (rename(script, final) != 0)
      status = dln_error(DLN_EIO, "%s: cannot rename to %s: %s", script, final, strerror(errno));
    else
      printf("dlnflow plot: wrote %s\n", final);
  }
done:
  if (script) unlink(script);
  for (int k = 0; k < 2 && tmp && status != DLN_SUCCESS; k++) {
    snprintf(tmp, len, "%s/%s.%s.tmp", dir, name, ext[k]);
    unlink(tmp);
  }
  if (status != DLN_SUCCESS && !existed) rmdir(dir);
  free(script);
  free(tmp);
  free(final);
  free(msg);
  if (status == DLN_SUCCESS) return DLN_EXIT_OK;
  fprintf(stderr, "dlnflow plot: %s\n", dln_error_message());
  return DLN_EXIT_FAILED;
}
