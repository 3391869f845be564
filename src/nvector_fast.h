/* Serial CVODE vectors with the hot operations replaced by optimised kernels.
 * Debian's SUNDIALS 6.4 is built without optimisation, so its own serial vector loops take
 * most of a large run's time; these kernels keep the serial layout and semantics. */
#ifndef DLNFLOW_NVECTOR_FAST_H
#define DLNFLOW_NVECTOR_FAST_H

#include <nvector/nvector_serial.h>

/* Creates a serial vector of length n whose clones share the optimised operation table. */
N_Vector dln_nvector_new(sunindextype n, SUNContext ctx);

#endif
