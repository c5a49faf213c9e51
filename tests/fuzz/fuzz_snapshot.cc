// Fuzz target: the snapshot loader (snapshot::ReadSnapshot) on hostile
// .snap files.
//
// Input: a snapshot file, written on a SimBackend as
// "/snap/<20-digit LSN>.snap" with the LSN its header claims (bytes 8..16),
// so the name check passes unless the fuzzer breaks it; run as it is and
// with its hashes fixed up (fuzz_support.h).
//
// Invariants, besides no crash and no sanitizer report:
//  * an error is Corruption or Unsupported (the file is all there is; no
//    I/O error can happen on the simulated disk);
//  * on success the meta agrees with what the record function saw (records,
//    raw bytes: each record's type, length varint and payload) and with the
//    file size; progress never goes backwards nor past the size;
//  * a record function that fails stops the read at once, and its Status
//    comes back untouched.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/sim_backend.h"
#include "engine/snapshot/format.h"
#include "engine/snapshot/snapshot_file.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using synap::Status;
namespace snap = synap::snapshot;
namespace fz = synap::fuzz;

void Read(const std::vector<uint8_t>& file) {
  synap::io::SimBackend sim(1);
  FUZZ_CHECK(sim.make_dir("/snap").ok(), "make_dir");
  const snap::Lsn lsn = file.size() >= 16 ? fz::Load64(file.data() + 8) : 1;
  const std::string path = "/snap/" + snap::SnapshotFileName(lsn);
  synap::io::OpenOptions oo;
  oo.create = true;
  synap::Result<synap::io::FileHandle> f = sim.open(path, oo);
  FUZZ_CHECK(f.ok(), "open");
  if (!file.empty()) FUZZ_CHECK(sim.write_at(*f, 0, file.data(), file.size()).ok(), "write");
  sim.close(*f);

  uint64_t records = 0, raw_bytes = 0, last_done = 0;
  snap::ReadOptions ro;
  ro.progress = [&](uint64_t done, uint64_t total) {
    FUZZ_CHECK(total == file.size() && done >= last_done && done <= total, "progress %llu/%llu after %llu",
               (unsigned long long)done, (unsigned long long)total, (unsigned long long)last_done);
    last_done = done;
  };
  synap::Result<snap::SnapshotMeta> meta = snap::ReadSnapshot(
      &sim, path,
      [&](uint8_t type, std::span<const uint8_t> payload) {
        FUZZ_CHECK(type != 0 && payload.size() <= snap::kMaxRecordBytes, "record type %u, %zu bytes", type,
                   payload.size());
        ++records;
        raw_bytes += snap::RecordEncodedSize(static_cast<uint32_t>(payload.size()));
        return Status::Ok();
      },
      ro);
  if (!meta.ok()) {
    Status::Code c = meta.status().code();
    FUZZ_CHECK(c == Status::Code::kCorruption || c == Status::Code::kUnsupported, "unexpected error: %s",
               meta.status().ToString().c_str());
    return;
  }
  FUZZ_CHECK(meta->records == records && meta->raw_bytes == raw_bytes && meta->file_bytes == file.size() &&
                 meta->start_lsn == lsn && last_done == file.size(),
             "meta says %llu records / %llu raw bytes, the reader handed out %llu / %llu",
             (unsigned long long)meta->records, (unsigned long long)meta->raw_bytes, (unsigned long long)records,
             (unsigned long long)raw_bytes);
  if (records == 0) return;
  // Stop at the middle record: that Status, untouched, and nothing after it.
  const uint64_t stop_at = records / 2;
  uint64_t seen = 0;
  synap::Result<snap::SnapshotMeta> stopped =
      snap::ReadSnapshot(&sim, path, [&](uint8_t, std::span<const uint8_t>) {
        FUZZ_CHECK(seen <= stop_at, "a record after the function failed");
        return seen++ == stop_at ? Status::Busy("stop here") : Status::Ok();
      });
  FUZZ_CHECK(!stopped.ok() && stopped.status().code() == Status::Code::kBusy &&
                 stopped.status().message() == "stop here",
             "the record function's Status came back as %s", stopped.status().ToString().c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return -1;
  std::vector<uint8_t> file(data, data + size);
  Read(file);
  std::vector<uint8_t> fixed = file;
  fz::FixSnapshotHashes(&fixed);
  if (fixed != file) Read(fixed);
  return 0;
}
