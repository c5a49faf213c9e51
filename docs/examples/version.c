/* The smallest libsynap program: which library is loaded, and how errors read.
 *   cc version.c $(pkg-config --cflags --libs synap) -o version && ./version */
#include <stdio.h>

#include <synap/synap.h>

int main(void) {
  printf("libsynap %s (header %s)\n", synap_version_string(), SYNAP_VERSION_STRING);
  if (synap_version_number() / 10000 != SYNAP_VERSION_MAJOR) {
    fprintf(stderr, "libsynap major version mismatch\n");
    return 1;
  }
  printf("SYNAP_ELOCKED: %s\n", synap_strerror(SYNAP_ELOCKED));
  return 0;
}
