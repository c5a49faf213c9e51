/* The stream functions of synap.h ("Streams", "Streams: consumer groups",
 * "Streams: partitioned topics") and synap_subscription_set_callback from
 * C99, as a user's program would call them:
 *   - bad input on every synap_stream_*, synap_group_* and synap_topic_*
 *     function: NULL handle, name and out pointers, n == 0, a NULL event
 *     array, NULL key/payload/header pointers with a non-zero length, bad
 *     room names ("../x", "a/b", "", "..", "__meta", 201 bytes, ...), bad
 *     group names, bad settings, the stream.max_* limits: each answered with
 *     the exact code the header documents and a non-empty
 *     synap_last_error(), never a crash, and nothing created by a call that
 *     failed; SYNAP_OK and SYNAP_NOTFOUND clear synap_last_error();
 *   - the positive side: create (SYNAP_EEXIST the second time), list (name
 *     order), append (first offset, all or none), read (the ONE malloc'd
 *     block: offsets, keys, headers, binary payloads, timestamps,
 *     next_offset, high_watermark; count 0 at the end, SYNAP_ERANGE beyond
 *     it and below the earliest kept offset), blocking reads (timeout, and
 *     woken by an append), bounds, info JSON, offset_for_time (running
 *     maximum), compaction (cleanup=compact: latest event per key kept,
 *     offsets unchanged), retention, trimming (whole segments below an
 *     offset, kept across a reopen), consumer groups (commit, committed,
 *     lag JSON; SYNAP_NOTFOUND before a commit, SYNAP_ERANGE beyond the
 *     end; the non-blocking commit, in order with its callbacks; deleting
 *     a group's commit, kept across a reopen), partitioned topics (same key -> same partition, round-robin
 *     without a key), delete, and everything after a close and reopen;
 *   - waiting without a thread: synap_stream_notify_readable runs fn
 *     exactly once (at once when readable, on an append, SYNAP_ECLOSED on a
 *     delete or at synap_close), waits for a room that does not exist yet,
 *     and synap_stream_notify_cancel's SYNAP_OK means fn never runs
 *     (SYNAP_NOTFOUND: it ran); "readable_waiters" in the info JSON;
 *   - pub/sub delivered to a callback: messages in order, then one last
 *     call with topic == NULL at synap_unsubscribe; synap_subscription_next
 *     and a second callback are SYNAP_EINVAL.
 *
 * Suite 'unit', so it also runs under ASan/UBSan. A failed check prints its
 * line; the test exits 1 at the end. Data directories: mkdtemp under
 * $SYNAP_TEST_TMPDIR (or /tmp), removed when everything passed (kept, and
 * printed, on failure). */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
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

/* The main handle's limits (small, so the limits are cheap to reach). */
static const char* const main_opts[] = {"stream.max_append_bytes", "16K", "stream.max_event_bytes", "4K",
                                        "stream.max_key_bytes", "256", "stream.max_headers", "8",
                                        "stream.max_partitions", "16",
                                        /* no background compaction: the test compacts itself */
                                        "stream.maintenance_ms", "3600000", "wal.fsync_mode", "never", NULL};

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

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char name201[202], name200[201], group256[257], group255[256];

/* An event with a NUL-terminated key (NULL: none) and payload. */
static synap_event_in ev(const char* key, const char* payload, int64_t ts) {
  synap_event_in e;
  memset(&e, 0, sizeof e);
  e.key = key;
  e.key_len = key != NULL ? strlen(key) : 0;
  e.payload = payload;
  e.payload_len = payload != NULL ? strlen(payload) : 0;
  e.timestamp_ms = ts;
  return e;
}

static int bytes_are(const void* p, size_t len, const void* want, size_t want_len) {
  return len == want_len && (len == 0 || memcmp(p, want, len) == 0);
}
#define STR_IS(p, len, s) bytes_are((p), (len), (s), strlen(s))

/* A range [p, p + len) inside the block [lo, hi). */
static int inside(const void* p, size_t len, const char* lo, const char* hi) {
  const char* c = p;
  if (len == 0) return 1; /* nothing to read; any pointer will do */
  return c >= lo && c <= hi && len <= (size_t)(hi - c);
}

/* Every pointer of a read's result lies inside its one block, the events in
 * offset order. */
static void check_block(const synap_events* r, int line) {
  const char* lo = (const char*)r;
  const char* hi;
  size_t i, h;
  int ok = 1;
  if (r == NULL) return;
#if defined(__GLIBC__)
  hi = lo + malloc_usable_size((void*)r);
#else
  hi = lo + ((size_t)1 << 40);
#endif
  if (r->count > 0 && !inside(r->events, r->count * sizeof *r->events, lo, hi)) ok = 0;
  for (i = 0; ok && i < r->count; i++) {
    const synap_event* e = &r->events[i];
    if (!inside(e->key, e->key_len, lo, hi) || !inside(e->payload, e->payload_len, lo, hi)) ok = 0;
    if (e->header_count > 0 && !inside(e->headers, e->header_count * sizeof *e->headers, lo, hi)) ok = 0;
    for (h = 0; ok && h < e->header_count; h++) {
      if (!inside(e->headers[h].key, e->headers[h].key_len, lo, hi)) ok = 0;
      if (!inside(e->headers[h].value, e->headers[h].value_len, lo, hi)) ok = 0;
    }
    if (i > 0 && e->offset <= r->events[i - 1].offset) ok = 0;
  }
  checks++;
  if (!ok) {
    fprintf(stderr, "%s:%d: a pointer of the read's result is outside its block, or offsets are out of order\n",
            __FILE__, line);
    failures++;
  }
}

/* Reads and checks the block; returns NULL (and counts a failure) on error. */
static synap_events* rd(synap_db* db, const char* room, uint64_t from, uint32_t max_records, uint64_t max_bytes,
                        int line) {
  synap_events* r = (synap_events*)&r; /* must be overwritten */
  int rc = synap_stream_read(db, room, from, max_records, max_bytes, 0, &r);
  checks++;
  if (rc != SYNAP_OK || r == NULL) {
    fprintf(stderr, "%s:%d: read %s from %llu -> %d (%s) %s\n", __FILE__, line, room, (unsigned long long)from, rc,
            synap_strerror(rc), synap_last_error());
    failures++;
    return NULL;
  }
  check_block(r, line);
  return r;
}

/* The room's bounds; (~0, ~0) when that fails. */
static void bounds(synap_db* db, const char* room, uint64_t* earliest, uint64_t* next) {
  *earliest = *next = ~(uint64_t)0;
  if (synap_stream_bounds(db, room, earliest, next) != SYNAP_OK) *earliest = *next = ~(uint64_t)0;
}

static uint64_t next_of(synap_db* db, const char* room) {
  uint64_t e, n;
  bounds(db, room, &e, &n);
  return n;
}

/* The room (or group) JSON contains `frag`. */
static void expect_json(int rc, char* json, size_t len, const char* frag, int line) {
  checks++;
  if (rc != SYNAP_OK || json == NULL) {
    fprintf(stderr, "%s:%d: json -> %d %s\n", __FILE__, line, rc, synap_last_error());
    failures++;
  } else if (strstr(json, frag) == NULL || strlen(json) != len) {
    fprintf(stderr, "%s:%d: json lacks %s (or len %zu is wrong): %s\n", __FILE__, line, frag, len, json);
    failures++;
  }
  synap_free(json);
}

static void expect_info(synap_db* db, const char* room, const char* frag, int line) {
  char* json = NULL;
  size_t len = 0;
  int rc = synap_stream_info_json(db, room, &json, &len);
  expect_json(rc, json, len, frag, line);
}

struct names {
  int calls, ordered;
  char last[256];
  char seen[16][64];
};

static void collect(void* user, const void* key, size_t klen) {
  struct names* c = user;
  char n[256];
  size_t k = klen < sizeof n - 1 ? klen : sizeof n - 1;
  memcpy(n, key, k);
  n[k] = '\0';
  if (c->calls > 0 && strcmp(n, c->last) <= 0) c->ordered = 0;
  strcpy(c->last, n);
  if (c->calls < 16) snprintf(c->seen[c->calls], sizeof c->seen[0], "%.63s", n);
  c->calls++;
}

static struct names list_rooms(synap_db* db) {
  struct names c;
  memset(&c, 0, sizeof c);
  c.ordered = 1;
  EXPECT_OK(synap_stream_list(db, collect, &c));
  CHECK(c.ordered);
  return c;
}

static int listed(const struct names* c, const char* name) {
  int i;
  for (i = 0; i < c->calls && i < 16; i++)
    if (strcmp(c->seen[i], name) == 0) return 1;
  return 0;
}

