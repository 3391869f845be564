/* What a point of the flow looks like: the description dlnflow gives of every saddle and
 * minimum it visits (THEORY.md §2, §4, §5). A, its singular values, rank and nuclear norm;
 * the top singular triples of ∇C(A), which give the next escape's speed and direction; the
 * losses and norms; each layer's singular values and balancedness ||D_l||; and the extreme
 * eigenvalues of the Hessian H with the count of negative ones. */
#ifndef DLNFLOW_DESCRIBE_H
#define DLNFLOW_DESCRIBE_H

#include <stddef.h>

#include "dlnflow/hessian.h"
#include "dlnflow/problem.h"

/* How many singular triples of ∇C(A), and extreme Hessian eigenvalues, a description keeps. */
#define DLN_DESCRIBE_TRIPLES 3
#define DLN_DESCRIBE_EIGENVALUES 6

typedef struct dln_describe_options {
  double rank_tol;          /* singular values of A above this count towards the rank */
  double loss_floor;        /* inf C over all matrices: excess loss = loss - loss_floor */
  int hessian;              /* compute the Hessian's spectrum (0: skip) */
  double hessian_tol;       /* eigenvalues below -hessian_tol · max|λ| count as negative */
  size_t hessian_dense_max; /* dense eigensolver up to this many parameters, Lanczos above */
  size_t lanczos_steps;     /* Krylov dimension of the Lanczos iteration */
  unsigned long seed;       /* Lanczos start vector */
} dln_describe_options;

/* Fills o with the defaults (rank_tol 0.1, floor 0, Hessian on, tol 1e-6, dense up to
 * 2000 parameters, 60 Lanczos steps, seed 1). */
void dln_describe_options_default(dln_describe_options *o);

typedef struct dln_description {
  size_t rows, cols, depth;  /* A is rows x cols (n_L x n_0); L layers */
  double loss, test_loss, excess_loss;
  double theta_norm, grad_norm; /* ||θ||, ||∇ℒ(θ)|| */
  double grad_c_norm;        /* ||∇C(A)||_F: zero exactly at a global minimum */
  double nuclear_norm;       /* Σ singular values of A */
  size_t rank;
  size_t nsv;                /* min(rows, cols) */
  double *sv;                /* singular values of A, largest first */
  double *A;                 /* rows x cols */
  size_t ntriples;           /* min(DLN_DESCRIBE_TRIPLES, nsv) */
  double grad_c_sv[DLN_DESCRIBE_TRIPLES];
  double *grad_c_u;          /* ntriples x rows: left singular vectors of ∇C(A) */
  double *grad_c_v;          /* ntriples x cols: right singular vectors */
  size_t *layer_nsv;         /* L counts */
  double *layer_sv;          /* each layer's singular values, concatenated */
  double *balance;           /* ||D_l||_F, l = 1..L-1 */
  int has_hessian;
  dln_hessian_spectrum hessian;
  size_t nlowest;            /* dense only: the smallest eigenvalues, ascending */
  double lowest[DLN_DESCRIBE_EIGENVALUES];
  size_t nhighest;           /* dense only: the largest eigenvalues, descending */
  double highest[DLN_DESCRIBE_EIGENVALUES];
} dln_description;

/* Describes θ; d's arrays are allocated here and freed by dln_description_release.
 * Returns DLN_ENOMEM, DLN_ELINALG. */
int dln_describe(dln_problem *p, const double *theta, const dln_describe_options *o,
                 dln_description *d);
void dln_description_release(dln_description *d);

#endif
