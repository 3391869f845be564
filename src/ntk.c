/* The NTK operator as an m x m matrix, m = n_L·n_0, and its norms (include/dlnflow/ntk.h;
 * THEORY.md §1 and §3). */
#include "dlnflow/ntk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "dlnflow/errors.h"
#include "linalg.h"

int dln_ntk_matrix(dln_problem *p, const double *theta, double *K)
{
  const dln_network *net = dln_problem_network(p);
  size_t m = dln_network_width(net, 0) * dln_network_width(net, dln_network_depth(net));
  double *E = calloc(m, sizeof *E), *col = malloc(m * sizeof *col);
  if (!E || !col) {
    free(E);
    free(col);
    return dln_error(DLN_ENOMEM, "dln_ntk_matrix: out of memory (m = %zu)", m);
  }
  int status = DLN_SUCCESS;
  for (size_t j = 0; j < m && status == DLN_SUCCESS; j++) {
    E[j] = 1.0;
    status = dln_problem_ntk_apply(p, theta, E, col);
    E[j] = 0.0;
    for (size_t i = 0; i < m; i++) K[i * m + j] = col[i];
  }
  /* Θ is symmetric in exact arithmetic; average away the round-off asymmetry. */
  for (size_t i = 0; i < m; i++)
    for (size_t j = i + 1; j < m; j++) K[i * m + j] = K[j * m + i] = 0.5 * (K[i * m + j] + K[j * m + i]);
  free(E);
  free(col);
  return status;
}

double dln_ntk_frobenius(size_t m, const double *K) { return dln_nrm2(m * m, K); }

int dln_ntk_operator_norm(size_t m, const double *K, double *norm)
{
  double *copy = malloc(m * m * sizeof *copy), *ev = malloc(m * sizeof *ev);
  if (!copy || !ev) {
    free(copy);
    free(ev);
    return dln_error(DLN_ENOMEM, "dln_ntk_operator_norm: out of memory (m = %zu)", m);
  }
  memcpy(copy, K, m * m * sizeof *copy);
  lapack_int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)m, copy, (lapack_int)m, ev);
  if (info == 0) *norm = fmax(fabs(ev[0]), fabs(ev[m - 1])); /* ascending eigenvalues */
  free(copy);
  free(ev);
  return info == 0 ? DLN_SUCCESS
                   : dln_error(DLN_ELINALG, "dln_ntk_operator_norm: LAPACKE_dsyev info %d", (int)info);
}