/* EXPECT_ERR, with the name that was tried in the message. */
#define EXPECT_ERR_NAME(want, name, call)                                            \
  do {                                                                               \
    char what_[512];                                                                 \
    snprintf(what_, sizeof what_, "%s [with \"%.40s\"]", #call, (name));             \
    expect_err(__LINE__, what_, (call), (want));                                     \
  } while (0)

/* ---- bad input ----------------------------------------------------------- */

static const char* bad_names[] = {"../x", "a/b", "", "..", "__meta", name201, ".hidden", "a..b", "__x",
                                  "a b", "a\\b", "caf\xc3\xa9", "x\n", NULL};

static void test_bad_input(synap_db* db) {
  synap_event_in e[3];
  synap_header hdr[9];
  synap_events* out = NULL;
  uint64_t off = 0, earliest = 0, next = 0, dropped = 0;
  uint32_t parts = 0;
  char* json = NULL;
  size_t len = 0, i;
  struct names c;
  static char big[5000];

  memset(big, 'b', sizeof big);
  memset(hdr, 0, sizeof hdr);
  e[0] = ev("k", "p", 0);
  e[1] = ev(NULL, "q", 0);
  e[2] = ev("k", "r", 0);

  /* Every function: NULL handle and NULL name. */
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(NULL, "r", NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_delete(NULL, "r"));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_delete(db, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_list(NULL, collect, &c));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_list(db, NULL, &c));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_bounds(NULL, "r", &earliest, &next));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_bounds(db, NULL, &earliest, &next));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_info_json(NULL, "r", &json, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_info_json(db, NULL, &json, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_info_json(db, "r", NULL, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(NULL, "r", e, 1, &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(db, NULL, e, 1, &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_read(NULL, "r", 0, 0, 0, 0, &out));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_read(db, NULL, 0, 0, 0, 0, &out));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_read(db, "r", 0, 0, 0, 0, NULL));
  CHECK(out == NULL);
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_offset_for_time(NULL, "r", 0, &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_offset_for_time(db, NULL, 0, &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_offset_for_time(db, "r", 0, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_compact(NULL, "r", &dropped));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_compact(db, NULL, &dropped));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_trim(NULL, "r", 0, &dropped, &earliest));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_trim(db, NULL, 0, &dropped, &earliest));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit(NULL, "g", "r", 0));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit(db, NULL, "r", 0));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit(db, "g", NULL, 0));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_committed(NULL, "g", "r", &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_committed(db, NULL, "r", &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_committed(db, "g", NULL, &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_committed(db, "g", "r", NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_lag_json(NULL, "g", &json, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_lag_json(db, "g", NULL, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_create(NULL, "t", 2, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_create(db, NULL, 2, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_partitions(NULL, "t", &parts));
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_partitions(db, NULL, &parts));
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_partitions(db, "t", NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_produce(NULL, "t", e, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_produce(db, NULL, e, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_produce(db, "t", NULL, NULL, NULL));

  /* Missing rooms: NOTFOUND, and the out pointers say nothing. */
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_delete(db, "r"));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "r", &earliest, &next));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_info_json(db, "r", &json, &len));
  CHECK(json == NULL);
  out = (synap_events*)&out;
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_read(db, "r", 0, 0, 0, 0, &out));
  CHECK(out == NULL);
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_offset_for_time(db, "r", 0, &off));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_compact(db, "r", &dropped));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_trim(db, "r", 5, &dropped, &earliest));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_commit(db, "g", "r", 0));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "g", "r", &off));
  EXPECT_RC(SYNAP_NOTFOUND, synap_topic_partitions(db, "t", &parts));
  EXPECT_RC(SYNAP_NOTFOUND, synap_topic_produce(db, "t", e, NULL, NULL));

  /* Bad room names: SYNAP_EINVAL from every function taking one, and never
   * a room. */
  for (i = 0; bad_names[i] != NULL; i++) {
    const char* n = bad_names[i];
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_stream_create(db, n, NULL));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_stream_delete(db, n));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_stream_bounds(db, n, &earliest, &next));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_stream_info_json(db, n, &json, &len));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_stream_append(db, n, e, 1, &off));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_stream_read(db, n, 0, 0, 0, 0, &out));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_stream_offset_for_time(db, n, 0, &off));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_stream_compact(db, n, &dropped));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_stream_trim(db, n, 5, &dropped, &earliest)); /* "__meta" too */
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_group_commit(db, "g", n, 0));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_group_committed(db, "g", n, &off));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_topic_create(db, n, 2, NULL));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_topic_partitions(db, n, &parts));
    EXPECT_ERR_NAME(SYNAP_EINVAL, n, synap_topic_produce(db, n, e, NULL, NULL));
  }
  c = list_rooms(db);
  CHECK(c.calls == 0);

  /* Settings. A failed create creates nothing. */
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "no_such_setting=1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "segment_bytes"));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "segment_bytes="));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "segment_bytes=x"));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "segment_bytes=-1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "segment_bytes=65537"));  /* not a multiple of 4096 */
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "segment_bytes=61440"));  /* below 64 KiB */
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "codec=gzip"));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "fsync=sometimes"));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "cleanup=archive"));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "r", "retention_ms=1e3"));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "r", &earliest, &next));
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_create(db, "t", 2, "codec=gzip"));
  EXPECT_RC(SYNAP_NOTFOUND, synap_topic_partitions(db, "t", &parts));

  /* Events: n == 0, NULL arrays, NULL pointers with a length; a missing room
   * is not created by a refused append. */
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(db, "r", e, 0, &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(db, "r", NULL, 1, &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(db, "r", NULL, 0, &off));
  e[0].key = NULL, e[0].key_len = 1;
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(db, "r", e, 1, &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_produce(db, "t", e, NULL, NULL));
  e[0] = ev("k", NULL, 0), e[0].payload_len = 2;
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(db, "r", e, 1, &off));
  e[0] = ev("k", "p", 0), e[0].headers = NULL, e[0].header_count = 1;
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(db, "r", e, 1, &off));
  hdr[0].key = NULL, hdr[0].key_len = 1, hdr[0].value = "v", hdr[0].value_len = 1;
  e[0].headers = hdr, e[0].header_count = 1;
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(db, "r", e, 1, &off));
  hdr[0].key = "h", hdr[0].key_len = 1, hdr[0].value = NULL, hdr[0].value_len = 1;
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(db, "r", e, 1, &off));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "r", &earliest, &next));

  /* A bad event in the middle of a batch: nothing of the batch is appended. */
  EXPECT_OK(synap_stream_create(db, "r", NULL));
  e[0] = ev("k", "p", 0);
  e[1] = ev(NULL, NULL, 0), e[1].payload_len = 1;
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append(db, "r", e, 3, &off));
  e[1] = ev(NULL, "q", 0);
  CHECK(next_of(db, "r") == 0);

  /* Limits: stream.max_key_bytes=256, max_headers=8, max_event_bytes=4K,
   * max_append_bytes=16K. */
  e[1].key = big, e[1].key_len = 257;
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_stream_append(db, "r", e, 3, &off));
  e[1].key_len = 256; /* at the limit */
  EXPECT_OK(synap_stream_append(db, "r", e + 1, 1, &off));
  CHECK(off == 0);
  for (i = 0; i < 9; i++) hdr[i].key = "h", hdr[i].key_len = 1, hdr[i].value = "v", hdr[i].value_len = 1;
  e[1] = ev(NULL, "q", 0), e[1].headers = hdr, e[1].header_count = 9;
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_stream_append(db, "r", e, 3, &off));
  e[1].header_count = 8;
  EXPECT_OK(synap_stream_append(db, "r", e + 1, 1, &off));
  CHECK(off == 1);
  e[1] = ev(NULL, NULL, 0), e[1].payload = big, e[1].payload_len = 4097;
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_stream_append(db, "r", e, 3, &off));
  {
    synap_event_in many[5];
    for (i = 0; i < 5; i++) many[i] = ev(NULL, NULL, 0), many[i].payload = big, many[i].payload_len = 3500;
    EXPECT_ERR(SYNAP_ETOOLARGE, synap_stream_append(db, "r", many, 5, &off)); /* 17.5K in one call */
    EXPECT_OK(synap_stream_append(db, "r", many, 4, &off));                   /* 14K */
    CHECK(off == 2);
  }
  CHECK(next_of(db, "r") == 6);
  /* A refused append does not create a missing room either. */
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_stream_append(db, "toolarge", e + 1, 1, &off));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "toolarge", &earliest, &next));
  (void)synap_stream_delete(db, "toolarge"); /* if it was created after all: not counted twice below */

  /* Create twice; delete */
  EXPECT_ERR(SYNAP_EEXIST, synap_stream_create(db, "r", NULL));
  EXPECT_MSG("exists");
  EXPECT_ERR(SYNAP_EEXIST, synap_stream_create(db, "r", "cleanup=compact"));
  CHECK(next_of(db, "r") == 6); /* untouched */

  /* Reads: beyond the end */
  out = (synap_events*)&out;
  EXPECT_ERR(SYNAP_ERANGE, synap_stream_read(db, "r", 7, 0, 0, 0, &out));
  CHECK(out == NULL);
  EXPECT_ERR(SYNAP_ERANGE, synap_stream_read(db, "r", ~(uint64_t)0, 0, 0, 0, &out));
  EXPECT_ERR(SYNAP_ERANGE, synap_stream_read(db, "r", 7, 0, 0, 50, &out)); /* no wait beyond the end */

  /* Groups: names 1..255 bytes */
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit(db, "", "r", 0));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit(db, group256, "r", 0));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, group255, "r", &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_committed(db, "", "r", &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_committed(db, group256, "r", &off));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_lag_json(db, group256, &json, &len));
  synap_free(json); /* NULL unless the call succeeded */
  json = NULL;
  EXPECT_ERR(SYNAP_ERANGE, synap_group_commit(db, "g", "r", 7));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "g", "r", &off)); /* the refused commit left nothing */

  /* Topics */
  EXPECT_ERR(SYNAP_EINVAL, synap_topic_create(db, "t", 0, NULL));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_topic_create(db, "t", 17, NULL)); /* stream.max_partitions=16 */
  EXPECT_RC(SYNAP_NOTFOUND, synap_topic_partitions(db, "t", &parts));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "t-0", &earliest, &next));
  {
    /* "<topic>-<N-1>" must be a valid room name too: 198 + "-10" is 201 bytes
     * (198 + "-9", 200 bytes, is fine: test_retention). */
    char t198[199];
    memset(t198, 't', 198);
    t198[198] = '\0';
    EXPECT_ERR(SYNAP_EINVAL, synap_topic_create(db, t198, 11, NULL));
    EXPECT_RC(SYNAP_NOTFOUND, synap_topic_partitions(db, t198, &parts));
    EXPECT_ERR(SYNAP_EINVAL, synap_topic_create(db, name200, 1, NULL)); /* name200 + "-0" */
  }
  /* A topic whose partition rooms exist is refused, and not half-made. */
  EXPECT_OK(synap_stream_create(db, "dup-1", NULL));
  EXPECT_ERR(SYNAP_EEXIST, synap_topic_create(db, "dup", 2, NULL));
  EXPECT_RC(SYNAP_NOTFOUND, synap_topic_partitions(db, "dup", &parts));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "dup-0", &earliest, &next));
  EXPECT_OK(synap_stream_delete(db, "dup-1"));
  EXPECT_OK(synap_stream_delete(db, "r"));
}

