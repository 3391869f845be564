/* CBLAS wrappers: every matrix product in dlnflow goes through here (OpenBLAS at link time). */
#include "linalg.h"

#include <cblas.h>

void dln_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
              const double *A, const double *B, double beta, double *C)
{
  /* Leading dimensions of the stored (not transposed) row-major operands. */
  int lda = (int)(trans_a ? m : k);
  int ldb = (int)(trans_b ? k : n);
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, A,
              lda > 0 ? lda : 1, B, ldb > 0 ? ldb : 1, beta, C, n > 0 ? (int)n : 1);
}

void dln_axpy(size_t n, double alpha, const double *x, double *y)
{
  cblas_daxpy((int)n, alpha, x, 1, y, 1);
}

void dln_scal(size_t n, double alpha, double *x) { cblas_dscal((int)n, alpha, x, 1); }

double dln_dot(size_t n, const double *x, const double *y)
{
  return cblas_ddot((int)n, x, 1, y, 1);
}

double dln_nrm2(size_t n, const double *x) { return cblas_dnrm2((int)n, x, 1); }
