/* Every function of synap.h called with bad input, from C99 as a user's
 * program would: each must answer with the exact code the header documents
 * and a non-empty synap_last_error(), never crash; and a call that returns
 * SYNAP_OK, SYNAP_NOTFOUND or SYNAP_NOTSET must clear synap_last_error().
 * Where it is cheap, the positive side of a contract is checked too
 * (NOTFOUND vs NOTSET, get_into's truncation, options_get's NUL, ...).
 *
 * Suite 'unit', so it also runs under ASan/UBSan (every buffer libsynap
 * returns is freed here, so LeakSanitizer has nothing to report).
 *
 * A failed check prints its line and the test exits 1 at the end.
 *
 * Data directories: mkdtemp under $SYNAP_TEST_TMPDIR (or /tmp), removed at
 * the end when everything passed (kept, and printed, on failure). */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <synap/synap.h>

#include "check.h"

/* ---- helpers ------------------------------------------------------------- */

/* The value of an option as synap_options_get reports it ("" on error). */
static const char* opt(const synap_options* o, const char* name) {
  static char buf[128];
  size_t len = 0;
  buf[0] = '\0';
  if (synap_options_get(o, name, buf, sizeof buf, &len) != SYNAP_OK) return "";
  return buf;
}

/* The value of `key` as a string ("<absent>" if there is none). */
static const char* value_of(synap_db* db, const char* key) {
  static char buf[256];
  size_t len = 0;
  int rc = synap_get_into(db, key, strlen(key), buf, sizeof buf - 1, &len);
  if (rc == SYNAP_NOTFOUND) return "<absent>";
  if (rc != SYNAP_OK || len >= sizeof buf) return "<error>";
  buf[len] = '\0';
  return buf;
}

struct key_count {
  int calls;
  int seen[8]; /* "s:0".."s:7" */
  int others;
};

static void count_key(void* user, const void* key, size_t klen) {
  struct key_count* c = user;
  const char* k = key;
  c->calls++;
  if (klen == 3 && k[0] == 's' && k[1] == ':' && k[2] >= '0' && k[2] <= '7') c->seen[k[2] - '0']++;
  else c->others++;
}

static void ignore_key(void* user, const void* key, size_t klen) { (void)user, (void)key, (void)klen; }

struct acked_calls {
  int calls;
  synap_ticket ticket;
  int result;
};

static void on_acked(void* user, synap_ticket ticket, int result) {
  struct acked_calls* a = user;
  a->calls++;
  a->ticket = ticket;
  a->result = result;
}

struct progress {
  int calls;
  int log_end; /* a "log" call with done == total */
};

static void on_progress(void* user, const char* phase, uint64_t done, uint64_t total) {
  struct progress* p = user;
  p->calls++;
  if (strcmp(phase, "log") == 0 && done == total) p->log_end = 1;
}

static void* other_thread(void* arg) {
  /* last_error is per thread: the main thread's error is not seen here. */
  int* empty = arg;
  *empty = synap_last_error() != NULL && synap_last_error()[0] == '\0';
  return NULL;
}

/* ---- the checks, one function per part of synap.h ----------------------- */