/* ---- the positive side --------------------------------------------------- */

static void test_append_read(synap_db* db) {
  static const char bin[] = {'a', '\0', 'b', '\xff'};
  static const char key2[] = {'k', '\0', '2'};
  synap_header h0[1], h2[2];
  synap_event_in e[3];
  synap_events* r;
  uint64_t off = 99, earliest = 99, next = 99;
  int64_t t0, t1, t2, ts5 = 0;
  size_t i;
  struct names c;
  char hk[16], hv[16];

  strcpy(hk, "hname");
  strcpy(hv, "hvalue");
  h0[0].key = hk, h0[0].key_len = 5, h0[0].value = hv, h0[0].value_len = 6;
  h2[0].key = "a", h2[0].key_len = 1, h2[0].value = NULL, h2[0].value_len = 0; /* empty value */
  h2[1].key = bin, h2[1].key_len = sizeof bin, h2[1].value = key2, h2[1].value_len = sizeof key2;

  EXPECT_OK(synap_stream_create(db, "r1", NULL));
  EXPECT_OK(synap_stream_bounds(db, "r1", &earliest, &next));
  CHECK(earliest == 0 && next == 0);
  r = rd(db, "r1", 0, 0, 0, __LINE__); /* empty room: count 0 */
  if (r != NULL) CHECK(r->count == 0 && r->next_offset == 0 && r->high_watermark == 0);
  synap_free(r);
  EXPECT_OK(synap_stream_offset_for_time(db, "r1", 0, &off));
  CHECK(off == 0);

  e[0] = ev("k0", "p0", 1000), e[0].headers = h0, e[0].header_count = 1;
  e[1] = ev(NULL, NULL, 2000), e[1].payload = bin, e[1].payload_len = sizeof bin;
  e[2] = ev(NULL, NULL, 0), e[2].key = key2, e[2].key_len = sizeof key2, e[2].headers = h2, e[2].header_count = 2;
  t0 = wall_ms();
  EXPECT_OK(synap_stream_append(db, "r1", e, 3, &off));
  t1 = wall_ms();
  CHECK(off == 0);
  /* libsynap kept no pointer to our buffers */
  strcpy(hk, "XXXXX");
  strcpy(hv, "YYYYYY");
  e[0] = ev("k3", "p3", 3000);
  e[1] = ev("k4", "p4", 2500);
  EXPECT_OK(synap_stream_append(db, "r1", e, 2, &off));
  CHECK(off == 3);
  e[0] = ev(NULL, "last", 0);
  EXPECT_OK(synap_stream_append(db, "r1", e, 1, NULL)); /* first_offset may be NULL */
  t2 = wall_ms();
  EXPECT_OK(synap_stream_bounds(db, "r1", &earliest, &next));
  CHECK(earliest == 0 && next == 6);
  EXPECT_OK(synap_stream_bounds(db, "r1", NULL, NULL)); /* both may be NULL */
  EXPECT_OK(synap_stream_bounds(db, "r1", NULL, &next));
  CHECK(next == 6);

  r = rd(db, "r1", 0, 0, 0, __LINE__);
  if (r != NULL) {
    CHECK(r->count == 6 && r->next_offset == 6 && r->high_watermark == 6);
    for (i = 0; i < r->count; i++) CHECK(r->events[i].offset == i);
    if (r->count == 6) {
      const synap_event* x = r->events;
      CHECK(STR_IS(x[0].key, x[0].key_len, "k0") && STR_IS(x[0].payload, x[0].payload_len, "p0"));
      CHECK(x[0].timestamp_ms == 1000 && x[0].header_count == 1);
      if (x[0].header_count == 1)
        CHECK(STR_IS(x[0].headers[0].key, x[0].headers[0].key_len, "hname") &&
              STR_IS(x[0].headers[0].value, x[0].headers[0].value_len, "hvalue"));
      CHECK(x[1].key_len == 0 && bytes_are(x[1].payload, x[1].payload_len, bin, sizeof bin));
      CHECK(x[1].timestamp_ms == 2000 && x[1].header_count == 0);
      CHECK(bytes_are(x[2].key, x[2].key_len, key2, sizeof key2) && x[2].payload_len == 0);
      CHECK(x[2].timestamp_ms >= t0 && x[2].timestamp_ms <= t1); /* 0: the append time */
      CHECK(x[2].header_count == 2);
      if (x[2].header_count == 2) {
        CHECK(STR_IS(x[2].headers[0].key, x[2].headers[0].key_len, "a") && x[2].headers[0].value_len == 0);
        CHECK(bytes_are(x[2].headers[1].key, x[2].headers[1].key_len, bin, sizeof bin) &&
              bytes_are(x[2].headers[1].value, x[2].headers[1].value_len, key2, sizeof key2));
      }
      CHECK(STR_IS(x[3].key, x[3].key_len, "k3") && STR_IS(x[3].payload, x[3].payload_len, "p3") &&
            x[3].timestamp_ms == 3000);
      CHECK(STR_IS(x[4].key, x[4].key_len, "k4") && STR_IS(x[4].payload, x[4].payload_len, "p4") &&
            x[4].timestamp_ms == 2500);
      CHECK(x[5].key_len == 0 && STR_IS(x[5].payload, x[5].payload_len, "last"));
      CHECK(x[5].timestamp_ms >= t1 && x[5].timestamp_ms <= t2);
      ts5 = x[5].timestamp_ms;
      for (i = 0; i < 6; i++)
        if (x[i].header_count == 0) CHECK(x[i].headers != NULL || x[i].header_count == 0);
    }
  }
  synap_free(r);

  /* max_records, and a start in the middle of a batch */
  r = rd(db, "r1", 2, 2, 0, __LINE__);
  if (r != NULL) {
    CHECK(r->count == 2 && r->next_offset == 4 && r->high_watermark == 6);
    if (r->count == 2) CHECK(r->events[0].offset == 2 && r->events[1].offset == 3);
  }
  synap_free(r);
  /* max_bytes: at least one event */
  r = rd(db, "r1", 1, 0, 1, __LINE__);
  if (r != NULL) {
    CHECK(r->count == 1 && r->next_offset == 2 && r->high_watermark == 6);
    if (r->count == 1) CHECK(r->events[0].offset == 1);
  }
  synap_free(r);
  /* the end: count 0 */
  r = rd(db, "r1", 6, 0, 0, __LINE__);
  if (r != NULL) CHECK(r->count == 0 && r->next_offset == 6 && r->high_watermark == 6);
  synap_free(r);
  /* beyond: SYNAP_ERANGE, and the message says why */
  r = (synap_events*)&r;
  EXPECT_ERR(SYNAP_ERANGE, synap_stream_read(db, "r1", 7, 0, 0, 0, &r));
  CHECK(r == NULL);
  EXPECT_MSG("beyond");

  expect_info(db, "r1", "\"next_offset\":6", __LINE__);
  expect_info(db, "r1", "\"earliest_offset\":0", __LINE__);
  expect_info(db, "r1", "\"room\":\"r1\"", __LINE__);
  {
    char* json = NULL;
    EXPECT_OK(synap_stream_info_json(db, "r1", &json, NULL)); /* len may be NULL */
    CHECK(json != NULL && strstr(json, "\"fsync\":\"always\"") != NULL);
    synap_free(json);
  }

  /* offset_for_time: running maximum of 1000, 2000, t, 3000, 2500, t' */
  EXPECT_OK(synap_stream_offset_for_time(db, "r1", 0, &off));
  CHECK(off == 0);
  EXPECT_OK(synap_stream_offset_for_time(db, "r1", 1000, &off));
  CHECK(off == 0);
  EXPECT_OK(synap_stream_offset_for_time(db, "r1", 1500, &off));
  CHECK(off == 1);
  EXPECT_OK(synap_stream_offset_for_time(db, "r1", 2001, &off));
  CHECK(off == 2);
  EXPECT_OK(synap_stream_offset_for_time(db, "r1", t1 + 1, &off));
  CHECK(off == (t1 + 1 <= ts5 ? 5u : 6u)); /* offset 2 has a time in [t0, t1]; offset 5 one in [t1, t2] */
  EXPECT_OK(synap_stream_offset_for_time(db, "r1", ts5, &off));
  CHECK(off == 5 || (off == 2 && ts5 <= t1)); /* 2's time may be the same millisecond */
  EXPECT_OK(synap_stream_offset_for_time(db, "r1", t2 + 100000, &off));
  CHECK(off == 6); /* none: the high watermark */
  EXPECT_OK(synap_stream_offset_for_time(db, "r1", INT64_MIN, &off));
  CHECK(off == 0);

  /* Names: the longest, every allowed character */
  EXPECT_OK(synap_stream_create(db, name200, "fsync=never codec=lz4"));
  e[0] = ev("k", "v", 0);
  EXPECT_OK(synap_stream_append(db, name200, e, 1, &off));
  CHECK(off == 0);
  EXPECT_OK(synap_stream_create(db, "Az09._-:x", "codec=zstd; cleanup=compact,delete"));
  expect_info(db, "Az09._-:x", "\"cleanup\":\"compact,delete\"", __LINE__);
  expect_info(db, "Az09._-:x", "\"codec\":\"zstd\"", __LINE__);
  /* auto-create (stream.auto_create defaults to true) */
  EXPECT_OK(synap_stream_append(db, "auto", e, 1, &off));
  CHECK(off == 0);
  c = list_rooms(db);
  CHECK(c.calls == 4 && listed(&c, "auto") && listed(&c, "r1") && listed(&c, "Az09._-:x"));
  EXPECT_OK(synap_stream_delete(db, name200));
  EXPECT_OK(synap_stream_delete(db, "Az09._-:x"));
  EXPECT_OK(synap_stream_delete(db, "auto"));
}

