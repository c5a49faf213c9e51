/* The child of capi_queue_kill9_test.py: queue producers and consumers
 * through the C ABI (libsynap) until it is SIGKILLed, and the verifier that
 * reopens the data directory afterwards and drains the queue.
 *
 *   capi_queue_kill9_child run <dir> <round> <producers> <consumers>
 *     Opens <dir> with wal.fsync_mode=always (small log segments), declares
 *     queue "q" (max_retries=3, so some messages reach the dead letters),
 *     prints "ready <round>", then runs forever:
 *       - producer threads: a publish of a unique payload
 *         "r<round>-p<thread>-<i>" with a random priority 0..9 and one header
 *         ("src" = the payload); now and then a batch of 3
 *         ("r<round>-p<thread>-<i>-b<j>", the queue's default priority 0)
 *         through synap_queue_publish_batch;
 *       - consumer threads: consume (1..8 messages, waiting up to 20 ms),
 *         then ack about 2/3 of them (sometimes two in one call) and nack
 *         the others with requeue;
 *       - a thread calling synap_snapshot() every 20-80 ms.
 *     Lines on stdout, each with one write(2) under a mutex (so a line is
 *     whole, and in the file before the next call starts):
 *       "p <payload>"                        before a publish (it may exist)
 *       "P <id> <priority> <payload>"        after the publish returned SYNAP_OK
 *       "D <id> <count> <redelivered> <priority> <payload>"  each delivery
 *       "a <id>"                             before an ack (it may be acked)
 *       "A <id>"                             after the ack returned SYNAP_OK
 *       "N <id> <count>"                     after a nack (requeue) of the delivery
 *                                            with that count returned SYNAP_OK
 *     A call that fails, or a delivered message whose header is not its
 *     payload, ends the process with status 2 and a message on stderr.
 *
 *   capi_queue_kill9_child verify <dir>
 *     Reopens <dir> and drains "q": consumes everything (max 1000, no wait)
 *     and acks it, printing "V <id> <priority> <count> <redelivered> <payload>"
 *     per message; then lists the dead letters ("X <id> <priority> <count>
 *     <reason> <payload>") and purges them, so the next round starts empty.
 *     Checks on its own: the drain comes in non-increasing priority order,
 *     no id twice, each message's header "src" equals its payload, the queue
 *     is empty at the end (stats "ready":0, "in_flight":0, "dead_lettered":0).
 *     A violation is printed on stderr and makes the exit status 1; the
 *     driver checks the V/X lines against the round's run output.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <synap/synap.h>

#define CHILD_NAME "capi_queue_kill9_child"
#include "capi_child.h"

#define QUEUE "q"
#define QUEUE_SETTINGS "max_retries=3"
#define MAX_PAYLOAD 64

static int open_db(const char* dir, synap_db** db) {
  static const char* const opts[] = {
      "wal.fsync_mode", "always",
      /* Small segments: crashes hit segment rolls and log trimming after snapshots. */
      "wal.segment_bytes", "256K", "wal.max_record_bytes", "64K", "wal.max_batch_bytes", "64K",
      "kv.max_key_bytes", "256", "kv.max_value_bytes", "4K", "queue.max_payload_bytes", "4K", "snapshot.keep", "2",
      NULL};
  return open_with(dir, opts, db);
}


/* The message's header "src" holds its payload (batches carry none). */
static int header_ok(const synap_message* m) {
  if (m->header_count == 0) return 1;
  return m->header_count == 1 && m->headers[0].key_len == 3 && memcmp(m->headers[0].key, "src", 3) == 0 &&
         m->headers[0].value_len == m->payload_len &&
         memcmp(m->headers[0].value, m->payload, m->payload_len) == 0;
}

