/* The queue functions of synap.h ("Queues") from C99, as a user's program
 * would call them:
 *   - bad input on every synap_queue_* function (NULL handle, queue,
 *     consumer and out pointers, empty and 257-byte names, priorities out of
 *     0..9/-1, unknown and malformed settings, consume max outside
 *     1..10000, ack with n == 0, ids not in flight, a queue that does not
 *     exist under queue.auto_create=false, a payload over
 *     queue.max_payload_bytes, a full queue, a re-declare with other
 *     settings): each answered with the exact code the header documents and
 *     a non-empty synap_last_error(), never a crash; SYNAP_OK and
 *     SYNAP_NOTFOUND clear synap_last_error();
 *   - the positive side: priority order (9 first), FIFO within a priority,
 *     nack-requeue to the head of its priority, prefetch, headers and
 *     binary payloads round-tripping in the ONE malloc'd block that consume
 *     and dead_letters return (every pointer inside it, freed with a single
 *     synap_free: LeakSanitizer would report any second allocation), dead
 *     letter reasons ("rejected", "max_retries", "expired"), requeue_dead
 *     (delivery count reset), purge_dead, purge, delete, list, stats JSON
 *     ("ready":N), all-or-none batches, and in-flight messages coming back
 *     redelivered after a close and reopen.
 *
 * Suite 'unit', so it also runs under ASan/UBSan (every block libsynap
 * returns is freed here). A failed check prints its line; the test exits 1
 * at the end. Data directories: mkdtemp under $SYNAP_TEST_TMPDIR (or /tmp),
 * removed when everything passed (kept, and printed, on failure). */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h> /* malloc_usable_size: the bounds of the returned block */
#endif

#include <synap/synap.h>

#include "check.h"

/* ---- helpers ------------------------------------------------------------- */

static int open_with(const char* dir, synap_db** db, const char* const* kv) {
  synap_options* o = NULL;
  int rc;
  if (synap_options_create(&o) != SYNAP_OK) return SYNAP_ENOMEM;
  for (; kv != NULL && kv[0] != NULL; kv += 2) {
    if (synap_options_set(o, kv[0], kv[1]) != SYNAP_OK) {
      fprintf(stderr, "%s:%d: option %s=%s: %s\n", __FILE__, __LINE__, kv[0], kv[1], synap_last_error());
      failures++;
    }
  }
  rc = synap_open(dir, o, db);
  synap_options_destroy(o);
  return rc;
}

static char name257[258], name256[257];

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Publishes a NUL-terminated payload; returns its id (0 on failure). */
static uint64_t pub(synap_db* db, const char* q, const char* payload, int prio) {
  uint64_t id = 0;
  int rc = synap_queue_publish(db, q, payload, strlen(payload), prio, 0, -1, NULL, 0, &id);
  if (rc != SYNAP_OK) {
    fprintf(stderr, "publish to %s (%s): %d %s\n", q, payload, rc, synap_last_error());
    failures++;
    return 0;
  }
  return id;
}

static int payload_is(const synap_message* m, const char* s) {
  return m->payload_len == strlen(s) && (m->payload_len == 0 || memcmp(m->payload, s, m->payload_len) == 0);
}

/* A range [p, p + len) inside the block [lo, hi). */
static int inside(const void* p, size_t len, const char* lo, const char* hi) {
  const char* c = p;
  if (len == 0) return 1; /* nothing to read; any pointer will do */
  return c >= lo && c <= hi && len <= (size_t)(hi - c);
}

/* Every pointer of msgs[0..n) lies inside the one block, after the array,
 * and each reason is a NUL-terminated string inside it too. */
static void check_block(const synap_message* msgs, size_t n, int line) {
  const char* lo = (const char*)msgs;
  const char* hi;
  size_t i, h;
  int ok = 1;
  if (n == 0) return; /* msgs may be NULL then: no pointer arithmetic on it */
#if defined(__GLIBC__)
  hi = lo + malloc_usable_size((void*)msgs);
#else
  hi = lo + ((size_t)1 << 40); /* no way to ask: check only the lower bound and order */
#endif
  lo += n * sizeof *msgs; /* data comes after the array */
  for (i = 0; i < n; i++) {
    const synap_message* m = &msgs[i];
    if (!inside(m->payload, m->payload_len, lo, hi)) ok = 0;
    if (m->header_count > 0 && !inside(m->headers, m->header_count * sizeof *m->headers, lo, hi)) ok = 0;
    for (h = 0; h < m->header_count; h++) {
      if (!inside(m->headers[h].key, m->headers[h].key_len, lo, hi)) ok = 0;
      if (!inside(m->headers[h].value, m->headers[h].value_len, lo, hi)) ok = 0;
    }
    if (m->reason == NULL || !inside(m->reason, strlen(m->reason) + 1, lo, hi)) ok = 0;
  }
  checks++;
  if (!ok) {
    fprintf(stderr, "%s:%d: a pointer of the returned messages is outside their block\n", __FILE__, line);
    failures++;
  }
}

