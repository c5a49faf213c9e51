// ReadSnapshot: validates a snapshot file front to back and hands out its
// records as spans into the read or decompression buffer, without copying.
//
// Order of checks: the header (so a newer version is Unsupported, whatever
// follows it), then the footer (so a truncated file fails before any record
// is handed out), then each block in turn (header, payload hash, decode, the
// record walk), then the totals against the footer.
#include <cassert>
#include <cstring>
#include <string_view>
#include <utility>

#include "engine/log/codec.h"
#include "engine/snapshot/snapshot_file.h"

namespace synap::snapshot {
namespace {

// Bytes asked of the backend per read: big enough that a 1 MiB-block file
// costs one read per several blocks, small enough to stay in cache-friendly
// territory.
constexpr size_t kReadChunk = 8u << 20;

// The same code, the message prefixed with where: "<path>: offset <n>: ".
Status At(const std::string& path, uint64_t offset, const Status& st) {
  assert(!st.ok());
  std::string m = path + ": offset " + std::to_string(offset) + ": " + st.message();
  if (st.code() == Status::Code::kUnsupported) return Status::Unsupported(std::move(m));
  if (st.code() == Status::Code::kCorruption) return Status::Corruption(std::move(m));
  return st;  // I/O errors already name the file
}

Status CorruptAt(const std::string& path, uint64_t offset, const std::string& why) {
  return Status::Corruption(path + ": offset " + std::to_string(offset) + ": " + why);
}

class FileCloser {
 public:
  FileCloser(io::IoBackend* io, io::FileHandle f) : io_(io), f_(f) {}
  ~FileCloser() { io_->close(f_); }
  FileCloser(const FileCloser&) = delete;
  FileCloser& operator=(const FileCloser&) = delete;

 private:
  io::IoBackend* io_;
  io::FileHandle f_;
};

// A sliding window on [begin, limit) of a file, read sequentially in big
// chunks. Get() returns bytes that stay valid until the next Get().
class Window {
 public:
  Window(io::IoBackend* io, io::FileHandle f, const std::string& path, uint64_t begin, uint64_t limit)
      : io_(io), f_(f), path_(path), start_(begin), limit_(limit) {}

  // [off, off + len) must lie in [begin, limit), and off must not be before
  // the previous Get's offset.
  Result<const uint8_t*> Get(uint64_t off, size_t len) {
    assert(off >= start_ && off <= start_ + len_ && off + len <= limit_);
    if (off + len <= start_ + len_) return buf_.data() + (off - start_);
    // Keep the unread tail, then fill up to a chunk (or the whole request).
    const size_t keep = static_cast<size_t>(start_ + len_ - off);
    if (keep > 0) std::memmove(buf_.data(), buf_.data() + (off - start_), keep);
    start_ = off;
    len_ = keep;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(len, kReadChunk), limit_ - off));
    assert(want >= len && want > keep);
    if (buf_.size() < want) buf_.resize(want);
    Result<size_t> n = io_->read_at(f_, start_ + len_, buf_.data() + len_, want - keep);
    if (!n.ok()) return n.status();
    if (*n != want - keep) return CorruptAt(path_, start_ + len_ + *n, "file shrank while being read");
    len_ = want;
    return buf_.data();
  }

 private:
  io::IoBackend* io_;
  io::FileHandle f_;
  const std::string& path_;
  std::vector<uint8_t> buf_;
  uint64_t start_;  // file offset of buf_[0]
  size_t len_ = 0;  // valid bytes in buf_
  const uint64_t limit_;
};

Status ReadExact(io::IoBackend* io, io::FileHandle f, const std::string& path, uint64_t off, uint8_t* buf,
                 size_t len) {
  Result<size_t> n = io->read_at(f, off, buf, len);
  if (!n.ok()) return n.status();
  if (*n != len) return CorruptAt(path, off + *n, "file shrank while being read");
  return Status::Ok();
}

std::string_view BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string_view(path) : std::string_view(path).substr(slash + 1);
}

}  // namespace

Result<SnapshotMeta> ReadSnapshot(io::IoBackend* io, const std::string& path, const RecordFn& fn) {
  return ReadSnapshot(io, path, fn, ReadOptions{});
}