/* ---- blocking reads ------------------------------------------------------ */

struct appender {
  synap_db* db;
  long delay_ms;
  int rc;
};

static void* append_later(void* arg) {
  struct appender* a = arg;
  synap_event_in e = ev(NULL, "woken", 0);
  sleep_ms(a->delay_ms);
  a->rc = synap_stream_append(a->db, "r1", &e, 1, NULL);
  return NULL;
}

static void test_wait(synap_db* db) {
  synap_events* r = NULL;
  long t0, ms;
  pthread_t th;
  struct appender a;
  uint64_t hw = next_of(db, "r1");

  /* nothing comes: count 0 after the wait */
  t0 = mono_ms();
  EXPECT_OK(synap_stream_read(db, "r1", hw, 0, 0, 80, &r));
  ms = mono_ms() - t0;
  CHECK(r != NULL && r->count == 0 && r->next_offset == hw && r->high_watermark == hw);
  CHECK(ms >= 70);
  synap_free(r);
  r = NULL;

  /* an append wakes the reader */
  a.db = db, a.delay_ms = 50, a.rc = -100;
  if (pthread_create(&th, NULL, append_later, &a) != 0) {
    CHECK(!"pthread_create");
    return;
  }
  t0 = mono_ms();
  EXPECT_OK(synap_stream_read(db, "r1", hw, 0, 0, 5000, &r));
  ms = mono_ms() - t0;
  pthread_join(th, NULL);
  CHECK(a.rc == SYNAP_OK);
  CHECK(ms < 3000);
  CHECK(r != NULL && r->count == 1 && r->next_offset == hw + 1 && r->high_watermark == hw + 1);
  if (r != NULL && r->count == 1) CHECK(r->events[0].offset == hw && STR_IS(r->events[0].payload, r->events[0].payload_len, "woken"));
  synap_free(r);
}

/* ---- compaction ---------------------------------------------------------- */

#define CMP_BATCHES 60
#define CMP_PER_BATCH 5
#define CMP_KEYS 7

static void cmp_payload(char* buf, size_t cap, uint64_t offset) {
  size_t n;
  snprintf(buf, cap, "off=%llu;", (unsigned long long)offset);
  n = strlen(buf);
  while (n + 1 < cap) buf[n] = (char)('a' + (offset + n) % 26), n++;
  buf[n] = '\0';
}

/* The key of offset o: keyless every 6th, else "key<o % 7>". */
static int cmp_key(uint64_t o, char* key) {
  if (o % 6 == 5) return 0;
  sprintf(key, "key%d", (int)(o % CMP_KEYS));
  return 1;
}

static void check_compacted(synap_db* db, uint64_t total, uint64_t dropped, int line) {
  uint64_t latest[CMP_KEYS], from = 0, seen = 0, keyless = 0, want_keyless = 0, o;
  int have_latest[CMP_KEYS];
  int bad = 0, k;
  char key[16], want[1000];
  for (k = 0; k < CMP_KEYS; k++) latest[k] = 0, have_latest[k] = 0;
  for (o = 0; o < total; o++)
    if (cmp_key(o, key)) latest[o % CMP_KEYS] = o;
    else want_keyless++;
  while (from < total) {
    synap_events* r = rd(db, "cmp", from, 0, 0, line);
    size_t i;
    if (r == NULL) return;
    if (r->count == 0) {
      synap_free(r);
      break;
    }
    for (i = 0; i < r->count; i++) {
      const synap_event* x = &r->events[i];
      int has = cmp_key(x->offset, key);
      if (x->offset >= total) break; /* appended after the compaction */
      cmp_payload(want, sizeof want, x->offset);
      if (!STR_IS(x->payload, x->payload_len, want)) bad++;
      if (has ? !STR_IS(x->key, x->key_len, key) : x->key_len != 0) bad++;
      if (!has) keyless++;
      if (has && x->offset == latest[x->offset % CMP_KEYS]) have_latest[x->offset % CMP_KEYS] = 1;
      seen++;
    }
    from = r->next_offset;
    synap_free(r);
  }
  checks++;
  if (bad != 0 || seen != total - dropped || keyless != want_keyless) {
    fprintf(stderr, "%s:%d: compacted room: %d bad events, %llu seen of %llu - %llu dropped, keyless %llu of %llu\n",
            __FILE__, line, bad, (unsigned long long)seen, (unsigned long long)total, (unsigned long long)dropped,
            (unsigned long long)keyless, (unsigned long long)want_keyless);
    failures++;
  }
  for (k = 0; k < CMP_KEYS; k++) CHECK(have_latest[k]);
}

static uint64_t g_cmp_dropped;

static void test_compact(synap_db* db) {
  uint64_t off = 0, dropped = 99, total = CMP_BATCHES * CMP_PER_BATCH, o, earliest, next;
  int b, i;
  static char payloads[CMP_PER_BATCH][1000];
  char keys[CMP_PER_BATCH][16];
  synap_event_in e[CMP_PER_BATCH];

  EXPECT_OK(synap_stream_create(db, "cmp", "cleanup=compact segment_bytes=65536"));
  expect_info(db, "cmp", "\"cleanup\":\"compact\"", __LINE__);
  expect_info(db, "cmp", "\"segment_bytes\":65536", __LINE__);
  /* Nothing sealed yet: nothing to drop. */
  EXPECT_OK(synap_stream_compact(db, "cmp", &dropped));
  CHECK(dropped == 0);
  for (b = 0; b < CMP_BATCHES; b++) {
    for (i = 0; i < CMP_PER_BATCH; i++) {
      o = (uint64_t)(b * CMP_PER_BATCH + i);
      cmp_payload(payloads[i], sizeof payloads[i], o);
      e[i] = ev(cmp_key(o, keys[i]) ? keys[i] : NULL, payloads[i], 0);
    }
    EXPECT_OK(synap_stream_append(db, "cmp", e, CMP_PER_BATCH, &off));
    CHECK(off == (uint64_t)(b * CMP_PER_BATCH));
  }
  check_compacted(db, total, 0, __LINE__);
  {
    char* json = NULL;
    size_t len = 0;
    EXPECT_OK(synap_stream_info_json(db, "cmp", &json, &len));
    CHECK(json != NULL && strstr(json, "\"segments\":") != NULL && strstr(json, "\"segments\":1,") == NULL);
    synap_free(json);
  }
  dropped = 0;
  EXPECT_OK(synap_stream_compact(db, "cmp", &dropped));
  CHECK(dropped > 0 && dropped < total);
  g_cmp_dropped = dropped;
  check_compacted(db, total, dropped, __LINE__);
  EXPECT_OK(synap_stream_bounds(db, "cmp", &earliest, &next));
  CHECK(earliest == 0 && next == total); /* offsets do not change */
  EXPECT_OK(synap_stream_compact(db, "cmp", NULL)); /* dropped may be NULL; again: nothing more */
  dropped = 99;
  EXPECT_OK(synap_stream_compact(db, "cmp", &dropped));
  CHECK(dropped == 0);
  /* Appends go on at the end */
  e[0] = ev("key0", "after", 0);
  EXPECT_OK(synap_stream_append(db, "cmp", e, 1, &off));
  CHECK(off == total);
}

/* ---- consumer groups ----------------------------------------------------- */

/* ---- trimming ------------------------------------------------------------ */

static uint64_t g_trim_earliest;

/* synap_stream_trim: whole segments below the offset go, offsets stay, the
 * newest segment stays; 64 KiB segments hold about 18 of these events. */
static void test_trim(synap_db* db) {
  static char payload[3000];
  synap_event_in e[4];
  synap_events* r = NULL;
  uint64_t off = 0, removed = 9, earliest = 9, next = 0, first = 0;
  int i;
  memset(payload, 't', sizeof payload);
  EXPECT_OK(synap_stream_create(db, "trim", "segment_bytes=65536"));
  for (i = 0; i < 4; i++) e[i] = ev(NULL, NULL, 0), e[i].payload = payload, e[i].payload_len = sizeof payload;
  for (i = 0; i < 40; i++) EXPECT_OK(synap_stream_append(db, "trim", e, 4, &off));
  CHECK(off == 156);
  EXPECT_RC(SYNAP_OK, synap_stream_trim(db, "trim", 0, &removed, &earliest));
  CHECK(removed == 0 && earliest == 0);

  EXPECT_OK(synap_stream_trim(db, "trim", 80, &removed, &first));
  CHECK(first > 0 && first <= 80 && removed == first); /* whole segments: some events below 80 may stay */
  EXPECT_OK(synap_stream_bounds(db, "trim", &earliest, &next));
  CHECK(earliest == first && next == 160);
  EXPECT_ERR(SYNAP_ERANGE, synap_stream_read(db, "trim", first - 1, 0, 0, 0, &r));
  EXPECT_MSG("earliest");
  r = rd(db, "trim", first, 1, 0, __LINE__);
  if (r != NULL) CHECK(r->count == 1 && r->events[0].offset == first);
  synap_free(r);
  EXPECT_OK(synap_stream_trim(db, "trim", first, &removed, &earliest)); /* nothing wholly below it */
  CHECK(removed == 0 && earliest == first);

  /* Past the end: every segment but the newest; the out pointers may be NULL. */
  EXPECT_OK(synap_stream_trim(db, "trim", UINT64_MAX, NULL, NULL));
  EXPECT_OK(synap_stream_bounds(db, "trim", &g_trim_earliest, &next));
  CHECK(g_trim_earliest > first && g_trim_earliest < 160 && next == 160);
  expect_info(db, "trim", "\"segments\":1,", __LINE__);
  r = rd(db, "trim", g_trim_earliest, 0, 0, __LINE__);
  if (r != NULL) CHECK(r->count == 160 - g_trim_earliest && r->events[0].offset == g_trim_earliest);
  synap_free(r);
}

