/* What the hand-written loops over all P parameters share (nvector_fast.c, flow_kernels.c,
 * gmres.c; compiled at -O3, meson.build): function multi-versioning and four-double vectors.
 *
 * KERNEL compiles a function twice, for AVX2 and for baseline x86-64, and the loader picks one
 * for the machine (GCC function multi-versioning): wider vectors, same summation order.
 * v4d holds four doubles in one vector register (GCC and Clang vector extensions): reductions
 * keep independent partial sums in them, so that a sum does not wait on the adder's latency
 * at every element, in a fixed order, so that results repeat bit for bit. Loads and stores are
 * unaligned (memcpy). */
#ifndef DLNFLOW_KERNEL_SIMD_H
#define DLNFLOW_KERNEL_SIMD_H

#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define KERNEL
#endif
#define KERNEL_INLINE static inline __attribute__((always_inline))

typedef double v4d __attribute__((vector_size(32)));

KERNEL_INLINE v4d load4(const double *p)
{
  v4d v;
  memcpy(&v, p, sizeof v);
  return v;
}

KERNEL_INLINE void store4(double *p, v4d v) { memcpy(p, &v, sizeof v); }

KERNEL_INLINE v4d splat(double x) { return (v4d){x, x, x, x}; }

/* (v0 + v1) + (v2 + v3) */
KERNEL_INLINE double lanes_sum(v4d v) { return (v[0] + v[1]) + (v[2] + v[3]); }

#endif
