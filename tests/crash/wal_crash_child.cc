// wal_crash_child: a process that appends to a Wal over the real io_uring
// backend until it is killed (wal_kill9_test) or until it has a given number
// of acknowledgements (uring_proof_test).
//
// It opens the log in --dir (recovering it), resumes every writer's sequence
// after the highest one recovered, prints
//   ready <next lsn> <mechanism in use>
// and starts --writers threads. Each appends one record (crash_record.h) for
// (writer, --round, seq), waits for it with Wal::WaitFor, then prints
//   <lsn> <writer> <seq>
// with a single write(2) (so lines never interleave on the pipe), and goes on
// with seq + 1. A writer therefore has at most one record unacknowledged.
//
// With --stop-after N the writers stop once N acknowledgements were printed;
// the log is closed and its WalStats and the backend's IoStats are written to
// --stats-file as key=value lines.
//
// Exit codes: 0 done (--stop-after), 2 usage, 3 a Wal call failed, 4 a
// recovered record did not decode, 77 io_uring unavailable.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/backend.h"
#include "engine/wal/group_committer.h"
#include "engine/wal/wal.h"
#include "tests/crash/crash_record.h"

namespace {

using synap::Result;
using synap::Status;
using synap::testing::CrashRecordId;
using synap::wal::Lsn;

struct Args {
  std::string dir;
  std::string mechanism = "buffered";
  uint32_t writers = 8;
  uint64_t segment_bytes = 256 * 1024;
  uint32_t round = 0;
  uint64_t stop_after = 0;  // 0: forever
  std::string stats_file;
};

[[noreturn]] void Die(int code, const std::string& what) {
  std::fprintf(stderr, "wal_crash_child: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(code);
}

void Usage() {
  Die(2,
      "usage: wal_crash_child --dir DIR [--mechanism buffered|direct] [--writers W] "
      "[--segment-bytes B] [--round R] [--stop-after N --stats-file FILE]");
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) Usage();
    std::string v = argv[++i];
    char* end = nullptr;
    auto num = [&] {
      errno = 0;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (errno != 0 || end == v.c_str() || *end != '\0') Usage();
      return static_cast<uint64_t>(n);
    };
    if (k == "--dir") a.dir = v;
    else if (k == "--mechanism") a.mechanism = v;
    else if (k == "--writers") a.writers = static_cast<uint32_t>(num());
    else if (k == "--segment-bytes") a.segment_bytes = num();
    else if (k == "--round") a.round = static_cast<uint32_t>(num());
    else if (k == "--stop-after") a.stop_after = num();
    else if (k == "--stats-file") a.stats_file = v;
    else Usage();
  }
  if (a.dir.empty() || a.writers == 0 || (a.stop_after > 0 && a.stats_file.empty())) Usage();
  return a;
}

// One write(2) per line: a pipe write of at most PIPE_BUF bytes is atomic.
void EmitLine(const char* line, size_t n) {
  for (;;) {
    ssize_t w = ::write(STDOUT_FILENO, line, n);
    if (w == static_cast<ssize_t>(n)) return;
    if (w < 0 && errno == EINTR) continue;
    Die(3, "stdout write failed: " + std::string(w < 0 ? std::strerror(errno) : "short write"));
  }
}