/* ---- consumer groups: the non-blocking commit, and forgetting one -------- */

struct group_done {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int calls, bad;
  uint64_t last, sum; /* the offsets the callbacks reported */
};

static void on_group_done(void* user, int result, uint64_t offset) {
  struct group_done* d = (struct group_done*)user;
  pthread_mutex_lock(&d->mu);
  if (result != SYNAP_OK) d->bad++;
  d->last = offset;
  d->sum += offset;
  d->calls++;
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
}

static void wait_group_calls(struct group_done* d, int n) {
  pthread_mutex_lock(&d->mu);
  while (d->calls < n) pthread_cond_wait(&d->cv, &d->mu);
  pthread_mutex_unlock(&d->mu);
}

/* synap_group_commit_async, synap_group_delete(_async). Leaves for
 * test_reopen: gkeep/r1 committed at 4 (async), gdel/r1 and ga/r1 deleted. */
static void test_group_async_delete(synap_db* db) {
  struct group_done d;
  uint64_t off = 99, hw = next_of(db, "r1"), i, want_sum = 2;
  char* json = NULL;
  int calls = 0;
  memset(&d, 0, sizeof d);
  pthread_mutex_init(&d.mu, NULL);
  pthread_cond_init(&d.cv, NULL);

  /* Refused before anything is logged: the callback never comes. */
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit_async(NULL, "ga", "r1", 0, on_group_done, &d));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit_async(db, NULL, "r1", 0, on_group_done, &d));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit_async(db, "ga", NULL, 0, on_group_done, &d));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit_async(db, "ga", "r1", 0, NULL, &d));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit_async(db, "", "r1", 0, on_group_done, &d));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit_async(db, group256, "r1", 0, on_group_done, &d));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_commit_async(db, "ga", "../x", 0, on_group_done, &d));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_commit_async(db, "ga", "nope", 0, on_group_done, &d));
  EXPECT_ERR(SYNAP_ERANGE, synap_group_commit_async(db, "ga", "r1", hw + 1, on_group_done, &d));
  EXPECT_MSG("beyond");
  EXPECT_ERR(SYNAP_EINVAL, synap_group_delete(NULL, "ga", "r1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_delete(db, NULL, "r1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_delete(db, "ga", NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_delete(db, group256, "r1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_delete(db, "ga", "__meta"));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_delete_async(NULL, "ga", "r1", on_group_done, &d));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_delete_async(db, NULL, "r1", on_group_done, &d));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_delete_async(db, "ga", NULL, on_group_done, &d));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_delete_async(db, "ga", "r1", NULL, &d));
  EXPECT_ERR(SYNAP_EINVAL, synap_group_delete_async(db, "ga", "a/b", on_group_done, &d));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_delete(db, "ga", "r1"));            /* no commit yet */
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_delete(db, "ga", "neverthere"));    /* nor a room */
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_delete_async(db, "ga", "r1", on_group_done, &d));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "ga", "r1", &off));
  CHECK(d.calls == 0);

  /* Many at once: each reports its offset; the last one issued wins. */
  for (i = 0; i <= hw; i++) {
    EXPECT_OK(synap_group_commit_async(db, "ga", "r1", i, on_group_done, &d));
    want_sum += i;
  }
  EXPECT_OK(synap_group_commit_async(db, "ga", "r1", 2, on_group_done, &d)); /* back: allowed */
  calls = (int)hw + 2;
  wait_group_calls(&d, calls);
  CHECK(d.bad == 0 && d.sum == want_sum && d.last == 2);
  EXPECT_OK(synap_group_committed(db, "ga", "r1", &off));
  CHECK(off == 2);

  /* Delete: gone from committed and from the lag JSON; a commit starts afresh. */
  EXPECT_OK(synap_group_delete(db, "ga", "r1"));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "ga", "r1", &off));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_delete(db, "ga", "r1"));
  EXPECT_OK(synap_group_lag_json(db, "ga", &json, NULL));
  CHECK(json != NULL && strstr(json, "\"commits\":[]") != NULL);
  synap_free(json);
  EXPECT_OK(synap_group_commit(db, "ga", "r1", 3));
  EXPECT_OK(synap_group_committed(db, "ga", "r1", &off));
  CHECK(off == 3);
  EXPECT_OK(synap_group_delete_async(db, "ga", "r1", on_group_done, &d));
  wait_group_calls(&d, ++calls);
  CHECK(d.bad == 0 && d.last == 0);
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "ga", "r1", &off));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_delete_async(db, "ga", "r1", on_group_done, &d));

  /* For test_reopen. */
  EXPECT_OK(synap_group_commit_async(db, "gkeep", "r1", 4, on_group_done, &d));
  EXPECT_OK(synap_group_commit(db, "gdel", "r1", 5));
  EXPECT_OK(synap_group_delete_async(db, "gdel", "r1", on_group_done, &d));
  calls += 2;
  wait_group_calls(&d, calls);
  CHECK(d.bad == 0 && d.calls == calls); /* no callback for the refused calls */
  pthread_cond_destroy(&d.cv);
  pthread_mutex_destroy(&d.mu);
}

static void test_groups(synap_db* db) {
  uint64_t off = 99, hw = next_of(db, "r1");
  char* json = NULL;
  size_t len = 0;
  char frag[128];

  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "g1", "r1", &off));
  EXPECT_OK(synap_group_commit(db, "g1", "r1", 2));
  EXPECT_OK(synap_group_committed(db, "g1", "r1", &off));
  CHECK(off == 2);
  EXPECT_OK(synap_group_commit(db, "g1", "r1", hw)); /* the end itself is fine */
  EXPECT_OK(synap_group_committed(db, "g1", "r1", &off));
  CHECK(off == hw);
  EXPECT_ERR(SYNAP_ERANGE, synap_group_commit(db, "g1", "r1", hw + 1));
  EXPECT_MSG("beyond");
  EXPECT_OK(synap_group_committed(db, "g1", "r1", &off));
  CHECK(off == hw); /* unchanged */
  EXPECT_OK(synap_group_commit(db, "g1", "r1", 1)); /* back: allowed, as Kafka */
  EXPECT_OK(synap_group_committed(db, "g1", "r1", &off));
  CHECK(off == 1);
  EXPECT_OK(synap_group_commit(db, group255, "r1", 0)); /* the longest group name */
  EXPECT_OK(synap_group_commit(db, "g2", "cmp", 10));
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "g2", "r1", &off)); /* per (group, room) */
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_commit(db, "g1", "nope", 0));

  EXPECT_OK(synap_group_lag_json(db, "g1", &json, &len));
  CHECK(json != NULL && strlen(json) == len);
  if (json != NULL) {
    snprintf(frag, sizeof frag, "\"committed\":1,\"next_offset\":%llu,\"lag\":%llu", (unsigned long long)hw,
             (unsigned long long)(hw - 1));
    CHECK(strstr(json, "\"group\":\"g1\"") != NULL && strstr(json, "\"room\":\"r1\"") != NULL);
    CHECK(strstr(json, frag) != NULL);
    CHECK(strstr(json, "\"g2\"") == NULL);
  }
  synap_free(json);
  json = NULL;
  EXPECT_OK(synap_group_lag_json(db, NULL, &json, NULL)); /* every group; len may be NULL */
  CHECK(json != NULL && strstr(json, "\"group\":\"g1\"") != NULL && strstr(json, "\"group\":\"g2\"") != NULL &&
        strstr(json, "\"room\":\"cmp\"") != NULL);
  synap_free(json);
  json = NULL;
  EXPECT_OK(synap_group_lag_json(db, "nobody", &json, &len));
  CHECK(json != NULL && strstr(json, "\"g1\"") == NULL && strstr(json, "\"commits\":[]") != NULL);
  synap_free(json);
}

/* ---- topics -------------------------------------------------------------- */

static uint32_t g_alice_partition;