/* Consumes up to max from q as consumer "c", checks the block, returns n. */
static size_t take(synap_db* db, const char* q, uint32_t max, synap_message** msgs, int line) {
  size_t n = 99;
  int rc;
  *msgs = (synap_message*)&n; /* must be overwritten */
  rc = synap_queue_consume(db, q, "c", max, 0, 0, msgs, &n);
  if (rc != SYNAP_OK) {
    fprintf(stderr, "%s:%d: consume %s -> %d %s\n", __FILE__, line, q, rc, synap_last_error());
    failures++;
    *msgs = NULL;
    return 0;
  }
  checks++;
  if ((n == 0) != (*msgs == NULL)) {
    fprintf(stderr, "%s:%d: consume %s: n %zu with msgs %p\n", __FILE__, line, q, n, (void*)*msgs);
    failures++;
  }
  check_block(*msgs, n, line);
  return n;
}

/* The JSON of stats holds `frag` (e.g. "\"ready\":3"), followed by a comma. */
static void expect_stats(synap_db* db, const char* q, const char* frag, int line) {
  char* json = NULL;
  char want[64];
  size_t len = 0;
  int rc = synap_queue_stats_json(db, q, &json, &len);
  snprintf(want, sizeof want, "%s,", frag); /* every counter is followed by another: "ready":1 is not "ready":10 */
  frag = want;
  checks++;
  if (rc != SYNAP_OK || json == NULL) {
    fprintf(stderr, "%s:%d: stats_json %s -> %d %s\n", __FILE__, line, q, rc, synap_last_error());
    failures++;
  } else {
    if (strstr(json, frag) == NULL || strlen(json) != len) {
      fprintf(stderr, "%s:%d: stats of %s lack %s (or len %zu is wrong): %s\n", __FILE__, line, q, frag, len, json);
      failures++;
    }
  }
  synap_free(json);
}

struct names {
  int calls, q1, long_name;
};

static void count_queue(void* user, const void* key, size_t klen) {
  struct names* c = user;
  c->calls++;
  if (klen == 2 && memcmp(key, "q1", 2) == 0) c->q1++;
  if (klen == 256 && memcmp(key, name256, 256) == 0) c->long_name++;
}

/* ---- bad input ----------------------------------------------------------- */

