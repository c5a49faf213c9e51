/* The non-blocking twins of SET ... GET, GETDEL, APPEND, EXPIRE and PERSIST
 * (synap.h, "Non-blocking writes") from C99:
 *   - each answers what its blocking twin answers (the old value, the
 *     deleted value, the new length, SYNAP_OK / SYNAP_NOTSET /
 *     SYNAP_NOTFOUND) at once, with a ticket that synap_wait() takes;
 *   - the write holds after the ticket, and after a close and reopen;
 *   - bad input: NULL db, key, ticket; SYNAP_SET_GET without old pointers.
 * Suite 'unit' (also under ASan: every returned block is freed). */
#define _XOPEN_SOURCE 700

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"

static synap_db* open_dir(const char* dir) {
  synap_options* o = NULL;
  synap_db* db = NULL;
  EXPECT_OK(synap_options_create(&o));
  EXPECT_OK(synap_options_set(o, "wal.fsync_mode", "always"));
  EXPECT_OK(synap_open(dir, o, &db));
  synap_options_destroy(o);
  return db;
}

/* The value of key as a string ("<absent>" if none). */
static const char* value_of(synap_db* db, const char* key) {
  static char buf[256];
  size_t len = 0;
  int rc = synap_get_into(db, key, strlen(key), buf, sizeof buf - 1, &len);
  if (rc == SYNAP_NOTFOUND) return "<absent>";
  if (rc != SYNAP_OK || len >= sizeof buf) return "<error>";
  buf[len] = '\0';
  return buf;
}

static int bytes_are(const void* p, size_t n, const char* s) { return p != NULL && n == strlen(s) && memcmp(p, s, n) == 0; }

