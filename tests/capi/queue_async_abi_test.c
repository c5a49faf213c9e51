/* The non-blocking queue calls of synap.h from C99, as an event loop uses
 * them:
 *   - synap_queue_publish_async returns an id and a ticket; the message is
 *     not handed to a consumer before synap_acked() reaches the ticket
 *     (fsync=always, so a consume right after the call may or may not see
 *     it, but one after synap_wait(ticket) must), and the ticket is in the
 *     same sequence as the KV calls' (synap_wait/synap_on_acked take it);
 *   - synap_queue_ack_async / synap_queue_nack_async: the same effect as
 *     the blocking calls once their ticket is acknowledged (an acked message
 *     never comes back after a reopen; a nacked one is delivered again);
 *   - synap_queue_notify_ready: runs at once when a message is deliverable,
 *     later when a publish is acknowledged, a nack requeues, a dead letter is
 *     revived, with SYNAP_NOTFOUND when the queue is deleted and with
 *     SYNAP_ECLOSED at synap_close(); exactly once per registration; and
 *     when a consume's own sweep makes more messages ready than it takes
 *     (deadlines passed), before the background tick would;
 *     synap_queue_notify_cancel stops one that has not run (SYNAP_OK, never
 *     called afterwards) and answers SYNAP_NOTFOUND for one that ran;
 *   - bad input: NULL db/queue/fn/handle/ticket, a missing queue.
 *
 * Suite 'unit', so it also runs under ASan/UBSan. */
#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"

/* A registration's record: how often fn ran, with which result. Written on
 * libsynap's threads, read here: a mutex keeps it honest under TSan. */
typedef struct {
  pthread_mutex_t mu;
  int calls;
  int result;
} wake;

static void on_ready(void* user, int result) {
  wake* w = (wake*)user;
  pthread_mutex_lock(&w->mu);
  w->calls++;
  w->result = result;
  pthread_mutex_unlock(&w->mu);
}

static void wake_init(wake* w) {
  pthread_mutex_init(&w->mu, NULL);
  w->calls = 0;
  w->result = -1000;
}

static int wake_calls(wake* w) {
  int n;
  pthread_mutex_lock(&w->mu);
  n = w->calls;
  pthread_mutex_unlock(&w->mu);
  return n;
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* Waits up to 5 s for w to have run at least once. */
static int wait_called(wake* w) {
  int i;
  for (i = 0; i < 500 && wake_calls(w) == 0; i++) sleep_ms(10);
  return wake_calls(w);
}

static synap_db* open_dir(const char* dir) {
  synap_options* o = NULL;
  synap_db* db = NULL;
  EXPECT_OK(synap_options_create(&o));
  EXPECT_OK(synap_options_set(o, "wal.fsync_mode", "always"));
  EXPECT_OK(synap_open(dir, o, &db));
  synap_options_destroy(o);
  return db;
}

static size_t consume(synap_db* db, const char* q, uint64_t* id) {
  synap_message* m = NULL;
  size_t n = 0;
  EXPECT_OK(synap_queue_consume(db, q, "c1", 1, 0, 0, &m, &n));
  if (n == 1 && id != NULL) *id = m[0].id;
  synap_free(m);
  return n;
}

static void test_bad_input(synap_db* db) {
  uint64_t id = 0, handle = 0, ids[1] = {1};
  synap_ticket t = 0;
  wake w;
  wake_init(&w);
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_async(NULL, "q", "x", 1, -1, 0, -1, NULL, 0, &id, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_async(db, NULL, "x", 1, -1, 0, -1, NULL, 0, &id, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_async(db, "q", "x", 1, -1, 0, -1, NULL, 0, &id, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_publish_async(db, "q", "x", 1, 10, 0, -1, NULL, 0, &id, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_ack_async(db, "q", ids, 1, NULL));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_ack_async(db, "q", ids, 0, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_nack_async(db, "q", 1, 1, NULL));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_nack_async(db, "absent", 1, 1, &t));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_notify_ready(NULL, "q", on_ready, &w, &handle));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_notify_ready(db, "q", NULL, &w, &handle));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_notify_ready(db, "q", on_ready, &w, NULL));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_notify_ready(db, "absent", on_ready, &w, &handle));
  EXPECT_ERR(SYNAP_EINVAL, synap_queue_notify_cancel(NULL, 1));
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_notify_cancel(db, 987654321));
  CHECK(wake_calls(&w) == 0); /* an error never calls fn */
}

