/* A tour of libsynap's key-value API from C: open with options, SET/GET,
 * INCRBY, expiry, SCAN, a non-blocking write, statistics, error handling.
 *
 *   cc -std=c99 kv.c $(pkg-config --cflags --libs synap) -o kv
 *   ./kv /tmp/synap-demo          (the directory is created if needed)
 *
 * Every fallible call returns an int: SYNAP_OK (0), a negative SYNAP_E* error,
 * or one of two positive answers that are not errors: SYNAP_NOTFOUND (no such
 * key) and SYNAP_NOTSET (NX/XX/... held a write back). After an error,
 * synap_last_error() says what went wrong, for the calling thread. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synap/synap.h>

/* Prints a failed call with its code's description and the message, and
 * returns non-zero. Success and the two positive answers return 0. */
static int failed(int rc, const char* what) {
  if (rc >= 0) return 0;
  fprintf(stderr, "%s: %s (%d): %s\n", what, synap_strerror(rc), rc, synap_last_error());
  return 1;
}

/* synap_scan() calls this once per key; the key is only valid during the
 * call and is not NUL-terminated (keys are arbitrary bytes). */
static void print_key(void* user, const void* key, size_t klen) {
  int* count = user;
  printf("  scan: %.*s\n", (int)klen, (const char*)key);
  (*count)++;
}

int main(int argc, char** argv) {
  synap_options* opts = NULL;
  synap_db* db = NULL;
  void* val = NULL;
  size_t len = 0;
  char buf[16];
  int64_t n = 0, ms = 0;
  int rc;

  if (argc != 2) {
    fprintf(stderr, "usage: %s <data-dir>\n", argv[0]);
    return 2;
  }

  /* ---- Options: every knob has a name (see synap.h); the common ones also
   * have typed setters. A bad name or value is refused with SYNAP_EINVAL
   * and leaves the object unchanged. */
  if (failed(synap_options_create(&opts), "options_create")) return 1;
  /* Acknowledge a write only once an fsync covers it (the default, shown
   * here because it is the one setting every user should decide on). */
  if (failed(synap_options_set_fsync_mode(opts, SYNAP_FSYNC_ALWAYS), "fsync mode")) goto fail;
  if (failed(synap_options_set(opts, "snapshot.interval_secs", "300"), "snapshot.interval_secs")) goto fail;
  rc = synap_options_set(opts, "wal.fsync_mode", "sometimes"); /* a deliberate mistake */
  printf("a bad option value is refused: %s -- %s\n", synap_strerror(rc), synap_last_error());

  /* ---- Open: creates the directory, takes its lock (SYNAP_ELOCKED if
   * another process or handle has it) and recovers what it holds. The
   * handle copies the options, so they can be freed at once. */
  rc = synap_open(argv[1], opts, &db);
  synap_options_destroy(opts);
  opts = NULL;
  if (failed(rc, "open")) return 1;

  /* ---- SET and GET. Keys and values are (pointer, length) byte strings.
   * With fsync "always", synap_set returns once the write is on disk. */
  if (failed(synap_set(db, "greeting", 8, "hello, synap", 12), "set")) goto fail;
  rc = synap_get(db, "greeting", 8, &val, &len); /* val is malloc'd: synap_free it */
  if (failed(rc, "get")) goto fail;
  if (rc == SYNAP_OK) printf("greeting = %.*s\n", (int)len, (const char*)val);
  synap_free(val);
  val = NULL;

  /* An absent key is an answer, not an error. */
  rc = synap_get(db, "no-such-key", 11, &val, &len);
  if (failed(rc, "get")) goto fail;
  printf("no-such-key: %s\n", rc == SYNAP_NOTFOUND ? "not found" : "found?");

  /* GET into your own buffer: len is the full length, at most sizeof buf
   * bytes are copied, so the value was cut iff len > sizeof buf. */
  rc = synap_get_into(db, "greeting", 8, buf, sizeof buf, &len);
  if (failed(rc, "get_into")) goto fail;
  printf("get_into: %zu bytes%s\n", len, len > sizeof buf ? " (truncated)" : "");

  /* SET NX: only if absent; SYNAP_NOTSET says the condition held it back. */
  rc = synap_set_ex(db, "greeting", 8, "other", 5, SYNAP_SET_NX, 0, NULL, NULL);
  if (failed(rc, "set nx")) goto fail;
  printf("SET NX on an existing key: %s\n", rc == SYNAP_NOTSET ? "not set" : "set");

  /* ---- INCRBY: the value must be a base-10 integer (SYNAP_EINVAL if not,
   * SYNAP_ERANGE if the result would overflow int64). */
  if (failed(synap_incrby(db, "visits", 6, 1, &n), "incrby")) goto fail;
  printf("visits = %" PRId64 "\n", n);
  rc = synap_incrby(db, "greeting", 8, 1, &n);
  printf("INCRBY on text: %s -- %s\n", synap_strerror(rc), synap_last_error());

  /* ---- Expiry: a key that lives 60 s, read back with PTTL (ms left, -1 =
   * no expiry). synap_set_ex(..., SYNAP_SET_EX, 60, ...) does it in one call. */
  if (failed(synap_set(db, "session:42", 10, "alice", 5), "set")) goto fail;
  if (failed(synap_expire(db, "session:42", 10, 60, SYNAP_EXPIRE_SECONDS), "expire")) goto fail;
  if (failed(synap_pttl(db, "session:42", 10, &ms), "pttl")) goto fail;
  printf("session:42 expires in %" PRId64 " ms\n", ms);

  /* ---- SCAN: a cursor walk, a few keys per call; 0 starts and ends it. */
  {
    uint64_t cursor = 0;
    int count = 0;
    do {
      if (failed(synap_scan(db, cursor, "*", 1, 100, print_key, &count, &cursor), "scan")) goto fail;
    } while (cursor != 0);
    printf("scan saw %d keys\n", count);
  }

  /* ---- Non-blocking write: synap_set_async returns at once with a ticket;
   * the write is durable and visible once the ticket is acknowledged. Here
   * we simply wait for it (an event loop would poll synap_event_fd()). */
  {
    synap_ticket ticket = 0;
    if (failed(synap_set_async(db, "async", 5, "later", 5, 0, 0, &ticket), "set_async")) goto fail;
    if (failed(synap_wait(db, ticket), "wait")) goto fail;
    printf("async write acknowledged (ticket %" PRIu64 ")\n", ticket);
  }

  /* ---- Statistics (and the open's recovery report) as JSON. */
  {
    char* json = NULL;
    if (failed(synap_stats_json(db, &json, NULL), "stats")) goto fail;
    printf("stats: %.200s%s\n", json, strlen(json) > 200 ? "..." : "");
    synap_free(json);
  }

  /* ---- Close: flushes and fsyncs what is pending, stops the background
   * threads, releases the lock and frees the handle (even on error). */
  if (failed(synap_close(db), "close")) return 1;
  printf("ok\n");
  return 0;

fail:
  synap_options_destroy(opts); /* NULL is fine */
  synap_close(db);             /* NULL is fine */
  return 1;
}
