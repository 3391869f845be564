/* Status codes and the per-thread error message (see include/dlnflow/errors.h). */
#include "dlnflow/errors.h"

#include <stdio.h>

#define DLN_MESSAGE_MAX 1024

/* Thread-local so that parallel runs in a sweep keep their own diagnosis. */
static _Thread_local char last_message[DLN_MESSAGE_MAX];

const char *dln_strerror(int code)
{
  switch (code) {
#define DLN_ERROR_CASE(name, value, text) \
  case value:                             \
    return text;
    DLN_ERROR_LIST(DLN_ERROR_CASE)
#undef DLN_ERROR_CASE
  }
  return "unknown status";
}

const char *dln_error_message(void) { return last_message; }

void dln_error_clear(void) { last_message[0] = '\0'; }

int dln_error(int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_message, sizeof last_message, fmt, ap);
  va_end(ap);
  return code;
}