static void test_versions_and_codes(void) {
  CHECK(synap_version_number() == SYNAP_VERSION_NUMBER);
  CHECK(synap_version_string() != NULL && strcmp(synap_version_string(), SYNAP_VERSION_STRING) == 0);
  /* The codes abi_test does not list. */
  CHECK(SYNAP_NOTSET > 0 && SYNAP_ERANGE < 0 && SYNAP_EPERM < 0 && SYNAP_EEXIST < 0);
  CHECK(strcmp(synap_strerror(SYNAP_NOTSET), "unknown result code") != 0);
  CHECK(strcmp(synap_strerror(SYNAP_ERANGE), "unknown result code") != 0);
  CHECK(strcmp(synap_strerror(SYNAP_EPERM), "unknown result code") != 0);
  CHECK(strcmp(synap_strerror(SYNAP_EEXIST), "unknown result code") != 0);
  CHECK(strcmp(synap_strerror(-16), "unknown result code") == 0);
  CHECK(strcmp(synap_strerror(3), "unknown result code") == 0);
  CHECK(strcmp(synap_strerror(INT32_MIN), "unknown result code") == 0);
  CHECK(synap_last_error() != NULL);
  synap_free(NULL);

  /* last_error is thread-local. */
  {
    pthread_t t;
    int empty = 0;
    EXPECT_ERR(SYNAP_EINVAL, synap_sync(NULL));
    CHECK(pthread_create(&t, NULL, other_thread, &empty) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(empty);
    CHECK(synap_last_error()[0] != '\0'); /* still this thread's */
  }
}

struct bad_value {
  const char* name;
  const char* value;
};

static void test_options(void) {
  synap_options* o = NULL;
  char buf[64];
  size_t len = 0;

  EXPECT_ERR(SYNAP_EINVAL, synap_options_create(NULL));
  EXPECT_OK(synap_options_create(&o));
  CHECK(o != NULL);
  if (o == NULL) return;
  synap_options_destroy(NULL); /* allowed */

  /* Defaults, as the header's table gives them. */
  CHECK(strcmp(opt(o, "wal.fsync_mode"), "always") == 0);
  CHECK(strcmp(opt(o, "wal.fsync_interval_ms"), "10") == 0);
  CHECK(strcmp(opt(o, "wal.segment_bytes"), "67108864") == 0);
  CHECK(strcmp(opt(o, "kv.max_key_bytes"), "65536") == 0);
  CHECK(strcmp(opt(o, "kv.max_value_bytes"), "4194304") == 0);
  CHECK(strcmp(opt(o, "kv.allow_flushall"), "false") == 0);
  CHECK(strcmp(opt(o, "kv.maxmemory_policy"), "noeviction") == 0);
  CHECK(strcmp(opt(o, "snapshot.keep"), "5") == 0);

  /* synap_options_set: NULL arguments. */
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set(NULL, "wal.fsync_mode", "never"));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set(o, NULL, "never"));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set(o, "wal.fsync_mode", NULL));
  CHECK(strcmp(opt(o, "wal.fsync_mode"), "always") == 0);

  /* Unknown names. */
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set(o, "kv.no_such_option", "1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set(o, "", "1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set(o, "wal", "1"));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set(o, "WAL.FSYNC_MODE", "never"));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set(o, "wal.fsync_mode ", "never"));

  /* Values that do not parse or are out of the table's range: EINVAL, a
   * message naming the option, and the object unchanged. */
  {
    static const struct bad_value bad[] = {
        {"wal.fsync_mode", "sometimes"},     {"wal.fsync_mode", ""},
        {"wal.fsync_interval_ms", "0"},      {"wal.fsync_interval_ms", "60001"},
        {"wal.fsync_interval_ms", "abc"},    {"wal.fsync_interval_ms", "-1"},
        {"wal.fsync_interval_ms", "10x"},    {"wal.fsync_interval_ms", " 10"},
        {"wal.fsync_interval_ms", ""},       {"wal.fsync_interval_ms", "1.5"},
        {"wal.mechanism", "mmap"},           {"wal.segment_bytes", "4096"},
        {"wal.segment_bytes", "2G"},         {"wal.segment_bytes", "64T"},
        {"wal.preallocate", "maybe"},        {"wal.max_record_bytes", "0"},
        {"wal.max_record_bytes", "65M"},     {"wal.max_batch_bytes", "4095"},
        {"wal.max_batch_bytes", "65M"},      {"wal.max_batch_records", "0"},
        {"wal.max_batch_records", "1048577"}, {"wal.linger_us", "100001"},
        {"wal.max_in_flight", "0"},          {"wal.max_in_flight", "3"},
        {"wal.max_pending_bytes", "lots"},   {"wal.codec", "gzip"},
        {"wal.compress_min_bytes", "abc"},   {"wal.zstd_level", "0"},
        {"wal.zstd_level", "20"},            {"wal.recovery", "yolo"},
        {"io.backend", "epoll"},             {"kv.shards", "0"},
        {"kv.shards", "8192"},               {"kv.max_key_bytes", "0"},
        {"kv.max_key_bytes", "2M"},          {"kv.max_value_bytes", "0"},
        {"kv.maxmemory", "-1"},              {"kv.maxmemory", "18446744073709551616"},
        {"kv.maxmemory", "1T"},              {"kv.maxmemory", "17179869184G"},
        {"kv.maxmemory_policy", "lru"},      {"kv.maxmemory_samples", "0"},
        {"kv.maxmemory_samples", "65"},      {"kv.active_expire_ms", "60001"},
        {"kv.allow_flushall", "maybe"},      {"snapshot.interval_secs", "abc"},
        {"snapshot.operation_threshold", "-5"}, {"snapshot.keep", "0"},
        {"snapshot.keep", "101"},            {"snapshot.zstd_level", "0"},
        {"snapshot.zstd_level", "20"},
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      char before[128];
      int rc;
      snprintf(before, sizeof before, "%s", opt(o, bad[i].name));
      CHECK(before[0] != '\0');
      rc = synap_options_set(o, bad[i].name, bad[i].value);
      checks++;
      if (rc != SYNAP_EINVAL || synap_last_error()[0] == '\0') {
        fprintf(stderr, "%s:%d: synap_options_set(\"%s\", \"%s\") -> %d, expected SYNAP_EINVAL; last_error \"%s\"\n",
                __FILE__, __LINE__, bad[i].name, bad[i].value, rc, synap_last_error());
        failures++;
      } else if (strstr(synap_last_error(), bad[i].name) == NULL) {
        fprintf(stderr, "%s:%d: the message for %s=\"%s\" does not name the option: \"%s\"\n", __FILE__, __LINE__,
                bad[i].name, bad[i].value, synap_last_error());
        failures++;
      }
      checks++;
      if (strcmp(opt(o, bad[i].name), before) != 0) {
        fprintf(stderr, "%s:%d: %s changed from \"%s\" to \"%s\" by a failed set\n", __FILE__, __LINE__, bad[i].name,
                before, opt(o, bad[i].name));
        failures++;
      }
    }
  }

  /* Shape rules ("power of two", "multiple of 4096") are checked by
   * synap_open, as the header says (test_open checks the refusal). */
  {
    CHECK(synap_options_set(o, "kv.shards", "3") == SYNAP_OK);
    CHECK(synap_options_set(o, "wal.segment_bytes", "65537") == SYNAP_OK);
    CHECK(synap_options_set(o, "kv.shards", "64") == SYNAP_OK);
    CHECK(synap_options_set(o, "wal.segment_bytes", "64M") == SYNAP_OK);
  }

  /* Good values, with the suffixes and the boolean spellings. */
  EXPECT_OK(synap_options_set(o, "wal.segment_bytes", "1M"));
  CHECK(strcmp(opt(o, "wal.segment_bytes"), "1048576") == 0);
  EXPECT_OK(synap_options_set(o, "kv.max_key_bytes", "1M")); /* the limit itself */
  CHECK(strcmp(opt(o, "kv.max_key_bytes"), "1048576") == 0);
  EXPECT_OK(synap_options_set(o, "kv.maxmemory", "2K"));
  CHECK(strcmp(opt(o, "kv.maxmemory"), "2048") == 0);
  EXPECT_OK(synap_options_set(o, "kv.allow_flushall", "true"));
  CHECK(strcmp(opt(o, "kv.allow_flushall"), "true") == 0);
  EXPECT_OK(synap_options_set(o, "kv.maxmemory_policy", "volatile-ttl"));
  CHECK(strcmp(opt(o, "kv.maxmemory_policy"), "volatile-ttl") == 0);

  /* synap_options_get: NULL arguments, unknown names, truncation. */
  EXPECT_ERR(SYNAP_EINVAL, synap_options_get(NULL, "wal.fsync_mode", buf, sizeof buf, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_get(o, NULL, buf, sizeof buf, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_get(o, "wal.fsync_mode", buf, sizeof buf, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_get(o, "wal.fsync_mode", NULL, sizeof buf, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_get(o, "no.such", buf, sizeof buf, &len));
  memset(buf, 'x', sizeof buf);
  len = 0;
  EXPECT_OK(synap_options_get(o, "wal.fsync_mode", buf, 3, &len));
  CHECK(len == 6);                              /* "always": the full length */
  CHECK(memcmp(buf, "al", 3) == 0);             /* cap 3 = 2 bytes + the NUL */
  CHECK(buf[3] == 'x');                         /* nothing past cap */
  EXPECT_OK(synap_options_get(o, "wal.fsync_mode", buf, 7, &len));
  CHECK(len == 6 && strcmp(buf, "always") == 0); /* exactly fits */
  EXPECT_OK(synap_options_get(o, "wal.fsync_mode", buf, 1, &len));
  CHECK(len == 6 && buf[0] == '\0');

  /* Typed setters. */
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set_fsync_mode(NULL, SYNAP_FSYNC_NEVER));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set_fsync_mode(o, 3));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set_fsync_mode(o, -1));
  CHECK(strcmp(opt(o, "wal.fsync_mode"), "always") == 0);
  EXPECT_OK(synap_options_set_fsync_mode(o, SYNAP_FSYNC_PERIODIC));
  CHECK(strcmp(opt(o, "wal.fsync_mode"), "periodic") == 0);
  EXPECT_OK(synap_options_set_fsync_mode(o, SYNAP_FSYNC_NEVER));
  CHECK(strcmp(opt(o, "wal.fsync_mode"), "never") == 0);
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set_maxmemory(NULL, 1));
  EXPECT_OK(synap_options_set_maxmemory(o, UINT64_MAX));
  CHECK(strcmp(opt(o, "kv.maxmemory"), "18446744073709551615") == 0);
  EXPECT_OK(synap_options_set_maxmemory(o, 0));
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set_snapshot_interval(NULL, 1));
  EXPECT_OK(synap_options_set_snapshot_interval(o, 0));
  CHECK(strcmp(opt(o, "snapshot.interval_secs"), "0") == 0);
  EXPECT_ERR(SYNAP_EINVAL, synap_options_set_progress(NULL, on_progress, NULL));
  EXPECT_OK(synap_options_set_progress(o, on_progress, NULL));
  EXPECT_OK(synap_options_set_progress(o, NULL, NULL)); /* removes it */

  synap_options_destroy(o);
}

/* Opens `dir` with the given name=value pairs (NULL-terminated). */
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