static void test_bad_input(synap_db* db) {
  const char* pl = "x";
  uint64_t id = 0, cnt = 0, ids[2];
  synap_message* msgs = NULL;
  size_t n = 0;
  char* json = NULL;
  size_t len = 0;
  synap_header hdr;
  const void* payloads[2];
  size_t lens[2];
  struct names names = {0, 0, 0};
  char big[1025];

  memset(big, 'b', sizeof big);

  /* declare */
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(NULL, "q1", NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "", NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, name257, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "q1", "no_such_setting=1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "q1", "max_depth"));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "q1", "max_depth="));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "q1", "max_depth=x"));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "q1", "max_depth=-1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "q1", "max_depth=0"));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "q1", "default_priority=10"));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "q1", "ack_deadline_ms=0"));
  /* A failed declare created nothing. */
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_delete(db, "q1"));

  EXPECT_OK(synap_queue_declare(db, "q1", "max_depth=2, ack_deadline_ms=60000"));
  EXPECT_OK(synap_queue_declare(db, "q1", " ack_deadline_ms=60000 max_depth=2 ")); /* same settings */
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "q1", NULL));                   /* other settings */
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_declare(db, "q1", "max_depth=3,ack_deadline_ms=60000"));
  EXPECT_OK(synap_queue_declare(db, name256, NULL)); /* 256 bytes: the longest name */
  EXPECT_OK(synap_queue_list(db, count_queue, &names));
  CHECK(names.q1 == 1 && names.long_name == 1);

  /* delete, purge, list, stats: names and pointers */
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_delete(NULL, "q1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_delete(db, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_delete(db, ""));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_delete(db, name257));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_delete(db, "nope"));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_purge(NULL, "q1", &cnt));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_purge(db, NULL, &cnt));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_purge(db, "", &cnt));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_purge(db, name257, &cnt));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_purge(db, "nope", &cnt));
  EXPECT_OK(synap_queue_purge(db, "q1", NULL)); /* purged may be NULL */
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_list(NULL, count_queue, &names));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_list(db, NULL, &names));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_stats_json(NULL, "q1", &json, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_stats_json(db, NULL, &json, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_stats_json(db, "", &json, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_stats_json(db, name257, &json, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_stats_json(db, "q1", NULL, &len));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_stats_json(db, "nope", &json, &len));
  CHECK(json == NULL);

  /* publish */
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish(NULL, "q1", pl, 1, 0, 0, -1, NULL, 0, &id));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish(db, NULL, pl, 1, 0, 0, -1, NULL, 0, &id));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish(db, "", pl, 1, 0, 0, -1, NULL, 0, &id));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish(db, name257, pl, 1, 0, 0, -1, NULL, 0, &id));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish(db, "q1", NULL, 1, 0, 0, -1, NULL, 0, &id));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish(db, "q1", pl, 1, 10, 0, -1, NULL, 0, &id));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish(db, "q1", pl, 1, -2, 0, -1, NULL, 0, &id));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish(db, "q1", pl, 1, 0, 0, -1, NULL, 1, &id));
  hdr.key = NULL, hdr.key_len = 1, hdr.value = "v", hdr.value_len = 1;
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish(db, "q1", pl, 1, 0, 0, -1, &hdr, 1, &id));
  hdr.key = "k", hdr.key_len = 1, hdr.value = NULL, hdr.value_len = 1;
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish(db, "q1", pl, 1, 0, 0, -1, &hdr, 1, &id));
  /* queue.auto_create=false: an unknown queue is NOTFOUND, and not created. */
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_publish(db, "nope", pl, 1, 0, 0, -1, NULL, 0, &id));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_purge(db, "nope", NULL));
  /* queue.max_payload_bytes=1K */
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_queue_publish(db, "q1", big, 1025, 0, 0, -1, NULL, 0, &id));
  EXPECT_OK(synap_queue_publish(db, "q1", big, 1024, 0, 0, -1, NULL, 0, &id)); /* at the limit */
  EXPECT_OK(synap_queue_publish(db, "q1", NULL, 0, -1, 0, -1, NULL, 0, NULL)); /* empty payload, id NULL */
  /* max_depth=2: full now. */
  EXPECT_ERR(SYNAP_EBUSY, synap_queue_publish(db, "q1", pl, 1, 0, 0, -1, NULL, 0, &id));
  EXPECT_MSG("queue full");
  expect_stats(db, "q1", "\"ready\":2", __LINE__);

  /* publish_batch */
  payloads[0] = "a", payloads[1] = "b", lens[0] = 1, lens[1] = 1;
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_batch(NULL, "q1", 2, payloads, lens, ids));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_batch(db, NULL, 2, payloads, lens, ids));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_batch(db, "", 2, payloads, lens, ids));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_batch(db, name257, 2, payloads, lens, ids));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_batch(db, "q1", 0, payloads, lens, ids));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_batch(db, "q1", 2, NULL, lens, ids));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_batch(db, "q1", 2, payloads, NULL, ids));
  payloads[1] = NULL;
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_batch(db, "q1", 2, payloads, lens, ids));
  payloads[1] = big, lens[1] = 1025;
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_queue_publish_batch(db, "q1", 2, payloads, lens, ids));
  payloads[1] = "b", lens[1] = 1;
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_publish_batch(db, "nope", 2, payloads, lens, ids));
  EXPECT_ERR(SYNAP_EBUSY, synap_queue_publish_batch(db, "q1", 2, payloads, lens, ids));
  EXPECT_MSG("queue full");

  /* consume */
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(NULL, "q1", "c", 1, 0, 0, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(db, NULL, "c", 1, 0, 0, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(db, "", "c", 1, 0, 0, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(db, name257, "c", 1, 0, 0, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(db, "q1", NULL, 1, 0, 0, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(db, "q1", "", 1, 0, 0, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(db, "q1", name257, 1, 0, 0, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(db, "q1", "c", 1, 0, 0, NULL, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(db, "q1", "c", 1, 0, 0, &msgs, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(db, "q1", "c", 0, 0, 0, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_consume(db, "q1", "c", 10001, 0, 0, &msgs, &n));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_consume(db, "nope", "c", 1, 0, 0, &msgs, &n));
  CHECK(msgs == NULL && n == 0);
  /* Nothing was handed out by any of those. */
  expect_stats(db, "q1", "\"in_flight\":0", __LINE__);

  /* ack / nack: the two messages of q1 go in flight (max 10000, the top of the range) */
  EXPECT_OK(synap_queue_consume(db, "q1", name256, 10000, 0, 0, &msgs, &n));
  CHECK(n == 2 && msgs != NULL);
  if (n == 2) {
    ids[0] = msgs[0].id, ids[1] = msgs[1].id;
  } else {
    ids[0] = ids[1] = 0;
  }
  synap_free(msgs);
  msgs = NULL;
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_ack(NULL, "q1", ids, 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_ack(db, NULL, ids, 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_ack(db, "", ids, 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_ack(db, name257, ids, 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_ack(db, "q1", NULL, 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_ack(db, "q1", ids, 0));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_ack(db, "nope", ids, 1));
  {
    uint64_t unknown[2];
    unknown[0] = ids[0], unknown[1] = 987654321u;
    EXPECT_RC(SYNAP_NOTFOUND, synap_queue_ack(db, "q1", unknown + 1, 1)); /* unknown id */
    EXPECT_RC(SYNAP_NOTFOUND, synap_queue_ack(db, "q1", unknown, 2));     /* one bad id: nothing acked */
    expect_stats(db, "q1", "\"in_flight\":2", __LINE__);
  }
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_nack(NULL, "q1", ids[1], 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_nack(db, NULL, ids[1], 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_nack(db, "", ids[1], 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_nack(db, name257, ids[1], 1));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_nack(db, "nope", ids[1], 1));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_nack(db, "q1", 987654321u, 1));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_nack(db, "q1", 987654321u, 0));
  EXPECT_OK(synap_queue_ack(db, "q1", ids, 1));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_ack(db, "q1", ids, 1)); /* acked already */
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_nack(db, "q1", ids[0], 1));
  EXPECT_OK(synap_queue_nack(db, "q1", ids[1], 1)); /* requeued: ready, not in flight */
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_nack(db, "q1", ids[1], 1));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_ack(db, "q1", ids + 1, 1));
  expect_stats(db, "q1", "\"ready\":1", __LINE__);

  /* dead letters, requeue_dead, purge_dead */
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_dead_letters(NULL, "q1", 0, 10, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_dead_letters(db, NULL, 0, 10, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_dead_letters(db, "", 0, 10, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_dead_letters(db, name257, 0, 10, &msgs, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_dead_letters(db, "q1", 0, 10, NULL, &n));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_dead_letters(db, "q1", 0, 10, &msgs, NULL));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_dead_letters(db, "nope", 0, 10, &msgs, &n));
  EXPECT_OK(synap_queue_dead_letters(db, "q1", 0, 10, &msgs, &n));
  CHECK(n == 0 && msgs == NULL);
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_requeue_dead(NULL, "q1", 0, &cnt));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_requeue_dead(db, NULL, 0, &cnt));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_requeue_dead(db, "", 0, &cnt));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_requeue_dead(db, name257, 0, &cnt));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_requeue_dead(db, "nope", 0, &cnt));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_requeue_dead(db, "q1", ids[1], &cnt)); /* ready, not dead */
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_requeue_dead(db, "q1", 987654321u, &cnt));
  cnt = 99;
  EXPECT_OK(synap_queue_requeue_dead(db, "q1", 0, &cnt)); /* none: moves nothing */
  CHECK(cnt == 0);
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_purge_dead(NULL, "q1", &cnt));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_purge_dead(db, NULL, &cnt));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_purge_dead(db, "", &cnt));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_purge_dead(db, name257, &cnt));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_purge_dead(db, "nope", &cnt));
  EXPECT_OK(synap_queue_purge_dead(db, "q1", NULL));

  /* The full queue takes a message again once one leaves it. */
  EXPECT_OK(synap_queue_publish(db, "q1", pl, 1, 0, 0, -1, NULL, 0, &id));
  EXPECT_ERR(SYNAP_EBUSY, synap_queue_publish(db, "q1", pl, 1, 0, 0, -1, NULL, 0, &id));
  EXPECT_MSG("queue full");
  cnt = 0;
  EXPECT_OK(synap_queue_purge(db, "q1", &cnt));
  CHECK(cnt == 2);
  expect_stats(db, "q1", "\"ready\":0", __LINE__);
  EXPECT_OK(synap_queue_delete(db, "q1"));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_stats_json(db, "q1", &json, &len));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_delete(db, "q1"));
  EXPECT_OK(synap_queue_delete(db, name256));
}

