/* Preconditioners for the flow's Newton systems (precond.h).
 *
 * Dense: M = I + γH with H from P Hessian-vector products (symmetric, so its columns are its
 * rows), factored by LAPACK's dgetrf; a solve is one dgetrs.
 *
 * Block: for layer l with Left = Q1 Λ1 Q1ᵀ and Right = Q2 Λ2 Q2ᵀ (thin), the block operator
 * V -> V + c Left V Right (c = 2γ) acts as the identity off the ranges, so
 *   z = r - Q1 [ (Q1ᵀ r Q2) ∘ (c λ1_i λ2_j / (1 + c λ1_i λ2_j)) ] Q2ᵀ.
 */
#include "precond.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "linalg.h"

typedef struct layer_factors {
  size_t rows, cols;  /* n_l, n_{l-1} */
  size_t r1, r2;      /* ranks kept of Left (<= n_L) and Right (<= n_0) */
  double *q1t;        /* Q1ᵀ, r1 x n_l */
  double *lambda1;    /* r1 */
  double *q2;         /* Q2, n_{l-1} x r2 */
  double *lambda2;    /* r2 */
} layer_factors;

struct dln_precond {
  dln_precond_kind kind;   /* DLN_PRECOND_DENSE or DLN_PRECOND_BLOCK */
  dln_problem *problem;    /* not owned */
  size_t nparams;          /* P */
  double *hessian;         /* dense: H, P x P (owned) */
  double *factors;         /* dense: LU factors of I + γH, P x P (owned) */
  lapack_int *pivots;      /* dense: P (owned) */
  const dln_network *net;  /* not owned */
  size_t depth, n0, nL;
  double *kroot;           /* C with K = C Cᵀ, n_0 x n_0 */
  double *prefix;          /* P_{l-1} blocks, each n_{l-1} x n_0 (l = 2..L) */
  size_t *prefix_offset;
  double *suffix;          /* S_{l+1} blocks, each n_L x n_l (l = 1..L-1) */
  size_t *suffix_offset;
  double *work_a, *work_b; /* SVD copies and solve temporaries */
  double *superb;
  layer_factors *layers;   /* index 1..L */
};

void dln_precond_free(dln_precond *pc)
{
  if (!pc) return;
  free(pc->hessian);
  free(pc->factors);
  free(pc->pivots);
  if (pc->layers)
    for (size_t l = 1; l <= pc->depth; l++) {
      free(pc->layers[l].q1t);
      free(pc->layers[l].lambda1);
      free(pc->layers[l].q2);
      free(pc->layers[l].lambda2);
    }
  free(pc->layers);
  free(pc->kroot);
  free(pc->prefix);
  free(pc->prefix_offset);
  free(pc->suffix);
  free(pc->suffix_offset);
  free(pc->work_a);
  free(pc->work_b);
  free(pc->superb);
  free(pc);
}

/* C = E diag(sqrt(max(k, 0))) from K = E diag(k) Eᵀ. */
static int square_root_factor(const dln_cost *cost, size_t n, double *C)
{
  double *k = malloc(n * sizeof *k);
  if (!k) return dln_error(DLN_ENOMEM, "preconditioner: out of memory");
  int status = dln_cost_input_curvature(cost, C);
  if (status == DLN_SUCCESS &&
      LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, C, (lapack_int)n, k) != 0)
    status = dln_error(DLN_ELINALG, "preconditioner: eigen-decomposition of K failed");
  for (size_t j = 0; status == DLN_SUCCESS && j < n; j++) {
    double root = sqrt(k[j] > 0.0 ? k[j] : 0.0);
    for (size_t i = 0; i < n; i++) C[i * n + j] *= root;
  }
  free(k);
  return status;
}

static int alloc_dense(dln_precond *pc)
{
  size_t P = pc->nparams;
  if (P > 20000)
    return dln_error(DLN_EINVAL, "the dense preconditioner for %zu parameters would need %.3g "
                     "GB: lower solver.dense_max below %zu or set solver.precondition = none", P,
                     16.0 * (double)P * (double)P / 1e9, P);
  pc->hessian = malloc(P * P * sizeof *pc->hessian);
  pc->factors = malloc(P * P * sizeof *pc->factors);
  pc->pivots = malloc(P * sizeof *pc->pivots);
  if (!pc->hessian || !pc->factors || !pc->pivots)
    return dln_error(DLN_ENOMEM, "preconditioner: out of memory for a %zu x %zu Hessian", P, P);
  return DLN_SUCCESS;
}

