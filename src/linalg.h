/* Thin, named wrappers around CBLAS for the row-major layout used throughout dlnflow. */
#ifndef DLNFLOW_LINALG_H
#define DLNFLOW_LINALG_H

#include <stddef.h>

/* C = alpha op(A) op(B) + beta C, all row-major; op(X) = Xᵀ when trans_x is set.
 * op(A) is m x k, op(B) is k x n, C is m x n. */
void dln_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
              const double *A, const double *B, double beta, double *C);

/* y = alpha x + y. */
void dln_axpy(size_t n, double alpha, const double *x, double *y);
/* x = alpha x. */
void dln_scal(size_t n, double alpha, double *x);
/* Returns xᵀy. */
double dln_dot(size_t n, const double *x, const double *y);
/* Returns ||x||_2 (scaled, no overflow). */
double dln_nrm2(size_t n, const double *x);

#endif
