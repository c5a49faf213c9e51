// Shared helpers for tests of snapshot files: deterministic records, writing
// and reading a whole snapshot, and a look at a file's blocks.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/io/backend.h"
#include "engine/io/sim_backend.h"
#include "engine/snapshot/snapshot_file.h"

namespace synap::snapshot::testing {

struct Rec {
  uint8_t type;
  std::vector<uint8_t> payload;
  bool operator==(const Rec&) const = default;
};

// Deterministic records: sizes in [min_len, max_len], every other one
// compressible (a repeated byte), the others random (Zstd cannot shrink them).
inline std::vector<Rec> MakeRecords(size_t n, size_t min_len, size_t max_len, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Rec> out;
  for (size_t i = 0; i < n; ++i) {
    Rec r;
    r.type = static_cast<uint8_t>(1 + rng() % 255);
    r.payload.resize(min_len + rng() % (max_len - min_len + 1));
    if (i % 2 == 0) {
      std::fill(r.payload.begin(), r.payload.end(), static_cast<uint8_t>(i));
    } else {
      for (uint8_t& b : r.payload) b = static_cast<uint8_t>(rng());
    }
    out.push_back(std::move(r));
  }
  return out;
}

inline WriterOptions SmallBlocks() {
  WriterOptions o;
  o.block_bytes = kMinBlockBytes;
  return o;
}

inline Result<SnapshotMeta> Write(io::IoBackend* io, const std::string& dir, Lsn lsn, const std::vector<Rec>& recs,
                           const WriterOptions& opts = SmallBlocks()) {
  Result<std::unique_ptr<SnapshotWriter>> w = SnapshotWriter::Create(io, dir, lsn, opts);
  if (!w.ok()) return w.status();
  for (const Rec& r : recs) SYNAP_RETURN_IF_ERROR((*w)->Add(r.type, r.payload));
  return (*w)->Finish();
}

struct ReadBack {
  Status status;
  SnapshotMeta meta;
  std::vector<Rec> recs;
};

inline ReadBack Read(io::IoBackend* io, const std::string& path, const ReadOptions& opts = {}) {
  ReadBack rb;
  Result<SnapshotMeta> m = ReadSnapshot(
      io, path,
      [&](uint8_t type, std::span<const uint8_t> p) {
        rb.recs.push_back(Rec{type, {p.begin(), p.end()}});
        return Status::Ok();
      },
      opts);
  rb.status = m.status();
  if (m.ok()) rb.meta = *m;
  return rb;
}

inline std::vector<uint8_t> Contents(io::SimBackend& sim, const std::string& path) {
  Result<std::vector<uint8_t>> c = sim.contents(path);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : std::vector<uint8_t>{};
}

inline void PutFile(io::IoBackend* io, const std::string& path, std::span<const uint8_t> bytes) {
  io->remove(path);  // absent is fine
  io::OpenOptions oo;
  oo.create = true;
  Result<io::FileHandle> f = io->open(path, oo);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  if (!bytes.empty()) {
    ASSERT_TRUE(io->write_at(*f, 0, bytes.data(), bytes.size()).ok());
  }
  ASSERT_TRUE(io->close(*f).ok());
}

// The block headers of a well-formed file, in order.
inline std::vector<BlockHeader> Blocks(const std::vector<uint8_t>& file) {
  FileHeader fh;
  EXPECT_TRUE(DecodeFileHeader(file.data(), file.size(), &fh).ok());
  std::vector<BlockHeader> out;
  for (size_t pos = kFileHeaderSize; pos < file.size() - kFooterSize;) {
    BlockHeader bh;
    uint64_t hash;
    Status st = DecodeBlockHeader(file.data() + pos, fh.file_id, fh.block_bytes, &bh, &hash);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) break;
    out.push_back(bh);
    pos += kBlockHeaderSize + bh.stored_len;
  }
  return out;
}

inline std::vector<Lsn> Lsns(const std::vector<SnapshotMeta>& metas) {
  std::vector<Lsn> out;
  for (const SnapshotMeta& m : metas) out.push_back(m.start_lsn);
  return out;
}

}  // namespace synap::snapshot::testing
