/* dlnflow status codes and error messages.
 *
 * Every fallible library function returns an int status: DLN_SUCCESS (0) or one of the
 * codes below. The library never prints: it records a detailed message (naming the
 * function, key, file or line at fault) that the caller fetches with dln_error_message().
 */
#ifndef DLNFLOW_ERRORS_H
#define DLNFLOW_ERRORS_H

#include <stdarg.h>

/* X(name, value, short description): the one list that codes and dln_strerror() come from. */
#define DLN_ERROR_LIST(X)                                        \
  X(DLN_SUCCESS, 0, "success")                                   \
  X(DLN_EINVAL, 1, "invalid argument")                           \
  X(DLN_ENOMEM, 2, "out of memory")                              \
  X(DLN_EIO, 3, "input/output error")                            \
  X(DLN_EFORMAT, 4, "malformed input")                           \
  X(DLN_EDIM, 5, "dimension mismatch")                           \
  X(DLN_ENONFINITE, 6, "non-finite value")                       \
  X(DLN_ESOLVER, 7, "integrator failure")                        \
  X(DLN_ELINALG, 8, "linear algebra failure")                    \
  X(DLN_EINTERRUPTED, 9, "interrupted")

enum dln_status {
#define DLN_ERROR_ENUM(name, value, text) name = value,
  DLN_ERROR_LIST(DLN_ERROR_ENUM)
#undef DLN_ERROR_ENUM
};

/* Returns the short description of a status code ("unknown status" if none). */
const char *dln_strerror(int code);

/* Returns the detailed message of the last failure in this thread ("" if none). */
const char *dln_error_message(void);

/* Records a detailed message for this thread and returns code (for `return dln_error(...)`). */
int dln_error(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Clears this thread's message. */
void dln_error_clear(void);

#endif