static void test_publish_ack_nack(synap_db* db) {
  uint64_t id = 0, got = 0;
  synap_ticket t1 = 0, t2 = 0, t3 = 0, acked = 0;
  EXPECT_OK(synap_queue_declare(db, "jobs", "ack_deadline_ms=60000"));
  EXPECT_OK(synap_queue_publish_async(db, "jobs", "one", 3, 5, 0, -1, NULL, 0, &id, &t1));
  CHECK(id != 0 && t1 != 0);
  EXPECT_OK(synap_wait(db, t1)); /* the KV calls' sequence: synap_wait takes it */
  EXPECT_OK(synap_acked(db, &acked));
  CHECK(acked >= t1);
  CHECK(consume(db, "jobs", &got) == 1 && got == id);
  /* nack with requeue: delivered again once the ticket holds */
  EXPECT_OK(synap_queue_nack_async(db, "jobs", got, 1, &t2));
  CHECK(t2 > t1);
  EXPECT_OK(synap_wait(db, t2));
  got = 0;
  CHECK(consume(db, "jobs", &got) == 1 && got == id);
  EXPECT_OK(synap_queue_ack_async(db, "jobs", &got, 1, &t3));
  CHECK(t3 > t2);
  EXPECT_OK(synap_wait(db, t3));
  CHECK(consume(db, "jobs", NULL) == 0);
  /* acking it twice: not in flight any more */
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_ack_async(db, "jobs", &got, 1, &t3));
}

static void test_notify(synap_db* db) {
  wake now, later, cancelled, deleted, revived;
  uint64_t h = 0, hc = 0, id = 0, got = 0, moved = 0;
  synap_ticket t = 0;
  wake_init(&now);
  wake_init(&later);
  wake_init(&cancelled);
  wake_init(&deleted);
  wake_init(&revived);
  EXPECT_OK(synap_queue_declare(db, "wq", "ack_deadline_ms=60000"));

  /* empty queue: not called until a publish is acknowledged */
  EXPECT_OK(synap_queue_notify_ready(db, "wq", on_ready, &later, &h));
  EXPECT_OK(synap_queue_notify_ready(db, "wq", on_ready, &cancelled, &hc));
  EXPECT_OK(synap_queue_notify_cancel(db, hc)); /* fn never runs after SYNAP_OK */
  sleep_ms(50);
  CHECK(wake_calls(&later) == 0);
  EXPECT_OK(synap_queue_publish_async(db, "wq", "m", 1, -1, 0, -1, NULL, 0, &id, &t));
  EXPECT_OK(synap_wait(db, t));
  CHECK(wait_called(&later) == 1);
  CHECK(later.result == SYNAP_OK);
  EXPECT_RC(SYNAP_NOTFOUND, synap_queue_notify_cancel(db, h)); /* it ran */
  CHECK(wake_calls(&cancelled) == 0);

  /* a deliverable message: called at once, on this thread */
  EXPECT_OK(synap_queue_notify_ready(db, "wq", on_ready, &now, &h));
  CHECK(wake_calls(&now) == 1 && now.result == SYNAP_OK);

  /* dead-letter it, then a waiter is woken by the revive */
  CHECK(consume(db, "wq", &got) == 1 && got == id);
  EXPECT_OK(synap_queue_nack(db, "wq", got, 0));
  EXPECT_OK(synap_queue_notify_ready(db, "wq", on_ready, &revived, &h));
  CHECK(wake_calls(&revived) == 0);
  EXPECT_OK(synap_queue_requeue_dead(db, "wq", 0, &moved));
  CHECK(moved == 1);
  CHECK(wait_called(&revived) == 1 && revived.result == SYNAP_OK);

  /* deleting the queue wakes its waiters with SYNAP_NOTFOUND */
  CHECK(consume(db, "wq", NULL) == 1);
  EXPECT_OK(synap_queue_notify_ready(db, "wq", on_ready, &deleted, &h));
  EXPECT_OK(synap_queue_delete(db, "wq"));
  CHECK(wait_called(&deleted) == 1 && deleted.result == SYNAP_NOTFOUND);
  sleep_ms(20);
  CHECK(wake_calls(&now) == 1 && wake_calls(&later) == 1 && wake_calls(&revived) == 1); /* exactly once */
}

/* Two deliveries pass their deadline. A consume of one sweeps both back
 * and takes one; the other must wake a waiter at once, not at the next
 * background tick (set to 1 s here, with the KV sweep off). */