static void test_topics(synap_db* db) {
  uint32_t parts = 0, p1 = 99, p2 = 98, p;
  uint64_t o1 = 99, o2 = 98, o;
  synap_event_in e;
  int hit[3] = {0, 0, 0};
  struct names c;
  int i;
  synap_events* r;

  EXPECT_OK(synap_topic_create(db, "orders", 3, "codec=lz4"));
  EXPECT_ERR(SYNAP_EEXIST, synap_topic_create(db, "orders", 3, NULL));
  EXPECT_ERR(SYNAP_EEXIST, synap_topic_create(db, "orders", 5, NULL));
  EXPECT_OK(synap_topic_partitions(db, "orders", &parts));
  CHECK(parts == 3);
  c = list_rooms(db);
  CHECK(listed(&c, "orders-0") && listed(&c, "orders-1") && listed(&c, "orders-2") && !listed(&c, "orders-3"));
  expect_info(db, "orders-1", "\"codec\":\"lz4\"", __LINE__);
  EXPECT_ERR(SYNAP_EEXIST, synap_stream_create(db, "orders-2", NULL));

  e = ev("alice", "a1", 0);
  EXPECT_OK(synap_topic_produce(db, "orders", &e, &p1, &o1));
  e = ev("alice", "a2", 0);
  EXPECT_OK(synap_topic_produce(db, "orders", &e, &p2, &o2));
  CHECK(p1 < 3 && p1 == p2 && o2 == o1 + 1);
  g_alice_partition = p1;
  for (i = 0; i < 20; i++) { /* the same key, always the same partition */
    char k[16];
    sprintf(k, "user%d", i % 4);
    e = ev(k, "x", 0);
    EXPECT_OK(synap_topic_produce(db, "orders", &e, &p, NULL));
    if (i >= 4) {
      uint32_t again = 99;
      e = ev(k, "y", 0);
      EXPECT_OK(synap_topic_produce(db, "orders", &e, &again, NULL));
      CHECK(again == p);
    }
  }
  for (i = 0; i < 3; i++) { /* no key: round robin */
    e = ev(NULL, "rr", 0);
    EXPECT_OK(synap_topic_produce(db, "orders", &e, &p, &o));
    if (p < 3) hit[p]++;
  }
  CHECK(hit[0] == 1 && hit[1] == 1 && hit[2] == 1);
  e = ev("alice", "a3", 0);
  EXPECT_OK(synap_topic_produce(db, "orders", &e, NULL, NULL)); /* both may be NULL */

  /* Partitions are rooms: read alice's back */
  if (p1 < 3) {
    char room[32];
    size_t k, n = 0;
    sprintf(room, "orders-%u", (unsigned)p1);
    r = rd(db, room, 0, 0, 0, __LINE__);
    if (r != NULL) {
      for (k = 0; k < r->count; k++) {
        const synap_event* x = &r->events[k];
        if (!STR_IS(x->key, x->key_len, "alice")) continue;
        CHECK(STR_IS(x->payload, x->payload_len, n == 0 ? "a1" : n == 1 ? "a2" : "a3"));
        if (n == 0) CHECK(x->offset == o1);
        n++;
      }
      CHECK(n == 3);
    }
    synap_free(r);
  }
  EXPECT_RC(SYNAP_NOTFOUND, synap_topic_partitions(db, "orders-0", &parts)); /* a room, not a topic */
  EXPECT_OK(synap_topic_create(db, "single", 1, NULL));
  e = ev("z", "only", 0);
  EXPECT_OK(synap_topic_produce(db, "single", &e, &p, &o));
  CHECK(p == 0 && o == 0);
  {
    static char big[4200];
    memset(big, 'x', sizeof big);
    e = ev("z", NULL, 0), e.payload = big, e.payload_len = sizeof big; /* over stream.max_event_bytes */
    EXPECT_ERR(SYNAP_ETOOLARGE, synap_topic_produce(db, "single", &e, &p, &o));
    e.payload = NULL;
    EXPECT_ERR(SYNAP_EINVAL, synap_topic_produce(db, "single", &e, &p, &o));
    CHECK(next_of(db, "single-0") == 1);
  }
}

/* ---- delete -------------------------------------------------------------- */

static void test_delete(synap_db* db) {
  synap_event_in e[2];
  uint64_t off = 0, earliest = 9, next = 9;
  synap_events* r = NULL;
  struct names c;
  e[0] = ev("a", "1", 0);
  e[1] = ev("b", "2", 0);
  EXPECT_OK(synap_stream_create(db, "gone", NULL));
  EXPECT_OK(synap_stream_append(db, "gone", e, 2, &off));
  EXPECT_OK(synap_stream_append(db, "gone", e, 2, &off));
  EXPECT_OK(synap_group_commit(db, "gd", "gone", 3));
  EXPECT_OK(synap_stream_delete(db, "gone"));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_delete(db, "gone"));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "gone", &earliest, &next));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_read(db, "gone", 0, 0, 0, 0, &r));
  CHECK(r == NULL);
  {
    char* json = (char*)&json;
    EXPECT_RC(SYNAP_NOTFOUND, synap_stream_info_json(db, "gone", &json, NULL));
    CHECK(json == NULL);
  }
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "gd", "gone", &off)); /* the room's commits went with it */
  c = list_rooms(db);
  CHECK(!listed(&c, "gone"));
  /* A new room of the same name starts empty, at offset 0. */
  EXPECT_OK(synap_stream_create(db, "gone", NULL));
  EXPECT_OK(synap_stream_bounds(db, "gone", &earliest, &next));
  CHECK(earliest == 0 && next == 0);
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "gd", "gone", &off));
  EXPECT_OK(synap_stream_append(db, "gone", e, 1, &off));
  CHECK(off == 0);
  r = rd(db, "gone", 0, 0, 0, __LINE__);
  if (r != NULL) CHECK(r->count == 1 && STR_IS(r->events[0].payload, r->events[0].payload_len, "1"));
  synap_free(r);
}

/* ---- reopen -------------------------------------------------------------- */

static void test_reopen(const char* dir) {
  synap_db* db = NULL;
  uint64_t off = 0, earliest = 9, next = 9, hw;
  uint32_t parts = 0;
  synap_events* r;
  struct names c;
  EXPECT_OK(open_with(dir, &db, main_opts));
  if (db == NULL) return;
  c = list_rooms(db);
  CHECK(listed(&c, "r1") && listed(&c, "cmp") && listed(&c, "orders-0") && listed(&c, "gone") &&
        !listed(&c, "auto") && !listed(&c, "r"));
  hw = next_of(db, "r1");
  CHECK(hw == 7);
  r = rd(db, "r1", 0, 0, 0, __LINE__);
  if (r != NULL) {
    CHECK(r->count == 7);
    if (r->count == 7) {
      CHECK(STR_IS(r->events[0].key, r->events[0].key_len, "k0") && r->events[0].header_count == 1 &&
            r->events[0].timestamp_ms == 1000);
      CHECK(STR_IS(r->events[6].payload, r->events[6].payload_len, "woken"));
    }
  }
  synap_free(r);
  check_compacted(db, CMP_BATCHES * CMP_PER_BATCH, g_cmp_dropped, __LINE__);
  EXPECT_OK(synap_stream_bounds(db, "cmp", &earliest, &next));
  CHECK(earliest == 0 && next == CMP_BATCHES * CMP_PER_BATCH + 1);
  EXPECT_OK(synap_group_committed(db, "g1", "r1", &off));
  CHECK(off == 1);
  EXPECT_OK(synap_group_committed(db, "g2", "cmp", &off));
  CHECK(off == 10);
  EXPECT_OK(synap_group_committed(db, "gkeep", "r1", &off)); /* committed with synap_group_commit_async */
  CHECK(off == 4);
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "gdel", "r1", &off)); /* deletes stay */
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "ga", "r1", &off));
  /* A deleted room's commits do not come back, not even on a new room of
   * that name. */
  off = 12345;
  EXPECT_RC(SYNAP_NOTFOUND, synap_group_committed(db, "gd", "gone", &off));
  if (off != 12345)
    fprintf(stderr, "  (group gd reports committed offset %llu for room gone, whose next offset is %llu)\n",
            (unsigned long long)off, (unsigned long long)next_of(db, "gone"));
  EXPECT_OK(synap_topic_partitions(db, "orders", &parts));
  CHECK(parts == 3);
  {
    synap_event_in e = ev("alice", "a4", 0);
    uint32_t p = 99;
    EXPECT_OK(synap_topic_produce(db, "orders", &e, &p, NULL));
    CHECK(p == g_alice_partition); /* the same partition across restarts */
  }
  expect_info(db, "orders-0", "\"codec\":\"lz4\"", __LINE__);   /* settings kept */
  expect_info(db, "cmp", "\"cleanup\":\"compact\"", __LINE__);
  EXPECT_OK(synap_stream_bounds(db, "trim", &earliest, &next)); /* the trim was durable */
  CHECK(earliest == g_trim_earliest && next == 160);
  EXPECT_OK(synap_close(db));
}

/* ---- store options: auto_create, max_rooms ------------------------------ */

static void test_max_rooms(const char* dir) {
  static const char* const opts[] = {"stream.auto_create", "false", "stream.max_rooms", "3", "wal.fsync_mode", "never",
                                     NULL};
  synap_db* db = NULL;
  synap_event_in e = ev("k", "v", 0);
  uint64_t off = 0, earliest, next;
  uint32_t parts = 0;
  struct names c;

  EXPECT_OK(open_with(dir, &db, opts));
  if (db == NULL) return;
  /* stream.auto_create=false: an unknown room is NOTFOUND, and not created. */
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_append(db, "nope", &e, 1, &off));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "nope", &earliest, &next));
  EXPECT_OK(synap_stream_create(db, "a", NULL));
  EXPECT_OK(synap_stream_append(db, "a", &e, 1, &off));
  CHECK(off == 0);
  EXPECT_OK(synap_stream_create(db, "b", NULL));
  EXPECT_OK(synap_stream_create(db, "c", NULL));
  /* stream.max_rooms=3 */
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_stream_create(db, "d", NULL));
  EXPECT_MSG("max_rooms");
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "d", &earliest, &next));
  EXPECT_OK(synap_stream_delete(db, "c"));
  EXPECT_OK(synap_stream_create(db, "d", NULL));
  /* Full again: a topic is refused whole (no rooms, no topic). */
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_topic_create(db, "t", 2, NULL));
  EXPECT_RC(SYNAP_NOTFOUND, synap_topic_partitions(db, "t", &parts));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "t-0", &earliest, &next));
  EXPECT_OK(synap_close(db));
  db = NULL;

  /* The refused topic does not keep the directory from opening. */
  EXPECT_OK(open_with(dir, &db, opts));
  if (db == NULL) {
    fprintf(stderr, "%s:%d: reopen of %s failed: %s\n", __FILE__, __LINE__, dir, synap_last_error());
    failures++;
    return;
  }
  c = list_rooms(db);
  CHECK(c.calls == 3 && listed(&c, "a") && listed(&c, "b") && listed(&c, "d"));
  EXPECT_OK(synap_stream_bounds(db, "a", &earliest, &next));
  CHECK(next == 1);
  EXPECT_RC(SYNAP_NOTFOUND, synap_topic_partitions(db, "t", &parts));
  EXPECT_OK(synap_close(db));
}

/* ---- a create refused for its settings leaves nothing behind -------------- */