static void test_open(const char* base) {
  synap_db* db = NULL;
  synap_db* db2 = NULL;
  char* dir = make_dir(base, "open");
  char* other = make_dir(base, "bad-options");

  EXPECT_ERR(SYNAP_EINVAL, synap_open(NULL, NULL, &db));
  EXPECT_ERR(SYNAP_EINVAL, synap_open(dir, NULL, NULL));

  /* Options each valid alone but not together, or valid at set but not for
   * the engine: synap_open answers SYNAP_EINVAL. */
  {
    const char* value_too_big[] = {"kv.max_value_bytes", "8M", NULL}; /* > 8M - 64K - 64 */
    const char* shards[] = {"kv.shards", "3", NULL};
    const char* segment[] = {"wal.segment_bytes", "65537", NULL};
    const char* batch[] = {"wal.segment_bytes", "64K", NULL}; /* cannot hold one 1 MiB batch */
    EXPECT_ERR(SYNAP_EINVAL, open_with(other, &db, value_too_big));
    CHECK(db == NULL);
    EXPECT_ERR(SYNAP_EINVAL, open_with(other, &db, shards));
    EXPECT_ERR(SYNAP_EINVAL, open_with(other, &db, segment));
    EXPECT_ERR(SYNAP_EINVAL, open_with(other, &db, batch));
    CHECK(db == NULL);
  }

  /* Defaults (opts NULL); a second handle on the same directory is refused. */
  {
    struct progress prog = {0, 0};
    synap_options* o = NULL;
    EXPECT_OK(synap_open(dir, NULL, &db));
    CHECK(db != NULL);
    if (db == NULL) return;
    EXPECT_OK(synap_set(db, "k", 1, "v", 1));
    EXPECT_ERR(SYNAP_ELOCKED, synap_open(dir, NULL, &db2));
    CHECK(db2 == NULL);
    /* The first handle is unharmed. */
    CHECK(strcmp(value_of(db, "k"), "v") == 0);
    EXPECT_OK(synap_close(db));
    db = NULL;

    /* Closed: the directory opens again, the write survived, and the
     * progress callback reported the end of the log replay. */
    CHECK(synap_options_create(&o) == SYNAP_OK);
    CHECK(synap_options_set_progress(o, on_progress, &prog) == SYNAP_OK);
    EXPECT_OK(synap_open(dir, o, &db2));
    synap_options_destroy(o); /* the handle copied what it needs */
    CHECK(db2 != NULL);
    CHECK(prog.calls >= 1 && prog.log_end);
    if (db2 != NULL) CHECK(strcmp(value_of(db2, "k"), "v") == 0);
    EXPECT_OK(synap_close(db2));
  }

  /* synap_close(NULL) is allowed and is a success (it clears the message). */
  EXPECT_OK(synap_close(NULL));

  remove_tree(dir);
  remove_tree(other);
  free(dir);
  free(other);
}

/* A key of n bytes ('k' repeated). */
static const char* long_key(size_t n) {
  static char buf[64];
  memset(buf, 'k', sizeof buf);
  return n < sizeof buf ? buf : NULL;
}