/* The payload as a C string ("?" if it is not one of ours). */
static const char* payload_str(const synap_message* m, char* buf) {
  size_t i;
  if (m->payload_len == 0 || m->payload_len >= MAX_PAYLOAD) return "?";
  memcpy(buf, m->payload, m->payload_len);
  buf[m->payload_len] = '\0';
  for (i = 0; i < m->payload_len; i++)
    if (buf[i] <= ' ' || buf[i] > '~') return "?";
  return buf;
}

/* ---- run ----------------------------------------------------------------- */

static synap_db* g_db;
static int g_round;

static void* producer(void* arg) {
  int tid = (int)(intptr_t)arg;
  uint64_t rng = seed_for(g_round, tid);
  long i = 0;
  char payload[MAX_PAYLOAD];
  for (;; i++) {
    uint64_t r = next_rand(&rng);
    int rc;
    if (r % 10 == 0) { /* a batch of 3: one record, all or none, default priority */
      char p[3][MAX_PAYLOAD];
      const void* ps[3];
      size_t lens[3], j;
      uint64_t ids[3];
      for (j = 0; j < 3; j++) {
        snprintf(p[j], MAX_PAYLOAD, "r%d-p%d-%ld-b%zu", g_round, tid, i, j);
        ps[j] = p[j], lens[j] = strlen(p[j]);
        out_line("p %s\n", p[j]);
      }
      rc = synap_queue_publish_batch(g_db, QUEUE, 3, ps, lens, ids);
      if (rc != SYNAP_OK) die("publish_batch", rc);
      for (j = 0; j < 3; j++) out_line("P %llu 0 %s\n", (unsigned long long)ids[j], p[j]);
    } else {
      int prio = (int)((r >> 8) % 10);
      uint64_t id = 0;
      synap_header h;
      size_t len = (size_t)snprintf(payload, sizeof payload, "r%d-p%d-%ld", g_round, tid, i);
      h.key = "src", h.key_len = 3, h.value = payload, h.value_len = len;
      out_line("p %s\n", payload);
      rc = synap_queue_publish(g_db, QUEUE, payload, len, prio, 0, -1, &h, 1, &id);
      if (rc != SYNAP_OK) die("publish", rc);
      out_line("P %llu %d %s\n", (unsigned long long)id, prio, payload);
    }
  }
  return NULL;
}

static void* consumer(void* arg) {
  int tid = (int)(intptr_t)arg;
  uint64_t rng = seed_for(g_round, 100 + tid);
  char name[32], buf[MAX_PAYLOAD];
  snprintf(name, sizeof name, "c%d", tid);
  for (;;) {
    synap_message* msgs = NULL;
    size_t n = 0, i;
    uint64_t pending[2];
    size_t npending = 0;
    int rc = synap_queue_consume(g_db, QUEUE, name, (uint32_t)(1 + next_rand(&rng) % 8), 20, 0, &msgs, &n);
    if (rc != SYNAP_OK) die("consume", rc);
    for (i = 0; i < n; i++) {
      const synap_message* m = &msgs[i];
      if (!header_ok(m)) {
        fprintf(stderr, "capi_queue_kill9_child: message %llu: header is not its payload\n",
                (unsigned long long)m->id);
        _exit(2);
      }
      out_line("D %llu %u %d %u %s\n", (unsigned long long)m->id, m->delivery_count, m->redelivered, m->priority,
               payload_str(m, buf));
    }
    for (i = 0; i < n; i++) {
      uint64_t id = msgs[i].id, r = next_rand(&rng) % 3;
      if (r == 0) { /* nack with requeue (dead-lettered once max_retries are spent) */
        rc = synap_queue_nack(g_db, QUEUE, id, 1);
        if (rc != SYNAP_OK) die("nack", rc);
        out_line("N %llu %u\n", (unsigned long long)id, msgs[i].delivery_count);
        continue;
      }
      pending[npending++] = id;
      if (npending == 2 || r == 1 || i + 1 == n) { /* ack one, or two in one call */
        size_t k;
        for (k = 0; k < npending; k++) out_line("a %llu\n", (unsigned long long)pending[k]);
        rc = synap_queue_ack(g_db, QUEUE, pending, npending);
        if (rc != SYNAP_OK) die("ack", rc);
        for (k = 0; k < npending; k++) out_line("A %llu\n", (unsigned long long)pending[k]);
        npending = 0;
      }
    }
    if (npending > 0) { /* the last one left (only when it was followed by nacks) */
      out_line("a %llu\n", (unsigned long long)pending[0]);
      rc = synap_queue_ack(g_db, QUEUE, pending, 1);
      if (rc != SYNAP_OK) die("ack", rc);
      out_line("A %llu\n", (unsigned long long)pending[0]);
    }
    synap_free(msgs);
  }
  return NULL;
}