static int alloc_block(dln_precond *pc, const dln_cost *cost)
{
  const dln_network *net = pc->net;
  if (!dln_cost_has_input_curvature(cost))
    return dln_error(DLN_EINVAL, "solver.precondition = block: cost %s gives no curvature model",
                     dln_cost_name(cost));
  size_t L = pc->depth;
  pc->layers = calloc(L + 1, sizeof *pc->layers);
  pc->prefix_offset = calloc(L + 2, sizeof *pc->prefix_offset);
  pc->suffix_offset = calloc(L + 2, sizeof *pc->suffix_offset);
  pc->kroot = malloc(pc->n0 * pc->n0 * sizeof *pc->kroot);
  if (!pc->layers || !pc->prefix_offset || !pc->suffix_offset || !pc->kroot) goto nomem;
  size_t nprefix = 0, nsuffix = 0, widest = pc->n0 * (pc->n0 > pc->nL ? pc->n0 : pc->nL);
  for (size_t l = 1; l <= L; l++) {
    size_t rows = dln_network_width(net, l), cols = dln_network_width(net, l - 1);
    layer_factors *f = &pc->layers[l];
    f->rows = rows;
    f->cols = cols;
    f->r1 = l == L ? pc->nL : (pc->nL < rows ? pc->nL : rows);
    f->r2 = cols < pc->n0 ? cols : pc->n0;
    f->q1t = malloc(f->r1 * rows * sizeof *f->q1t);
    f->lambda1 = malloc(f->r1 * sizeof *f->lambda1);
    f->q2 = malloc(cols * f->r2 * sizeof *f->q2);
    f->lambda2 = malloc(f->r2 * sizeof *f->lambda2);
    if (!f->q1t || !f->lambda1 || !f->q2 || !f->lambda2) goto nomem;
    pc->prefix_offset[l] = nprefix;
    nprefix += cols * pc->n0;
    pc->suffix_offset[l] = nsuffix;
    nsuffix += pc->nL * rows;
    if (rows * cols > widest) widest = rows * cols;
    if (pc->nL * rows > widest) widest = pc->nL * rows;
    if (cols * pc->n0 > widest) widest = cols * pc->n0;
    if (cols * pc->nL > widest) widest = cols * pc->nL;
  }
  pc->prefix = malloc(nprefix * sizeof *pc->prefix);
  pc->suffix = malloc(nsuffix * sizeof *pc->suffix);
  pc->work_a = malloc(widest * sizeof *pc->work_a);
  pc->work_b = malloc(widest * sizeof *pc->work_b);
  pc->superb = malloc((pc->n0 + pc->nL + 1) * sizeof *pc->superb);
  if (!pc->prefix || !pc->suffix || !pc->work_a || !pc->work_b || !pc->superb) goto nomem;
  return square_root_factor(cost, pc->n0, pc->kroot);
nomem:
  return dln_error(DLN_ENOMEM, "preconditioner: out of memory");
}

int dln_precond_alloc(dln_problem *p, dln_precond_kind kind, dln_precond **out)
{
  *out = NULL;
  dln_precond *pc = calloc(1, sizeof *pc);
  if (!pc) return dln_error(DLN_ENOMEM, "preconditioner: out of memory");
  const dln_network *net = dln_problem_network(p);
  pc->kind = kind;
  pc->problem = p;
  pc->nparams = dln_problem_nparams(p);
  pc->net = net;
  pc->depth = dln_network_depth(net);
  pc->n0 = dln_network_width(net, 0);
  pc->nL = dln_network_width(net, pc->depth);
  int status = kind == DLN_PRECOND_DENSE ? alloc_dense(pc)
                                         : alloc_block(pc, dln_problem_cost(p));
  if (status != DLN_SUCCESS) {
    dln_precond_free(pc);
    return status;
  }
  *out = pc;
  return DLN_SUCCESS;
}

/* Thin SVD of the m x n row-major M (destroyed): writes squared singular values, and U
 * (m x k) and/or Vᵀ (k x n), k = min(m, n). */
static int thin_svd(dln_precond *pc, size_t m, size_t n, double *M, double *sq, double *U,
                    double *VT)
{
  size_t k = m < n ? m : n;
  lapack_int info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, U ? 'S' : 'N', VT ? 'S' : 'N',
                                   (lapack_int)m, (lapack_int)n, M, (lapack_int)n, sq, U,
                                   (lapack_int)k, VT, (lapack_int)n, pc->superb);
  if (info != 0) return dln_error(DLN_ELINALG, "preconditioner: dgesvd returned %d", (int)info);
  for (size_t i = 0; i < k; i++) sq[i] *= sq[i];
  return DLN_SUCCESS;
}

