/* The child of capi_stream_kill9_test.py: stream appends, consumer-group
 * commits and tail reads through the C ABI (libsynap) until it is SIGKILLed,
 * and the verifier that reopens the data directory afterwards and reads
 * every room from offset 0.
 *
 *   capi_stream_kill9_child run <dir> <round> <writers>
 *     Opens <dir> with small stream segments (stream.segment_bytes=128K,
 *     stream.max_append_bytes=64K, stream.max_event_bytes=16K; rooms keep
 *     the default fsync=always; index files written every 50 ms), creates the rooms s0..s3 (SYNAP_EEXIST is
 *     fine), prints "ready <round>", then runs forever:
 *       - writer threads: append a batch of 1..20 events to a random room.
 *         Event j of writer w's append number q carries
 *           key     "w<w>.<q>.<j>"
 *           header  "id" = "<round>.<w>.<q>.<j>.<n>"
 *           payload "R<round>.W<w>.Q<q>.J<j>.N<n>.L<len>|" then filler
 *                   bytes derived from that prefix, <len> bytes in all
 *         (n = the batch's size); sizes vary from a few bytes to ~15 KB
 *         (some batches near stream.max_append_bytes), so segments roll
 *         often. Every 4th writer also commits: group "g<w>" at the
 *         room's current high watermark (monotonic), now and then.
 *       - reader threads: tail-read every room (blocking reads of up to 50
 *         ms), check each event they see is whole and self-consistent, and
 *         print the high watermark they read up to.
 *     Lines on stdout, each with one write(2) under a mutex (a line is
 *     whole, and in the file before the next call starts):
 *       "a <room> <round> <w> <q> <n>"          before an append (it may land)
 *       "A <room> <first> <n> <round> <w> <q>"  after synap_stream_append
 *                                               returned SYNAP_OK at <first>
 *       "c <group> <room> <offset>"             before a commit (it may land)
 *       "C <group> <room> <offset>"             after synap_group_commit
 *                                               returned SYNAP_OK
 *       "H <room> <offset>"                     a reader read events below
 *                                               <offset> (they were readable)
 *     A call that fails, or an event a reader sees that is not what it
 *     says it is, ends the process with status 2 and a message on stderr.
 *
 *   capi_stream_kill9_child verify <dir> <groups>
 *     Reopens <dir> and reads each room s0..s3 from offset 0 to its high
 *     watermark. Checks on its own: synap_stream_bounds gives earliest 0;
 *     offsets are contiguous from 0 (no gap, no repeat); every event is
 *     whole and self-consistent (payload, key, header agree); the events of
 *     one append form one run at consecutive offsets, j = 0..n-1, all or
 *     none; reading at the high watermark gives count 0 and beyond it
 *     SYNAP_ERANGE. Prints
 *       "B <room> <first> <n> <round> <w> <q>"  per append found
 *       "E <room> <next_offset>"                per room
 *       "G <group> <room> <offset>|-"           per group g0..g<groups-1>
 *                                               and room (- = NOTFOUND)
 *     A violation is printed on stderr and makes the exit status 1; the
 *     driver checks the B/E/G lines against every round's run output. */
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

#define CHILD_NAME "capi_stream_kill9_child"
#include "capi_child.h"

#define NROOMS 4
#define MAX_BATCH 20
#define MAX_EVENT_PAYLOAD 15000   /* under stream.max_event_bytes (16K) with key and header */
#define MAX_APPEND_PAYLOAD 60000  /* under stream.max_append_bytes (64K) with framing */

static const char* const rooms[NROOMS] = {"s0", "s1", "s2", "s3"};

static int open_db(const char* dir, synap_db** db) {
  static const char* const opts[] = {"stream.segment_bytes", "131072", "stream.max_append_bytes", "65536",
                                     "stream.max_event_bytes", "16384",
                                     /* index files of sealed segments written every 50 ms, so kills
                                      * land in them too (the next open trusts or rebuilds them) */
                                     "stream.maintenance_ms", "50",
                                     /* the main log is not under test: no preallocated 64 MiB segment per round */
                                     "wal.preallocate", "none", NULL};
  return open_with(dir, opts, db);
}


/* ---- the events ------------------------------------------------------------ */

struct ident {
  long round, w, q, j, n, len;
};

