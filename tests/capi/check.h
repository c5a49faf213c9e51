/* The checking harness of the C ABI tests (bad_input_test.c,
 * queue_abi_test.c): counters, CHECK, exact-code expectations that also check
 * synap_last_error() (set on an error, cleared by a success), and temporary
 * data directories. Header-only: each test is one translation unit. The
 * includer defines _XOPEN_SOURCE 700 first (mkdtemp, nftw). */
#ifndef SYNAP_TESTS_CAPI_CHECK_H
#define SYNAP_TESTS_CAPI_CHECK_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <synap/synap.h>

/* ---- checking ---------------------------------------------------------- */

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    checks++;                                                                  \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static void report_rc(int line, const char* call, int rc, int want, const char* why) {
  fprintf(stderr, "%s:%d: %s -> %d (%s), expected %d (%s)%s; last_error \"%s\"\n", __FILE__, line, call, rc,
          synap_strerror(rc), want, synap_strerror(want), why, synap_last_error());
  failures++;
}

/* An error: exactly `want`, with a message. */
static void expect_err(int line, const char* call, int rc, int want) {
  checks++;
  if (rc != want) report_rc(line, call, rc, want, "");
  else if (synap_last_error() == NULL || synap_last_error()[0] == '\0')
    report_rc(line, call, rc, want, " but synap_last_error() is empty");
}

/* A non-error (OK, NOTFOUND): exactly `want`, and the earlier message cleared. */
static void expect_rc(int line, const char* call, int rc, int want) {
  checks++;
  if (rc != want) report_rc(line, call, rc, want, "");
  else if (synap_last_error() == NULL || synap_last_error()[0] != '\0')
    report_rc(line, call, rc, want, " but synap_last_error() was not cleared");
}

/* Leaves an error message behind, so that expect_rc sees a success clear it. */
static void dirty(void) {
  if (synap_sync(NULL) != SYNAP_EINVAL || synap_last_error()[0] == '\0') {
    fprintf(stderr, "%s:%d: synap_sync(NULL) did not set an error\n", __FILE__, __LINE__);
    failures++;
  }
}

#define EXPECT_ERR(want, call) expect_err(__LINE__, #call, (call), (want))
#define EXPECT_RC(want, call)                   \
  do {                                          \
    dirty();                                    \
    expect_rc(__LINE__, #call, (call), (want)); \
  } while (0)
#define EXPECT_OK(call) EXPECT_RC(SYNAP_OK, call)
#define EXPECT_MSG(text)                                                                         \
  do {                                                                                           \
    checks++;                                                                                    \
    if (strstr(synap_last_error(), (text)) == NULL) {                                            \
      fprintf(stderr, "%s:%d: last_error \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
              synap_last_error(), (text));                                                       \
      failures++;                                                                                \
    }                                                                                            \
  } while (0)

static char* make_dir(const char* base, const char* name) {
  size_t n = strlen(base) + strlen(name) + 16;
  char* p = malloc(n);
  if (p == NULL) abort();
  snprintf(p, n, "%s/%s-XXXXXX", base, name);
  if (mkdtemp(p) == NULL) {
    fprintf(stderr, "mkdtemp(%s): %s\n", p, strerror(errno));
    exit(1);
  }
  return p;
}

static int remove_entry(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void remove_tree(const char* path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

#endif /* SYNAP_TESTS_CAPI_CHECK_H */