Result<SnapshotMeta> ReadSnapshot(io::IoBackend* io, const std::string& path, const RecordFn& fn,
                                  const ReadOptions& opts) {
  if (io == nullptr || !fn) return Status::InvalidArgument("ReadSnapshot: no I/O backend or no record function");
  io::OpenOptions oo;
  oo.read_only = true;
  Result<io::FileHandle> f = io->open(path, oo);
  if (!f.ok()) return f.status();
  FileCloser closer(io, *f);
  Result<uint64_t> size = io->file_size(*f);
  if (!size.ok()) return size.status();
  const uint64_t file_bytes = *size;

  // ---- Header ----
  if (file_bytes < kFileHeaderSize)
    return CorruptAt(path, file_bytes, "file of " + std::to_string(file_bytes) + " bytes is shorter than its header");
  uint8_t hbuf[kFileHeaderSize];
  SYNAP_RETURN_IF_ERROR(ReadExact(io, *f, path, 0, hbuf, sizeof hbuf));
  FileHeader header;
  if (Status st = DecodeFileHeader(hbuf, sizeof hbuf, &header); !st.ok()) return At(path, 0, st);
  // The name orders snapshots, the header says where replay starts: a file
  // renamed to another LSN must not be trusted.
  Lsn named = 0;
  if (ParseSnapshotFileName(BaseName(path), &named) && named != header.start_lsn)
    return CorruptAt(path, 8, "file named for LSN " + std::to_string(named) + " holds start LSN " +
                                  std::to_string(header.start_lsn));

  // ---- Footer ----
  if (file_bytes < kMinFileSize) return CorruptAt(path, file_bytes, "file too short to hold a footer (truncated)");
  const uint64_t footer_offset = file_bytes - kFooterSize;
  uint8_t fbuf[kFooterSize];
  SYNAP_RETURN_IF_ERROR(ReadExact(io, *f, path, footer_offset, fbuf, sizeof fbuf));
  Footer footer;
  if (Status st = DecodeFooter(fbuf, header.file_id, footer_offset, &footer); !st.ok())
    return At(path, footer_offset, st);

  // ---- Blocks ----
  Window window(io, *f, path, kFileHeaderSize, footer_offset);
  std::vector<uint8_t> decoded;  // reused: one block's raw payload
  uint64_t pos = kFileHeaderSize;
  uint64_t blocks = 0;
  uint64_t records = 0;
  uint64_t raw_bytes = 0;
  uint64_t digest = BlocksDigestStart(header.file_id);
  while (pos < footer_offset) {
    auto where = [blocks] { return "block " + std::to_string(blocks) + ": "; };  // built only on error
    if (blocks == footer.block_count) return CorruptAt(path, pos, "more blocks than the footer's " +
                                                                      std::to_string(footer.block_count));
    if (footer_offset - pos < kBlockHeaderSize) return CorruptAt(path, pos, where() + "header runs into the footer");
    Result<const uint8_t*> hp = window.Get(pos, kBlockHeaderSize);
    if (!hp.ok()) return hp.status();
    BlockHeader bh;
    uint64_t header_hash = 0;
    if (Status st = DecodeBlockHeader(*hp, header.file_id, header.block_bytes, &bh, &header_hash); !st.ok())
      return At(path, pos, Status::Corruption(where() + st.message()));
    if (bh.first_record != records)
      return CorruptAt(path, pos, where() + "first record " + std::to_string(bh.first_record) + ", expected " +
                                      std::to_string(records) + " (blocks out of sequence)");
    if (footer_offset - pos - kBlockHeaderSize < bh.stored_len)
      return CorruptAt(path, pos, where() + "payload runs into the footer");
    Result<const uint8_t*> bp = window.Get(pos, kBlockHeaderSize + bh.stored_len);
    if (!bp.ok()) return bp.status();
    const std::span<const uint8_t> stored(*bp + kBlockHeaderSize, bh.stored_len);
    if (log::Hash(stored.data(), stored.size(), header.file_id) != bh.payload_hash)
      return CorruptAt(path, pos, where() + "payload hash mismatch");
    std::span<const uint8_t> raw = stored;
    if (bh.codec == Codec::kZstd) {
      if (Status st = log::Decompress(log::Codec::kZstd, stored, bh.raw_len, &decoded); !st.ok())
        return CorruptAt(path, pos, where() + st.message());
      raw = std::span<const uint8_t>(decoded.data(), bh.raw_len);
    }
    assert(raw.size() == bh.raw_len);
    bool stopped = false;  // fn's own Status goes back untouched
    Status st = ForEachRecord(raw, bh.record_count, [&](uint8_t type, std::span<const uint8_t> payload) {
      Status s = fn(type, payload);
      stopped = !s.ok();
      return s;
    });
    if (stopped) return st;
    if (!st.ok()) return CorruptAt(path, pos, where() + st.message());
    digest = BlocksDigestStep(digest, header_hash);
    pos += kBlockHeaderSize + bh.stored_len;
    records += bh.record_count;
    raw_bytes += bh.raw_len;
    ++blocks;
    if (opts.progress) opts.progress(pos, file_bytes);
  }
  assert(pos == footer_offset);  // blocks were checked to end inside the data region

  // ---- Totals ----
  if (blocks != footer.block_count || records != footer.record_count || raw_bytes != footer.raw_bytes)
    return CorruptAt(path, footer_offset, "footer totals (" + std::to_string(footer.block_count) + " blocks, " +
                                              std::to_string(footer.record_count) + " records, " +
                                              std::to_string(footer.raw_bytes) + " raw bytes) disagree with the file (" +
                                              std::to_string(blocks) + ", " + std::to_string(records) + ", " +
                                              std::to_string(raw_bytes) + ")");
  if (digest != footer.blocks_digest) return CorruptAt(path, footer_offset, "footer block digest mismatch");
  if (opts.progress) opts.progress(file_bytes, file_bytes);

  SnapshotMeta m;
  m.path = path;
  m.start_lsn = header.start_lsn;
  m.created_unix_ms = header.created_unix_ms;
  m.records = records;
  m.raw_bytes = raw_bytes;
  m.file_bytes = file_bytes;
  return m;
}

}  // namespace synap::snapshot