static void test_bad_input(synap_db* db) {
  synap_ticket t = 0;
  void* old = NULL;
  size_t n = 0;
  uint64_t len = 0;
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex_async(NULL, "k", 1, "v", 1, 0, 0, NULL, NULL, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex_async(db, "k", 1, "v", 1, 0, 0, NULL, NULL, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex_async(db, "k", 1, "v", 1, SYNAP_SET_GET, 0, NULL, NULL, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_set_ex_async(db, "k", 1, "v", 1, SYNAP_SET_EX, 0, &old, &n, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_getdel_async(db, "k", 1, NULL, &n, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_getdel_async(db, "k", 1, &old, &n, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_append_async(db, NULL, 1, "v", 1, &len, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_append_async(db, "k", 1, "v", 1, &len, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_expire_async(db, "k", 1, 10, 0, &t)); /* no unit */
  EXPECT_ERR(SYNAP_EINVAL, synap_expire_async(db, "k", 1, 10, SYNAP_EXPIRE_SECONDS, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_persist_async(NULL, "k", 1, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_persist_async(db, "k", 1, NULL));
  CHECK(strcmp(value_of(db, "k"), "<absent>") == 0); /* nothing written by a refused call */
}

static void test_each(synap_db* db) {
  synap_ticket t = 0, prev = 0;
  void* old = NULL;
  size_t n = 0;
  uint64_t len = 0;

  /* SET ... GET: the old value at once (none the first time). */
  EXPECT_OK(synap_set_ex_async(db, "g", 1, "one", 3, SYNAP_SET_GET, 0, &old, &n, &t));
  CHECK(old == NULL && t > 0);
  prev = t;
  EXPECT_OK(synap_set_ex_async(db, "g", 1, "two", 3, SYNAP_SET_GET | SYNAP_SET_PX, 60000, &old, &n, &t));
  CHECK(bytes_are(old, n, "one") && t > prev);
  synap_free(old);
  old = NULL;
  EXPECT_RC(SYNAP_NOTSET, synap_set_ex_async(db, "g", 1, "three", 5, SYNAP_SET_GET | SYNAP_SET_NX, 0, &old, &n, &t));
  CHECK(bytes_are(old, n, "two")); /* GET answers even when NX held the write back */
  synap_free(old);
  old = NULL;
  EXPECT_OK(synap_wait(db, t));
  CHECK(strcmp(value_of(db, "g"), "two") == 0);

  /* PERSIST: OK when there was an expiry, NOTSET when not, NOTFOUND when absent. */
  EXPECT_OK(synap_persist_async(db, "g", 1, &t));
  prev = t;
  EXPECT_RC(SYNAP_NOTSET, synap_persist_async(db, "g", 1, &t));
  CHECK(t == prev); /* a call that writes nothing: the ticket of the write its answer rests on */
  EXPECT_RC(SYNAP_NOTFOUND, synap_persist_async(db, "nope", 4, &t));
  EXPECT_OK(synap_wait(db, prev));
  {
    int64_t ms = 0;
    EXPECT_OK(synap_pttl(db, "g", 1, &ms));
    CHECK(ms == -1); /* no expiry any more */
  }

  /* EXPIRE: OK, NOTSET (NX with an expiry set), NOTFOUND. */
  EXPECT_OK(synap_expire_async(db, "g", 1, 100, SYNAP_EXPIRE_SECONDS, &t));
  prev = t;
  EXPECT_RC(SYNAP_NOTSET, synap_expire_async(db, "g", 1, 5, SYNAP_EXPIRE_SECONDS | SYNAP_EXPIRE_NX, &t));
  EXPECT_RC(SYNAP_NOTFOUND, synap_expire_async(db, "nope", 4, 5, SYNAP_EXPIRE_SECONDS, &t));
  EXPECT_OK(synap_wait(db, prev));
  {
    int64_t ms = 0;
    EXPECT_OK(synap_pttl(db, "g", 1, &ms));
    CHECK(ms > 90000 && ms <= 100000);
  }

  /* APPEND: the new length at once. */
  EXPECT_OK(synap_append_async(db, "a", 1, "ab", 2, &len, &t));
  CHECK(len == 2);
  EXPECT_OK(synap_append_async(db, "a", 1, "cde", 3, &len, &t));
  CHECK(len == 5);
  EXPECT_OK(synap_wait(db, t));
  CHECK(strcmp(value_of(db, "a"), "abcde") == 0);

  /* GETDEL: the value at once, the key gone; NOTFOUND the second time. */
  EXPECT_OK(synap_getdel_async(db, "a", 1, &old, &n, &t));
  CHECK(bytes_are(old, n, "abcde"));
  synap_free(old);
  old = NULL;
  prev = t;
  EXPECT_RC(SYNAP_NOTFOUND, synap_getdel_async(db, "a", 1, &old, &n, &t));
  /* Its answer rests on the pending delete: that ticket, or 0 once the
   * delete is acknowledged (the committer may have done so already). */
  CHECK(old == NULL && (t == prev || t == 0));
  EXPECT_OK(synap_wait(db, t));
  CHECK(strcmp(value_of(db, "a"), "<absent>") == 0);

  /* A past time through EXPIRE deletes the key. */
  EXPECT_OK(synap_set_ex_async(db, "gone", 4, "x", 1, 0, 0, NULL, NULL, &t));
  EXPECT_OK(synap_expire_async(db, "gone", 4, 1, SYNAP_EXPIRE_AT_SECONDS, &t));
  EXPECT_OK(synap_wait(db, t));
  CHECK(strcmp(value_of(db, "gone"), "<absent>") == 0);
}

/* What the async calls wrote, once acknowledged, survives a reopen. */
static void test_reopen(const char* dir) {
  synap_ticket t = 0;
  uint64_t len = 0;
  void* old = NULL;
  size_t n = 0;
  synap_db* db = open_dir(dir);
  if (db == NULL) return;
  EXPECT_OK(synap_set_ex_async(db, "r", 1, "x", 1, SYNAP_SET_GET, 0, &old, &n, &t));
  EXPECT_OK(synap_append_async(db, "r", 1, "yz", 2, &len, &t));
  EXPECT_OK(synap_expire_async(db, "r", 1, 3600, SYNAP_EXPIRE_SECONDS, &t));
  EXPECT_OK(synap_set_ex_async(db, "d", 1, "del", 3, 0, 0, NULL, NULL, &t));
  EXPECT_OK(synap_getdel_async(db, "d", 1, &old, &n, &t));
  synap_free(old);
  EXPECT_OK(synap_wait(db, t));
  EXPECT_OK(synap_close(db));
  db = open_dir(dir);
  if (db == NULL) return;
  CHECK(strcmp(value_of(db, "r"), "xyz") == 0);
  CHECK(strcmp(value_of(db, "d"), "<absent>") == 0);
  {
    int64_t ms = 0;
    EXPECT_OK(synap_pttl(db, "r", 1, &ms));
    CHECK(ms > 3500000);
  }
  EXPECT_OK(synap_close(db));
}

int main(void) {
  const char* base = getenv("SYNAP_TEST_TMPDIR");
  char *dir1, *dir2;
  synap_db* db;
  if (base == NULL || base[0] == '\0') base = "/tmp";
  mkdir(base, 0755);
  dir1 = make_dir(base, "kv-async");
  dir2 = make_dir(base, "kv-async-reopen");
  db = open_dir(dir1);
  if (db != NULL) {
    test_bad_input(db);
    test_each(db);
    EXPECT_OK(synap_close(db));
  }
  test_reopen(dir2);
  if (failures == 0) {
    remove_tree(dir1);
    remove_tree(dir2);
    printf("kv_async_abi_test: ok (%d checks)\n", checks);
  } else {
    fprintf(stderr, "kv_async_abi_test: %d of %d checks failed; data kept in %s, %s\n", failures, checks, dir1, dir2);
  }
  free(dir1);
  free(dir2);
  return failures == 0 ? 0 : 1;
}
