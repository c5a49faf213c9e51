/* The child of capi_kill9_test.py: a C program writing through the C ABI
 * (libsynap) until it is SIGKILLed, and the verifier that reopens the data
 * directory afterwards.
 *
 *   capi_kill9_child run <dir> <round> <threads>
 *     Opens <dir> with wal.fsync_mode=always (and small log segments and a
 *     low snapshot threshold, so crashes also land during segment rolls and
 *     snapshots), prints "ready", then runs <threads> writer threads forever.
 *     Each thread, in a random mix:
 *       - SET of a new key "r<round>-t<thread>-<i>" (value derived from the
 *         key, see value_for), now and then through synap_set_async +
 *         synap_wait;
 *       - INCRBY 1 of the shared key "counter";
 *       - DEL of one of its own keys it set before;
 *       - SET again of one of its own keys it deleted before.
 *     Around every call it prints one line to stdout (one write(2) each,
 *     under a mutex, so lines are whole and a line is in the file before the
 *     next call starts):
 *       "B S <key>" / "B D <key>" / "B I"      before the call (begun)
 *       "A S <key>" / "A D <key>" / "A I <n>"  after it returned SYNAP_OK
 *                                              (acknowledged; n = INCRBY's result)
 *     One more thread calls synap_snapshot() every 20-80 ms, so kills also
 *     land while a snapshot is written and old log segments are deleted.
 *     A call that fails, or a result the thread's own bookkeeping
 *     contradicts (DEL of a key it set that deletes nothing), ends the
 *     process with exit status 2 and a message on stderr.
 *
 *   capi_kill9_child verify <dir> <statefile> <ackfile>...
 *     Reads the ack files (every round so far, oldest first), reopens <dir>
 *     through the C ABI and checks, for every key any round touched:
 *       - last acknowledged op SET, nothing begun after it: present, exact value;
 *       - last acknowledged op DEL, nothing begun after it: absent;
 *       - an op begun but not acknowledged after the last acknowledged one
 *         (the kill hit it in flight; it may or may not be durable): either
 *         outcome, but a present key holds its exact value;
 *       - no key exists that no round ever began to write;
 *       - "counter" >= the highest acknowledged INCRBY result, <= the number
 *         of INCRBYs ever begun, and >= what the previous verify saw.
 *     The statefile records how each in-flight (ambiguous) key was resolved
 *     and the counter; later verifies require the same resolution (no later
 *     round touches an earlier round's keys, so what recovery once showed
 *     must stay). Exit status 0 when everything holds, 1 otherwise (each
 *     violation printed on stderr).
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <synap/synap.h>

#define COUNTER_KEY "counter"
#define MAX_KEY 64
#define MAX_VALUE 320

/* ---- shared by both modes -------------------------------------------- */

