// Shared helpers for tests that drive a Wal: records whose bytes are a
// function of their LSN, and a log over the simulated backend.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/sim_backend.h"
#include "engine/wal/group_committer.h"
#include "engine/wal/wal.h"

namespace synap::testing {

// A record of 8 + (n % 97) bytes: its tag, then bytes derived from it, so a
// test can check every byte came back.
inline std::vector<uint8_t> RecordFor(uint64_t tag, size_t extra = 0) {
  std::vector<uint8_t> r(8 + (tag % 97) + extra);
  std::memcpy(r.data(), &tag, 8);
  for (size_t i = 8; i < r.size(); ++i) r[i] = static_cast<uint8_t>(tag * 31 + i);
  return r;
}

// Returns the tag of a record made by RecordFor, or UINT64_MAX if any byte
// is not what RecordFor would have written.
inline uint64_t TagOf(std::span<const uint8_t> r) {
  if (r.size() < 8) return UINT64_MAX;
  uint64_t tag;
  std::memcpy(&tag, r.data(), 8);
  for (size_t i = 8; i < r.size(); ++i)
    if (r[i] != static_cast<uint8_t>(tag * 31 + i)) return UINT64_MAX;
  return tag;
}

// Everything a reopen replays, by LSN.
struct Replayed {
  std::map<uint64_t, std::vector<uint8_t>> records;
  log::ReplayFn fn() {
    return [this](log::Lsn lsn, std::span<const uint8_t> r) { records[lsn].assign(r.begin(), r.end()); };
  }
};

// A Wal over a SimBackend driven by hand (no committer thread), so runs are
// deterministic for a seed.
struct SimLog {
  io::SimBackend* sim = nullptr;  // owned by committer
  std::unique_ptr<wal::GroupCommitter> committer;
  std::unique_ptr<wal::Wal> wal;
  wal::WalOptions opts;

  explicit SimLog(uint64_t seed) {
    auto backend = std::make_unique<io::SimBackend>(seed);
    sim = backend.get();
    committer = std::make_unique<wal::GroupCommitter>(std::move(backend), wal::GroupCommitter::Threading::kManual);
    opts.dir = "/db/wal";
    opts.segment_bytes = 64 * 1024;
    opts.max_record_bytes = 16 * 1024;
    opts.max_batch_bytes = 16 * 1024;
  }
  Status Open(Replayed* out = nullptr, log::RecoveryReport* report = nullptr) {
    Replayed local;
    Replayed* r = out != nullptr ? out : &local;
    Result<std::unique_ptr<wal::Wal>> w = wal::Wal::Open(committer.get(), opts, r->fn(), report);
    if (!w.ok()) return w.status();
    wal = std::move(*w);
    return Status::Ok();
  }
  // Runs committer rounds until nothing is in flight or pending.
  void Drain(int max_rounds = 100000) {
    for (int i = 0; i < max_rounds && (committer->io()->in_flight() > 0 || wal->acked_lsn() < wal->last_lsn()) &&
                    wal->status().ok();
         ++i)
      committer->RunOnce(0);
  }
};

}  // namespace synap::testing
