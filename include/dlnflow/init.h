/* Initial states θ(0) (THEORY.md §3). All draws use GSL's MT19937 generator seeded by the
 * caller and fill W_1, W_2, ... in layer order, so the same seed gives the same θ bit for bit. */
#ifndef DLNFLOW_INIT_H
#define DLNFLOW_INIT_H

#include "dlnflow/network.h"

/* Returns the width w that the gaussian scheme's variance c·w^-γ refers to: the largest hidden
 * width, or the input width n_0 for a depth-1 network. */
size_t dln_init_reference_width(const dln_network *net);

/* θ i.i.d. N(0, c·w^-γ). Returns DLN_EINVAL for c <= 0 or non-finite γ. */
int dln_init_gaussian(const dln_network *net, double c, double gamma, unsigned long seed,
                      double *theta);

/* θ = α θ0 with θ0 i.i.d. N(0, 1): one direction θ0 per seed, whatever α.
 * Returns DLN_EINVAL for α <= 0 or non-finite. */
int dln_init_scaled(const dln_network *net, double alpha, unsigned long seed, double *theta);

#endif