void Writer(synap::wal::Wal* wal, uint32_t writer, uint32_t round, uint64_t seq, uint64_t stop_after,
            std::atomic<uint64_t>* acks) {
  char line[80];
  for (;; ++seq) {
    if (stop_after > 0 && acks->load() >= stop_after) return;
    std::vector<uint8_t> rec = synap::testing::MakeCrashRecord(CrashRecordId{writer, round, seq});
    Result<Lsn> lsn = wal->Append(rec);
    if (!lsn.ok()) Die(3, "Append: " + lsn.status().ToString());
    Status st = wal->WaitFor(*lsn);
    if (!st.ok()) Die(3, "WaitFor(" + std::to_string(*lsn) + "): " + st.ToString());
    int n = std::snprintf(line, sizeof line, "%" PRIu64 " %" PRIu32 " %" PRIu64 "\n", *lsn, writer, seq);
    EmitLine(line, static_cast<size_t>(n));
    acks->fetch_add(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args = Parse(argc, argv);

  std::string reason;
  Result<std::unique_ptr<synap::io::IoBackend>> backend =
      synap::io::OpenBackend(synap::io::BackendKind::kUring, 256, &reason);
  if (!backend.ok()) Die(77, "io_uring unavailable: " + backend.status().ToString());
  synap::wal::GroupCommitter committer(std::move(backend).value());

  Result<synap::wal::Mechanism> mech = synap::wal::ParseMechanism(args.mechanism);
  if (!mech.ok()) Usage();
  synap::wal::WalOptions opts = synap::testing::CrashLogOptions(args.dir, *mech, args.segment_bytes);

  // Resume every writer after the last sequence number the log kept.
  std::vector<uint64_t> next_seq(args.writers, 0);
  std::string bad;
  auto replay = [&](Lsn lsn, std::span<const uint8_t> r) {
    CrashRecordId id;
    std::string why;
    if (!bad.empty()) return;
    if (!synap::testing::DecodeCrashRecord(r, &id, &why)) {
      bad = "recovered record at LSN " + std::to_string(lsn) + " does not decode: " + why;
    } else if (id.writer >= args.writers) {
      bad = "recovered record at LSN " + std::to_string(lsn) + " has writer " + std::to_string(id.writer);
    } else {
      next_seq[id.writer] = std::max(next_seq[id.writer], id.seq + 1);
    }
  };
  synap::log::RecoveryReport report;
  Result<std::unique_ptr<synap::wal::Wal>> opened = synap::wal::Wal::Open(&committer, opts, replay, &report);
  if (!opened.ok()) Die(3, "Wal::Open: " + opened.status().ToString());
  std::unique_ptr<synap::wal::Wal> wal = std::move(opened).value();
  if (!bad.empty()) Die(4, bad);

  synap::wal::WalStats ws = wal->stats();
  char line[128];
  int n = std::snprintf(line, sizeof line, "ready %" PRIu64 " %s\n", ws.last_lsn + 1, ws.mechanism.c_str());
  EmitLine(line, static_cast<size_t>(n));

  std::atomic<uint64_t> acks{0};
  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < args.writers; ++w)
    threads.emplace_back(Writer, wal.get(), w, args.round, next_seq[w], args.stop_after, &acks);
  for (std::thread& t : threads) t.join();

  Status st = wal->Close();
  if (!st.ok()) Die(3, "Close: " + st.ToString());
  ws = wal->stats();
  synap::io::IoStats io = committer.io()->stats();
  std::ofstream out(args.stats_file);
  out << "backend=" << committer.io()->name() << "\n"
      << "mechanism=" << ws.mechanism << "\n"
      << "acks=" << acks.load() << "\n"
      << "appends=" << ws.appends << "\n"
      << "batches=" << ws.batches << "\n"
      << "payload_bytes=" << ws.payload_bytes << "\n"
      << "batch_bytes=" << ws.batch_bytes << "\n"
      << "segments_created=" << ws.segments_created << "\n"
      << "wal_syncs=" << ws.syncs << "\n"
      << "short_writes=" << ws.short_writes << "\n"
      << "io_enters=" << io.enters << "\n"
      << "io_requests=" << io.requests << "\n"
      << "io_writes=" << io.writes << "\n"
      << "io_syncs=" << io.syncs << "\n"
      << "io_dsync_writes=" << io.dsync_writes << "\n"
      << "io_bytes_written=" << io.bytes_written << "\n";
  out.close();
  if (!out) Die(3, "cannot write " + args.stats_file);
  wal.reset();
  return 0;
}