static void test_sweep_wakes(const char* dir) {
  wake w;
  uint64_t h = 0;
  synap_message* m = NULL;
  size_t n = 0;
  synap_options* o = NULL;
  synap_db* db = NULL;
  wake_init(&w);
  EXPECT_OK(synap_options_create(&o));
  EXPECT_OK(synap_options_set(o, "wal.fsync_mode", "never"));
  EXPECT_OK(synap_options_set(o, "kv.active_expire_ms", "0"));
  EXPECT_OK(synap_options_set(o, "stream.maintenance_ms", "1000"));
  EXPECT_OK(synap_open(dir, o, &db));
  synap_options_destroy(o);
  if (db == NULL) return;
  EXPECT_OK(synap_queue_declare(db, "dl", "ack_deadline_ms=50"));
  EXPECT_OK(synap_queue_publish(db, "dl", "a", 1, -1, 0, -1, NULL, 0, NULL));
  EXPECT_OK(synap_queue_publish(db, "dl", "b", 1, -1, 0, -1, NULL, 0, NULL));
  EXPECT_OK(synap_queue_consume(db, "dl", "c", 2, 0, 0, &m, &n));
  CHECK(n == 2);
  synap_free(m);
  EXPECT_OK(synap_queue_notify_ready(db, "dl", on_ready, &w, &h));
  CHECK(wake_calls(&w) == 0); /* both in flight: nothing deliverable */
  sleep_ms(80);               /* both deadlines pass; the next tick is far */
  EXPECT_OK(synap_queue_consume(db, "dl", "c", 1, 0, 0, &m, &n));
  CHECK(n == 1);
  synap_free(m);
  CHECK(wake_calls(&w) == 1 && w.result == SYNAP_OK); /* woken by that consume's sweep */
  EXPECT_OK(synap_close(db));
}

/* A pending registration runs with SYNAP_ECLOSED before synap_close returns. */
static void test_close(const char* dir) {
  wake w;
  uint64_t h = 0;
  synap_db* db = open_dir(dir);
  wake_init(&w);
  if (db == NULL) return;
  EXPECT_OK(synap_queue_declare(db, "idle", NULL));
  EXPECT_OK(synap_queue_notify_ready(db, "idle", on_ready, &w, &h));
  EXPECT_OK(synap_close(db));
  CHECK(wake_calls(&w) == 1 && w.result == SYNAP_ECLOSED);
}

/* Writes acknowledged through tickets survive a reopen. */
static void test_reopen(const char* dir) {
  uint64_t a = 0, b = 0, got = 0;
  synap_ticket t = 0;
  synap_db* db = open_dir(dir);
  if (db == NULL) return;
  EXPECT_OK(synap_queue_declare(db, "keep", "ack_deadline_ms=60000"));
  EXPECT_OK(synap_queue_publish_async(db, "keep", "a", 1, -1, 0, -1, NULL, 0, &a, &t));
  EXPECT_OK(synap_queue_publish_async(db, "keep", "b", 1, -1, 0, -1, NULL, 0, &b, &t));
  EXPECT_OK(synap_wait(db, t));
  CHECK(consume(db, "keep", &got) == 1 && got == a);
  EXPECT_OK(synap_queue_ack_async(db, "keep", &got, 1, &t));
  EXPECT_OK(synap_wait(db, t));
  EXPECT_OK(synap_close(db));
  db = open_dir(dir);
  if (db == NULL) return;
  got = 0;
  CHECK(consume(db, "keep", &got) == 1 && got == b); /* a was acked: gone; b is there */
  CHECK(consume(db, "keep", NULL) == 0);
  EXPECT_OK(synap_close(db));
}

int main(void) {
  const char* base = getenv("SYNAP_TEST_TMPDIR");
  char *dir1, *dir2, *dir3;
  synap_db* db;
  if (base == NULL || base[0] == '\0') base = "/tmp";
  mkdir(base, 0755);
  dir1 = make_dir(base, "queue-async");
  dir2 = make_dir(base, "queue-async-close");
  dir3 = make_dir(base, "queue-async-reopen");
  db = open_dir(dir1);
  if (db != NULL) {
    test_bad_input(db);
    test_publish_ack_nack(db);
    test_notify(db);
    EXPECT_OK(synap_close(db));
  }
  test_close(dir2);
  test_reopen(dir3);
  {
    char* dir4 = make_dir(base, "queue-async-sweep");
    test_sweep_wakes(dir4);
    if (failures == 0) remove_tree(dir4);
    free(dir4);
  }
  if (failures == 0) {
    remove_tree(dir1);
    remove_tree(dir2);
    remove_tree(dir3);
    printf("queue_async_abi_test: ok (%d checks)\n", checks);
  } else {
    fprintf(stderr, "queue_async_abi_test: %d of %d checks failed; data kept in %s, %s, %s\n", failures, checks,
            dir1, dir2, dir3);
  }
  free(dir1);
  free(dir2);
  free(dir3);
  return failures == 0 ? 0 : 1;
}
