#include "engine/log/segment.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace synap::log {

Result<Preallocate> ParsePreallocate(const std::string& name) {
  if (name == "auto") return Preallocate::kAuto;
  if (name == "none") return Preallocate::kNone;
  if (name == "fallocate") return Preallocate::kFallocate;
  if (name == "zero") return Preallocate::kZero;
  return Status::InvalidArgument("unknown preallocation '" + name + "' (expected auto, none, fallocate or zero)");
}

const char* PreallocateName(Preallocate p) {
  switch (p) {
    case Preallocate::kAuto: return "auto";
    case Preallocate::kNone: return "none";
    case Preallocate::kFallocate: return "fallocate";
    case Preallocate::kZero: return "zero";
  }
  return "unknown";
}

std::string SegmentFileName(Lsn base_lsn, uint64_t name_bias) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.log", static_cast<unsigned long long>(base_lsn - name_bias));
  return buf;
}

bool ParseSegmentFileName(std::string_view name, Lsn* base_lsn) {
  if (name.size() != 24 || name.substr(20) != ".log") return false;
  Lsn v = 0;
  for (size_t i = 0; i < 20; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return false;
    if (v > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  // No segment starts past kMaxLsn (a room's name is its base - 1, so the
  // base of any accepted name is at most kMaxLsn + 1, and a log that
  // trusts a name as the next base still cannot hand out a larger LSN).
  if (v > kMaxLsn) return false;
  *base_lsn = v;
  return true;
}

AlignedBuffer::AlignedBuffer(size_t size, size_t alignment) : size_(size) {
  size_t rounded = std::max<size_t>(AlignUp(size, alignment), alignment);
  data_ = static_cast<uint8_t*>(std::aligned_alloc(alignment, rounded));
  if (data_ == nullptr) std::abort();  // out of memory is not recoverable here
  std::memset(data_, 0, rounded);
}

AlignedBuffer::AlignedBuffer(AlignedBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& o) noexcept {
  if (this != &o) {
    std::free(data_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

namespace {

// Writes zeros over [from, to), in aligned 1 MiB chunks (valid for O_DIRECT).
Status ZeroFill(io::IoBackend* io, io::FileHandle f, uint64_t from, uint64_t to, uint32_t alignment) {
  constexpr size_t kChunk = 1 << 20;
  AlignedBuffer zeros(kChunk, std::max<uint32_t>(alignment, 4096));
  while (from < to) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, to - from));
    SYNAP_RETURN_IF_ERROR(io->write_at(f, from, zeros.data(), n));
    from += n;
  }
  return Status::Ok();
}

Status Reserve(io::IoBackend* io, io::FileHandle f, const SegmentSpec& spec, uint64_t start) {
  if (spec.preallocate == Preallocate::kNone || spec.preallocate == Preallocate::kAuto || spec.size_bytes <= start)
    return Status::Ok();
  Status st = io->allocate(f, 0, spec.size_bytes);
  // A filesystem without fallocate still works: zeroing reserves the space.
  if (!st.ok() && st.code() != Status::Code::kUnsupported) return st;
  if (spec.preallocate == Preallocate::kZero)
    return ZeroFill(io, f, start, spec.size_bytes, spec.header.alignment);
  return Status::Ok();
}

std::string Join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

}  // namespace

Result<io::FileHandle> CreateSegment(io::IoBackend* io, const std::string& dir, const SegmentSpec& spec) {
  std::string path = Join(dir, SegmentFileName(spec.header.base_lsn, spec.name_bias));
  io::OpenOptions oo;
  oo.create = true;
  oo.exclusive = true;  // a segment is never silently reused
  oo.direct = spec.direct;
  Result<io::FileHandle> f = io->open(path, oo);
  if (!f.ok()) return f.status();
  // The header block spans [0, data_offset): the header, then zeros.
  AlignedBuffer block(spec.header.data_offset, std::max<uint32_t>(spec.header.alignment, 4096));
  EncodeSegmentHeader(spec.header, block.data());
  Status st = io->write_at(*f, 0, block.data(), block.size());
  if (st.ok()) st = Reserve(io, *f, spec, spec.header.data_offset);
  if (st.ok()) st = io->sync(*f);
  if (st.ok()) st = io->sync_dir(dir);
  if (!st.ok()) {
    io->close(*f);
    io->remove(path);  // best effort: recovery ignores a headerless final segment anyway
    return st;
  }
  return *f;
}

SpareSegment::SpareSegment(io::IoBackend* io, std::string dir, uint64_t size_bytes, Preallocate preallocate,
                           bool direct, uint32_t alignment, bool background)
    : io_(io),
      dir_(std::move(dir)),
      size_(size_bytes),
      preallocate_(preallocate),
      direct_(direct),
      alignment_(alignment),
      background_(background) {}

SpareSegment::~SpareSegment() {
  WaitForPreparation();
  if (file_ != io::kInvalidFile) io_->close(file_);
}

void SpareSegment::WaitForPreparation() {
  if (thread_.joinable()) thread_.join();
}

void SpareSegment::Start() {
  if (started_) return;
  started_ = true;
  if (background_) {
    thread_ = std::thread([this] { prepared_ = Prepare(); });
  } else {
    prepared_ = Prepare();
  }
}

// Creates spare.tmp afresh and reserves it like a segment, minus the header.
Status SpareSegment::Prepare() {
  std::string path = Path();
  io_->remove(path);  // a leftover from an earlier run; absent is fine
  io::OpenOptions oo;
  oo.create = true;
  oo.exclusive = true;
  oo.direct = direct_;
  Result<io::FileHandle> f = io_->open(path, oo);
  if (!f.ok()) return f.status();
  file_ = *f;
  SegmentSpec spec;
  spec.size_bytes = size_;
  spec.preallocate = preallocate_;
  spec.header.alignment = alignment_;
  Status st = Reserve(io_, file_, spec, 0);
  if (st.ok()) st = io_->sync(file_);
  return st;
}

Result<io::FileHandle> SpareSegment::Take(const SegmentSpec& spec) {
  WaitForPreparation();
  bool ready = started_ && prepared_.ok() && file_ != io::kInvalidFile;
  started_ = false;
  io::FileHandle f = std::exchange(file_, io::kInvalidFile);
  if (!ready) {
    if (f != io::kInvalidFile) io_->close(f);
    return CreateSegment(io_, dir_, spec);
  }
  AlignedBuffer block(spec.header.data_offset, std::max<uint32_t>(spec.header.alignment, 4096));
  EncodeSegmentHeader(spec.header, block.data());
  std::string path = Join(dir_, SegmentFileName(spec.header.base_lsn, spec.name_bias));
  Status st = io_->write_at(f, 0, block.data(), block.size());
  if (st.ok()) st = io_->sync(f);
  if (st.ok()) st = io_->rename(Path(), path);
  if (st.ok()) st = io_->sync_dir(dir_);
  if (!st.ok()) {
    io_->close(f);
    return st;
  }
  return f;
}

}  // namespace synap::log
