#include "engine/stream/segment_index.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>

#include "engine/log/format.h"

namespace synap::stream {

const IndexEntry* SegmentIndex::Floor(uint64_t offset) const {
  if (entries.empty() || offset < base_offset) return nullptr;
  uint64_t rel = offset - base_offset;
  auto it = std::upper_bound(entries.begin(), entries.end(), rel,
                             [](uint64_t r, const IndexEntry& e) { return r < e.rel_offset; });
  return it == entries.begin() ? nullptr : &*(it - 1);
}

const IndexEntry* SegmentIndex::FloorTime(int64_t ts) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), ts,
                             [](const IndexEntry& e, int64_t t) { return e.ts_before < t; });
  return it == entries.begin() ? nullptr : &*(it - 1);
}

namespace {

// Both files share one header (48 bytes), then entries, then an XXH3-64 of
// everything before it.
constexpr uint32_t kIndexMagic = 0x58494E53;  // "SNIX" on disk
constexpr uint16_t kIndexVersion = 1;
constexpr uint16_t kKindOffset = 1, kKindTime = 2;
constexpr size_t kHeaderSize = 48;
constexpr uint32_t kFlagCompacted = 1;

void Put32(std::string* o, uint32_t v) { o->append(reinterpret_cast<const char*>(&v), 4); }
void Put64(std::string* o, uint64_t v) { o->append(reinterpret_cast<const char*>(&v), 8); }
uint32_t Get32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t Get64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

std::string Name(uint64_t base, const char* ext) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%020llu.%s", static_cast<unsigned long long>(base), ext);
  return buf;
}

std::string Encode(const SegmentIndex& idx, uint16_t kind) {
  std::string o;
  Put32(&o, kIndexMagic);
  o.append(reinterpret_cast<const char*>(&kIndexVersion), 2);
  o.append(reinterpret_cast<const char*>(&kind), 2);
  Put64(&o, idx.base_offset);
  Put64(&o, idx.last_offset);
  Put64(&o, idx.end_position);
  Put64(&o, static_cast<uint64_t>(idx.max_ts));
  Put32(&o, static_cast<uint32_t>(idx.entries.size()));
  Put32(&o, idx.compacted ? kFlagCompacted : 0);
  for (const IndexEntry& e : idx.entries) {
    if (kind == kKindOffset) {
      Put32(&o, e.rel_offset);
      Put32(&o, e.position);
    } else {
      Put64(&o, static_cast<uint64_t>(e.ts_before));
      Put32(&o, e.rel_offset);
    }
  }
  Put64(&o, log::Hash(reinterpret_cast<const uint8_t*>(o.data()), o.size(), kind));
  return o;
}

Status WriteFile(io::IoBackend* io, const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp";
  io->remove(tmp);
  io::OpenOptions oo;
  oo.create = true;
  Result<io::FileHandle> f = io->open(tmp, oo);
  if (!f.ok()) return f.status();
  Status st = io->write_at(*f, 0, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  io->close(*f);
  if (st.ok()) st = io->rename(tmp, path);
  return st;
}

Result<std::vector<uint8_t>> ReadFile(io::IoBackend* io, const std::string& path) {
  io::OpenOptions oo;
  oo.read_only = true;
  Result<io::FileHandle> f = io->open(path, oo);
  if (!f.ok()) return Status::NotFound(path + ": " + f.status().message());
  Result<uint64_t> size = io->file_size(*f);
  std::vector<uint8_t> buf;
  Status st = size.status();
  if (st.ok() && *size > (1u << 30)) st = Status::Corruption(path + ": too large for an index");
  if (st.ok()) {
    buf.resize(*size);
    Result<size_t> n = io->read_at(*f, 0, buf.data(), buf.size());
    st = !n.ok() ? n.status() : *n != buf.size() ? Status::Corruption(path + ": short read") : Status::Ok();
  }
  io->close(*f);
  if (!st.ok()) return st;
  return buf;
}

// Checks framing and hash; fills the header fields of *idx and returns the
// entry bytes.
Status Decode(const std::vector<uint8_t>& b, uint16_t kind, uint64_t base, SegmentIndex* idx,
              const uint8_t** entries, uint32_t* count) {
  size_t entry_size = kind == kKindOffset ? 8 : 12;
  if (b.size() < kHeaderSize + 8) return Status::Corruption("index file too short");
  if (log::Hash(b.data(), b.size() - 8, kind) != Get64(b.data() + b.size() - 8))
    return Status::Corruption("index file hash mismatch");
  uint16_t version, k;
  std::memcpy(&version, b.data() + 4, 2);
  std::memcpy(&k, b.data() + 6, 2);
  *count = Get32(b.data() + 40);
  if (Get32(b.data()) != kIndexMagic || version != kIndexVersion || k != kind || Get64(b.data() + 8) != base ||
      b.size() != kHeaderSize + size_t{*count} * entry_size + 8)
    return Status::Corruption("index file header does not match");
  idx->base_offset = base;
  idx->last_offset = Get64(b.data() + 16);
  idx->end_position = Get64(b.data() + 24);
  idx->max_ts = static_cast<int64_t>(Get64(b.data() + 32));
  idx->compacted = (Get32(b.data() + 44) & kFlagCompacted) != 0;
  *entries = b.data() + kHeaderSize;
  return Status::Ok();
}

}  // namespace