static void test_lifecycle_calls(synap_db* db) {
  char* json = NULL;
  size_t len = 0;
  EXPECT_ERR(SYNAP_EINVAL, synap_sync(NULL));
  EXPECT_OK(synap_sync(db));
  EXPECT_ERR(SYNAP_EINVAL, synap_snapshot(NULL));
  EXPECT_OK(synap_snapshot(db));
  EXPECT_ERR(SYNAP_EINVAL, synap_stats_json(NULL, &json, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_stats_json(db, NULL, &len));
  EXPECT_OK(synap_stats_json(db, &json, &len));
  CHECK(json != NULL && strlen(json) == len && json[0] == '{' && strstr(json, "\"kv\"") != NULL);
  synap_free(json);
  json = NULL;
  EXPECT_OK(synap_stats_json(db, &json, NULL)); /* len is optional */
  CHECK(json != NULL);
  synap_free(json);
}

static void test_reads(synap_db* db) {
  const char* k16 = long_key(16); /* at kv.max_key_bytes */
  const char* k17 = long_key(17); /* over it */
  void* val = NULL;
  size_t len = 0;
  uint64_t u = 0;
  int64_t ms = 0;
  char buf[32];

  EXPECT_OK(synap_set(db, "hello", 5, "hello world", 11));
  EXPECT_OK(synap_set(db, "empty", 5, NULL, 0)); /* NULL with length 0 is allowed */
  EXPECT_OK(synap_set(db, k16, 16, "x", 1));

  /* synap_get */
  EXPECT_ERR(SYNAP_EINVAL, synap_get(NULL, "hello", 5, &val, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_get(db, NULL, 5, &val, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_get(db, "hello", 5, NULL, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_get(db, "hello", 5, &val, NULL));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_get(db, k17, 17, &val, &len));
  CHECK(strstr(synap_last_error(), "kv.max_key_bytes") != NULL);
  val = &len, len = 99;
  EXPECT_RC(SYNAP_NOTFOUND, synap_get(db, "absent", 6, &val, &len));
  CHECK(val == NULL && len == 0);
  EXPECT_OK(synap_get(db, "hello", 5, &val, &len));
  CHECK(val != NULL && len == 11 && memcmp(val, "hello world", 11) == 0);
  synap_free(val);
  EXPECT_OK(synap_get(db, "empty", 5, &val, &len));
  CHECK(val != NULL && len == 0); /* non-NULL even for an empty value */
  synap_free(val);
  EXPECT_OK(synap_get(db, k16, 16, &val, &len));
  CHECK(val != NULL && len == 1);
  synap_free(val);
  EXPECT_RC(SYNAP_NOTFOUND, synap_get(db, NULL, 0, &val, &len)); /* the empty key */

  /* synap_get_into: the truncation contract. */
  EXPECT_ERR(SYNAP_EINVAL, synap_get_into(NULL, "hello", 5, buf, sizeof buf, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_get_into(db, NULL, 5, buf, sizeof buf, &len));
  EXPECT_ERR(SYNAP_EINVAL, synap_get_into(db, "hello", 5, buf, sizeof buf, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_get_into(db, "hello", 5, NULL, 4, &len));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_get_into(db, k17, 17, buf, sizeof buf, &len));
  memset(buf, '#', sizeof buf);
  EXPECT_OK(synap_get_into(db, "hello", 5, buf, 5, &len));
  CHECK(len == 11);                          /* the full length: truncated iff len > cap */
  CHECK(memcmp(buf, "hello", 5) == 0);       /* cap bytes copied ... */
  CHECK(buf[5] == '#');                      /* ... and not one more */
  memset(buf, '#', sizeof buf);
  EXPECT_OK(synap_get_into(db, "hello", 5, buf, sizeof buf, &len));
  CHECK(len == 11 && memcmp(buf, "hello world", 11) == 0 && buf[11] == '#'); /* no NUL added */
  len = 0;
  EXPECT_OK(synap_get_into(db, "hello", 5, NULL, 0, &len)); /* learn the length */
  CHECK(len == 11);
  memset(buf, '#', sizeof buf);
  EXPECT_OK(synap_get_into(db, "hello", 5, buf, 0, &len));
  CHECK(len == 11 && buf[0] == '#');
  EXPECT_RC(SYNAP_NOTFOUND, synap_get_into(db, "absent", 6, buf, sizeof buf, &len));

  /* synap_mget */
  {
    const void* keys[3] = {"hello", "absent", "empty"};
    size_t klens[3] = {5, 6, 5};
    const void* bad_keys[3] = {"hello", NULL, "empty"};
    const void* big_keys[3] = {"hello", k17, "empty"};
    size_t big_klens[3] = {5, 17, 5};
    void* vals[3];
    size_t lens[3];
    int i;
    EXPECT_ERR(SYNAP_EINVAL, synap_mget(NULL, 3, keys, klens, vals, lens));
    EXPECT_ERR(SYNAP_EINVAL, synap_mget(db, 3, NULL, klens, vals, lens));
    EXPECT_ERR(SYNAP_EINVAL, synap_mget(db, 3, keys, NULL, vals, lens));
    EXPECT_ERR(SYNAP_EINVAL, synap_mget(db, 3, keys, klens, NULL, lens));
    EXPECT_ERR(SYNAP_EINVAL, synap_mget(db, 3, keys, klens, vals, NULL));
    for (i = 0; i < 3; i++) vals[i] = &lens[i];
    EXPECT_ERR(SYNAP_EINVAL, synap_mget(db, 3, bad_keys, klens, vals, lens));
    CHECK(vals[0] == NULL && vals[1] == NULL && vals[2] == NULL); /* an error: every vals[i] NULL */
    for (i = 0; i < 3; i++) vals[i] = &lens[i];
    EXPECT_ERR(SYNAP_ETOOLARGE, synap_mget(db, 3, big_keys, big_klens, vals, lens));
    CHECK(vals[0] == NULL && vals[1] == NULL && vals[2] == NULL);
    EXPECT_OK(synap_mget(db, 3, keys, klens, vals, lens));
    CHECK(vals[0] != NULL && lens[0] == 11 && memcmp(vals[0], "hello world", 11) == 0);
    CHECK(vals[1] == NULL);
    CHECK(vals[2] != NULL && lens[2] == 0);
    for (i = 0; i < 3; i++) synap_free(vals[i]);
    EXPECT_OK(synap_mget(db, 0, NULL, NULL, NULL, NULL));
  }

  /* synap_exists */
  {
    const void* keys[4] = {"hello", "absent", "hello", "empty"};
    size_t klens[4] = {5, 6, 5, 5};
    const void* bad_keys[2] = {"hello", NULL};
    const void* big_keys[2] = {"hello", k17};
    size_t big_klens[2] = {5, 17};
    EXPECT_ERR(SYNAP_EINVAL, synap_exists(NULL, 4, keys, klens, &u));
    EXPECT_ERR(SYNAP_EINVAL, synap_exists(db, 4, NULL, klens, &u));
    EXPECT_ERR(SYNAP_EINVAL, synap_exists(db, 4, keys, NULL, &u));
    EXPECT_ERR(SYNAP_EINVAL, synap_exists(db, 4, keys, klens, NULL));
    EXPECT_ERR(SYNAP_EINVAL, synap_exists(db, 2, bad_keys, klens, &u));
    EXPECT_ERR(SYNAP_ETOOLARGE, synap_exists(db, 2, big_keys, big_klens, &u));
    EXPECT_OK(synap_exists(db, 4, keys, klens, &u));
    CHECK(u == 3); /* a key named twice counts twice */
  }

  /* synap_strlen */
  EXPECT_ERR(SYNAP_EINVAL, synap_strlen(NULL, "hello", 5, &u));
  EXPECT_ERR(SYNAP_EINVAL, synap_strlen(db, NULL, 5, &u));
  EXPECT_ERR(SYNAP_EINVAL, synap_strlen(db, "hello", 5, NULL));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_strlen(db, k17, 17, &u));
  EXPECT_OK(synap_strlen(db, "hello", 5, &u));
  CHECK(u == 11);
  u = 99;
  EXPECT_RC(SYNAP_NOTFOUND, synap_strlen(db, "absent", 6, &u));
  CHECK(u == 0);

  /* synap_pttl */
  EXPECT_ERR(SYNAP_EINVAL, synap_pttl(NULL, "hello", 5, &ms));
  EXPECT_ERR(SYNAP_EINVAL, synap_pttl(db, NULL, 5, &ms));
  EXPECT_ERR(SYNAP_EINVAL, synap_pttl(db, "hello", 5, NULL));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_pttl(db, k17, 17, &ms));
  EXPECT_OK(synap_pttl(db, "hello", 5, &ms));
  CHECK(ms == -1);
  EXPECT_RC(SYNAP_NOTFOUND, synap_pttl(db, "absent", 6, &ms));

  /* synap_dbsize */
  EXPECT_ERR(SYNAP_EINVAL, synap_dbsize(NULL, &u));
  EXPECT_ERR(SYNAP_EINVAL, synap_dbsize(db, NULL));
  EXPECT_OK(synap_dbsize(db, &u));
  CHECK(u >= 3);

  /* synap_scan and synap_keys */
  {
    struct key_count c;
    uint64_t cursor = 0, next = 1;
    int i, steps = 0;
    char k[4] = "s:0";
    for (i = 0; i < 8; i++) {
      k[2] = (char)('0' + i);
      CHECK(synap_set(db, k, 3, "v", 1) == SYNAP_OK);
    }
    EXPECT_ERR(SYNAP_EINVAL, synap_scan(NULL, 0, "*", 1, 0, ignore_key, NULL, &next));
    EXPECT_ERR(SYNAP_EINVAL, synap_scan(db, 0, "*", 1, 0, NULL, NULL, &next));
    EXPECT_ERR(SYNAP_EINVAL, synap_scan(db, 0, "*", 1, 0, ignore_key, NULL, NULL));
    EXPECT_ERR(SYNAP_EINVAL, synap_scan(db, 0, NULL, 3, 0, ignore_key, NULL, &next));
    memset(&c, 0, sizeof c);
    do {
      EXPECT_OK(synap_scan(db, cursor, "s:[0-7]", 7, 3, count_key, &c, &next));
      cursor = next;
    } while (cursor != 0 && ++steps < 100000);
    CHECK(cursor == 0);
    for (i = 0; i < 8; i++) CHECK(c.seen[i] >= 1); /* each at least once */
    CHECK(c.others == 0);                            /* and only those */
    memset(&c, 0, sizeof c);
    EXPECT_OK(synap_scan(db, 0, NULL, 0, 1000000, count_key, &c, &next)); /* NULL pattern: all */
    CHECK(next == 0 && c.calls >= 11);

    EXPECT_ERR(SYNAP_EINVAL, synap_keys(NULL, "*", 1, ignore_key, NULL));
    EXPECT_ERR(SYNAP_EINVAL, synap_keys(db, "*", 1, NULL, NULL));
    EXPECT_ERR(SYNAP_EINVAL, synap_keys(db, NULL, 1, ignore_key, NULL));
    memset(&c, 0, sizeof c);
    EXPECT_OK(synap_keys(db, "s:?", 3, count_key, &c));
    for (i = 0; i < 8; i++) CHECK(c.seen[i] == 1);
    CHECK(c.others == 0 && c.calls == 8);
    memset(&c, 0, sizeof c);
    EXPECT_OK(synap_keys(db, "s:[^0-5]", 8, count_key, &c));
    CHECK(c.calls == 2 && c.seen[6] == 1 && c.seen[7] == 1);
  }
}

static void test_writes(synap_db* db) {
  const char* k16 = long_key(16);
  const char* k17 = long_key(17);
  char v32[32], v33[33];
  void* old = NULL;
  size_t old_len = 0;
  uint64_t u = 0;
  int64_t r = 0, ms = 0;
  memset(v32, 'v', sizeof v32);
  memset(v33, 'v', sizeof v33);

  /* synap_set */
  EXPECT_ERR(SYNAP_EINVAL, synap_set(NULL, "a", 1, "1", 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_set(db, NULL, 1, "1", 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_set(db, "a", 1, NULL, 1));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_set(db, k17, 17, "1", 1));
  CHECK(strstr(synap_last_error(), "kv.max_key_bytes") != NULL);
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_set(db, "a", 1, v33, 33));
  CHECK(strstr(synap_last_error(), "kv.max_value_bytes") != NULL);
  CHECK(strcmp(value_of(db, "a"), "<absent>") == 0);
  EXPECT_OK(synap_set(db, k16, 16, v32, 32)); /* both at their limits */
  EXPECT_OK(synap_set(db, "a", 1, "1", 1));

  /* synap_set_ex: flag combinations */
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(NULL, "a", 1, "2", 1, 0, 0, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, NULL, 1, "2", 1, 0, 0, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, NULL, 1, 0, 0, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_NX | SYNAP_SET_XX, 0, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_EX | SYNAP_SET_PX, 10, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_EXAT | SYNAP_SET_PXAT, 10, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_EX | SYNAP_SET_PXAT, 10, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_KEEPTTL | SYNAP_SET_EX, 10, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_KEEPTTL | SYNAP_SET_PXAT, 10, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, 0x100u, 0, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, 0x80000000u, 0, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_EX, 0, NULL, NULL));
  EXPECT_MSG("invalid expire time");
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_EX, -1, NULL, NULL));
  EXPECT_MSG("invalid expire time");
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_PX, 0, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_PX, INT64_MIN, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_GET, 0, NULL, &old_len));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_GET, 0, &old, NULL));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_set_ex(db, k17, 17, "2", 1, 0, 0, NULL, NULL));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_set_ex(db, "a", 1, v33, 33, 0, 0, NULL, NULL));
  CHECK(strcmp(value_of(db, "a"), "1") == 0); /* none of them wrote */
  EXPECT_OK(synap_pttl(db, "a", 1, &ms));
  CHECK(ms == -1);

  /* NX / XX answer NOTSET, not an error; GET returns the old value. */
  EXPECT_RC(SYNAP_NOTSET, synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_NX, 0, NULL, NULL));
  EXPECT_RC(SYNAP_NOTSET, synap_set_ex(db, "nx", 2, "2", 1, SYNAP_SET_XX, 0, NULL, NULL));
  CHECK(strcmp(value_of(db, "a"), "1") == 0);
  CHECK(strcmp(value_of(db, "nx"), "<absent>") == 0);
  EXPECT_OK(synap_set_ex(db, "a", 1, "2", 1, SYNAP_SET_XX | SYNAP_SET_GET, 0, &old, &old_len));
  CHECK(old != NULL && old_len == 1 && memcmp(old, "1", 1) == 0);
  synap_free(old);
  old = &old_len;
  EXPECT_OK(synap_set_ex(db, "nx", 2, "n", 1, SYNAP_SET_NX | SYNAP_SET_GET, 0, &old, &old_len));
  CHECK(old == NULL); /* there was none */
  EXPECT_OK(synap_set_ex(db, "a", 1, "3", 1, SYNAP_SET_PX, 100000, NULL, NULL));
  EXPECT_OK(synap_pttl(db, "a", 1, &ms));
  CHECK(ms > 0 && ms <= 100000);
  EXPECT_OK(synap_set_ex(db, "a", 1, "4", 1, SYNAP_SET_KEEPTTL, 0, NULL, NULL));
  EXPECT_OK(synap_pttl(db, "a", 1, &ms));
  CHECK(ms > 0 && ms <= 100000);
  EXPECT_OK(synap_set(db, "a", 1, "5", 1)); /* plain SET removes the expiry */
  EXPECT_OK(synap_pttl(db, "a", 1, &ms));
  CHECK(ms == -1);
  /* An absolute time in the past writes the key already expired. */
  EXPECT_OK(synap_set_ex(db, "a", 1, "6", 1, SYNAP_SET_EXAT, 1, NULL, NULL));
  CHECK(strcmp(value_of(db, "a"), "<absent>") == 0);
  EXPECT_OK(synap_set_ex(db, "a", 1, "7", 1, SYNAP_SET_PXAT, 1000, NULL, NULL));
  CHECK(strcmp(value_of(db, "a"), "<absent>") == 0);
  /* An absolute expiry <= 0 is refused like a relative one, as in Redis. */
  CHECK(synap_set_ex(db, "a", 1, "8", 1, SYNAP_SET_PXAT, 0, NULL, NULL) == SYNAP_EINVAL);
  EXPECT_OK(synap_set(db, "a", 1, "1", 1));

  /* synap_getdel */
  EXPECT_ERR(SYNAP_EINVAL, synap_getdel(NULL, "a", 1, &old, &old_len));
  EXPECT_ERR(SYNAP_EINVAL, synap_getdel(db, NULL, 1, &old, &old_len));
  EXPECT_ERR(SYNAP_EINVAL, synap_getdel(db, "a", 1, NULL, &old_len));
  EXPECT_ERR(SYNAP_EINVAL, synap_getdel(db, "a", 1, &old, NULL));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_getdel(db, k17, 17, &old, &old_len));
  CHECK(strcmp(value_of(db, "a"), "1") == 0);
  EXPECT_OK(synap_getdel(db, "a", 1, &old, &old_len));
  CHECK(old != NULL && old_len == 1 && memcmp(old, "1", 1) == 0);
  synap_free(old);
  old = &old_len;
  EXPECT_RC(SYNAP_NOTFOUND, synap_getdel(db, "a", 1, &old, &old_len));
  CHECK(old == NULL);

  /* synap_del */
  {
    const void* keys[3] = {"d1", "d2", "d1"};
    size_t klens[3] = {2, 2, 2};
    const void* bad_keys[2] = {"d1", NULL};
    const void* big_keys[2] = {"d1", k17};
    size_t big_klens[2] = {2, 17};
    CHECK(synap_set(db, "d1", 2, "x", 1) == SYNAP_OK);
    EXPECT_ERR(SYNAP_EINVAL, synap_del(NULL, 3, keys, klens, &u));
    EXPECT_ERR(SYNAP_EINVAL, synap_del(db, 3, NULL, klens, &u));
    EXPECT_ERR(SYNAP_EINVAL, synap_del(db, 3, keys, NULL, &u));
    EXPECT_ERR(SYNAP_EINVAL, synap_del(db, 2, bad_keys, klens, &u));
    EXPECT_ERR(SYNAP_ETOOLARGE, synap_del(db, 2, big_keys, big_klens, &u));
    CHECK(strcmp(value_of(db, "d1"), "x") == 0); /* all or nothing */
    EXPECT_OK(synap_del(db, 3, keys, klens, &u));
    CHECK(u == 1);
    CHECK(strcmp(value_of(db, "d1"), "<absent>") == 0);
    EXPECT_OK(synap_del(db, 3, keys, klens, NULL)); /* deleted may be NULL */
  }

  /* synap_incrby */
  EXPECT_ERR(SYNAP_EINVAL, synap_incrby(NULL, "n", 1, 1, &r));
  EXPECT_ERR(SYNAP_EINVAL, synap_incrby(db, NULL, 1, 1, &r));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_incrby(db, k17, 17, 1, &r));
  EXPECT_OK(synap_incrby(db, "n", 1, 5, &r)); /* absent = 0 */
  CHECK(r == 5);
  EXPECT_OK(synap_incrby(db, "n", 1, -7, NULL)); /* result may be NULL */
  CHECK(strcmp(value_of(db, "n"), "-2") == 0);
  {
    static const char* not_ints[] = {"abc", "", " 1", "1 ", "+1", "01", "-0", "1.5", "0x10",
                                     "9223372036854775808", "-9223372036854775809", "123456789012345678901"};
    size_t i;
    for (i = 0; i < sizeof not_ints / sizeof not_ints[0]; i++) {
      CHECK(synap_set(db, "s", 1, not_ints[i], strlen(not_ints[i])) == SYNAP_OK);
      r = 12345;
      EXPECT_ERR(SYNAP_EINVAL, synap_incrby(db, "s", 1, 1, &r));
      EXPECT_MSG("value is not an integer or out of range");
      CHECK(strcmp(value_of(db, "s"), not_ints[i]) == 0); /* unchanged */
    }
    /* Binary bytes are not an integer either. */
    CHECK(synap_set(db, "s", 1, "1\0", 2) == SYNAP_OK);
    EXPECT_ERR(SYNAP_EINVAL, synap_incrby(db, "s", 1, 1, &r));
  }
  CHECK(synap_set(db, "max", 3, "9223372036854775807", 19) == SYNAP_OK);
  EXPECT_ERR(SYNAP_ERANGE, synap_incrby(db, "max", 3, 1, &r));
  EXPECT_MSG("increment or decrement would overflow");
  CHECK(strcmp(value_of(db, "max"), "9223372036854775807") == 0);
  CHECK(synap_set(db, "min", 3, "-9223372036854775808", 20) == SYNAP_OK);
  EXPECT_ERR(SYNAP_ERANGE, synap_incrby(db, "min", 3, -1, &r));
  CHECK(strcmp(value_of(db, "min"), "-9223372036854775808") == 0);
  EXPECT_ERR(SYNAP_ERANGE, synap_incrby(db, "min", 3, INT64_MIN, &r));
  EXPECT_OK(synap_incrby(db, "min", 3, INT64_MAX, &r));
  CHECK(r == -1);
  /* The expiry is kept. */
  EXPECT_OK(synap_set_ex(db, "n", 1, "10", 2, SYNAP_SET_EX, 1000, NULL, NULL));
  EXPECT_OK(synap_incrby(db, "n", 1, 1, &r));
  CHECK(r == 11);
  EXPECT_OK(synap_pttl(db, "n", 1, &ms));
  CHECK(ms > 0);

  /* synap_append */
  EXPECT_ERR(SYNAP_EINVAL, synap_append(NULL, "ap", 2, "x", 1, &u));
  EXPECT_ERR(SYNAP_EINVAL, synap_append(db, NULL, 2, "x", 1, &u));
  EXPECT_ERR(SYNAP_EINVAL, synap_append(db, "ap", 2, NULL, 1, &u));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_append(db, k17, 17, "x", 1, &u));
  EXPECT_OK(synap_append(db, "ap", 2, v32, 30, &u));
  CHECK(u == 30);
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_append(db, "ap", 2, "xyz", 3, &u)); /* 33 > kv.max_value_bytes */
  EXPECT_OK(synap_strlen(db, "ap", 2, &u));
  CHECK(u == 30);
  EXPECT_OK(synap_append(db, "ap", 2, "xy", 2, NULL));
  EXPECT_OK(synap_strlen(db, "ap", 2, &u));
  CHECK(u == 32);

  /* synap_mset */
  {
    const void* keys[2] = {"m1", "m2"};
    size_t klens[2] = {2, 2};
    const void* vals[2] = {"1", "2"};
    size_t vlens[2] = {1, 1};
    const void* null_keys[2] = {"m1", NULL};
    const void* null_vals[2] = {"1", NULL};
    const void* big_keys[2] = {"m1", k17};
    size_t big_klens[2] = {2, 17};
    const void* big_vals[2] = {"1", v33};
    size_t big_vlens[2] = {1, 33};
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(NULL, 2, keys, klens, vals, vlens, 0));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(db, 2, NULL, klens, vals, vlens, 0));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(db, 2, keys, NULL, vals, vlens, 0));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(db, 2, keys, klens, NULL, vlens, 0));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(db, 2, keys, klens, vals, NULL, 0));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(db, 2, null_keys, klens, vals, vlens, 0));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(db, 2, keys, klens, null_vals, vlens, 0));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(db, 2, keys, klens, vals, vlens, SYNAP_SET_XX));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(db, 2, keys, klens, vals, vlens, SYNAP_SET_EX));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(db, 2, keys, klens, vals, vlens, SYNAP_SET_NX | SYNAP_SET_GET));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset(db, 2, keys, klens, vals, vlens, 0x100u));
    EXPECT_ERR(SYNAP_ETOOLARGE, synap_mset(db, 2, big_keys, big_klens, vals, vlens, 0));
    EXPECT_ERR(SYNAP_ETOOLARGE, synap_mset(db, 2, keys, klens, big_vals, big_vlens, 0));
    CHECK(strcmp(value_of(db, "m1"), "<absent>") == 0); /* none written */
    EXPECT_OK(synap_mset(db, 2, keys, klens, vals, vlens, 0));
    CHECK(strcmp(value_of(db, "m1"), "1") == 0 && strcmp(value_of(db, "m2"), "2") == 0);
    {
      const void* nx_keys[2] = {"m3", "m1"};
      EXPECT_RC(SYNAP_NOTSET, synap_mset(db, 2, nx_keys, klens, vals, vlens, SYNAP_SET_NX));
      CHECK(strcmp(value_of(db, "m3"), "<absent>") == 0);
    }
  }
  /* One log record over wal.max_record_bytes (4096 here). */
  {
    enum { N = 200 };
    static char kbuf[N][8];
    const void* keys[N];
    size_t klens[N];
    const void* vals[N];
    size_t vlens[N];
    int i;
    for (i = 0; i < N; i++) {
      snprintf(kbuf[i], sizeof kbuf[i], "r%d", i);
      keys[i] = kbuf[i], klens[i] = strlen(kbuf[i]);
      vals[i] = v32, vlens[i] = 32;
    }
    EXPECT_ERR(SYNAP_ETOOLARGE, synap_mset(db, N, keys, klens, vals, vlens, 0));
    CHECK(strstr(synap_last_error(), "wal.max_record_bytes") != NULL);
    CHECK(strcmp(value_of(db, "r0"), "<absent>") == 0);
  }

  /* synap_expire */
  CHECK(synap_set(db, "e", 1, "v", 1) == SYNAP_OK);
  EXPECT_ERR(SYNAP_EINVAL, synap_expire(NULL, "e", 1, 10, SYNAP_EXPIRE_SECONDS));
  EXPECT_ERR(SYNAP_EINVAL, synap_expire(db, NULL, 1, 10, SYNAP_EXPIRE_SECONDS));
  EXPECT_ERR(SYNAP_EINVAL, synap_expire(db, "e", 1, 10, 0)); /* no unit */
  EXPECT_ERR(SYNAP_EINVAL, synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_NX)); /* a condition, no unit */
  EXPECT_ERR(SYNAP_EINVAL, synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_SECONDS | SYNAP_EXPIRE_MILLIS));
  EXPECT_ERR(SYNAP_EINVAL, synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_AT_SECONDS | SYNAP_EXPIRE_AT_MILLIS));
  EXPECT_ERR(SYNAP_EINVAL, synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_SECONDS | SYNAP_EXPIRE_NX | SYNAP_EXPIRE_XX));
  EXPECT_ERR(SYNAP_EINVAL, synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_SECONDS | SYNAP_EXPIRE_GT | SYNAP_EXPIRE_LT));
  EXPECT_ERR(SYNAP_EINVAL, synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_MILLIS | SYNAP_EXPIRE_NX | SYNAP_EXPIRE_GT));
  EXPECT_ERR(SYNAP_EINVAL, synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_SECONDS | 0x100u));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_expire(db, k17, 17, 10, SYNAP_EXPIRE_SECONDS));
  EXPECT_OK(synap_pttl(db, "e", 1, &ms));
  CHECK(ms == -1); /* none of them set an expiry */
  EXPECT_RC(SYNAP_NOTFOUND, synap_expire(db, "absent", 6, 10, SYNAP_EXPIRE_SECONDS));
  EXPECT_RC(SYNAP_NOTSET, synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_SECONDS | SYNAP_EXPIRE_XX));
  EXPECT_OK(synap_expire(db, "e", 1, 100, SYNAP_EXPIRE_SECONDS | SYNAP_EXPIRE_NX));
  EXPECT_RC(SYNAP_NOTSET, synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_SECONDS | SYNAP_EXPIRE_NX));
  EXPECT_RC(SYNAP_NOTSET, synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_SECONDS | SYNAP_EXPIRE_GT));
  EXPECT_OK(synap_expire(db, "e", 1, 10, SYNAP_EXPIRE_SECONDS | SYNAP_EXPIRE_LT));
  EXPECT_OK(synap_pttl(db, "e", 1, &ms));
  CHECK(ms > 0 && ms <= 10000);

  /* synap_persist */
  EXPECT_ERR(SYNAP_EINVAL, synap_persist(NULL, "e", 1));
  EXPECT_ERR(SYNAP_EINVAL, synap_persist(db, NULL, 1));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_persist(db, k17, 17));
  EXPECT_OK(synap_persist(db, "e", 1));
  EXPECT_RC(SYNAP_NOTSET, synap_persist(db, "e", 1));
  EXPECT_RC(SYNAP_NOTFOUND, synap_persist(db, "absent", 6));
  /* A time in the past deletes the key. */
  EXPECT_OK(synap_expire(db, "e", 1, -1, SYNAP_EXPIRE_SECONDS));
  CHECK(strcmp(value_of(db, "e"), "<absent>") == 0);

  /* synap_flushall: disabled by default. */
  EXPECT_ERR(SYNAP_EINVAL, synap_flushall(NULL));
  EXPECT_ERR(SYNAP_EPERM, synap_flushall(db));
  CHECK(strstr(synap_last_error(), "kv.allow_flushall") != NULL);
  CHECK(strcmp(value_of(db, "m1"), "1") == 0);
}