static void* snapshotter(void* arg) {
  uint64_t rng = seed_for(g_round, 999);
  (void)arg;
  for (;;) {
    struct timespec ts = {0, 0};
    int rc;
    ts.tv_nsec = (long)(20 + next_rand(&rng) % 60) * 1000000L;
    nanosleep(&ts, NULL);
    rc = synap_snapshot(g_db);
    if (rc != SYNAP_OK) die("snapshot", rc);
  }
  return NULL;
}

static int run(const char* dir, int round, int producers, int consumers) {
  pthread_t t[64];
  int i, rc, nt = 0;
  if (producers < 1 || consumers < 1 || producers + consumers > 60) {
    fprintf(stderr, "producers, consumers: 1.., at most 60 together\n");
    return 2;
  }
  g_round = round;
  rc = open_db(dir, &g_db);
  if (rc != SYNAP_OK) die("open", rc);
  rc = synap_queue_declare(g_db, QUEUE, QUEUE_SETTINGS);
  if (rc != SYNAP_OK) die("declare", rc);
  out_line("ready %d\n", round);
  for (i = 0; i < producers + consumers + 1; i++) {
    void* (*fn)(void*) = i < producers ? producer : i < producers + consumers ? consumer : snapshotter;
    int tid = i < producers ? i : i - producers;
    if (pthread_create(&t[nt++], NULL, fn, (void*)(intptr_t)tid) != 0) {
      perror("pthread_create");
      return 2;
    }
  }
  for (i = 0; i < nt; i++) pthread_join(t[i], NULL); /* never: killed first */
  return 2;
}

/* ---- verify -------------------------------------------------------------- */

static int violations = 0;
#define VIOLATION(...)                                        \
  do {                                                        \
    fprintf(stderr, "capi_queue_kill9 verify: " __VA_ARGS__); \
    fputc('\n', stderr);                                      \
    violations++;                                             \
  } while (0)

static int cmp_u64(const void* a, const void* b) {
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : x > y;
}