/* ---- the positive side --------------------------------------------------- */

static void test_order(synap_db* db) {
  static const int prios[] = {0, 5, 9, 5, 0, 9, 3, -1, 9};
  static const char* const want[] = {"m2", "m5", "m8", "m1", "m3", "m7", "m6", "m0", "m4"};
  uint64_t ids[9];
  synap_message* msgs = NULL;
  size_t n, i;
  char p[8];

  EXPECT_OK(synap_queue_declare(db, "order", "default_priority=4"));
  for (i = 0; i < 9; i++) {
    snprintf(p, sizeof p, "m%zu", i);
    ids[i] = pub(db, "order", p, prios[i]);
  }
  for (i = 1; i < 9; i++) CHECK(ids[i] != 0 && ids[i] != ids[i - 1]);
  expect_stats(db, "order", "\"ready\":9", __LINE__);
  /* 9 first, FIFO within a priority; -1 took the default, 4. */
  n = take(db, "order", 100, &msgs, __LINE__);
  CHECK(n == 9);
  for (i = 0; i < n && i < 9; i++) {
    CHECK(payload_is(&msgs[i], want[i]));
    CHECK(msgs[i].delivery_count == 1 && msgs[i].redelivered == 0);
    CHECK(msgs[i].header_count == 0 && msgs[i].reason != NULL && msgs[i].reason[0] == '\0');
    if (i > 0) CHECK(msgs[i].priority <= msgs[i - 1].priority);
  }
  if (n == 9) {
    CHECK(msgs[0].priority == 9 && msgs[3].priority == 5 && msgs[5].priority == 4 && msgs[6].priority == 3 &&
          msgs[8].priority == 0);
    CHECK(msgs[0].id == ids[2] && msgs[5].id == ids[7] && msgs[8].id == ids[4]);
  }
  expect_stats(db, "order", "\"ready\":0", __LINE__);
  expect_stats(db, "order", "\"in_flight\":9", __LINE__);
  {
    uint64_t all[9];
    for (i = 0; i < n && i < 9; i++) all[i] = msgs[i].id;
    if (n > 0) EXPECT_OK(synap_queue_ack(db, "order", all, n)); /* several at once */
  }
  synap_free(msgs);
  expect_stats(db, "order", "\"in_flight\":0", __LINE__);
  expect_stats(db, "order", "\"acked\":9", __LINE__);

  /* Nothing there: OK, n = 0, msgs = NULL; and a wait returns after it. */
  n = take(db, "order", 10, &msgs, __LINE__);
  CHECK(n == 0 && msgs == NULL);
  {
    struct timespec t0, t1;
    long ms;
    size_t k = 7;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_OK(synap_queue_consume(db, "order", "c", 1, 60, 0, &msgs, &k));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(k == 0 && msgs == NULL && ms >= 50);
  }

  /* Nack with requeue: back to the head of its priority, redelivered. */
  ids[0] = pub(db, "order", "x", 2);
  ids[1] = pub(db, "order", "y", 2);
  n = take(db, "order", 1, &msgs, __LINE__);
  CHECK(n == 1 && msgs != NULL && msgs[0].id == ids[0]);
  synap_free(msgs);
  EXPECT_OK(synap_queue_nack(db, "order", ids[0], 1));
  n = take(db, "order", 1, &msgs, __LINE__);
  CHECK(n == 1 && msgs != NULL && msgs[0].id == ids[0] && msgs[0].redelivered == 1 && msgs[0].delivery_count == 2 &&
        payload_is(&msgs[0], "x"));
  synap_free(msgs);

  /* prefetch caps a consumer's unacked deliveries: "c" holds x already. */
  ids[2] = pub(db, "order", "z", 2);
  {
    size_t k = 0;
    EXPECT_OK(synap_queue_consume(db, "order", "c", 10, 0, 2, &msgs, &k));
    CHECK(k == 1 && msgs != NULL && msgs[0].id == ids[1]);
    synap_free(msgs);
    EXPECT_OK(synap_queue_consume(db, "order", "c", 10, 0, 2, &msgs, &k));
    CHECK(k == 0 && msgs == NULL);
    EXPECT_OK(synap_queue_consume(db, "order", "d", 10, 0, 2, &msgs, &k)); /* another consumer */
    CHECK(k == 1 && msgs != NULL && msgs[0].id == ids[2]);
    synap_free(msgs);
    EXPECT_OK(synap_queue_ack(db, "order", ids, 3));
  }
  expect_stats(db, "order", "\"ready\":0", __LINE__);
  expect_stats(db, "order", "\"in_flight\":0", __LINE__);
}

