/* From a configuration to a ready problem: data loaded or generated, the network shaped to it,
 * and θ(0) drawn or read (the walk config -> data -> network -> init of docs/design.md). */
#ifndef DLNFLOW_SETUP_H
#define DLNFLOW_SETUP_H

#include "dlnflow/config.h"
#include "dlnflow/problem.h"

typedef struct dln_setup {
  dln_problem *problem;       /* owned */
  double *theta0;             /* θ(0), P doubles (owned) */
  char data_summary[256];     /* one line describing the data, for metadata */
} dln_setup;

/* Builds everything cfg describes; nothing is written anywhere. Messages name the key or file
 * at fault (e.g. a data file whose shape does not fit network.widths). */
int dln_setup_build(const dln_config *cfg, dln_setup *out);

void dln_setup_release(dln_setup *s);

#endif