/* FNV-1a of the prefix seeds the filler: a byte out of place anywhere shows. */
static void fill(char* p, size_t prefix_len, size_t len) {
  uint64_t h = 1469598103934665603ull, s;
  size_t i;
  for (i = 0; i < prefix_len; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
  s = h | 1;
  for (i = prefix_len; i < len; i++) {
    if ((i & 7) == (prefix_len & 7)) next_rand(&s);
    p[i] = (char)(s >> (8 * ((i - prefix_len) & 7)));
  }
}

#define MIN_PAYLOAD 64 /* longer than any identity prefix */

/* Writes event (id)'s payload (id->len >= MIN_PAYLOAD bytes) into p. */
static size_t make_payload(char* p, const struct ident* id) {
  int k = snprintf(p, MIN_PAYLOAD, "R%ld.W%ld.Q%ld.J%ld.N%ld.L%ld|", id->round, id->w, id->q, id->j, id->n, id->len);
  if (k <= 0 || k >= MIN_PAYLOAD || id->len < MIN_PAYLOAD) abort();
  fill(p, (size_t)k, (size_t)id->len);
  return (size_t)id->len;
}

/* Parses and checks an event read back: its payload regenerates exactly,
 * its key and its one header agree. Returns 0 and fills *id, or -1 with a
 * reason in why. */
static int check_event(const synap_event* e, struct ident* id, char* buf, char* why, size_t cap) {
  char prefix[96], want[96];
  size_t plen, i;
  int k;
  const char* pl = e->payload;
  for (plen = 0; plen < e->payload_len && plen < sizeof prefix - 1 && pl[plen] != '|'; plen++) prefix[plen] = pl[plen];
  if (plen >= e->payload_len || pl[plen] != '|') {
    snprintf(why, cap, "payload of %zu bytes has no identity prefix", e->payload_len);
    return -1;
  }
  prefix[plen] = '\0';
  if (sscanf(prefix, "R%ld.W%ld.Q%ld.J%ld.N%ld.L%ld", &id->round, &id->w, &id->q, &id->j, &id->n, &id->len) != 6) {
    snprintf(why, cap, "unparsable prefix %.60s", prefix);
    return -1;
  }
  if (id->len < MIN_PAYLOAD || id->len > MAX_EVENT_PAYLOAD || (size_t)id->len != e->payload_len || id->n < 1 ||
      id->n > MAX_BATCH || id->j < 0 || id->j >= id->n) {
    snprintf(why, cap, "event %s has %zu bytes", prefix, e->payload_len);
    return -1;
  }
  {
    make_payload(buf, id);
    if (memcmp(buf, pl, e->payload_len) != 0) {
      for (i = 0; i < e->payload_len && buf[i] == pl[i]; i++) {
      }
      snprintf(why, cap, "event %s: payload differs at byte %zu", prefix, i);
      return -1;
    }
  }
  k = snprintf(want, sizeof want, "w%ld.%ld.%ld", id->w, id->q, id->j);
  if (e->key_len != (size_t)k || memcmp(e->key, want, (size_t)k) != 0) {
    snprintf(why, cap, "event %s: key %.*s", prefix, (int)(e->key_len < 60 ? e->key_len : 60), (const char*)e->key);
    return -1;
  }
  k = snprintf(want, sizeof want, "%ld.%ld.%ld.%ld.%ld", id->round, id->w, id->q, id->j, id->n);
  if (e->header_count != 1 || e->headers[0].key_len != 2 || memcmp(e->headers[0].key, "id", 2) != 0 ||
      e->headers[0].value_len != (size_t)k || memcmp(e->headers[0].value, want, (size_t)k) != 0) {
    snprintf(why, cap, "event %s: %zu headers, or header id is not %s", prefix, e->header_count, want);
    return -1;
  }
  return 0;
}

/* ---- run ----------------------------------------------------------------- */

static synap_db* g_db;
static int g_round;

static void* writer(void* arg) {
  int tid = (int)(intptr_t)arg;
  uint64_t rng = seed_for(g_round, tid);
  long q;
  char* payloads = malloc((size_t)MAX_BATCH * (MAX_EVENT_PAYLOAD + 128));
  char keys[MAX_BATCH][48], hvals[MAX_BATCH][64];
  synap_header hdrs[MAX_BATCH];
  synap_event_in evs[MAX_BATCH];
  char group[16];
  if (payloads == NULL) abort();
  snprintf(group, sizeof group, "g%d", tid);
  for (q = 0;; q++) {
    uint64_t r = next_rand(&rng);
    const char* room = rooms[r % NROOMS];
    long n = 1 + (long)((r >> 8) % MAX_BATCH), j, budget, shape = (long)((r >> 16) % 10);
    uint64_t first = 0;
    int rc;
    /* Sizes: mostly small, sometimes large, now and then a batch near the limit. */
    budget = shape == 0 ? MAX_APPEND_PAYLOAD : shape < 2 ? 16000 : 2000;
    if (shape == 0 && (r >> 24) % 3 != 0) budget = 8000; /* the largest: one append in 30 */
    for (j = 0; j < n; j++) {
      struct ident id;
      long cap = budget / n, len;
      if (cap > MAX_EVENT_PAYLOAD) cap = MAX_EVENT_PAYLOAD;
      if (cap < MIN_PAYLOAD) cap = MIN_PAYLOAD;
      len = MIN_PAYLOAD + (long)(next_rand(&rng) % (uint64_t)(cap - MIN_PAYLOAD + 1));
      id.round = g_round, id.w = tid, id.q = q, id.j = j, id.n = n, id.len = len;
      evs[j].payload_len = make_payload(payloads + (size_t)j * (MAX_EVENT_PAYLOAD + 128), &id);
      evs[j].payload = payloads + (size_t)j * (MAX_EVENT_PAYLOAD + 128);
      evs[j].key_len = (size_t)snprintf(keys[j], sizeof keys[j], "w%d.%ld.%ld", tid, q, j);
      evs[j].key = keys[j];
      hdrs[j].key = "id", hdrs[j].key_len = 2;
      hdrs[j].value_len = (size_t)snprintf(hvals[j], sizeof hvals[j], "%d.%d.%ld.%ld.%ld", g_round, tid, q, j, n);
      hdrs[j].value = hvals[j];
      evs[j].headers = &hdrs[j], evs[j].header_count = 1;
      evs[j].timestamp_ms = 0;
    }
    out_line("a %s %d %d %ld %ld\n", room, g_round, tid, q, n);
    rc = synap_stream_append(g_db, room, evs, (size_t)n, &first);
    if (rc != SYNAP_OK) die("append", rc);
    out_line("A %s %llu %ld %d %d %ld\n", room, (unsigned long long)first, n, g_round, tid, q);

    if (tid % 4 == 0 && (r >> 32) % 4 == 0) { /* commit group g<tid> at the room's high watermark */
      const char* croom = rooms[(r >> 40) % NROOMS];
      uint64_t next = 0;
      rc = synap_stream_bounds(g_db, croom, NULL, &next);
      if (rc != SYNAP_OK) die("bounds", rc);
      out_line("c %s %s %llu\n", group, croom, (unsigned long long)next);
      rc = synap_group_commit(g_db, group, croom, next);
      if (rc != SYNAP_OK) die("group_commit", rc);
      out_line("C %s %s %llu\n", group, croom, (unsigned long long)next);
    }
  }
  return NULL;
}

/* Tails every room; each event must be whole and consistent. */
static void* reader(void* arg) {
  uint64_t pos[NROOMS] = {0, 0, 0, 0};
  int tid = (int)(intptr_t)arg;
  uint64_t rng = seed_for(g_round, 500 + tid);
  char why[256];
  char* buf = malloc(MAX_EVENT_PAYLOAD + 128);
  if (buf == NULL) abort();
  for (;;) {
    int k = (int)(next_rand(&rng) % NROOMS);
    synap_events* r = NULL;
    size_t i;
    int rc;
    if (pos[k] == 0) { /* start somewhere near the end: the tail is what a crash threatens */
      uint64_t next = 0;
      rc = synap_stream_bounds(g_db, rooms[k], NULL, &next);
      if (rc != SYNAP_OK) die("bounds", rc);
      pos[k] = next > 200 ? next - 200 : 0;
    }
    rc = synap_stream_read(g_db, rooms[k], pos[k], 500, 0, 50, &r);
    if (rc != SYNAP_OK) die("read", rc);
    for (i = 0; i < r->count; i++) {
      struct ident id;
      if (r->events[i].offset != pos[k] + i) {
        fprintf(stderr, "capi_stream_kill9_child: reader: %s offset %llu where %llu was due\n", rooms[k],
                (unsigned long long)r->events[i].offset, (unsigned long long)(pos[k] + i));
        _exit(2);
      }
      if (check_event(&r->events[i], &id, buf, why, sizeof why) != 0) {
        fprintf(stderr, "capi_stream_kill9_child: reader: %s offset %llu: %s\n", rooms[k],
                (unsigned long long)r->events[i].offset, why);
        _exit(2);
      }
    }
    if (r->count > 0) {
      pos[k] = r->events[r->count - 1].offset + 1;
      if (r->next_offset != pos[k] || r->high_watermark < pos[k]) {
        fprintf(stderr, "capi_stream_kill9_child: reader: %s next_offset %llu, high watermark %llu after %llu\n",
                rooms[k], (unsigned long long)r->next_offset, (unsigned long long)r->high_watermark,
                (unsigned long long)pos[k]);
        _exit(2);
      }
      out_line("H %s %llu\n", rooms[k], (unsigned long long)pos[k]);
    }
    synap_free(r);
  }
  return NULL;
}

static int run(const char* dir, int round, int writers) {
  pthread_t t[64];
  int i, rc, nt = 0, readers = 2;
  if (writers < 1 || writers > 60) {
    fprintf(stderr, "writers: 1..60\n");
    return 2;
  }
  g_round = round;
  rc = open_db(dir, &g_db);
  if (rc != SYNAP_OK) die("open", rc);
  for (i = 0; i < NROOMS; i++) {
    rc = synap_stream_create(g_db, rooms[i], NULL);
    if (rc != SYNAP_OK && rc != SYNAP_EEXIST) die("create", rc);
  }
  out_line("ready %d\n", round);
  for (i = 0; i < writers + readers; i++) {
    void* (*fn)(void*) = i < writers ? writer : reader;
    if (pthread_create(&t[nt++], NULL, fn, (void*)(intptr_t)(i < writers ? i : i - writers)) != 0) {
      perror("pthread_create");
      return 2;
    }
  }
  for (i = 0; i < nt; i++) pthread_join(t[i], NULL); /* never: killed first */
  return 2;
}

/* ---- verify -------------------------------------------------------------- */

static int violations = 0;
#define VIOLATION(...)                                         \
  do {                                                         \
    fprintf(stderr, "capi_stream_kill9 verify: " __VA_ARGS__); \
    fputc('\n', stderr);                                       \
    violations++;                                              \
  } while (0)

static void verify_room(synap_db* db, const char* room) {
  uint64_t earliest = 1, next = 0, pos = 0, run_first = 0;
  struct ident cur; /* the append being walked */
  int in_run = 0, rc;
  char why[256];
  static char buf[MAX_EVENT_PAYLOAD + 128];
  synap_events* r = NULL;
  rc = synap_stream_bounds(db, room, &earliest, &next);
  if (rc == SYNAP_NOTFOUND) {
    printf("E %s missing\n", room);
    return;
  }
  if (rc != SYNAP_OK) {
    VIOLATION("bounds %s -> %d (%s): %s", room, rc, synap_strerror(rc), synap_last_error());
    return;
  }
  if (earliest != 0) VIOLATION("room %s: earliest offset %llu, not 0 (no retention is set)", room,
                               (unsigned long long)earliest);
  memset(&cur, 0, sizeof cur);
  while (pos < next) {
    size_t i;
    rc = synap_stream_read(db, room, pos, 1000, 0, 0, &r);
    if (rc != SYNAP_OK) {
      VIOLATION("read %s at %llu (high watermark %llu) -> %d (%s): %s", room, (unsigned long long)pos,
                (unsigned long long)next, rc, synap_strerror(rc), synap_last_error());
      return;
    }
    if (r->count == 0) {
      VIOLATION("read %s at %llu gave no event below the high watermark %llu", room, (unsigned long long)pos,
                (unsigned long long)next);
      synap_free(r);
      return;
    }
    if (r->high_watermark != next)
      VIOLATION("room %s: read reports high watermark %llu, bounds %llu", room,
                (unsigned long long)r->high_watermark, (unsigned long long)next);
    for (i = 0; i < r->count; i++) {
      const synap_event* e = &r->events[i];
      struct ident id;
      if (e->offset != pos) {
        VIOLATION("room %s: offset %llu where %llu was due (a gap or a repeat)", room, (unsigned long long)e->offset,
                  (unsigned long long)pos);
        synap_free(r);
        return;
      }
      if (check_event(e, &id, buf, why, sizeof why) != 0) {
        VIOLATION("room %s offset %llu: %s", room, (unsigned long long)pos, why);
        synap_free(r);
        return;
      }
      if (in_run && (id.round != cur.round || id.w != cur.w || id.q != cur.q)) {
        VIOLATION("room %s offset %llu: append R%ld.W%ld.Q%ld starts before R%ld.W%ld.Q%ld (at %llu) ended: it has "
                  "%ld of %ld events (all or none)",
                  room, (unsigned long long)pos, id.round, id.w, id.q, cur.round, cur.w, cur.q,
                  (unsigned long long)run_first, cur.j + 1, cur.n);
        in_run = 0;
      }
      if (!in_run) {
        if (id.j != 0) VIOLATION("room %s offset %llu: an append starts at its event %ld", room,
                                 (unsigned long long)pos, id.j);
        in_run = 1;
        run_first = pos;
      } else if (id.j != cur.j + 1 || id.n != cur.n) {
        VIOLATION("room %s offset %llu: event %ld of %ld follows event %ld of %ld of the same append", room,
                  (unsigned long long)pos, id.j, id.n, cur.j, cur.n);
      }
      cur = id;
      if (id.j == id.n - 1) {
        printf("B %s %llu %ld %ld %ld %ld\n", room, (unsigned long long)run_first, id.n, id.round, id.w, id.q);
        in_run = 0;
      }
      pos++;
    }
    if (r->next_offset != pos) VIOLATION("room %s: next_offset %llu after offset %llu", room,
                                         (unsigned long long)r->next_offset, (unsigned long long)(pos - 1));
    synap_free(r);
  }
  if (in_run)
    VIOLATION("room %s: the last append R%ld.W%ld.Q%ld (at %llu) has %ld of %ld events (all or none)", room, cur.round,
              cur.w, cur.q, (unsigned long long)run_first, cur.j + 1, cur.n);
  /* At the end: count 0; beyond: SYNAP_ERANGE. */
  rc = synap_stream_read(db, room, next, 0, 0, 0, &r);
  if (rc != SYNAP_OK || r->count != 0 || r->next_offset != next)
    VIOLATION("read %s at its end %llu -> %d, %zu events", room, (unsigned long long)next, rc,
              rc == SYNAP_OK ? r->count : 0);
  if (rc == SYNAP_OK) synap_free(r);
  r = NULL;
  rc = synap_stream_read(db, room, next + 1, 0, 0, 0, &r);
  if (rc != SYNAP_ERANGE) VIOLATION("read %s beyond its end -> %d, not SYNAP_ERANGE", room, rc);
  if (rc == SYNAP_OK) synap_free(r);
  printf("E %s %llu\n", room, (unsigned long long)next);
}

static int verify(const char* dir, int groups) {
  synap_db* db = NULL;
  int i, g, rc = open_db(dir, &db);
  if (rc != SYNAP_OK) {
    fprintf(stderr, "capi_stream_kill9 verify: synap_open(%s) -> %d (%s): %s\n", dir, rc, synap_strerror(rc),
            synap_last_error());
    return 1;
  }
  for (i = 0; i < NROOMS; i++) verify_room(db, rooms[i]);
  for (g = 0; g < groups; g++) {
    char group[16];
    snprintf(group, sizeof group, "g%d", g);
    for (i = 0; i < NROOMS; i++) {
      uint64_t off = 0;
      rc = synap_group_committed(db, group, rooms[i], &off);
      if (rc == SYNAP_OK) printf("G %s %s %llu\n", group, rooms[i], (unsigned long long)off);
      else if (rc == SYNAP_NOTFOUND) printf("G %s %s -\n", group, rooms[i]);
      else VIOLATION("group_committed %s %s -> %d (%s): %s", group, rooms[i], rc, synap_strerror(rc), synap_last_error());
    }
  }
  rc = synap_close(db);
  if (rc != SYNAP_OK) VIOLATION("synap_close -> %d: %s", rc, synap_last_error());
  fflush(stdout);
  return violations == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 5 && strcmp(argv[1], "run") == 0) return run(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (argc == 4 && strcmp(argv[1], "verify") == 0) return verify(argv[2], atoi(argv[3]));
  fprintf(stderr,
          "usage: %s run <dir> <round> <writers>\n"
          "       %s verify <dir> <groups>\n",
          argv[0], argv[0]);
  return 2;
}