static void test_headers(synap_db* db) {
  /* binary: NUL bytes inside keys, values and the payload; an empty value */
  static const char k0[] = {'a', '\0', 'b'}, v0[] = {'\0', '\1', '\2', '\3'};
  static const char payload[] = {'p', '\0', 'q', '\xff'};
  synap_header h[3];
  char k1[300], v1[1000];
  synap_message* msgs = NULL;
  size_t n, i;
  uint64_t id = 0;

  memset(k1, 'K', sizeof k1);
  memset(v1, 'V', sizeof v1);
  h[0].key = k0, h[0].key_len = sizeof k0, h[0].value = v0, h[0].value_len = sizeof v0;
  h[1].key = k1, h[1].key_len = sizeof k1, h[1].value = v1, h[1].value_len = sizeof v1;
  h[2].key = "empty", h[2].key_len = 5, h[2].value = NULL, h[2].value_len = 0;
  EXPECT_OK(synap_queue_declare(db, "hdr", NULL));
  EXPECT_OK(synap_queue_publish(db, "hdr", payload, sizeof payload, 7, 0, -1, h, 3, &id));
  /* libsynap kept no pointer to our buffers */
  memset(k1, 'x', sizeof k1);
  memset(v1, 'y', sizeof v1);
  EXPECT_OK(synap_queue_publish(db, "hdr", "second", 6, 7, 0, -1, h + 2, 1, NULL));
  EXPECT_OK(synap_queue_publish(db, "hdr", NULL, 0, 7, 0, -1, NULL, 0, NULL));
  n = take(db, "hdr", 10, &msgs, __LINE__);
  CHECK(n == 3 && msgs != NULL);
  if (n == 3) {
    const synap_message* m = &msgs[0];
    CHECK(m->id == id && m->priority == 7 && m->payload_len == sizeof payload &&
          memcmp(m->payload, payload, sizeof payload) == 0);
    CHECK(m->header_count == 3 && m->headers != NULL);
    if (m->header_count == 3) {
      CHECK(m->headers[0].key_len == sizeof k0 && memcmp(m->headers[0].key, k0, sizeof k0) == 0);
      CHECK(m->headers[0].value_len == sizeof v0 && memcmp(m->headers[0].value, v0, sizeof v0) == 0);
      CHECK(m->headers[1].key_len == 300 && m->headers[1].value_len == 1000);
      for (i = 0; i < 300 && m->headers[1].key_len == 300; i++) CHECK(((const char*)m->headers[1].key)[i] == 'K');
      for (i = 0; i < 1000 && m->headers[1].value_len == 1000; i++)
        if (((const char*)m->headers[1].value)[i] != 'V') break;
      CHECK(i == 1000);
      CHECK(m->headers[2].key_len == 5 && memcmp(m->headers[2].key, "empty", 5) == 0 &&
            m->headers[2].value_len == 0);
    }
    CHECK(payload_is(&msgs[1], "second") && msgs[1].header_count == 1);
    if (msgs[1].header_count == 1)
      CHECK(msgs[1].headers[0].key_len == 5 && memcmp(msgs[1].headers[0].key, "empty", 5) == 0);
    CHECK(msgs[2].payload_len == 0 && msgs[2].header_count == 0);
    for (i = 0; i < 3; i++) CHECK(msgs[i].reason != NULL && msgs[i].reason[0] == '\0');
  }
  synap_free(msgs); /* ONE free for the array, the headers and every byte */
}

