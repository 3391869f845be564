/* GMRES for CVODE's Newton systems with fused passes over the vectors (docs/design.md,
 * "GMRES").
 *
 * The same method as SUNDIALS' SPGMR with classical Gram-Schmidt: scaled GMRES (s1 from the
 * left, s2 from the right, as CVODE's linear solver interface sets both to the error weights),
 * optional right preconditioning, the same Givens QR of the Hessenberg matrix (SUNQRfact and
 * SUNQRsol), the same convergence test (residual estimate ||s1 r||_2 <= delta), the same
 * outcomes (success, residual reduced, convergence failure) and reorthogonalisation when the
 * new vector loses more than a factor 1000 of its norm; no restarts (CVODE asks for none).
 *
 * What differs is how often it walks over the P entries: SPGMR copies, scales and normalises
 * each Krylov vector in separate vector operations (about 19 passes for a one-iteration
 * solve); here the scaling, the normalisation, the projections and the orthogonalisation
 * with its norm are fused, so a solve of one iteration takes five passes plus the matrix-vector
 * product. Rounding differs from SPGMR's (other summation orders), the iteration does not.
 *
 * Vectors must be serial N_Vectors (NV_DATA_S). Only SUN_PREC_NONE and SUN_PREC_RIGHT. */
#ifndef DLNFLOW_GMRES_H
#define DLNFLOW_GMRES_H

#include <nvector/nvector_serial.h>
#include <sundials/sundials_linearsolver.h>

/* A GMRES solver for vectors like y, Krylov dimension maxl (>= 1), preconditioning pretype
 * (SUN_PREC_NONE or SUN_PREC_RIGHT). NULL when out of memory or given bad arguments. */
SUNLinearSolver dln_gmres_new(N_Vector y, int pretype, int maxl, SUNContext ctx);

#endif