static int verify(const char* dir) {
  synap_db* db = NULL;
  synap_message* msgs = NULL;
  size_t n = 0, i, total = 0, dead = 0, cap = 0;
  uint64_t* seen = NULL;
  uint64_t purged = 0;
  uint32_t last_prio = 9;
  char buf[MAX_PAYLOAD];
  char* json = NULL;
  int rc = open_db(dir, &db);
  if (rc != SYNAP_OK) {
    fprintf(stderr, "capi_queue_kill9 verify: synap_open(%s) -> %d (%s): %s\n", dir, rc, synap_strerror(rc),
            synap_last_error());
    return 1;
  }
  rc = synap_queue_declare(db, QUEUE, QUEUE_SETTINGS); /* the first round may die before it */
  if (rc != SYNAP_OK) VIOLATION("declare -> %d: %s", rc, synap_last_error());
  for (;;) {
    rc = synap_queue_consume(db, QUEUE, "verify", 1000, 0, 0, &msgs, &n);
    if (rc != SYNAP_OK) {
      VIOLATION("consume -> %d (%s): %s", rc, synap_strerror(rc), synap_last_error());
      break;
    }
    if (n == 0) break;
    for (i = 0; i < n; i++) {
      const synap_message* m = &msgs[i];
      printf("V %llu %u %u %d %s\n", (unsigned long long)m->id, m->priority, m->delivery_count, m->redelivered,
             payload_str(m, buf));
      if (!header_ok(m)) VIOLATION("message %llu: header is not its payload", (unsigned long long)m->id);
      if (m->priority > last_prio)
        VIOLATION("message %llu of priority %u came after one of priority %u", (unsigned long long)m->id,
                  m->priority, last_prio);
      last_prio = m->priority;
      if (total == cap) {
        cap = cap != 0 ? cap * 2 : 1024;
        seen = realloc(seen, cap * sizeof *seen);
        if (seen == NULL) abort();
      }
      seen[total++] = m->id;
    }
    /* ack the whole batch in one call */
    {
      uint64_t* ids = malloc(n * sizeof *ids);
      if (ids == NULL) abort();
      for (i = 0; i < n; i++) ids[i] = msgs[i].id;
      rc = synap_queue_ack(db, QUEUE, ids, n);
      if (rc != SYNAP_OK) VIOLATION("ack of %zu drained messages -> %d: %s", n, rc, synap_last_error());
      free(ids);
    }
    synap_free(msgs);
    msgs = NULL;
  }
  qsort(seen, total, sizeof *seen, cmp_u64);
  for (i = 1; i < total; i++)
    if (seen[i] == seen[i - 1]) VIOLATION("message %llu delivered twice in one drain", (unsigned long long)seen[i]);
  free(seen);

  for (;;) {
    rc = synap_queue_dead_letters(db, QUEUE, dead, 1000, &msgs, &n);
    if (rc != SYNAP_OK) {
      VIOLATION("dead_letters -> %d: %s", rc, synap_last_error());
      break;
    }
    if (n == 0) break;
    for (i = 0; i < n; i++) {
      const synap_message* m = &msgs[i];
      printf("X %llu %u %u %s %s\n", (unsigned long long)m->id, m->priority, m->delivery_count,
             m->reason[0] != '\0' ? m->reason : "-", payload_str(m, buf));
      if (!header_ok(m)) VIOLATION("dead letter %llu: header is not its payload", (unsigned long long)m->id);
    }
    dead += n;
    synap_free(msgs);
    msgs = NULL;
  }
  rc = synap_queue_purge_dead(db, QUEUE, &purged);
  if (rc != SYNAP_OK) VIOLATION("purge_dead -> %d: %s", rc, synap_last_error());
  else if (purged != dead) VIOLATION("purge_dead removed %llu, dead_letters listed %zu", (unsigned long long)purged, dead);

  rc = synap_queue_stats_json(db, QUEUE, &json, NULL);
  if (rc != SYNAP_OK) {
    VIOLATION("stats_json -> %d: %s", rc, synap_last_error());
  } else {
    if (strstr(json, "\"ready\":0,") == NULL || strstr(json, "\"in_flight\":0,") == NULL ||
        strstr(json, "\"dead_lettered\":0,") == NULL || strstr(json, "\"delayed\":0,") == NULL)
      VIOLATION("the queue is not empty after the drain: %s", json);
    synap_free(json);
  }
  rc = synap_close(db);
  if (rc != SYNAP_OK) VIOLATION("synap_close -> %d: %s", rc, synap_last_error());
  printf("S drained %zu, dead letters %zu\n", total, dead);
  fflush(stdout);
  return violations == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 6 && strcmp(argv[1], "run") == 0) return run(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  if (argc == 3 && strcmp(argv[1], "verify") == 0) return verify(argv[2]);
  fprintf(stderr,
          "usage: %s run <dir> <round> <producers> <consumers>\n"
          "       %s verify <dir>\n",
          argv[0], argv[0]);
  return 2;
}