static int setup_block(dln_precond *pc, const double *theta)
{
  const dln_network *net = pc->net;
  size_t L = pc->depth, n0 = pc->n0, nL = pc->nL;
  /* Prefix products P_{l-1} (P_0 = I is handled by the l = 1 case below). */
  for (size_t l = 2; l <= L; l++) {
    size_t cols = dln_network_width(net, l - 1);
    const double *W = theta + dln_network_layer_offset(net, l - 1);
    double *P = pc->prefix + pc->prefix_offset[l];
    if (l == 2)
      memcpy(P, W, cols * n0 * sizeof *P);
    else
      dln_gemm(0, 0, cols, n0, dln_network_width(net, l - 2), 1.0, W,
               pc->prefix + pc->prefix_offset[l - 1], 0.0, P);
  }
  /* Suffix products S_{l+1} = W_L .. W_{l+1} (n_L x n_l), from the top down. */
  for (size_t l = L - 1; l >= 1 && L >= 2; l--) {
    size_t rows = dln_network_width(net, l);
    const double *W = theta + dln_network_layer_offset(net, l + 1);
    double *S = pc->suffix + pc->suffix_offset[l];
    if (l == L - 1)
      memcpy(S, W, nL * rows * sizeof *S);
    else
      dln_gemm(0, 0, nL, rows, dln_network_width(net, l + 1), 1.0,
               pc->suffix + pc->suffix_offset[l + 1], W, 0.0, S);
  }
  for (size_t l = 1; l <= L; l++) {
    layer_factors *f = &pc->layers[l];
    int status;
    if (l == L) { /* S_{L+1} = I */
      memset(f->q1t, 0, nL * nL * sizeof *f->q1t);
      for (size_t i = 0; i < nL; i++) {
        f->q1t[i * nL + i] = 1.0;
        f->lambda1[i] = 1.0;
      }
    } else {
      memcpy(pc->work_a, pc->suffix + pc->suffix_offset[l], nL * f->rows * sizeof *pc->work_a);
      status = thin_svd(pc, nL, f->rows, pc->work_a, f->lambda1, NULL, f->q1t);
      if (status != DLN_SUCCESS) return status;
    }
    /* Right factor P_{l-1} C (P_0 = I). */
    if (l == 1)
      memcpy(pc->work_a, pc->kroot, n0 * n0 * sizeof *pc->work_a);
    else
      dln_gemm(0, 0, f->cols, n0, n0, 1.0, pc->prefix + pc->prefix_offset[l], pc->kroot, 0.0,
               pc->work_a);
    status = thin_svd(pc, f->cols, n0, pc->work_a, f->lambda2, f->q2, NULL);
    if (status != DLN_SUCCESS) return status;
  }
  return DLN_SUCCESS;
}

static void solve_block(dln_precond *pc, double gamma, const double *r, double *z)
{
  const dln_network *net = pc->net;
  double c = 2.0 * gamma;
  if (z != r) memcpy(z, r, dln_network_nparams(net) * sizeof *z);
  for (size_t l = 1; l <= pc->depth; l++) {
    const layer_factors *f = &pc->layers[l];
    double *Z = z + dln_network_layer_offset(net, l);
    double *tmp = pc->work_a, *Y = pc->work_b;
    dln_gemm(0, 0, f->r1, f->cols, f->rows, 1.0, f->q1t, Z, 0.0, tmp);  /* Q1ᵀ R */
    dln_gemm(0, 0, f->r1, f->r2, f->cols, 1.0, tmp, f->q2, 0.0, Y);     /* Q1ᵀ R Q2 */
    for (size_t i = 0; i < f->r1; i++)
      for (size_t j = 0; j < f->r2; j++) {
        double a = c * f->lambda1[i] * f->lambda2[j];
        Y[i * f->r2 + j] *= -a / (1.0 + a);
      }
    dln_gemm(0, 1, f->r1, f->cols, f->r2, 1.0, Y, f->q2, 0.0, tmp);     /* Y Q2ᵀ */
    dln_gemm(1, 0, f->rows, f->cols, f->r1, 1.0, f->q1t, tmp, 1.0, Z);  /* + Q1 (Y Q2ᵀ) */
  }
}

/* Assembles H column by column (unless reusing it) and factors I + γH. */
static int setup_dense(dln_precond *pc, const double *theta, double gamma, int reuse)
{
  size_t P = pc->nparams;
  if (!reuse) {
    int status = dln_problem_hessian(pc->problem, theta, pc->hessian);
    if (status != DLN_SUCCESS) return status;
  }
  for (size_t i = 0; i < P * P; i++) pc->factors[i] = gamma * pc->hessian[i];
  for (size_t i = 0; i < P; i++) pc->factors[i * P + i] += 1.0;
  lapack_int info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, (lapack_int)P, (lapack_int)P, pc->factors,
                                   (lapack_int)P, pc->pivots);
  /* A singular I + γH (γ at an eigenvalue -1/λ) is recoverable: CVODE shrinks the step. */
  return info == 0 ? DLN_SUCCESS : dln_error(DLN_ELINALG, "I + gamma H is singular");
}

int dln_precond_setup(dln_precond *pc, const double *theta, double gamma, int reuse)
{
  if (pc->kind == DLN_PRECOND_DENSE) return setup_dense(pc, theta, gamma, reuse);
  return reuse ? DLN_SUCCESS : setup_block(pc, theta);
}

int dln_precond_solve(dln_precond *pc, double gamma, const double *r, double *z)
{
  if (pc->kind == DLN_PRECOND_BLOCK) {
    solve_block(pc, gamma, r, z);
    return DLN_SUCCESS;
  }
  size_t P = pc->nparams;
  if (z != r) memcpy(z, r, P * sizeof *z);
  lapack_int info = LAPACKE_dgetrs(LAPACK_ROW_MAJOR, 'N', (lapack_int)P, 1, pc->factors,
                                   (lapack_int)P, pc->pivots, z, 1);
  return info == 0 ? DLN_SUCCESS : dln_error(DLN_ELINALG, "dgetrs returned %d", (int)info);
}
