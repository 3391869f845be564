/* Theorem 1's explicit critical points near θ0 (THEORY.md §3; the proof of Theorem 8 in the
 * paper's appendix B.2), and the distances from θ0 to them.
 *
 *   saddle:          θ_s = θ0 with W_1 = 0 and W_L = 0;  d_s = sqrt(||W_1||² + ||W_L||²).
 *   minimum, pinv:   θ_m = θ0 with W_L += ΔW_L, ΔW_L = (A* - A(θ0)) Q⁺, Q = W_{L-1}..W_1
 *                    (n_{L-1} x n_0); d_m = ||ΔW_L||_F. Exact (A(θ_m) = A*) when Q has full
 *                    column rank n_0 (the γ < 1 construction).
 *   minimum, embed:  k0 = min(n_0, n_L); θ̄ = θ0 with W_1 = 0, W_L = 0 and, in every hidden
 *                    layer, the first k0 rows and the first k0 columns zeroed; then, with
 *                    A* = U S Vᵀ of rank k <= k0, θ_m = θ̄ + the width-k net
 *                    (S^{1/L} Vᵀ, S^{1/L}, ..., S^{1/L}, U S^{1/L}) in the first k units;
 *                    d_m = ||θ_m - θ0|| (the γ > 1 construction).
 *   minimum, projection: θ_m = the end of Gauss-Newton steps θ += Jᵀ Θ⁻¹ (A* - A(θ)) from θ0
 *                    (J = DA(θ), Θ = J Jᵀ the NTK): each step is the smallest move in θ that
 *                    removes the linearised residual, so θ_m is a nearby point of the
 *                    minimum set {A(θ) = A*}, and d_m = ||θ_m - θ0|| an upper bound of the
 *                    distance to it that all layers share (the pinv construction moves W_L
 *                    alone and pays for small singular values of W_{L-1}..W_1 at small w).
 *   minimum, nearest: θ_m = the point of the minimum set nearest to θ0 that a descent from a
 *                    start on the set reaches: min ½||θ - θ0||² subject to A(θ) = A*, by
 *                    Riemannian Newton steps on the set (conjugate gradients on the Hessian
 *                    P_T (I - ∇²<Λ, A>) P_T, with T = ker J the tangent space, P_T = I - Jᵀ Θ⁻¹ J
 *                    and Λ = Θ⁻¹ J (θ - θ0) the multiplier), each step pulled back onto the set
 *                    by chord steps θ += J(x)ᵀ Θ(x)⁻¹ (A* - A(θ)) and accepted when the distance
 *                    falls (backtracking). It stops at the first-order condition of the
 *                    constrained problem, θ_m - θ0 in the row space of J (||P_T(θ_m - θ0)|| <=
 *                    1e-7 ||θ_m - θ0||), so d_m = ||θ_m - θ0|| is the distance to a local
 *                    nearest point, never more than the start's; the definition of d_m is its
 *                    global minimum over the set.
 * Symbols: A* is a global minimiser of the cost (dln_cost_minimiser), n_l the widths.
 */
#ifndef DLNFLOW_DISTANCES_H
#define DLNFLOW_DISTANCES_H

#include "dlnflow/network.h"

/* Writes d_s = sqrt(||W_1||² + ||W_L||²) and, if theta_out is not NULL, the saddle θ_s (P
 * doubles). Returns DLN_EINVAL for depth < 2 (then W_1 = W_L and θ_s = 0 is no saddle split). */
int dln_distance_saddle(const dln_network *net, const double *theta, double *theta_out,
                        double *d);

/* Writes d_m of the pinv construction and, if theta_out is not NULL, θ_m. Astar is n_L x n_0.
 * Returns DLN_EINVAL for depth < 2, DLN_ELINALG when LAPACK fails, DLN_ENOMEM. */
int dln_distance_minimum_pinv(const dln_network *net, const double *theta, const double *Astar,
                              double *theta_out, double *d);

/* Writes d_m of the embed construction and, if theta_out is not NULL, θ_m. Returns DLN_EINVAL
 * for depth < 2 or when rank A* exceeds a hidden width, DLN_ELINALG, DLN_ENOMEM. */
int dln_distance_minimum_embed(const dln_network *net, const double *theta, const double *Astar,
                               double *theta_out, double *d);

/* Writes d_m of the projection and, if theta_out is not NULL, θ_m (P doubles). net is used
 * for its passes (its caches change). Stops when ||A(θ) - A*|| <= 1e-12 ||A*|| or after 30
 * steps; returns DLN_ESOLVER if it did not get there, DLN_ELINALG if Θ is singular. */
int dln_distance_minimum_projection(dln_network *net, const double *theta, const double *Astar,
                                    double *theta_out, double *d);

/* Writes d_m of the nearest point reached from start (P doubles; moved onto the set first by
 * the projection's Gauss-Newton steps), *kkt = ||P_T(θ_m - θ0)|| / ||θ_m - θ0|| (if not
 * NULL) and, if theta_out is not NULL, θ_m. net's caches change. Returns DLN_ESOLVER when the
 * start does not project onto the set or the search stops short of the first-order condition,
 * DLN_ELINALG when Θ is singular on the way, DLN_ENOMEM. */
int dln_distance_minimum_nearest(dln_network *net, const double *theta0, const double *Astar,
                                 const double *start, double *theta_out, double *d, double *kkt);

#endif