static void test_refused_create(const char* dir) {
  static const char* const opts[] = {"wal.fsync_mode", "never", NULL};
  synap_db* db = NULL;
  uint64_t earliest, next;
  struct names c;

  EXPECT_OK(open_with(dir, &db, opts));
  if (db == NULL) return;
  /* A segment size out of range (64 KiB..1 GiB, multiple of 4096) is
   * refused. (A small but valid one caps the room's append size instead.) */
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_create(db, "small", "segment_bytes=65535"));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "small", &earliest, &next));
  c = list_rooms(db);
  CHECK(c.calls == 0);
  EXPECT_OK(synap_stream_create(db, "ok", NULL));
  EXPECT_OK(synap_close(db));
  db = NULL;

  /* The directory opens again, and "small" can be made with good settings. */
  EXPECT_OK(open_with(dir, &db, opts));
  if (db == NULL) {
    fprintf(stderr, "%s:%d: reopen of %s failed: %s\n", __FILE__, __LINE__, dir, synap_last_error());
    failures++;
    return;
  }
  c = list_rooms(db);
  CHECK(c.calls == 1 && listed(&c, "ok"));
  EXPECT_OK(synap_stream_create(db, "small", "segment_bytes=8388608"));
  EXPECT_OK(synap_close(db));
}

/* ---- retention ----------------------------------------------------------- */

static void test_retention(const char* dir) {
  static const char* const opts[] = {"stream.max_append_bytes", "16K", "stream.max_event_bytes", "4K",
                                     "stream.max_key_bytes", "256", "stream.maintenance_ms", "20",
                                     "wal.fsync_mode", "never", NULL};
  synap_db* db = NULL;
  uint64_t off = 0, earliest = 0, next = 0;
  static char payload[3000];
  synap_event_in e[4];
  synap_events* r = NULL;
  long deadline;
  int i;

  EXPECT_OK(open_with(dir, &db, opts));
  if (db == NULL) return;
  memset(payload, 'r', sizeof payload);
  EXPECT_OK(synap_stream_create(db, "ret", "retention_bytes=65536 segment_bytes=65536 fsync=never"));
  for (i = 0; i < 4; i++) e[i] = ev(NULL, NULL, 0), e[i].payload = payload, e[i].payload_len = sizeof payload;
  for (i = 0; i < 40; i++) EXPECT_OK(synap_stream_append(db, "ret", e, 4, &off)); /* about 480 KB */
  CHECK(off == 156);
  deadline = mono_ms() + 5000;
  do {
    EXPECT_OK(synap_stream_bounds(db, "ret", &earliest, &next));
    if (earliest > 0) break;
    sleep_ms(20);
  } while (mono_ms() < deadline);
  CHECK(earliest > 0 && next == 160);
  if (earliest > 0) {
    EXPECT_ERR(SYNAP_ERANGE, synap_stream_read(db, "ret", 0, 0, 0, 0, &r));
    CHECK(r == NULL);
    EXPECT_MSG("earliest");
    EXPECT_ERR(SYNAP_ERANGE, synap_stream_read(db, "ret", earliest - 1, 0, 0, 0, &r));
    r = rd(db, "ret", earliest, 1, 0, __LINE__);
    if (r != NULL) CHECK(r->count == 1 && r->events[0].offset == earliest && r->next_offset == earliest + 1);
    synap_free(r);
    EXPECT_OK(synap_stream_offset_for_time(db, "ret", 0, &off));
    CHECK(off == earliest);
    expect_info(db, "ret", "\"earliest_offset\":", __LINE__);
  }
  {
    /* The longest topic name for 10 partitions: "<198 bytes>-9" is 200. */
    char t198[199];
    uint32_t parts = 0, p = 99;
    memset(t198, 't', 198);
    t198[198] = '\0';
    EXPECT_OK(synap_topic_create(db, t198, 10, NULL));
    EXPECT_OK(synap_topic_partitions(db, t198, &parts));
    CHECK(parts == 10);
    e[0] = ev("key", "v", 0);
    EXPECT_OK(synap_topic_produce(db, t198, e, &p, &off));
    CHECK(p < 10 && off == 0);
  }
  EXPECT_OK(synap_close(db));
}

/* ---- pub/sub callbacks --------------------------------------------------- */

struct cb_state {
  pthread_mutex_t mu;
  int messages, finals, after_final, order_ok;
  char last_reason[128];
};

static void on_message(void* user, const char* topic, size_t topic_len, const void* payload, size_t len) {
  struct cb_state* s = user;
  pthread_mutex_lock(&s->mu);
  if (topic == NULL) {
    size_t k = len < sizeof s->last_reason - 1 ? len : sizeof s->last_reason - 1;
    s->finals++;
    if (k > 0) memcpy(s->last_reason, payload, k);
    s->last_reason[k] = '\0';
  } else {
    char want[16];
    if (s->finals > 0) s->after_final++;
    sprintf(want, "m%d", s->messages);
    if (!STR_IS(payload, len, want) || !STR_IS(topic, topic_len, "cb.x.y")) s->order_ok = 0;
    s->messages++;
  }
  pthread_mutex_unlock(&s->mu);
}

static int cb_count(struct cb_state* s, int* finals) {
  int n;
  pthread_mutex_lock(&s->mu);
  n = s->messages;
  if (finals != NULL) *finals = s->finals;
  pthread_mutex_unlock(&s->mu);
  return n;
}

static void test_callback(synap_db* db) {
  synap_subscription* sub = NULL;
  synap_message* m = NULL;
  struct cb_state s;
  uint64_t delivered = 0;
  int i, finals = -1;
  long deadline;

  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.mu, NULL);
  s.order_ok = 1;
  EXPECT_OK(synap_subscribe(db, "cb.#", 64, SYNAP_OVERFLOW_DROP_OLDEST, &sub));
  if (sub == NULL) return;
  EXPECT_ERR(SYNAP_EINVAL, synap_subscription_set_callback(NULL, on_message, &s));
  EXPECT_ERR(SYNAP_EINVAL, synap_subscription_set_callback(sub, NULL, &s));
  /* a message published before the callback is set is delivered to it too */
  EXPECT_OK(synap_publish(db, "cb.x.y", "m0", 2, &delivered));
  CHECK(delivered == 1);
  EXPECT_OK(synap_subscription_set_callback(sub, on_message, &s));
  EXPECT_ERR(SYNAP_EINVAL, synap_subscription_set_callback(sub, on_message, &s)); /* at most once */
  EXPECT_ERR(SYNAP_EINVAL, synap_subscription_next(sub, 0, &m));
  CHECK(m == NULL);
  for (i = 1; i < 10; i++) {
    char p[8];
    sprintf(p, "m%d", i);
    EXPECT_OK(synap_publish(db, "cb.x.y", p, strlen(p), &delivered));
    CHECK(delivered == 1);
  }
  EXPECT_OK(synap_publish(db, "other.topic", "no", 2, &delivered));
  CHECK(delivered == 0);
  deadline = mono_ms() + 3000;
  while (cb_count(&s, NULL) < 10 && mono_ms() < deadline) sleep_ms(2);
  CHECK(cb_count(&s, &finals) == 10 && finals == 0);
  EXPECT_ERR(SYNAP_EINVAL, synap_subscription_next(sub, 10, &m));
  EXPECT_OK(synap_unsubscribe(sub)); /* waits for the delivery thread */
  cb_count(&s, &finals);
  CHECK(finals == 1);
  CHECK(s.after_final == 0 && s.order_ok);
  CHECK(s.messages == 10);
  sleep_ms(20);
  CHECK(cb_count(&s, &finals) == 10 && finals == 1); /* nothing after the final call */
  EXPECT_OK(synap_publish(db, "cb.x.y", "late", 4, &delivered));
  CHECK(delivered == 0);

  /* Closed by overflow (SYNAP_OVERFLOW_CLOSE): the final call says why. */
  memset(&s, 0, sizeof s);
  pthread_mutex_destroy(&s.mu);
  pthread_mutex_init(&s.mu, NULL);
  s.order_ok = 1;
  sub = NULL;
  EXPECT_OK(synap_subscribe(db, "cb.x.*", 1, SYNAP_OVERFLOW_CLOSE, &sub));
  if (sub == NULL) return;
  EXPECT_OK(synap_publish(db, "cb.x.y", "m0", 2, NULL));
  EXPECT_OK(synap_publish(db, "cb.x.y", "m1", 2, NULL)); /* overflows: closed */
  EXPECT_OK(synap_subscription_set_callback(sub, on_message, &s));
  deadline = mono_ms() + 3000;
  do {
    cb_count(&s, &finals);
    if (finals > 0) break;
    sleep_ms(2);
  } while (mono_ms() < deadline);
  CHECK(finals == 1 && cb_count(&s, NULL) == 1 && strstr(s.last_reason, "overflow") != NULL);
  EXPECT_OK(synap_unsubscribe(sub));
  CHECK(cb_count(&s, &finals) == 1 && finals == 1); /* one final call, not two */
  pthread_mutex_destroy(&s.mu);
}

/* ---- non-blocking appends ------------------------------------------------ */

struct appended {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int calls, bad;
  uint64_t next; /* the first offset the next completion must carry */
};

static void on_appended(void* user, int result, uint64_t first) {
  struct appended* a = (struct appended*)user;
  pthread_mutex_lock(&a->mu);
  if (result != SYNAP_OK || first != a->next) a->bad++;
  a->next = first + 2;
  a->calls++;
  pthread_cond_broadcast(&a->cv);
  pthread_mutex_unlock(&a->mu);
}

