/* dlnflow keys: prints every configuration key with its default, allowed values and meaning,
 * as the markdown table that docs/config.md embeds (a test keeps the two equal). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_row(const char *section, const char *key, const char *fallback,
                      const char *allowed, const char *help, void *data)
{
  (void)data;
  printf("| `%s.%s` | %s | %s | %s |\n", section, key, fallback[0] ? fallback : "(none)", allowed,
         help);
}

int dln_cmd_keys(int argc, char **argv)
{
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("usage: dlnflow keys\nPrints the configuration keys as a markdown table.\n");
    return DLN_EXIT_OK;
  }
  if (argc > 1) {
    fprintf(stderr, "dlnflow keys: unexpected argument '%s'\n", argv[1]);
    return DLN_EXIT_USAGE;
  }
  printf("| key | default | allowed | meaning |\n|---|---|---|---|\n");
  dln_config_describe(print_row, NULL);
  return DLN_EXIT_OK;
}
