// SnapshotWriter: records -> blocks -> a temp file, then an atomic rename.
#include <sys/random.h>
#include <zstd.h>

#include <cassert>
#include <chrono>
#include <utility>

#include "engine/base/clock.h"
#include "engine/log/codec.h"
#include "engine/snapshot/snapshot_file.h"

namespace synap::snapshot {
namespace {

// A fresh random file id. It only has to differ between files, so if the
// kernel refuses randomness, the clock is mixed in instead.
uint64_t NewFileId() {
  uint64_t id = 0;
  if (::getrandom(&id, sizeof id, 0) == static_cast<ssize_t>(sizeof id)) return id;
  const uint64_t ns = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return log::Hash(reinterpret_cast<const uint8_t*>(&ns), sizeof ns, static_cast<uint64_t>(WallMs()));
}

}  // namespace

Status ValidateWriterOptions(const WriterOptions& opts) {
  if (opts.zstd_level < 1 || opts.zstd_level > ZSTD_maxCLevel())
    return Status::InvalidArgument("snapshot zstd_level " + std::to_string(opts.zstd_level) + " not in 1.." +
                                   std::to_string(ZSTD_maxCLevel()));
  if (opts.block_bytes < kMinBlockBytes || opts.block_bytes > kMaxBlockBytes)
    return Status::InvalidArgument("snapshot block_bytes " + std::to_string(opts.block_bytes) + " not in " +
                                   std::to_string(kMinBlockBytes) + ".." + std::to_string(kMaxBlockBytes));
  return Status::Ok();
}

SnapshotWriter::SnapshotWriter(io::IoBackend* io, std::string dir, const FileHeader& header,
                               const WriterOptions& opts)
    : io_(io),
      dir_(std::move(dir)),
      tmp_path_(dir_ + "/" + TempFileName(header.start_lsn)),
      final_path_(dir_ + "/" + SnapshotFileName(header.start_lsn)),
      header_(header),
      opts_(opts),
      digest_(BlocksDigestStart(header.file_id)) {
  raw_.reserve(kBlockHeaderSize + opts.block_bytes);
  raw_.resize(kBlockHeaderSize);
}

Result<std::unique_ptr<SnapshotWriter>> SnapshotWriter::Create(io::IoBackend* io, const std::string& dir,
                                                               Lsn start_lsn, const WriterOptions& opts) {
  if (io == nullptr) return Status::InvalidArgument("snapshot writer: no I/O backend");
  if (dir.empty()) return Status::InvalidArgument("snapshot writer: empty directory");
  if (start_lsn == 0) return Status::InvalidArgument("snapshot start LSN 0 (LSNs start at 1)");
  SYNAP_RETURN_IF_ERROR(ValidateWriterOptions(opts));
  FileHeader h;
  h.start_lsn = start_lsn;
  h.created_unix_ms = WallMs();
  h.file_id = NewFileId();
  h.block_bytes = opts.block_bytes;
  std::unique_ptr<SnapshotWriter> w(new SnapshotWriter(io, dir, h, opts));
  SYNAP_RETURN_IF_ERROR(w->Open());
  return w;
}

// Creates the temp file afresh and writes the file header.
Status SnapshotWriter::Open() {
  SYNAP_RETURN_IF_ERROR(io_->make_dir(dir_));
  // A stale temp file (a crashed writer's) must not lend its bytes to this one.
  Status st = io_->remove(tmp_path_);
  if (!st.ok() && st.os_error() != ENOENT) return st;
  io::OpenOptions oo;
  oo.create = true;
  oo.exclusive = true;
  Result<io::FileHandle> f = io_->open(tmp_path_, oo);
  if (!f.ok()) return f.status();
  file_ = *f;
  created_ = true;
  uint8_t buf[kFileHeaderSize];
  EncodeFileHeader(header_, buf);
  SYNAP_RETURN_IF_ERROR(io_->write_at(file_, 0, buf, sizeof buf));
  offset_ = kFileHeaderSize;
  return Status::Ok();
}

Status SnapshotWriter::Fail(Status st) {
  assert(!st.ok());
  if (failed_.ok()) failed_ = st;
  return st;
}

Status SnapshotWriter::Add(uint8_t type, std::span<const uint8_t> payload) {
  if (!failed_.ok()) return failed_;
  if (finished_) return Status::Closed("snapshot writer: Add after Finish: " + tmp_path_);
  if (type == 0) return Status::InvalidArgument("snapshot record type 0 (types are 1..255)");
  if (payload.size() > kMaxRecordBytes)
    return Status::TooLarge("snapshot record of " + std::to_string(payload.size()) + " bytes (limit " +
                            std::to_string(kMaxRecordBytes) + ")");
  const auto len = static_cast<uint32_t>(payload.size());
  const size_t need = RecordEncodedSize(len);
  const size_t block_raw = raw_.size() - kBlockHeaderSize;
  // A record never spans blocks: close the open block first if it would
  // overflow. A record larger than a block then goes alone in its own.
  if (block_records_ == kMaxBlockRecords || (block_records_ > 0 && block_raw + need > opts_.block_bytes)) {
    Status st = FlushBlock();
    if (!st.ok()) return Fail(st);
  }
  uint8_t prefix[kMaxRecordOverhead];
  const size_t prefix_len = EncodeRecordPrefix(type, len, prefix);
  assert(prefix_len + len == need);
  raw_.insert(raw_.end(), prefix, prefix + prefix_len);
  raw_.insert(raw_.end(), payload.begin(), payload.end());  // no zero fill first: records can be 64 MiB
  ++block_records_;
  ++records_;
  if (raw_.size() - kBlockHeaderSize >= opts_.block_bytes) {
    Status st = FlushBlock();
    if (!st.ok()) return Fail(st);
  }
  return Status::Ok();
}

// Compresses the open block (keeping it raw unless Zstd saves space), writes
// header and payload in one write, and resets the block.
Status SnapshotWriter::FlushBlock() {
  const std::span<const uint8_t> raw(raw_.data() + kBlockHeaderSize, raw_.size() - kBlockHeaderSize);
  // The limits DecodeBlockHeader enforces, so every block written reads back.
  assert(block_records_ >= 1 && block_records_ <= kMaxBlockRecords);
  assert(raw.size() <= kMaxBlockRawBytes);
  assert(raw.size() <= opts_.block_bytes || block_records_ == 1);
  assert(raw.size() >= block_records_ * kMinRecordEncodedBytes);
  BlockHeader h;
  h.raw_len = static_cast<uint32_t>(raw.size());
  h.record_count = block_records_;
  h.first_record = records_ - block_records_;
  uint8_t* block;
  if (log::Compress(log::Codec::kZstd, opts_.zstd_level, raw, &out_, kBlockHeaderSize)) {
    h.codec = Codec::kZstd;
    h.stored_len = static_cast<uint32_t>(out_.size() - kBlockHeaderSize);
    block = out_.data();
  } else {
    h.codec = Codec::kNone;
    h.stored_len = h.raw_len;
    block = raw_.data();
  }
  assert(h.codec == Codec::kNone ? h.stored_len == h.raw_len : h.stored_len < h.raw_len);
  h.payload_hash = log::Hash(block + kBlockHeaderSize, h.stored_len, header_.file_id);
  digest_ = BlocksDigestStep(digest_, EncodeBlockHeader(h, header_.file_id, block));
  SYNAP_RETURN_IF_ERROR(io_->write_at(file_, offset_, block, kBlockHeaderSize + h.stored_len));
  offset_ += kBlockHeaderSize + h.stored_len;
  ++blocks_;
  raw_bytes_ += h.raw_len;
  raw_.resize(kBlockHeaderSize);
  block_records_ = 0;
  return Status::Ok();
}

Result<SnapshotMeta> SnapshotWriter::Finish() {
  if (!failed_.ok()) return failed_;
  if (finished_) return Status::Closed("snapshot writer: Finish called twice: " + final_path_);
  finished_ = true;
  if (block_records_ > 0) {
    Status st = FlushBlock();
    if (!st.ok()) return Fail(st);
  }
  assert(raw_.size() == kBlockHeaderSize);
  Footer f;
  f.block_count = blocks_;
  f.record_count = records_;
  f.raw_bytes = raw_bytes_;
  f.footer_offset = offset_;
  f.blocks_digest = digest_;
  uint8_t buf[kFooterSize];
  EncodeFooter(f, header_.file_id, buf);
  // The order is the whole crash-safety argument: the data is durable before
  // the name exists, and the name is durable before Finish reports success.
  Status st = io_->write_at(file_, offset_, buf, sizeof buf);
  if (st.ok()) st = io_->sync(file_);
  if (st.ok()) st = io_->close(std::exchange(file_, io::kInvalidFile));
  if (st.ok()) st = io_->rename(tmp_path_, final_path_);
  if (st.ok()) {
    renamed_ = true;
    st = io_->sync_dir(dir_);
  }
  if (!st.ok()) return Fail(st);
  SnapshotMeta m;
  m.path = final_path_;
  m.start_lsn = header_.start_lsn;
  m.created_unix_ms = header_.created_unix_ms;
  m.records = records_;
  m.raw_bytes = raw_bytes_;
  m.file_bytes = offset_ + kFooterSize;
  return m;
}

SnapshotWriter::~SnapshotWriter() {
  if (file_ != io::kInvalidFile) io_->close(file_);
  // Best effort: a leftover is harmless (never listed, replaced by the next
  // writer of this LSN, deleted by RetainNewest).
  if (created_ && !renamed_) io_->remove(tmp_path_);
}

}  // namespace synap::snapshot