static void test_dead_letters(synap_db* db) {
  uint64_t a, b, c, cnt = 0;
  synap_message* msgs = NULL;
  size_t n;

  EXPECT_OK(synap_queue_declare(db, "dl", "max_retries=1"));
  a = pub(db, "dl", "A", 0);
  b = pub(db, "dl", "B", 0);
  c = pub(db, "dl", "C", 0);
  /* A: rejected */
  n = take(db, "dl", 1, &msgs, __LINE__);
  CHECK(n == 1 && msgs != NULL && msgs[0].id == a);
  synap_free(msgs);
  EXPECT_OK(synap_queue_nack(db, "dl", a, 0));
  /* B: nacked with requeue twice; max_retries=1, so the second dead-letters it */
  n = take(db, "dl", 1, &msgs, __LINE__);
  CHECK(n == 1 && msgs != NULL && msgs[0].id == b && msgs[0].delivery_count == 1);
  synap_free(msgs);
  EXPECT_OK(synap_queue_nack(db, "dl", b, 1));
  n = take(db, "dl", 1, &msgs, __LINE__);
  CHECK(n == 1 && msgs != NULL && msgs[0].id == b && msgs[0].delivery_count == 2 && msgs[0].redelivered == 1);
  synap_free(msgs);
  EXPECT_OK(synap_queue_nack(db, "dl", b, 1));
  expect_stats(db, "dl", "\"dead_lettered\":2", __LINE__);
  expect_stats(db, "dl", "\"ready\":1", __LINE__);

  n = 0;
  EXPECT_OK(synap_queue_dead_letters(db, "dl", 0, 10, &msgs, &n));
  CHECK(n == 2 && msgs != NULL);
  if (msgs != NULL) check_block(msgs, n, __LINE__);
  if (n == 2) {
    CHECK(msgs[0].id == a && payload_is(&msgs[0], "A") && strcmp(msgs[0].reason, "rejected") == 0 &&
          msgs[0].delivery_count == 1);
    CHECK(msgs[1].id == b && payload_is(&msgs[1], "B") && strcmp(msgs[1].reason, "max_retries") == 0 &&
          msgs[1].delivery_count == 2);
  }
  synap_free(msgs);
  EXPECT_OK(synap_queue_dead_letters(db, "dl", 1, 1, &msgs, &n)); /* offset, limit */
  CHECK(n == 1 && msgs != NULL && msgs[0].id == b);
  synap_free(msgs);
  EXPECT_OK(synap_queue_dead_letters(db, "dl", 2, 10, &msgs, &n));
  CHECK(n == 0 && msgs == NULL);

  /* requeue_dead one: ready again, its delivery count reset */
  cnt = 0;
  EXPECT_OK(synap_queue_requeue_dead(db, "dl", a, &cnt));
  CHECK(cnt == 1);
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_requeue_dead(db, "dl", a, &cnt)); /* not dead any more */
  n = take(db, "dl", 10, &msgs, __LINE__);
  CHECK(n == 2 && msgs != NULL);
  if (n == 2) {
    CHECK(msgs[0].id == c && msgs[0].delivery_count == 1);
    CHECK(msgs[1].id == a && msgs[1].delivery_count == 1 && msgs[1].redelivered == 0);
    EXPECT_OK(synap_queue_nack(db, "dl", a, 0)); /* dead again */
    EXPECT_OK(synap_queue_ack(db, "dl", &c, 1));
  }
  synap_free(msgs);
  /* requeue_dead all */
  cnt = 0;
  EXPECT_OK(synap_queue_requeue_dead(db, "dl", 0, &cnt));
  CHECK(cnt == 2);
  expect_stats(db, "dl", "\"dead_lettered\":0", __LINE__);
  expect_stats(db, "dl", "\"ready\":2", __LINE__);
  n = take(db, "dl", 10, &msgs, __LINE__);
  CHECK(n == 2);
  if (n == 2) {
    EXPECT_OK(synap_queue_nack(db, "dl", msgs[0].id, 0));
    EXPECT_OK(synap_queue_nack(db, "dl", msgs[1].id, 0));
  }
  synap_free(msgs);
  /* purge_dead */
  cnt = 0;
  EXPECT_OK(synap_queue_purge_dead(db, "dl", &cnt));
  CHECK(cnt == 2);
  EXPECT_OK(synap_queue_dead_letters(db, "dl", 0, 10, &msgs, &n));
  CHECK(n == 0 && msgs == NULL);
  expect_stats(db, "dl", "\"dead_lettered\":0", __LINE__);
  expect_stats(db, "dl", "\"ready\":0", __LINE__);
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_requeue_dead(db, "dl", a, &cnt)); /* gone for good */

  /* expired: a message older than message_ttl_ms is dead-lettered */
  EXPECT_OK(synap_queue_declare(db, "ttl", "message_ttl_ms=50"));
  a = pub(db, "ttl", "old", 0);
  sleep_ms(120);
  n = take(db, "ttl", 10, &msgs, __LINE__);
  CHECK(n == 0);
  synap_free(msgs);
  EXPECT_OK(synap_queue_dead_letters(db, "ttl", 0, 10, &msgs, &n));
  CHECK(n == 1 && msgs != NULL && msgs[0].id == a && strcmp(msgs[0].reason, "expired") == 0 &&
        payload_is(&msgs[0], "old"));
  synap_free(msgs);
}