std::string IndexFileName(uint64_t base_offset) { return Name(base_offset, "index"); }
std::string TimeIndexFileName(uint64_t base_offset) { return Name(base_offset, "timeindex"); }

Status WriteIndexFiles(io::IoBackend* io, const std::string& dir, const SegmentIndex& idx) {
  SYNAP_RETURN_IF_ERROR(WriteFile(io, dir + "/" + IndexFileName(idx.base_offset), Encode(idx, kKindOffset)));
  return WriteFile(io, dir + "/" + TimeIndexFileName(idx.base_offset), Encode(idx, kKindTime));
}

Result<SegmentIndex> ReadIndexFiles(io::IoBackend* io, const std::string& dir, uint64_t base_offset) {
  Result<std::vector<uint8_t>> off = ReadFile(io, dir + "/" + IndexFileName(base_offset));
  if (!off.ok()) return off.status();
  Result<std::vector<uint8_t>> tim = ReadFile(io, dir + "/" + TimeIndexFileName(base_offset));
  if (!tim.ok()) return tim.status();
  SegmentIndex idx, tidx;
  const uint8_t *oe, *te;
  uint32_t on, tn;
  // Each error names its file: an operator (or synap-cli verify) must know which one.
  SYNAP_RETURN_IF_ERROR(Decode(*off, kKindOffset, base_offset, &idx, &oe, &on).WithContext(IndexFileName(base_offset)));
  SYNAP_RETURN_IF_ERROR(
      Decode(*tim, kKindTime, base_offset, &tidx, &te, &tn).WithContext(TimeIndexFileName(base_offset)));
  if (on != tn || idx.last_offset != tidx.last_offset || idx.end_position != tidx.end_position ||
      idx.last_offset < base_offset)
    return Status::Corruption("index and time index disagree");
  idx.entries.resize(on);
  for (uint32_t i = 0; i < on; i++) {
    IndexEntry& e = idx.entries[i];
    e.rel_offset = Get32(oe + 8 * i);
    e.position = Get32(oe + 8 * i + 4);
    e.ts_before = static_cast<int64_t>(Get64(te + 12 * i));
    if (Get32(te + 12 * i + 8) != e.rel_offset || e.position >= idx.end_position ||
        (i > 0 && (e.rel_offset <= idx.entries[i - 1].rel_offset || e.position <= idx.entries[i - 1].position)))
      return Status::Corruption("index entries out of order");
  }
  return idx;
}

void RemoveIndexFiles(io::IoBackend* io, const std::string& dir, uint64_t base_offset) {
  io->remove(dir + "/" + IndexFileName(base_offset));
  io->remove(dir + "/" + TimeIndexFileName(base_offset));
}

}  // namespace synap::stream
