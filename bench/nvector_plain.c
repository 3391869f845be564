/* The baseline for the optimised N_Vector kernels of src/nvector_fast.c: a drop-in
 * dln_nvector_new that returns SUNDIALS' plain serial vector (its own operations, fused
 * operations off, as N_VNew_Serial makes it).
 *
 * Linked into the *_plainvec benchmark programs before libdlnflow.a: the linker then resolves
 * dln_nvector_new here and never pulls nvector_fast.o out of the archive. The library has no
 * run-time switch between the two (see docs/benchmarks.md).
 */
#include "nvector_fast.h"

N_Vector dln_nvector_new(sunindextype n, SUNContext ctx) { return N_VNew_Serial(n, ctx); }