static uint32_t fnv1a(const char* s) {
  uint32_t h = 2166136261u;
  for (; *s != '\0'; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

/* The value written for `key`: the key itself, then 1..200 bytes derived
 * from its hash, so a value cannot be mistaken for another key's. */
static size_t value_for(const char* key, char* out) {
  uint32_t h = fnv1a(key);
  size_t klen = strlen(key), len = klen + 1 + 1 + h % 200, i;
  memcpy(out, key, klen);
  out[klen] = '=';
  for (i = klen + 1; i < len; i++) out[i] = (char)('a' + (h + i * 7u + (h >> (i % 17))) % 26u);
  return len;
}

static int open_db(const char* dir, synap_db** db) {
  static const char* const opts[] = {
      "wal.fsync_mode", "always",
      /* Small segments: crashes hit segment rolls and preallocation. */
      "wal.segment_bytes", "256K", "wal.max_record_bytes", "64K", "wal.max_batch_bytes", "64K",
      "kv.max_key_bytes", "256", "kv.max_value_bytes", "4K",
      /* Frequent snapshots: crashes hit snapshot writing and log trimming. */
      "snapshot.operation_threshold", "500", "snapshot.keep", "2",
      NULL};
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

/* ---- run ----------------------------------------------------------------- */

static synap_db* g_db;
static int g_round;
static pthread_mutex_t g_out = PTHREAD_MUTEX_INITIALIZER;

static void out_line(const char* fmt, const char* arg, long long n) {
  char line[128];
  int len;
  size_t done = 0;
  if (arg != NULL) len = snprintf(line, sizeof line, fmt, arg);
  else len = snprintf(line, sizeof line, fmt, n);
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

static void die(const char* what, const char* key, int rc) {
  fprintf(stderr, "capi_kill9_child: %s %s -> %d (%s): %s\n", what, key != NULL ? key : "", rc, synap_strerror(rc),
          synap_last_error());
  _exit(2);
}

struct ids {
  long* v;
  size_t n, cap;
};

static void ids_push(struct ids* s, long id) {
  if (s->n == s->cap) {
    s->cap = s->cap != 0 ? s->cap * 2 : 256;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    if (s->v == NULL) abort();
  }
  s->v[s->n++] = id;
}

static long ids_take(struct ids* s, uint64_t r) { /* removes a random element */
  size_t i = (size_t)(r % s->n);
  long id = s->v[i];
  s->v[i] = s->v[--s->n];
  return id;
}

static uint64_t next_rand(uint64_t* s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

static void* writer(void* arg) {
  int tid = (int)(intptr_t)arg;
  struct ids present = {NULL, 0, 0}, deleted = {NULL, 0, 0};
  long next_id = 0;
  uint64_t rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)g_round << 32) ^ ((uint64_t)tid << 48) ^ (uint64_t)time(NULL);
  char key[MAX_KEY], val[MAX_VALUE];
  for (;;) {
    uint64_t r = next_rand(&rng);
    unsigned pick = (unsigned)(r % 100);
    int rc;
    if (pick < 12) { /* INCRBY */
      int64_t result = 0;
      out_line("B I\n", NULL, 0);
      rc = synap_incrby(g_db, COUNTER_KEY, strlen(COUNTER_KEY), 1, &result);
      if (rc != SYNAP_OK) die("incrby", COUNTER_KEY, rc);
      out_line("A I %lld\n", NULL, (long long)result);
    } else if (pick < 24 && present.n > 0) { /* DEL one of ours */
      const void* keys[1];
      size_t klens[1];
      uint64_t n = 0;
      long id = ids_take(&present, next_rand(&rng));
      snprintf(key, sizeof key, "r%d-t%d-%ld", g_round, tid, id);
      keys[0] = key, klens[0] = strlen(key);
      out_line("B D %s\n", key, 0);
      rc = synap_del(g_db, 1, keys, klens, &n);
      if (rc != SYNAP_OK) die("del", key, rc);
      if (n != 1) die("del deleted nothing:", key, rc);
      out_line("A D %s\n", key, 0);
      ids_push(&deleted, id);
    } else { /* SET: a new key, or again one we deleted */
      long id = pick < 30 && deleted.n > 0 ? ids_take(&deleted, next_rand(&rng)) : next_id++;
      size_t vlen;
      snprintf(key, sizeof key, "r%d-t%d-%ld", g_round, tid, id);
      vlen = value_for(key, val);
      out_line("B S %s\n", key, 0);
      if (pick % 10 == 0) { /* the non-blocking path: ticket, then wait */
        synap_ticket t = 0;
        rc = synap_set_async(g_db, key, strlen(key), val, vlen, 0, 0, &t);
        if (rc != SYNAP_OK) die("set_async", key, rc);
        rc = synap_wait(g_db, t);
        if (rc != SYNAP_OK) die("wait", key, rc);
      } else {
        rc = synap_set(g_db, key, strlen(key), val, vlen);
        if (rc != SYNAP_OK) die("set", key, rc);
      }
      out_line("A S %s\n", key, 0);
      ids_push(&present, id);
    }
  }
  return NULL;
}

static void* snapshotter(void* arg) {
  uint64_t rng = 0x2545f4914f6cdd1dull ^ (uint64_t)time(NULL) ^ (uint64_t)g_round;
  (void)arg;
  for (;;) {
    struct timespec ts = {0, (long)(20 + next_rand(&rng) % 60) * 1000000L};
    int rc;
    nanosleep(&ts, NULL);
    rc = synap_snapshot(g_db);
    if (rc != SYNAP_OK) die("snapshot", NULL, rc);
  }
  return NULL;
}

static int run(const char* dir, int round, int threads) {
  pthread_t t[65];
  int i, rc;
  if (threads < 1 || threads > 64) {
    fprintf(stderr, "threads must be in 1..64\n");
    return 2;
  }
  g_round = round;
  rc = open_db(dir, &g_db);
  if (rc != SYNAP_OK) die("open", dir, rc);
  out_line("ready %lld\n", NULL, (long long)round);
  for (i = 0; i < threads; i++) {
    if (pthread_create(&t[i], NULL, writer, (void*)(intptr_t)i) != 0) {
      perror("pthread_create");
      return 2;
    }
  }
  if (pthread_create(&t[threads], NULL, snapshotter, NULL) != 0) {
    perror("pthread_create");
    return 2;
  }
  for (i = 0; i < threads; i++) pthread_join(t[i], NULL); /* never: killed first */
  return 2;
}

/* ---- verify -------------------------------------------------------------- */

/* What the ack files say about one key. */
struct key_state {
  char* key;
  char acked;   /* 0 none, 'S' set, 'D' deleted: the last acknowledged op */
  char pending; /* 0 none, 'S' or 'D': begun after it, never acknowledged */
  signed char seen; /* from the statefile: -1 unknown, 0 absent, 1 present */
};

static struct key_state* table;
static size_t table_cap, table_n;

static struct key_state* lookup(const char* key, int create) {
  size_t i;
  if (create && (table_n + 1) * 2 > table_cap) { /* grow to keep the load under 1/2 */
    size_t old_cap = table_cap, j;
    struct key_state* old = table;
    table_cap = table_cap != 0 ? table_cap * 2 : 4096;
    table = calloc(table_cap, sizeof *table);
    if (table == NULL) abort();
    for (j = 0; j < old_cap; j++) {
      if (old[j].key == NULL) continue;
      for (i = fnv1a(old[j].key) & (table_cap - 1); table[i].key != NULL; i = (i + 1) & (table_cap - 1)) {
      }
      table[i] = old[j];
    }
    free(old);
  }
  if (table_cap == 0) return NULL;
  for (i = fnv1a(key) & (table_cap - 1); table[i].key != NULL; i = (i + 1) & (table_cap - 1))
    if (strcmp(table[i].key, key) == 0) return &table[i];
  if (!create) return NULL;
  table[i].key = malloc(strlen(key) + 1);
  if (table[i].key == NULL) abort();
  strcpy(table[i].key, key);
  table[i].acked = table[i].pending = 0;
  table[i].seen = -1;
  table_n++;
  return &table[i];
}

static int violations = 0;
#define VIOLATION(...)                                  \
  do {                                                  \
    fprintf(stderr, "capi_kill9 verify: " __VA_ARGS__); \
    fputc('\n', stderr);                                \
    violations++;                                       \
  } while (0)

struct counts {
  long long max_acked_incr; /* the highest acknowledged INCRBY result */
  long long begun_incr;     /* INCRBYs begun, over every round */
  long long prev_counter;   /* the counter the previous verify saw (statefile) */
  long lines, partial;
};

static void read_ackfile(const char* path, struct counts* c) {
  char line[512];
  FILE* f = fopen(path, "r");
  if (f == NULL) {
    VIOLATION("cannot open %s: %s", path, strerror(errno));
    return;
  }
  while (fgets(line, sizeof line, f) != NULL) {
    size_t len = strlen(line);
    char kind, op, key[MAX_KEY + 1];
    long long n;
    if (len == 0 || line[len - 1] != '\n') { /* the kill cut this line: never written whole */
      c->partial++;
      continue;
    }
    c->lines++;
    if (strncmp(line, "ready ", 6) == 0) continue;
    if (sscanf(line, "%c %c", &kind, &op) != 2 || (kind != 'A' && kind != 'B')) {
      VIOLATION("%s: unparsable line: %s", path, line);
      continue;
    }
    if (op == 'I') {
      if (kind == 'B') c->begun_incr++;
      else if (sscanf(line, "A I %lld", &n) == 1) {
        if (n > c->max_acked_incr) c->max_acked_incr = n;
      } else VIOLATION("%s: unparsable line: %s", path, line);
      continue;
    }
    if ((op != 'S' && op != 'D') || sscanf(line + 4, "%64s", key) != 1) {
      VIOLATION("%s: unparsable line: %s", path, line);
      continue;
    }
    {
      struct key_state* k = lookup(key, 1);
      if (kind == 'B') {
        k->pending = op;
      } else {
        if (k->pending != op) VIOLATION("%s: acknowledged %c %s without its begin line", path, op, key);
        k->acked = op;
        k->pending = 0;
      }
    }
  }
  fclose(f);
}

static void read_state(const char* path, struct counts* c) {
  char line[512], key[MAX_KEY + 1];
  int seen;
  long long n;
  FILE* f = fopen(path, "r");
  if (f == NULL) return; /* the first verify */
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "K %64s %d", key, &seen) == 2) {
      struct key_state* k = lookup(key, 0);
      if (k == NULL) VIOLATION("statefile names %s, which no ack file does", key);
      else k->seen = (signed char)seen;
    } else if (sscanf(line, "C %lld", &n) == 1) {
      c->prev_counter = n;
    }
  }
  fclose(f);
}