static void test_batch_and_auto_create(synap_db* db) {
  const void* payloads[3];
  size_t lens[3], n, i;
  uint64_t ids[3] = {0, 0, 0};
  synap_message* msgs = NULL;
  struct names names = {0, 0, 0};

  payloads[0] = "b0", payloads[1] = "b1", payloads[2] = "b2";
  lens[0] = lens[1] = lens[2] = 2;
  /* queue.auto_create defaults to true: publishing creates the queue */
  EXPECT_OK(synap_queue_publish_batch(db, "auto", 3, payloads, lens, ids));
  CHECK(ids[0] != 0 && ids[1] != ids[0] && ids[2] != ids[1] && ids[2] != ids[0]);
  EXPECT_OK(synap_queue_publish_batch(db, "auto", 1, payloads, lens, NULL)); /* ids may be NULL */
  expect_stats(db, "auto", "\"ready\":4", __LINE__);
  expect_stats(db, "auto", "\"max_depth\":1000000", __LINE__);
  n = take(db, "auto", 10, &msgs, __LINE__);
  CHECK(n == 4);
  for (i = 0; i < 3 && i < n; i++) CHECK(msgs[i].id == ids[i] && msgs[i].priority == 0 && msgs[i].payload_len == 2);
  synap_free(msgs);
  EXPECT_OK(synap_queue_list(db, count_queue, &names));
  CHECK(names.calls == 1);
  /* all or none: a batch that would pass max_depth adds nothing */
  EXPECT_OK(synap_queue_declare(db, "small", "max_depth=2"));
  EXPECT_ERR(SYNAP_EBUSY, synap_queue_publish_batch(db, "small", 3, payloads, lens, ids));
  EXPECT_MSG("queue full");
  expect_stats(db, "small", "\"ready\":0", __LINE__);
}

