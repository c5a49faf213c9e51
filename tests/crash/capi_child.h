/* What the C ABI kill -9 children share: opening with an option list,
 * whole-line output (one write(2) per line, so a kill never leaves half an
 * acknowledgement), dying loudly, and a per-thread random stream. Each child
 * defines CHILD_NAME before including this. C99; header-only (static). */
#ifndef SYNAP_TESTS_CRASH_CAPI_CHILD_H
#define SYNAP_TESTS_CRASH_CAPI_CHILD_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <synap/synap.h>

#ifndef CHILD_NAME
#error "define CHILD_NAME before including capi_child.h"
#endif

/* Opens `dir` with the NULL-terminated name, value, name, value... list. */
static int open_with(const char* dir, const char* const* opts, synap_db** db) {
  synap_options* o = NULL;
  size_t i;
  int rc = synap_options_create(&o);
  if (rc != SYNAP_OK) return rc;
  for (i = 0; opts[i] != NULL; i += 2) {
    rc = synap_options_set(o, opts[i], opts[i + 1]);
    if (rc != SYNAP_OK) {
      fprintf(stderr, "option %s=%s: %s\n", opts[i], opts[i + 1], synap_last_error());
      synap_options_destroy(o);
      return rc;
    }
  }
  rc = synap_open(dir, o, db);
  synap_options_destroy(o);
  return rc;
}

static pthread_mutex_t g_out = PTHREAD_MUTEX_INITIALIZER;

/* One whole line with one write(2), under the mutex. */
static void out_line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void out_line(const char* fmt, ...) {
  char line[256];
  int len;
  size_t done = 0;
  va_list ap;
  va_start(ap, fmt);
  len = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (len < 0 || (size_t)len >= sizeof line) abort();
  pthread_mutex_lock(&g_out);
  while (done < (size_t)len) {
    ssize_t w = write(STDOUT_FILENO, line + done, (size_t)len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      perror("write stdout");
      _exit(2);
    }
    done += (size_t)w;
  }
  pthread_mutex_unlock(&g_out);
}

static void die(const char* what, int rc) {
  fprintf(stderr, CHILD_NAME ": %s -> %d (%s): %s\n", what, rc, synap_strerror(rc), synap_last_error());
  _exit(2);
}

static uint64_t next_rand(uint64_t* s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

static uint64_t seed_for(int round, int tid) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return 0x9e3779b97f4a7c15ull ^ ((uint64_t)round << 32) ^ ((uint64_t)tid << 48) ^ (uint64_t)ts.tv_nsec ^
         (uint64_t)getpid();
}

#endif
