/* The C ABI from C99, as a user's program sees it: versions, result codes,
 * strerror and last_error. Exit status 0 on success; each failed check prints
 * its line. */
#include <stdio.h>
#include <string.h>

#include <synap/synap.h>

static int failures = 0;
#define CHECK(cond)                                               \
  do {                                                            \
    if (!(cond)) {                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                 \
    }                                                             \
  } while (0)

int main(void) {
  char buf[32];
  CHECK(synap_version_number() == SYNAP_VERSION_NUMBER);
  CHECK(strcmp(synap_version_string(), SYNAP_VERSION_STRING) == 0);
  snprintf(buf, sizeof buf, "%d.%d.%d", SYNAP_VERSION_MAJOR, SYNAP_VERSION_MINOR, SYNAP_VERSION_PATCH);
  CHECK(strcmp(buf, SYNAP_VERSION_STRING) == 0);

  /* Every code has its own message; unknown codes are named as such. */
  int codes[] = {SYNAP_OK, SYNAP_NOTFOUND, SYNAP_EINVAL, SYNAP_ETOOLARGE, SYNAP_ECORRUPT, SYNAP_EIO,
                 SYNAP_ENOSPC, SYNAP_EREADONLY, SYNAP_ELOCKED, SYNAP_ECLOSED, SYNAP_EBUSY,
                 SYNAP_EUNSUPPORTED, SYNAP_ENOMEM, SYNAP_EINTERNAL};
  size_t n = sizeof codes / sizeof codes[0];
  for (size_t i = 0; i < n; i++) {
    CHECK(synap_strerror(codes[i]) != NULL);
    CHECK(strcmp(synap_strerror(codes[i]), "unknown result code") != 0);
    for (size_t j = 0; j < i; j++) CHECK(strcmp(synap_strerror(codes[i]), synap_strerror(codes[j])) != 0);
    if (i >= 2) CHECK(codes[i] < 0); /* errors are negative, NOTFOUND is not an error */
  }
  CHECK(SYNAP_NOTFOUND > 0);
  CHECK(strcmp(synap_strerror(12345), "unknown result code") == 0);
  CHECK(strcmp(synap_strerror(-12345), "unknown result code") == 0);

  CHECK(synap_last_error() != NULL);
  CHECK(strcmp(synap_last_error(), "") == 0);
  synap_free(NULL); /* allowed */

  if (failures == 0) printf("abi_test: ok\n");
  return failures == 0 ? 0 : 1;
}
