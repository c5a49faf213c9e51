#include "engine/stream/stream_options.h"

#include <sstream>
#include <utility>
#include <vector>

namespace synap::stream {

const char* CleanupName(Cleanup c) {
  switch (c) {
    case Cleanup::kDelete: return "delete";
    case Cleanup::kCompact: return "compact";
    case Cleanup::kCompactDelete: return "compact,delete";
  }
  return "unknown";
}

Result<Cleanup> ParseCleanup(const std::string& s) {
  if (s == "delete") return Cleanup::kDelete;
  if (s == "compact") return Cleanup::kCompact;
  if (s == "compact,delete" || s == "delete,compact") return Cleanup::kCompactDelete;
  return Status::InvalidArgument("unknown cleanup policy '" + s + "' (expected delete, compact or compact,delete)");
}

namespace {

Result<uint64_t> ParseU64(const std::string& name, const std::string& v) {
  if (v.empty() || v.size() > 20 || v.find_first_not_of("0123456789") != std::string::npos)
    return Status::InvalidArgument("room setting " + name + ": '" + v + "' is not a non-negative integer");
  try {
    return std::stoull(v);
  } catch (...) {
    return Status::InvalidArgument("room setting " + name + ": '" + v + "' is out of range");
  }
}


}  // namespace

Status RoomSettings::Set(const std::string& name, const std::string& value) {
  if (name == "segment_bytes" || name == "retention_bytes" || name == "retention_ms") {
    Result<uint64_t> v = ParseU64(name, value);
    if (!v.ok()) return v.status();
    (name == "segment_bytes" ? segment_bytes : name == "retention_bytes" ? retention_bytes : retention_ms) = *v;
    return Status::Ok();
  }
  if (name == "codec") {
    Result<log::Codec> c = log::ParseCodec(value);
    if (!c.ok()) return c.status();
    codec = *c;
    return Status::Ok();
  }
  if (name == "fsync") {
    Result<wal::FsyncMode> m = wal::ParseFsyncMode(value);
    if (!m.ok()) return m.status();
    fsync = *m;
    return Status::Ok();
  }
  if (name == "cleanup") {
    Result<Cleanup> c = ParseCleanup(value);
    if (!c.ok()) return c.status();
    cleanup = *c;
    return Status::Ok();
  }
  return Status::InvalidArgument("unknown room setting '" + name +
                                 "' (expected segment_bytes, retention_bytes, retention_ms, codec, fsync, cleanup)");
}

// Pairs are separated by whitespace, ';' or ','; a piece without '=' after a
// ',' continues the previous value ("cleanup=compact,delete").
Status RoomSettings::Apply(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string piece;
  char sep = 0;  // the separators before `piece`: ',' if they held a comma
  auto take = [&]() -> Status {
    size_t eq = piece.find('=');
    if (eq != std::string::npos) {
      pairs.emplace_back(piece.substr(0, eq), piece.substr(eq + 1));
    } else if (sep == ',' && !pairs.empty()) {
      pairs.back().second += "," + piece;
    } else {
      return Status::InvalidArgument("room setting '" + piece + "' is not name=value");
    }
    piece.clear();
    return Status::Ok();
  };
  for (char c : text) {
    bool is_sep = c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == ',';
    if (!is_sep) {
      piece += c;
    } else if (!piece.empty()) {
      SYNAP_RETURN_IF_ERROR(take());
      sep = c == ',' ? ',' : ' ';
    } else if (c == ',') {
      sep = ',';
    }
  }
  if (!piece.empty()) SYNAP_RETURN_IF_ERROR(take());
  RoomSettings next = *this;
  for (const auto& [n, v] : pairs) SYNAP_RETURN_IF_ERROR(next.Set(n, v));
  SYNAP_RETURN_IF_ERROR(next.Validate());
  *this = next;
  return Status::Ok();
}

std::string RoomSettings::ToText() const {
  std::ostringstream os;
  os << "segment_bytes=" << segment_bytes << "\nretention_bytes=" << retention_bytes
     << "\nretention_ms=" << retention_ms << "\ncodec=" << log::CodecName(codec)
     << "\nfsync=" << wal::FsyncModeName(fsync) << "\ncleanup=" << CleanupName(cleanup) << "\n";
  return os.str();
}

Status RoomSettings::Validate() const {
  // Ages are compared as signed milliseconds: keep the cutoff from wrapping.
  if (retention_ms > (uint64_t{1} << 62))
    return Status::InvalidArgument("room setting retention_ms = " + std::to_string(retention_ms) +
                                   " is over 2^62 (0 keeps forever)");
  if (segment_bytes < wal::kMinSegmentBytes || segment_bytes > wal::kMaxSegmentBytes || segment_bytes % 4096 != 0)
    return Status::InvalidArgument("room setting segment_bytes = " + std::to_string(segment_bytes) +
                                   " must be a multiple of 4096 in [" + std::to_string(wal::kMinSegmentBytes) + ", " +
                                   std::to_string(wal::kMaxSegmentBytes) + "]");
  return Status::Ok();
}

Status StreamOptions::Validate() const {
  SYNAP_RETURN_IF_ERROR(defaults.Validate());
  auto range = [](const char* n, uint64_t v, uint64_t lo, uint64_t hi) {
    return v >= lo && v <= hi ? Status::Ok()
                              : Status::InvalidArgument(std::string("stream.") + n + " = " + std::to_string(v) +
                                                        " is outside [" + std::to_string(lo) + ", " +
                                                        std::to_string(hi) + "]");
  };
  SYNAP_RETURN_IF_ERROR(range("fsync_interval_ms", fsync_interval_ms, 1, 60000));
  SYNAP_RETURN_IF_ERROR(range("max_rooms", max_rooms, 1, 1000000));
  SYNAP_RETURN_IF_ERROR(range("max_event_bytes", max_event_bytes, 64, 64u << 20));
  SYNAP_RETURN_IF_ERROR(range("max_append_bytes", max_append_bytes, max_event_bytes + 4ull, 64u << 20));
  // A key longer than max_event_bytes cannot fit an event anyway: no cross-check.
  SYNAP_RETURN_IF_ERROR(range("max_key_bytes", max_key_bytes, 1, 64u << 20));
  SYNAP_RETURN_IF_ERROR(range("max_headers", max_headers, 0, 65536));
  SYNAP_RETURN_IF_ERROR(range("max_read_records", max_read_records, 1, 10000000));
  // Read positions are u32: a read may pass its limit by one event.
  SYNAP_RETURN_IF_ERROR(range("max_read_bytes", max_read_bytes, 64, 1ull << 30));
  SYNAP_RETURN_IF_ERROR(range("max_wait_ms", max_wait_ms, 0, 86400000));
  SYNAP_RETURN_IF_ERROR(range("max_partitions", max_partitions, 1, 100000));
  SYNAP_RETURN_IF_ERROR(range("index_interval_bytes", index_interval_bytes, 64, 1u << 24));
  SYNAP_RETURN_IF_ERROR(range("compact_max_keys", compact_max_keys, 1, 1ull << 32));
  SYNAP_RETURN_IF_ERROR(range("maintenance_ms", maintenance_ms, 10, 3600000));
  return Status::Ok();
}

Status ValidateRoomName(const std::string& name) {
  auto bad = [&](const std::string& why) {
    std::string shown;
    for (char c : name.substr(0, 64)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    return Status::InvalidArgument("bad room name '" + shown + "': " + why);
  };
  if (name.empty()) return bad("empty");
  if (name.size() > kMaxRoomName) return bad("longer than " + std::to_string(kMaxRoomName) + " bytes");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == ':';
    if (!ok) return bad("only letters, digits and . _ - : are allowed");
  }
  if (name[0] == '.') return bad("must not start with '.'");
  if (name.find("..") != std::string::npos) return bad("must not contain '..'");
  if (name.rfind("__", 0) == 0) return bad("names starting with '__' are reserved");
  return Status::Ok();
}

}  // namespace synap::stream