/* In flight at close: back after the reopen, redelivered, first. */
static void test_reopen(const char* dir) {
  synap_db* db = NULL;
  synap_message* msgs = NULL;
  size_t n;
  uint64_t a, b;
  EXPECT_OK(open_with(dir, &db, NULL));
  if (db == NULL) return;
  EXPECT_OK(synap_queue_declare(db, "re", NULL));
  a = pub(db, "re", "first", 1);
  b = pub(db, "re", "second", 1);
  n = take(db, "re", 1, &msgs, __LINE__);
  CHECK(n == 1 && msgs != NULL && msgs[0].id == a);
  synap_free(msgs);
  EXPECT_OK(synap_close(db));
  db = NULL;
  EXPECT_OK(open_with(dir, &db, NULL));
  if (db == NULL) return;
  expect_stats(db, "re", "\"ready\":2", __LINE__);
  n = take(db, "re", 10, &msgs, __LINE__);
  CHECK(n == 2);
  if (n == 2) {
    uint64_t ids[2];
    CHECK(msgs[0].id == a && msgs[0].redelivered == 1 && msgs[0].delivery_count == 2 && payload_is(&msgs[0], "first"));
    CHECK(msgs[1].id == b && msgs[1].redelivered == 0 && msgs[1].delivery_count == 1);
    ids[0] = a, ids[1] = b;
    EXPECT_OK(synap_queue_ack(db, "re", ids, 2));
  }
  synap_free(msgs);
  EXPECT_OK(synap_close(db));
  db = NULL;
  /* acked: never back */
  EXPECT_OK(open_with(dir, &db, NULL));
  if (db == NULL) return;
  n = take(db, "re", 10, &msgs, __LINE__);
  CHECK(n == 0);
  synap_free(msgs);
  /* ids are kept across restarts: a new message gets a new id */
  CHECK(pub(db, "re", "third", 0) > b);
  EXPECT_OK(synap_close(db));
}

int main(void) {
  const char* base = getenv("SYNAP_TEST_TMPDIR");
  char *dir1, *dir2, *dir3;
  synap_db* db = NULL;
  if (base == NULL || base[0] == '\0') base = "/tmp";
  mkdir(base, 0755); /* meson's tmp dir may not exist yet */
  memset(name257, 'n', 257);
  name257[257] = '\0';
  memset(name256, 'n', 256);
  name256[256] = '\0';

  dir1 = make_dir(base, "queue-abi");
  {
    const char* kv[] = {"queue.auto_create", "false", "queue.max_payload_bytes", "1K", "wal.fsync_mode", "never",
                        NULL};
    EXPECT_OK(open_with(dir1, &db, kv));
  }
  if (db == NULL) {
    fprintf(stderr, "cannot open %s: %s\n", dir1, synap_last_error());
    return 1;
  }
  test_bad_input(db);
  test_order(db);
  test_headers(db);
  test_dead_letters(db);
  EXPECT_OK(synap_close(db));
  db = NULL;

  dir2 = make_dir(base, "queue-abi-auto");
  {
    const char* kv[] = {"wal.fsync_mode", "never", NULL};
    EXPECT_OK(open_with(dir2, &db, kv));
  }
  if (db != NULL) {
    test_batch_and_auto_create(db);
    EXPECT_OK(synap_close(db));
  }

  dir3 = make_dir(base, "queue-abi-reopen");
  test_reopen(dir3);

  if (failures == 0) {
    remove_tree(dir1);
    remove_tree(dir2);
    remove_tree(dir3);
    printf("queue_abi_test: ok (%d checks)\n", checks);
  } else {
    fprintf(stderr, "queue_abi_test: %d of %d checks failed; data kept in %s, %s, %s\n", failures, checks, dir1, dir2,
            dir3);
  }
  free(dir1);
  free(dir2);
  free(dir3);
  return failures == 0 ? 0 : 1;
}