struct unknown_keys {
  long count;
};

static void check_key_known(void* user, const void* key, size_t klen) {
  struct unknown_keys* u = user;
  char k[MAX_KEY + 1];
  if (klen == strlen(COUNTER_KEY) && memcmp(key, COUNTER_KEY, klen) == 0) return;
  if (klen > MAX_KEY) {
    VIOLATION("a key of %zu bytes exists that no round wrote", klen);
    u->count++;
    return;
  }
  memcpy(k, key, klen);
  k[klen] = '\0';
  if (lookup(k, 0) == NULL) {
    VIOLATION("key %s exists but no round ever began to write it", k);
    u->count++;
  }
}

static int verify(const char* dir, const char* statefile, int nfiles, char** files) {
  struct counts c = {0, 0, 0, 0, 0};
  synap_db* db = NULL;
  size_t i;
  int rc;
  long present_ok = 0, absent_ok = 0, ambiguous = 0;
  long long counter = 0;
  struct unknown_keys unknown = {0};
  char tmp[4096];
  FILE* st;

  for (i = 0; i < (size_t)nfiles; i++) read_ackfile(files[i], &c);
  read_state(statefile, &c);

  rc = open_db(dir, &db);
  if (rc != SYNAP_OK) {
    fprintf(stderr, "capi_kill9 verify: synap_open(%s) -> %d (%s): %s\n", dir, rc, synap_strerror(rc),
            synap_last_error());
    return 1;
  }

  for (i = 0; i < table_cap; i++) {
    struct key_state* k = &table[i];
    char want[MAX_VALUE];
    void* val = NULL;
    size_t len = 0, wlen;
    int present, may_present, may_absent;
    if (k->key == NULL) continue;
    rc = synap_get(db, k->key, strlen(k->key), &val, &len);
    if (rc != SYNAP_OK && rc != SYNAP_NOTFOUND) {
      VIOLATION("get %s -> %d (%s): %s", k->key, rc, synap_strerror(rc), synap_last_error());
      continue;
    }
    present = rc == SYNAP_OK;
    wlen = value_for(k->key, want);
    if (present && (len != wlen || memcmp(val, want, len) != 0))
      VIOLATION("%s holds a wrong value (%zu bytes, expected %zu)", k->key, len, wlen);
    synap_free(val);
    /* What may be there: the acknowledged state, or the in-flight op's. */
    may_present = k->acked == 'S' || k->pending == 'S';
    may_absent = k->acked != 'S' || k->pending == 'D';
    if (present && !may_present)
      VIOLATION("%s is present, but its last acknowledged op was DEL and nothing set it after", k->key);
    if (!present && !may_absent)
      VIOLATION("%s is absent, but its SET was acknowledged and nothing deleted it after", k->key);
    if (may_present && may_absent) {
      ambiguous++;
      if (k->seen >= 0 && k->seen != present)
        VIOLATION("%s was %s after an earlier recovery and is %s now", k->key, k->seen ? "present" : "absent",
                  present ? "present" : "absent");
      k->seen = (signed char)present;
    } else if (present) {
      present_ok++;
    } else {
      absent_ok++;
    }
  }

  rc = synap_keys(db, NULL, 0, check_key_known, &unknown);
  if (rc != SYNAP_OK) VIOLATION("synap_keys -> %d: %s", rc, synap_last_error());

  {
    char buf[32];
    size_t len = 0;
    rc = synap_get_into(db, COUNTER_KEY, strlen(COUNTER_KEY), buf, sizeof buf - 1, &len);
    if (rc == SYNAP_OK && len < sizeof buf) {
      buf[len] = '\0';
      counter = strtoll(buf, NULL, 10);
    } else if (rc != SYNAP_NOTFOUND) {
      VIOLATION("get counter -> %d: %s", rc, synap_last_error());
    }
    if (counter < c.max_acked_incr)
      VIOLATION("counter is %lld, below the acknowledged INCRBY result %lld", counter, c.max_acked_incr);
    if (counter > c.begun_incr) VIOLATION("counter is %lld, above the %lld INCRBYs ever begun", counter, c.begun_incr);
    if (counter < c.prev_counter)
      VIOLATION("counter is %lld, below the %lld an earlier recovery showed", counter, c.prev_counter);
  }

  rc = synap_close(db);
  if (rc != SYNAP_OK) VIOLATION("synap_close -> %d: %s", rc, synap_last_error());

  /* The new statefile: every ambiguous key's resolution, and the counter. */
  snprintf(tmp, sizeof tmp, "%s.tmp", statefile);
  st = fopen(tmp, "w");
  if (st == NULL) {
    VIOLATION("cannot write %s: %s", tmp, strerror(errno));
  } else {
    for (i = 0; i < table_cap; i++)
      if (table[i].key != NULL && table[i].seen >= 0) fprintf(st, "K %s %d\n", table[i].key, table[i].seen);
    fprintf(st, "C %lld\n", counter);
    if (fclose(st) != 0 || rename(tmp, statefile) != 0) VIOLATION("cannot write %s: %s", statefile, strerror(errno));
  }

  printf("verify: %ld ack lines (%ld cut by the kill), %zu keys: %ld present, %ld absent, %ld in flight at a kill; "
         "counter %lld (acked >= %lld, begun %lld)%s\n",
         c.lines, c.partial, table_n, present_ok, absent_ok, ambiguous, counter, c.max_acked_incr, c.begun_incr,
         violations != 0 ? " -- VIOLATIONS" : "");
  for (i = 0; i < table_cap; i++) free(table[i].key);
  free(table);
  return violations == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 5 && strcmp(argv[1], "run") == 0) return run(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (argc >= 4 && strcmp(argv[1], "verify") == 0) return verify(argv[2], argv[3], argc - 4, argv + 4);
  fprintf(stderr,
          "usage: %s run <dir> <round> <threads>\n"
          "       %s verify <dir> <statefile> <ackfile>...\n",
          argv[0], argv[0]);
  return 2;
}
