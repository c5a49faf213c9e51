/* Pub/sub from C99: subscribe, publish, next (one block), overflow policies,
 * and bad input on every function with its exact code. Exit 0 on success;
 * each failed check prints its line. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <synap/synap.h>

static int failures = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #cond, synap_last_error()); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

int main(void) {
  const char* base = getenv("SYNAP_TEST_TMPDIR");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/pubsub-abi-XXXXXX", base != NULL ? base : "/tmp");
  {
    char parent[512];
    snprintf(parent, sizeof parent, "mkdir -p %s", base != NULL ? base : "/tmp");
    if (system(parent) != 0) return 2;
  }
  if (mkdtemp(dir) == NULL) return 2;
  synap_db* db = NULL;
  CHECK(synap_open(dir, NULL, &db) == SYNAP_OK);
  if (db == NULL) return 1;

  synap_subscription* all = NULL;
  synap_subscription* eu = NULL;
  CHECK(synap_subscribe(db, "orders.#", 8, SYNAP_OVERFLOW_DROP_OLDEST, &all) == SYNAP_OK);
  CHECK(synap_subscribe(db, "orders.e*.created", 8, SYNAP_OVERFLOW_DROP_OLDEST, &eu) == SYNAP_OK);
  uint64_t delivered = 99;
  CHECK(synap_publish(db, "orders.eu.created", "p1", 2, &delivered) == SYNAP_OK && delivered == 2);
  CHECK(synap_publish(db, "orders.us.created", "p2", 2, &delivered) == SYNAP_OK && delivered == 1);
  CHECK(synap_publish(db, "billing.x", "p3", 2, &delivered) == SYNAP_OK && delivered == 0);

  synap_message* m = NULL;
  CHECK(synap_subscription_next(eu, 0, &m) == SYNAP_OK && m != NULL);
  if (m != NULL) {
    CHECK(m->payload_len == 2 && memcmp(m->payload, "p1", 2) == 0);
    CHECK(strcmp(m->reason, "orders.eu.created") == 0); /* the topic */
    CHECK(m->id == 1);
    synap_free(m);
  }
  CHECK(synap_subscription_next(eu, 0, &m) == SYNAP_NOTFOUND && m == NULL);
  CHECK(synap_subscription_next(all, 0, &m) == SYNAP_OK);
  synap_free(m);
  CHECK(synap_subscription_next(all, 0, &m) == SYNAP_OK && m != NULL && strcmp(m->reason, "orders.us.created") == 0);
  synap_free(m);

  /* Drop oldest: 10 into a buffer of 8 keeps the last 8 and counts 2. */
  uint64_t dropped = 0;
  for (int i = 0; i < 10; i++) {
    char p[8];
    snprintf(p, sizeof p, "%d", i);
    CHECK(synap_publish(db, "orders.x", p, strlen(p), NULL) == SYNAP_OK);
  }
  CHECK(synap_subscription_dropped(all, &dropped) == SYNAP_OK && dropped == 2);
  CHECK(synap_subscription_next(all, 0, &m) == SYNAP_OK && m != NULL && memcmp(m->payload, "2", 1) == 0);
  synap_free(m);

  /* Close on overflow: reads what was kept, then SYNAP_ECLOSED saying why. */
  synap_subscription* strict = NULL;
  CHECK(synap_subscribe(db, "t", 1, SYNAP_OVERFLOW_CLOSE, &strict) == SYNAP_OK);
  CHECK(synap_publish(db, "t", "a", 1, &delivered) == SYNAP_OK && delivered == 1);
  CHECK(synap_publish(db, "t", "b", 1, &delivered) == SYNAP_OK && delivered == 0);
  CHECK(synap_subscription_next(strict, 0, &m) == SYNAP_OK);
  synap_free(m);
  CHECK(synap_subscription_next(strict, 0, &m) == SYNAP_ECLOSED && strstr(synap_last_error(), "overflow") != NULL);

  /* An event loop's notification fd: one write per message and at the close. */
  {
    int efd = eventfd(0, EFD_NONBLOCK);
    uint64_t count = 0;
    synap_subscription* loop_sub = NULL;
    CHECK(efd >= 0 && synap_subscribe(db, "n.*", 2, SYNAP_OVERFLOW_CLOSE, &loop_sub) == SYNAP_OK);
    CHECK(synap_publish(db, "n.a", "1", 1, NULL) == SYNAP_OK);              /* before the fd is set */
    CHECK(synap_subscription_notify_fd(loop_sub, efd) == SYNAP_OK);         /* notifies what is there */
    CHECK(read(efd, &count, sizeof count) == (ssize_t)sizeof count && count == 1);
    CHECK(read(efd, &count, sizeof count) < 0);                             /* nothing new */
    CHECK(synap_publish(db, "n.b", "2", 1, NULL) == SYNAP_OK);
    CHECK(read(efd, &count, sizeof count) == (ssize_t)sizeof count && count == 1);
    CHECK(synap_publish(db, "n.c", "3", 1, NULL) == SYNAP_OK);              /* overflow: closes */
    CHECK(read(efd, &count, sizeof count) == (ssize_t)sizeof count && count == 1);
    CHECK(synap_subscription_next(loop_sub, 0, &m) == SYNAP_OK && m != NULL && memcmp(m->payload, "1", 1) == 0);
    synap_free(m);
    CHECK(synap_subscription_next(loop_sub, 0, &m) == SYNAP_OK);
    synap_free(m);
    CHECK(synap_subscription_next(loop_sub, 0, &m) == SYNAP_ECLOSED);
    CHECK(synap_subscription_notify_fd(NULL, efd) == SYNAP_EINVAL);
    CHECK(synap_subscription_notify_fd(loop_sub, -2) == SYNAP_EINVAL);
    CHECK(synap_subscription_notify_fd(loop_sub, -1) == SYNAP_OK);
    CHECK(synap_unsubscribe(loop_sub) == SYNAP_OK);
    close(efd);
  }

  /* Bad input: exact codes and a message. */
  synap_subscription* s = NULL;
  CHECK(synap_subscribe(NULL, "a", 8, 0, &s) == SYNAP_EINVAL);
  CHECK(synap_subscribe(db, NULL, 8, 0, &s) == SYNAP_EINVAL);
  CHECK(synap_subscribe(db, "a", 8, 0, NULL) == SYNAP_EINVAL);
  CHECK(synap_subscribe(db, "a..b", 8, 0, &s) == SYNAP_EINVAL && synap_last_error()[0] != '\0');
  CHECK(synap_subscribe(db, "a.#.b", 8, 0, &s) == SYNAP_EINVAL);
  CHECK(synap_subscribe(db, "a", 0, 0, &s) == SYNAP_EINVAL);
  CHECK(synap_subscribe(db, "a", 8, 7, &s) == SYNAP_EINVAL);
  CHECK(synap_publish(NULL, "a", "x", 1, NULL) == SYNAP_EINVAL);
  CHECK(synap_publish(db, NULL, "x", 1, NULL) == SYNAP_EINVAL);
  CHECK(synap_publish(db, "a.*", "x", 1, NULL) == SYNAP_EINVAL);
  CHECK(synap_publish(db, "a", NULL, 1, NULL) == SYNAP_EINVAL);
  CHECK(synap_publish(db, "a", NULL, 0, NULL) == SYNAP_OK); /* an empty payload */
  CHECK(synap_subscription_next(NULL, 0, &m) == SYNAP_EINVAL);
  CHECK(synap_subscription_next(eu, 0, NULL) == SYNAP_EINVAL);
  CHECK(synap_subscription_dropped(NULL, &dropped) == SYNAP_EINVAL);
  CHECK(synap_unsubscribe(NULL) == SYNAP_OK);

  CHECK(synap_unsubscribe(all) == SYNAP_OK);
  CHECK(synap_unsubscribe(eu) == SYNAP_OK);
  CHECK(synap_unsubscribe(strict) == SYNAP_OK); /* closed by overflow: still freed */
  CHECK(synap_publish(db, "orders.eu.created", "p", 1, &delivered) == SYNAP_OK && delivered == 0);
  CHECK(synap_close(db) == SYNAP_OK);
  if (failures == 0) printf("pubsub_abi_test: ok\n");
  return failures == 0 ? 0 : 1;
}
