/* Synthetic data sets of the paper's experiments (THEORY.md §6), drawn with GSL's MT19937:
 * the same seed gives the same data bit for bit. */
#ifndef DLNFLOW_DATAGEN_H
#define DLNFLOW_DATAGEN_H

#include <stddef.h>

#include "dlnflow/cost.h"

/* A matrix-completion problem: a target A* = U Vᵀ with i.i.d. N(0,1) factors U (rows x rank)
 * and V (cols x rank), and a split of its entries into observed (train) and held-out (test). */
typedef struct dln_mc_data {
  size_t rows, cols;
  double *target;     /* rows x cols (owned) */
  dln_entry *train;   /* observed entries (owned) */
  size_t ntrain;
  dln_entry *test;    /* the other entries (owned) */
  size_t ntest;
} dln_mc_data;

/* Draws a rank-`rank` target and observes round(fraction · rows · cols) entries (at least
 * one) chosen without replacement. */
int dln_datagen_lowrank(size_t rows, size_t cols, size_t rank, double fraction,
                        unsigned long seed, dln_mc_data *out);

/* Splits a given target into the observed entries and the rest (test set). The observed list
 * may repeat entries; every entry not listed is a test entry. */
int dln_mc_data_from_entries(size_t rows, size_t cols, const double *target,
                             const dln_entry *observed, size_t nobserved, dln_mc_data *out);

void dln_mc_data_release(dln_mc_data *d);

/* A regression problem: inputs X (n0 x N) and targets Y (nL x N), plus a test set. */
typedef struct dln_mse_data {
  size_t n0, nL, N, Ntest;
  double *X, *Y;          /* owned */
  double *Xtest, *Ytest;  /* owned, NULL when Ntest = 0 */
} dln_mse_data;

/* Standard Gaussian inputs; training targets Y = (T + E) X + noise·N(0,1), test targets
 * T X (Ntest inputs, no noise of either kind). T is nL x n0; E (nL x n0, i.i.d.
 * N(0, teacher_noise²)) is drawn once, before the inputs, and only when teacher_noise > 0, so
 * that teacher_noise = 0 gives the same data as before it existed. */
int dln_datagen_teacher(const double *T, size_t nL, size_t n0, size_t N, size_t Ntest,
                        double teacher_noise, double noise, unsigned long seed,
                        dln_mse_data *out);

/* The paper's Fig. 6 teacher (THEORY.md §6): T = W0 W0ᵀ (size x size, rank `rank`) with W0
 * size x rank, entries of column i (1-based) i.i.d. N(0, i); then the data of
 * dln_datagen_teacher from the same generator. W0 is drawn column by column, so the teacher of
 * rank r + 1 adds w_{r+1} w_{r+1}ᵀ to the teacher of rank r of the same seed. The noiseless T
 * is written to T (size x size, caller's). */
int dln_datagen_lowrank_teacher(size_t size, size_t rank, double teacher_noise, size_t N,
                                size_t Ntest, double noise, unsigned long seed, double *T,
                                dln_mse_data *out);

/* Replaces X by W X with W = Σxx^{-1/2} (from the training inputs; the test inputs get the same
 * map), so that X Xᵀ / N = I. Returns DLN_ELINALG when Σxx is singular. */
int dln_mse_data_whiten(dln_mse_data *d);

void dln_mse_data_release(dln_mse_data *d);

#endif
