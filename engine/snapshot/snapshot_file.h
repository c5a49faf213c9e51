// Snapshot files: a point-in-time image that the log is replayed on top of.
//
// This layer knows nothing of keys or values. A snapshot is a file of opaque
// typed records (type 1..255, payload up to kMaxRecordBytes), read back in the
// order they were added. The data models choose the types (the KV store: one
// record per key; queues and streams: their own types). The bytes on disk are
// in engine/snapshot/format.h and docs/format.md ("Snapshot files").
//
// A snapshot lives in a directory as "<20-digit start_lsn>.snap": replaying
// the log from start_lsn on top of its records gives the state. It is written as "<...>.snap.tmp", fsynced, and
// renamed into place, then the directory is fsynced: a crash at any point
// leaves either no .snap of that LSN or a complete one.
//
// Threading: a SnapshotWriter is used by one thread at a time. The free
// functions are as thread-safe as the IoBackend, but RetainNewest deletes
// every *.snap.tmp, so it must not run while a writer of the same directory
// is live.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/io/backend.h"
#include "engine/log/format.h"
#include "engine/snapshot/format.h"

namespace synap::snapshot {

struct SnapshotMeta {
  std::string path;            // full path of the file
  Lsn start_lsn = 0;           // replay the log from this LSN on top of the snapshot
  int64_t created_unix_ms = 0;
  uint64_t records = 0;        // records in the file
  uint64_t raw_bytes = 0;      // uncompressed record bytes: types, length varints and payloads
  uint64_t file_bytes = 0;
};

struct WriterOptions {
  int zstd_level = 1;              // 1..22 (ZSTD_maxCLevel)
  uint32_t block_bytes = 1u << 20;  // raw bytes per block, kMinBlockBytes..kMaxBlockBytes
};
// InvalidArgument naming the bad field, or ok.
Status ValidateWriterOptions(const WriterOptions& opts);

class SnapshotWriter {
 public:
  // Creates <dir>/<20-digit start_lsn>.snap.tmp, replacing a stale one (dir is
  // created if missing, durably). start_lsn must be >= 1 (LSNs start at 1).
  // Errors: InvalidArgument (options, start_lsn 0, empty dir), IOError, NoSpace.
  static Result<std::unique_ptr<SnapshotWriter>> Create(io::IoBackend* io, const std::string& dir, Lsn start_lsn,
                                                        const WriterOptions& opts);

  // Appends one record. type 0 is InvalidArgument; a payload over
  // kMaxRecordBytes is TooLarge; neither harms the writer. A full block is
  // compressed and written before Add returns. An I/O error is returned and
  // sticks: every later call returns it. After Finish: Closed.
  Status Add(uint8_t type, std::span<const uint8_t> payload);

  // Writes the last block and the footer, fsyncs the file, renames it to
  // <dir>/<20-digit start_lsn>.snap (replacing one of the same LSN) and fsyncs
  // the directory. Only after Finish returns ok does the snapshot exist. If it
  // fails after the rename (the directory fsync), the .snap may be there, and
  // it is complete and synced, but the caller must not count on it: it may
  // not survive a crash. Called twice: Closed.
  Result<SnapshotMeta> Finish();

  // Without a successful Finish: closes and removes the temp file (best effort).
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  uint64_t records() const { return records_; }
  uint64_t raw_bytes() const { return raw_bytes_ + (raw_.size() - kBlockHeaderSize); }

 private:
  SnapshotWriter(io::IoBackend* io, std::string dir, const FileHeader& header, const WriterOptions& opts);
  Status Open();
  Status FlushBlock();
  Status Fail(Status st);

  io::IoBackend* io_;
  const std::string dir_;
  const std::string tmp_path_;
  const std::string final_path_;
  const FileHeader header_;
  const WriterOptions opts_;
  io::FileHandle file_ = io::kInvalidFile;
  // The open block's records, after kBlockHeaderSize bytes of headroom where
  // the header goes when the block is stored uncompressed (one write, no copy).
  std::vector<uint8_t> raw_;
  std::vector<uint8_t> out_;  // [block header][Zstd frame] when compressed
  uint32_t block_records_ = 0;
  uint64_t offset_ = 0;       // where the next block goes
  uint64_t blocks_ = 0;
  uint64_t records_ = 0;      // in flushed blocks and the open one
  uint64_t raw_bytes_ = 0;    // in flushed blocks
  uint64_t digest_ = 0;
  Status failed_;             // the first I/O error; sticks
  bool finished_ = false;     // Finish ran (ok or not); no more calls
  bool created_ = false;      // this writer created the temp file
  bool renamed_ = false;      // the temp file is gone
};

using RecordFn = std::function<Status(uint8_t type, std::span<const uint8_t> payload)>;

struct ReadOptions {
  // Called after each block with the file bytes consumed so far and the file
  // size, and once more with done == total when the whole file has validated.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Reads and validates a whole snapshot, calling fn(type, payload) for each
// record in order. The payload is valid only during the call. Returns the
// file's meta. Errors:
//  * Corruption, naming the file and the byte offset, for any damage: a bad
//    header, block or footer, a truncated or extended file, a record walk that
//    does not fit its block, totals that disagree with the footer, or a file
//    named for another LSN than its header holds.
//  * Unsupported for another format version under an intact header hash.
//  * IOError from the backend.
//  * Whatever non-ok Status fn returns, as is (the read stops there).
// Blocks are validated before their records are handed out, but the footer's
// totals only at the end: on any error, discard what fn built.
Result<SnapshotMeta> ReadSnapshot(io::IoBackend* io, const std::string& path, const RecordFn& fn);
Result<SnapshotMeta> ReadSnapshot(io::IoBackend* io, const std::string& path, const RecordFn& fn,
                                  const ReadOptions& opts);

// Finished snapshots in dir (names that parse as "<20 digits>.snap"), newest
// (highest start_lsn) first, from the names alone: only path and start_lsn
// are set, nothing is validated. A missing dir gives an empty list.
Result<std::vector<SnapshotMeta>> ListSnapshots(io::IoBackend* io, const std::string& dir);

// Deletes all but the newest `keep` (>= 1, else InvalidArgument) finished
// snapshots and every "<20 digits>.snap.tmp", then fsyncs dir. Other names
// are left alone. Returns the retained list, newest first (as ListSnapshots).
Result<std::vector<SnapshotMeta>> RetainNewest(io::IoBackend* io, const std::string& dir, size_t keep);

}  // namespace synap::snapshot