static void test_async(synap_db* db) {
  const char* k17 = long_key(17);
  char v33[33];
  synap_ticket t = 0, t2 = 0, acked = 0;
  uint64_t u = 0;
  int64_t r = 0;
  int fd = -1;
  struct acked_calls ac = {0, 0, 0};
  memset(v33, 'v', sizeof v33);

  /* synap_set_async */
  EXPECT_ERR(SYNAP_EINVAL, synap_set_async(NULL, "as", 2, "1", 1, 0, 0, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_async(db, NULL, 2, "1", 1, 0, 0, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_async(db, "as", 2, NULL, 1, 0, 0, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_async(db, "as", 2, "1", 1, 0, 0, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_async(db, "as", 2, "1", 1, SYNAP_SET_NX | SYNAP_SET_XX, 0, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_async(db, "as", 2, "1", 1, SYNAP_SET_EX | SYNAP_SET_PX, 5, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_async(db, "as", 2, "1", 1, SYNAP_SET_KEEPTTL | SYNAP_SET_EX, 5, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_async(db, "as", 2, "1", 1, SYNAP_SET_EX, 0, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_async(db, "as", 2, "1", 1, 0x100u, 0, &t));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_set_async(db, k17, 17, "1", 1, 0, 0, &t));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_set_async(db, "as", 2, v33, 33, 0, 0, &t));
  EXPECT_OK(synap_set_async(db, "as", 2, "1", 1, 0, 0, &t));
  CHECK(t > 0);
  EXPECT_OK(synap_wait(db, t));
  CHECK(strcmp(value_of(db, "as"), "1") == 0);
  EXPECT_RC(SYNAP_NOTSET, synap_set_async(db, "as", 2, "2", 1, SYNAP_SET_NX, 0, &t2));
  EXPECT_OK(synap_wait(db, t2));

  /* synap_del_async */
  {
    const void* keys[1] = {"as"};
    size_t klens[1] = {2};
    const void* big_keys[1] = {k17};
    size_t big_klens[1] = {17};
    const void* null_keys[1] = {NULL};
    EXPECT_ERR(SYNAP_EINVAL, synap_del_async(NULL, 1, keys, klens, &u, &t));
    EXPECT_ERR(SYNAP_EINVAL, synap_del_async(db, 1, NULL, klens, &u, &t));
    EXPECT_ERR(SYNAP_EINVAL, synap_del_async(db, 1, keys, NULL, &u, &t));
    EXPECT_ERR(SYNAP_EINVAL, synap_del_async(db, 1, null_keys, klens, &u, &t));
    EXPECT_ERR(SYNAP_ETOOLARGE, synap_del_async(db, 1, big_keys, big_klens, &u, &t));
    {
      /* A NULL ticket is a NULL out-pointer (EINVAL, as set_async and
       * mset_async answer). */
      int rc = synap_del_async(db, 1, keys, klens, &u, NULL);
      CHECK(rc == SYNAP_EINVAL);
      CHECK(synap_set(db, "as", 2, "1", 1) == SYNAP_OK);
    }
    EXPECT_OK(synap_del_async(db, 1, keys, klens, &u, &t));
    CHECK(u == 1 && t > 0);
    EXPECT_OK(synap_wait(db, t));
    CHECK(strcmp(value_of(db, "as"), "<absent>") == 0);
  }

  /* synap_incrby_async */
  EXPECT_ERR(SYNAP_EINVAL, synap_incrby_async(NULL, "ai", 2, 1, &r, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_incrby_async(db, NULL, 2, 1, &r, &t));
  EXPECT_ERR(SYNAP_ETOOLARGE, synap_incrby_async(db, k17, 17, 1, &r, &t));
  {
    int rc = synap_incrby_async(db, "ai", 2, 1, &r, NULL);
    CHECK(rc == SYNAP_EINVAL);
    CHECK(synap_set(db, "ai", 2, "0", 1) == SYNAP_OK);
  }
  CHECK(synap_set(db, "ai", 2, "x", 1) == SYNAP_OK);
  EXPECT_ERR(SYNAP_EINVAL, synap_incrby_async(db, "ai", 2, 1, &r, &t));
  CHECK(synap_set(db, "ai", 2, "9223372036854775807", 19) == SYNAP_OK);
  EXPECT_ERR(SYNAP_ERANGE, synap_incrby_async(db, "ai", 2, 1, &r, &t));
  CHECK(synap_set(db, "ai", 2, "40", 2) == SYNAP_OK);
  EXPECT_OK(synap_incrby_async(db, "ai", 2, 2, &r, &t));
  CHECK(r == 42 && t > 0);
  EXPECT_OK(synap_wait(db, t));
  CHECK(strcmp(value_of(db, "ai"), "42") == 0);

  /* synap_mset_async */
  {
    const void* keys[2] = {"am1", "am2"};
    size_t klens[2] = {3, 3};
    const void* vals[2] = {"1", "2"};
    size_t vlens[2] = {1, 1};
    EXPECT_ERR(SYNAP_EINVAL, synap_mset_async(NULL, 2, keys, klens, vals, vlens, 0, &t));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset_async(db, 2, NULL, klens, vals, vlens, 0, &t));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset_async(db, 2, keys, klens, NULL, vlens, 0, &t));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset_async(db, 2, keys, klens, vals, vlens, 0, NULL));
    EXPECT_ERR(SYNAP_EINVAL, synap_mset_async(db, 2, keys, klens, vals, vlens, SYNAP_SET_XX, &t));
    EXPECT_OK(synap_mset_async(db, 2, keys, klens, vals, vlens, 0, &t));
    EXPECT_OK(synap_wait(db, t));
    CHECK(strcmp(value_of(db, "am2"), "2") == 0);
  }

  /* synap_acked, synap_wait, synap_event_fd, synap_on_acked */
  EXPECT_ERR(SYNAP_EINVAL, synap_acked(NULL, &acked));
  EXPECT_ERR(SYNAP_EINVAL, synap_acked(db, NULL));
  EXPECT_OK(synap_acked(db, &acked));
  CHECK(acked >= t);
  EXPECT_ERR(SYNAP_EINVAL, synap_wait(NULL, t));
  EXPECT_ERR(SYNAP_EINVAL, synap_wait(db, UINT64_MAX)); /* never handed out */
  EXPECT_ERR(SYNAP_EINVAL, synap_wait(db, acked + 1000000));
  EXPECT_OK(synap_wait(db, 0)); /* nothing to wait for */
  EXPECT_OK(synap_wait(db, t)); /* already acknowledged */
  EXPECT_ERR(SYNAP_EINVAL, synap_event_fd(NULL, &fd));
  EXPECT_ERR(SYNAP_EINVAL, synap_event_fd(db, NULL));
  EXPECT_OK(synap_event_fd(db, &fd));
  CHECK(fd >= 0);
  EXPECT_ERR(SYNAP_EINVAL, synap_on_acked(NULL, t, on_acked, &ac));
  EXPECT_ERR(SYNAP_EINVAL, synap_on_acked(db, t, NULL, &ac));
  EXPECT_ERR(SYNAP_EINVAL, synap_on_acked(db, UINT64_MAX, on_acked, &ac));
  CHECK(ac.calls == 0);
  EXPECT_OK(synap_on_acked(db, t, on_acked, &ac)); /* already known: runs at once, here */
  CHECK(ac.calls == 1 && ac.ticket == t && ac.result == SYNAP_OK);
}

static void test_flushall_allowed(const char* base) {
  synap_db* db = NULL;
  char* dir = make_dir(base, "flushall");
  const char* allow[] = {"kv.allow_flushall", "true", "wal.fsync_mode", "never", NULL};
  uint64_t n = 99;
  EXPECT_OK(open_with(dir, &db, allow));
  if (db != NULL) {
    CHECK(synap_set(db, "a", 1, "1", 1) == SYNAP_OK);
    EXPECT_OK(synap_flushall(db));
    EXPECT_OK(synap_dbsize(db, &n));
    CHECK(n == 0);
    EXPECT_OK(synap_close(db));
  }
  remove_tree(dir);
  free(dir);
}

/* Limits the header's table allows at their edges. */
static void test_edge_options(const char* base) {
  /* kv.shards = 1 is in the documented range 1..4096. The library computes
   * a shard index as hash >> (64 - log2(shards)), a shift by 64 when there
   * is one shard: run it in a child process, so a crash there is reported
   * instead of ending this test. */
  {
    char* dir = make_dir(base, "one-shard");
    pid_t pid;
    int status = 0;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
      const char* one[] = {"kv.shards", "1", "wal.fsync_mode", "never", NULL};
      synap_db* db = NULL;
      int ok = open_with(dir, &db, one) == SYNAP_OK && synap_set(db, "a", 1, "1", 1) == SYNAP_OK &&
               strcmp(value_of(db, "a"), "1") == 0 && synap_close(db) == SYNAP_OK;
      _exit(ok ? 0 : 1);
    }
    CHECK(pid > 0);
    if (pid > 0) {
      CHECK(waitpid(pid, &status, 0) == pid);
      CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* kv.shards=1 once shifted by 64 and crashed */
      if (WIFSIGNALED(status)) fprintf(stderr, "  (the child died of signal %d)\n", WTERMSIG(status));
    }
    remove_tree(dir);
    free(dir);
  }

  /* kv.max_value_bytes holds for every write, INCRBY's result included. */
  {
    char* dir = make_dir(base, "tiny-values");
    const char* tiny[] = {"kv.max_value_bytes", "2", "wal.fsync_mode", "never", NULL};
    synap_db* db = NULL;
    int64_t r = 0;
    EXPECT_OK(open_with(dir, &db, tiny));
    if (db != NULL) {
      EXPECT_ERR(SYNAP_ETOOLARGE, synap_set(db, "n", 1, "100", 3));
      EXPECT_OK(synap_set(db, "n", 1, "99", 2));
      {
        int rc = synap_incrby(db, "n", 1, 1, &r);
        CHECK(rc == SYNAP_ETOOLARGE); /* "100" would pass kv.max_value_bytes=2, which SET refuses */
      }
      EXPECT_OK(synap_close(db));
    }
    remove_tree(dir);
    free(dir);
  }
}

int main(void) {
  const char* base = getenv("SYNAP_TEST_TMPDIR");
  char* dir;
  synap_db* db = NULL;
  if (base == NULL || base[0] == '\0') base = "/tmp";
  mkdir(base, 0755); /* meson's tmp dir may not exist yet */

  test_edge_options(base); /* first: it forks, best before any thread exists */
  test_versions_and_codes();
  test_options();
  test_open(base);
  test_flushall_allowed(base);

  dir = make_dir(base, "bad-input");
  {
    const char* small[] = {"kv.max_key_bytes", "16", "kv.max_value_bytes", "32", "wal.max_record_bytes", "4096",
                           "wal.fsync_mode", "never", NULL};
    EXPECT_OK(open_with(dir, &db, small));
  }
  if (db == NULL) {
    fprintf(stderr, "cannot open %s: %s\n", dir, synap_last_error());
    return 1;
  }
  test_lifecycle_calls(db);
  test_reads(db);
  test_writes(db);
  test_async(db);
  EXPECT_OK(synap_close(db));

  if (failures == 0) {
    remove_tree(dir);
    printf("bad_input_test: ok (%d checks)\n", checks);
  } else {
    fprintf(stderr, "bad_input_test: %d of %d checks failed; data kept in %s\n", failures, checks, dir);
  }
  free(dir);
  return failures == 0 ? 0 : 1;
}