static void test_append_async(synap_db* db) {
  struct appended a;
  synap_event_in ev[2];
  synap_events* got = NULL;
  uint64_t earliest = 0, next = 0;
  int i;
  memset(&a, 0, sizeof a);
  pthread_mutex_init(&a.mu, NULL);
  pthread_cond_init(&a.cv, NULL);
  memset(ev, 0, sizeof ev);
  ev[0].payload = "a";
  ev[0].payload_len = 1;
  ev[1].payload = "b";
  ev[1].payload_len = 1;
  for (i = 0; i < 50; i++) EXPECT_OK(synap_stream_append_async(db, "async", ev, 2, on_appended, &a));
  pthread_mutex_lock(&a.mu);
  while (a.calls < 50) pthread_cond_wait(&a.cv, &a.mu);
  pthread_mutex_unlock(&a.mu);
  CHECK(a.bad == 0); /* in order, consecutive, all acknowledged */
  EXPECT_OK(synap_stream_bounds(db, "async", &earliest, &next));
  CHECK(next == 100);
  EXPECT_OK(synap_stream_read(db, "async", 98, 10, 0, 0, &got));
  CHECK(got != NULL && got->count == 2 && memcmp(got->events[1].payload, "b", 1) == 0);
  synap_free(got);
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append_async(db, "async", ev, 2, NULL, &a));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append_async(db, "../x", ev, 2, on_appended, &a));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_append_async(db, "async", ev, 0, on_appended, &a));
  CHECK(a.calls == 50); /* refused appends never call back */
  pthread_cond_destroy(&a.cv);
  pthread_mutex_destroy(&a.mu);
}

/* ---- synap_stream_notify_readable / synap_stream_notify_cancel ------------ */

struct wake {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int calls, last;
};

static void on_readable(void* user, int result) {
  struct wake* w = (struct wake*)user;
  pthread_mutex_lock(&w->mu);
  w->calls++;
  w->last = result;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* Waits (at most 10 s: a hang is a failure, not a timing assumption) for n calls. */
static int wake_calls(struct wake* w, int n) {
  struct timespec until;
  int calls;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&w->mu);
  while (w->calls < n && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0) {
  }
  calls = w->calls;
  pthread_mutex_unlock(&w->mu);
  return calls;
}

static void wake_init(struct wake* w) {
  memset(w, 0, sizeof *w);
  w->last = -999;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
}

static void wake_destroy(struct wake* w) {
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
}

static void put(synap_db* db, const char* room, const char* payload) {
  synap_event_in e = ev(NULL, payload, 0);
  EXPECT_OK(synap_stream_append(db, room, &e, 1, NULL));
}

/* The registration contract: fn exactly once unless cancelled; SYNAP_OK from
 * cancel means never, SYNAP_NOTFOUND that it ran (or never existed); a room
 * that does not exist yet is waited for; "readable_waiters" counts a room's
 * registrations and drops to 0 as they run or are cancelled. */
static void test_notify(synap_db* db) {
  struct wake now, later, cancelled, created, deleted, refused;
  uint64_t h = 0, hc = 0, hn = 0, hd = 0;
  wake_init(&now);
  wake_init(&later);
  wake_init(&cancelled);
  wake_init(&created);
  wake_init(&deleted);
  wake_init(&refused);

  dirty();
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_notify_readable(NULL, "nt", 0, on_readable, &now, &h));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_notify_readable(db, NULL, 0, on_readable, &now, &h));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_notify_readable(db, "nt", 0, NULL, &now, &h));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_notify_readable(db, "nt", 0, on_readable, &now, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_notify_readable(db, "../x", 0, on_readable, &refused, &h));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_notify_readable(db, "__meta", 0, on_readable, &refused, &h));
  EXPECT_ERR(SYNAP_EINVAL, synap_stream_notify_cancel(NULL, 1));
  dirty();
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_notify_cancel(db, 987654321)); /* never existed */
  CHECK(refused.calls == 0);                                            /* refused: fn never runs */

  put(db, "nt", "a"); /* offset 0 */
  /* Readable already: fn runs at once, on this thread, before the call returns. */
  EXPECT_OK(synap_stream_notify_readable(db, "nt", 0, on_readable, &now, &h));
  CHECK(now.calls == 1 && now.last == SYNAP_OK);
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_notify_cancel(db, h)); /* it ran */

  /* Two waiting for offset 1: one cancelled (never runs), one woken by the append. */
  EXPECT_OK(synap_stream_notify_readable(db, "nt", 1, on_readable, &later, &h));
  EXPECT_OK(synap_stream_notify_readable(db, "nt", 1, on_readable, &cancelled, &hc));
  CHECK(h != hc);
  expect_info(db, "nt", "\"readable_waiters\":2", __LINE__);
  EXPECT_OK(synap_stream_notify_cancel(db, hc));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_notify_cancel(db, hc)); /* once */
  expect_info(db, "nt", "\"readable_waiters\":1", __LINE__);
  put(db, "nt", "b");
  CHECK(wake_calls(&later, 1) == 1 && later.last == SYNAP_OK);
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_notify_cancel(db, h)); /* it ran */
  expect_info(db, "nt", "\"readable_waiters\":0", __LINE__);

  /* Many registrations given up (a loop's timeouts) leave nothing behind. */
  {
    uint64_t hs[64];
    int i;
    for (i = 0; i < 64; i++) EXPECT_OK(synap_stream_notify_readable(db, "nt", 99, on_readable, &refused, &hs[i]));
    expect_info(db, "nt", "\"readable_waiters\":64", __LINE__);
    for (i = 0; i < 64; i++) EXPECT_OK(synap_stream_notify_cancel(db, hs[i]));
    expect_info(db, "nt", "\"readable_waiters\":0", __LINE__);
  }

  /* A room that does not exist yet: waited for, nothing created; the first
   * event of the new room wakes it. A cancelled one never runs. */
  EXPECT_OK(synap_stream_notify_readable(db, "nt-new", 0, on_readable, &created, &hn));
  EXPECT_OK(synap_stream_notify_readable(db, "nt-new", 0, on_readable, &cancelled, &hc));
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_bounds(db, "nt-new", NULL, NULL));
  EXPECT_OK(synap_stream_notify_cancel(db, hc));
  EXPECT_OK(synap_stream_create(db, "nt-new", NULL));
  CHECK(created.calls == 0); /* created empty: nothing at offset 0 yet */
  expect_info(db, "nt-new", "\"readable_waiters\":1", __LINE__);
  put(db, "nt-new", "first");
  CHECK(wake_calls(&created, 1) == 1 && created.last == SYNAP_OK);
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_notify_cancel(db, hn));

  /* A deleted room answers SYNAP_ECLOSED. */
  EXPECT_OK(synap_stream_notify_readable(db, "nt-new", 5, on_readable, &deleted, &hd));
  EXPECT_OK(synap_stream_delete(db, "nt-new"));
  CHECK(wake_calls(&deleted, 1) == 1 && deleted.last == SYNAP_ECLOSED);
  EXPECT_RC(SYNAP_NOTFOUND, synap_stream_notify_cancel(db, hd));
  EXPECT_OK(synap_stream_delete(db, "nt"));

  sleep_ms(20); /* a wrongly kept registration would have its chance to run */
  CHECK(cancelled.calls == 0 && refused.calls == 0);
  CHECK(now.calls == 1 && later.calls == 1 && created.calls == 1 && deleted.calls == 1); /* exactly once */
  wake_destroy(&now);
  wake_destroy(&later);
  wake_destroy(&cancelled);
  wake_destroy(&created);
  wake_destroy(&deleted);
  wake_destroy(&refused);
}

/* A registration for a room that never came answers SYNAP_ECLOSED at
 * synap_close. */
static void test_notify_close(const char* dir) {
  struct wake w;
  synap_db* db = NULL;
  uint64_t h = 0;
  wake_init(&w);
  EXPECT_OK(open_with(dir, &db, main_opts));
  if (db == NULL) return;
  EXPECT_OK(synap_stream_notify_readable(db, "never-made", 0, on_readable, &w, &h));
  EXPECT_OK(synap_close(db));
  CHECK(w.calls == 1 && w.last == SYNAP_ECLOSED);
  wake_destroy(&w);
}

int main(void) {
  const char* base = getenv("SYNAP_TEST_TMPDIR");
  char *dir1, *dir2, *dir3, *dir4;
  synap_db* db = NULL;
  if (base == NULL || base[0] == '\0') base = "/tmp";
  mkdir(base, 0755); /* meson's tmp dir may not exist yet */
  memset(name201, 'n', 201);
  name201[201] = '\0';
  memset(name200, 'n', 200);
  name200[200] = '\0';
  memset(group256, 'g', 256);
  group256[256] = '\0';
  memset(group255, 'g', 255);
  group255[255] = '\0';

  dir1 = make_dir(base, "stream-abi");
  EXPECT_OK(open_with(dir1, &db, main_opts));
  if (db == NULL) {
    fprintf(stderr, "cannot open %s: %s\n", dir1, synap_last_error());
    return 1;
  }
  test_bad_input(db);
  test_append_read(db);
  test_wait(db);
  test_compact(db);
  test_trim(db);
  test_groups(db);
  test_group_async_delete(db);
  test_topics(db);
  test_delete(db);
  test_callback(db);
  test_append_async(db);
  test_notify(db);
  EXPECT_OK(synap_close(db));
  db = NULL;
  test_reopen(dir1);
  test_notify_close(dir1);

  dir2 = make_dir(base, "stream-abi-rooms");
  test_max_rooms(dir2);
  dir3 = make_dir(base, "stream-abi-retention");
  test_retention(dir3);
  dir4 = make_dir(base, "stream-abi-refused");
  test_refused_create(dir4);

  if (failures == 0) {
    remove_tree(dir1);
    remove_tree(dir2);
    remove_tree(dir3);
    remove_tree(dir4);
    printf("stream_abi_test: ok (%d checks)\n", checks);
  } else {
    fprintf(stderr, "stream_abi_test: %d of %d checks failed; data kept in %s, %s, %s, %s\n", failures, checks, dir1,
            dir2, dir3, dir4);
  }
  free(dir1);
  free(dir2);
  free(dir3);
  free(dir4);
  return failures == 0 ? 0 : 1;
}
