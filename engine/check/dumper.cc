#include "engine/check/dumper.h"

#include <sys/stat.h>

#include <charconv>
#include <vector>

#include "engine/check/data_dir.h"
#include "engine/io/sync_backend.h"
#include "engine/kv/kv_record.h"
#include "engine/log/recovery.h"
#include "engine/queue/queue_record.h"
#include "engine/stream/event.h"
#include "engine/stream/meta_entry.h"
#include "engine/stream/stream_options.h"

namespace synap::check {
namespace {

// ---- the filter text ----

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view name, std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); i++) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    int hi = i + 2 < v.size() ? HexDigit(v[i + 1]) : -1, lo = i + 2 < v.size() ? HexDigit(v[i + 2]) : -1;
    if (hi < 0 || lo < 0)
      return Status::InvalidArgument("dump filter " + std::string(name) + ": '%' must be followed by two hex digits");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

Result<uint64_t> ParseNumber(std::string_view name, const std::string& v) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size())
    return Status::InvalidArgument("dump filter " + std::string(name) + "=" + v + ": not a decimal number of 0.." +
                                   std::to_string(UINT64_MAX));
  return n;
}

Status ParseTypes(const std::string& v, DumpFilter* f) {
  f->kv = f->queue = f->stream_meta = false;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    std::string t = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (t == "kv") f->kv = true;
    else if (t == "queue") f->queue = true;
    else if (t == "stream-meta") f->stream_meta = true;
    else return Status::InvalidArgument("dump filter type: unknown type '" + t + "' (expected kv, queue, stream-meta)");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return Status::Ok();
}

// The rules between filters (see ParseDumpFilter in dumper.h).
Status Reconcile(DumpFilter* f, bool has_type, bool has_lsn, bool has_offset) {
  if (!f->room.empty()) {
    if (has_type || has_lsn || f->prefix || f->queue_name)
      return Status::InvalidArgument(
          "dump filter room: a room's events take no type, prefix, queue or LSN filter "
          "(use from_offset and to_offset)");
    if (f->room != stream::kMetaRoomName) SYNAP_RETURN_IF_ERROR(stream::ValidateRoomName(f->room));
  } else if (!has_type) {
    f->kv = !f->queue_name || f->prefix;
    f->queue = !f->prefix || f->queue_name;
  }
  if (f->prefix && !f->kv)
    return Status::InvalidArgument("dump filter prefix: applies to KV records, and type excludes kv");
  if (f->queue_name && !f->queue)
    return Status::InvalidArgument("dump filter queue: applies to queue records, and type excludes queue");
  if (f->room.empty() && has_offset && !f->stream_meta)
    return Status::InvalidArgument("dump filter from_offset/to_offset: apply to a room or to type stream-meta");
  if (f->room.empty() && has_lsn && !f->kv && !f->queue)
    return Status::InvalidArgument("dump filter from_lsn/to_lsn: apply to the main log (types kv and queue)");
  if (f->from_lsn > f->to_lsn)
    return Status::InvalidArgument("dump filter: from_lsn " + std::to_string(f->from_lsn) + " is above to_lsn " +
                                   std::to_string(f->to_lsn));
  if (f->from_offset > f->to_offset)
    return Status::InvalidArgument("dump filter: from_offset " + std::to_string(f->from_offset) +
                                   " is above to_offset " + std::to_string(f->to_offset));
  return Status::Ok();
}

bool IsSeparator(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';'; }

}  // namespace

Result<DumpFilter> ParseDumpFilter(std::string_view text) {
  DumpFilter f;
  std::vector<std::string> seen;
  bool has_type = false, has_lsn = false, has_offset = false;
  size_t i = 0;
  while (i < text.size()) {
    if (IsSeparator(text[i])) {
      i++;
      continue;
    }
    size_t end = i;
    while (end < text.size() && !IsSeparator(text[end])) end++;
    std::string_view pair = text.substr(i, end - i);
    i = end;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return Status::InvalidArgument("dump filter: '" + std::string(pair) + "' is not name=value");
    std::string name(pair.substr(0, eq));
    for (const std::string& s : seen)
      if (s == name) return Status::InvalidArgument("dump filter: " + name + " given twice");
    seen.push_back(name);
    Result<std::string> value = PercentDecode(name, pair.substr(eq + 1));
    if (!value.ok()) return value.status();
    const std::string& v = *value;
    if (name == "from_lsn" || name == "to_lsn" || name == "from_offset" || name == "to_offset") {
      Result<uint64_t> n = ParseNumber(name, v);
      if (!n.ok()) return n.status();
      if (name == "from_lsn") f.from_lsn = std::max<uint64_t>(*n, 1), has_lsn = true;
      if (name == "to_lsn") f.to_lsn = *n, has_lsn = true;
      if (name == "from_offset") f.from_offset = *n, has_offset = true;
      if (name == "to_offset") f.to_offset = *n, has_offset = true;
      if (name == "to_lsn" && *n == 0) return Status::InvalidArgument("dump filter to_lsn=0: LSNs start at 1");
    } else if (name == "type") {
      SYNAP_RETURN_IF_ERROR(ParseTypes(v, &f));
      has_type = true;
    } else if (name == "prefix") {
      f.prefix = v;
    } else if (name == "queue") {
      if (v.empty()) return Status::InvalidArgument("dump filter queue: empty queue name");
      f.queue_name = v;
    } else if (name == "room") {
      if (v.empty()) return Status::InvalidArgument("dump filter room: empty room name");
      f.room = v;
    } else if (name == "encoding") {
      if (v == "auto") f.encoding = DumpEncoding::kAuto;
      else if (v == "base64") f.encoding = DumpEncoding::kBase64;
      else return Status::InvalidArgument("dump filter encoding=" + v + ": expected auto or base64");
    } else {
      return Status::InvalidArgument("dump filter: unknown name '" + name +
                                     "' (expected from_lsn, to_lsn, type, prefix, queue, room, from_offset, "
                                     "to_offset, encoding)");
    }
  }
  SYNAP_RETURN_IF_ERROR(Reconcile(&f, has_type, has_lsn, has_offset));
  return f;
}

namespace {

// ---- JSON lines ----

// Well-formed UTF-8: no stray continuation bytes, overlong forms, surrogates
// or code points past U+10FFFF.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      i++;
      continue;
    }
    int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = c & (0xFF >> (len + 1));
    for (int k = 1; k < len; k++) {
      auto d = static_cast<uint8_t>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = cp << 6 | (d & 0x3F);
    }
    uint32_t smallest = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < smallest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// One JSON object under construction. Stored bytes go out as the dump's
// encoding says (dumper.h); numbers as they are.
class Line {
 public:
  explicit Line(DumpEncoding enc) : enc_(enc) {}
  Line& U64(const char* k, uint64_t v) { return Raw(k, std::to_string(v)); }
  Line& I64(const char* k, int64_t v) { return Raw(k, std::to_string(v)); }
  Line& Text(const char* k, std::string_view v) {  // engine-made text (names, messages): a plain string
    Key(k);
    Escaped(IsUtf8(v) ? v : "(not UTF-8)", &s_);
    return *this;
  }
  Line& Bytes(const char* k, std::string_view v) {
    Key(k);
    Encoded(v, &s_);
    return *this;
  }
  Line& Raw(const char* k, std::string_view json) {
    Key(k);
    s_ += json;
    return *this;
  }
  // A JSON array of [name, value] pairs: names may repeat, so not an object.
  template <typename Pairs>
  Line& PairList(const char* k, const Pairs& pairs) {
    Key(k);
    s_ += '[';
    bool first = true;
    for (const auto& [name, value] : pairs) {
      s_ += first ? "[" : ",[";
      first = false;
      Encoded(name, &s_);
      s_ += ',';
      Encoded(value, &s_);
      s_ += ']';
    }
    s_ += ']';
    return *this;
  }
  // Stored bytes: a JSON string when they are valid UTF-8, else
  // {"base64":"..."}; under kBase64, always a base64 string.
  void Encoded(std::string_view v, std::string* out) const {
    if (enc_ == DumpEncoding::kBase64) return Base64(v, out);
    if (IsUtf8(v)) return Escaped(v, out);
    *out += "{\"base64\":";
    Base64(v, out);
    *out += '}';
  }
  std::string Finish() { return s_ + "}"; }

 private:
  void Key(const char* k) {
    s_ += s_.size() > 1 ? ",\"" : "\"";
    s_ += k;
    s_ += "\":";
  }
  // A JSON string of UTF-8 text (the caller checked): control characters
  // as \u00XX, '"' and '\\' escaped, every other byte as it is.
  static void Escaped(std::string_view v, std::string* out) {
    static const char* kHex = "0123456789abcdef";
    *out += '"';
    for (unsigned char c : v) {
      if (c == '"' || c == '\\') {
        *out += '\\';
        *out += static_cast<char>(c);
      } else if (c >= 0x20) {
        *out += static_cast<char>(c);
      } else {
        *out += "\\u00";
        *out += kHex[c >> 4];
        *out += kHex[c & 15];
      }
    }
    *out += '"';
  }
  static void Base64(std::string_view v, std::string* out) {
    static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    *out += '"';
    size_t i = 0;
    for (; i + 3 <= v.size(); i += 3) {
      uint32_t n =
          static_cast<uint8_t>(v[i]) << 16 | static_cast<uint8_t>(v[i + 1]) << 8 | static_cast<uint8_t>(v[i + 2]);
      for (int s = 18; s >= 0; s -= 6) *out += kAlphabet[(n >> s) & 63];
    }
    if (size_t rest = v.size() - i; rest > 0) {
      uint32_t n = static_cast<uint8_t>(v[i]) << 16 | (rest == 2 ? static_cast<uint8_t>(v[i + 1]) << 8 : 0);
      *out += kAlphabet[(n >> 18) & 63];
      *out += kAlphabet[(n >> 12) & 63];
      *out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
      *out += '=';
    }
    *out += '"';
  }

  DumpEncoding enc_;
  std::string s_ = "{";
};

std::string_view AsText(std::span<const uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// ---- the dump of one log ----

class Dumper {
 public:
  Dumper(const DumpFilter& f, const DumpSink& sink, DumpSummary* summary) : f_(f), sink_(sink), sum_(summary) {}

  // Scans one log directory, handing records in [from, to] to `record`.
  Status ScanLog(const std::string& dir, uint64_t name_bias, log::Lsn from, log::Lsn to,
                 const std::function<void(log::Lsn, std::span<const uint8_t>)>& record);

  void MainRecord(log::Lsn lsn, std::span<const uint8_t> rec);
  void MetaRecord(uint64_t offset, std::span<const uint8_t> rec);
  void RoomRecord(uint64_t offset, std::span<const uint8_t> rec);
  // Corruption or Unsupported when records did not decode.
  Status DecodeStatus(const std::string& what) const;

 private:
  Line Start(const char* pos_name, uint64_t pos) const {
    Line l(f_.encoding);
    l.U64(pos_name, pos);
    return l;
  }
  void Emit(Line& line) {
    if (sum_->stopped) return;
    sum_->lines++;
    if (!sink_(line.Finish())) sum_->stopped = true;
  }
  void Undecodable(const char* pos_name, uint64_t pos, const char* model, const Status& why,
                   std::span<const uint8_t> rec);
  void KvRecord(log::Lsn lsn, std::span<const uint8_t> rec);
  void QueueRecord(log::Lsn lsn, std::span<const uint8_t> rec);

  const DumpFilter& f_;
  const DumpSink& sink_;
  DumpSummary* sum_;
  Status first_failure_;  // of the records that did not decode
};

Status Dumper::ScanLog(const std::string& dir, uint64_t name_bias, log::Lsn from, log::Lsn to,
                       const std::function<void(log::Lsn, std::span<const uint8_t>)>& record) {
  io::SyncBackend io;
  log::RecoveryOptions ro;
  ro.read_only = true;  // never zero, truncate or remove: a dump changes nothing
  ro.name_bias = name_bias;
  ro.replay_from = from;
  // A sealed segment wholly outside [from, to] (or any, once the sink has
  // had enough) is not read: recovery takes it on our word, unseen.
  ro.trust_sealed = [&](const log::SegmentHeader& h, log::Lsn next_base, uint64_t) {
    return sum_->stopped || next_base <= from || h.base_lsn > to;
  };
  ro.replay = [&](log::Lsn lsn, std::span<const uint8_t> rec) {
    if (sum_->stopped || lsn > to) return;
    sum_->records++;
    record(lsn, rec);
  };
  log::RecoveredLog out;
  log::RecoveryReport report;
  return log::RecoverLog(&io, dir, ro, &out, &report);
}

void Dumper::Undecodable(const char* pos_name, uint64_t pos, const char* model, const Status& why,
                         std::span<const uint8_t> rec) {
  sum_->undecodable++;
  if (first_failure_.ok()) first_failure_ = why;
  Line l = Start(pos_name, pos);
  if (model != nullptr) l.Text("model", model);
  l.Text("error", why.message()).Bytes("record", AsText(rec));
  Emit(l);
}

Status Dumper::DecodeStatus(const std::string& what) const {
  if (sum_->undecodable == 0) return Status::Ok();
  std::string m = std::to_string(sum_->undecodable) + " record(s) of " + what +
                  " did not decode (their lines carry \"error\"); the first: " + first_failure_.message();
  return first_failure_.code() == Status::Code::kUnsupported ? Status::Unsupported(m) : Status::Corruption(m);
}

void Dumper::MainRecord(log::Lsn lsn, std::span<const uint8_t> rec) {
  if (rec.empty()) return Undecodable("lsn", lsn, nullptr, Status::Corruption("empty record in the log"), rec);
  if (rec[0] == kv::kModelKv) {
    if (f_.kv) KvRecord(lsn, rec);
  } else if (rec[0] == queue::kModelQueue) {
    if (f_.queue) QueueRecord(lsn, rec);
  } else {
    Undecodable("lsn", lsn, nullptr,
                Status::Unsupported("log record of unknown data model " + std::to_string(rec[0]) +
                                    " (written by a newer version?)"),
                rec);
  }
}

const char* KvOpName(kv::OpKind k) {
  switch (k) {
    case kv::OpKind::kPut: return "set";
    case kv::OpKind::kDelete: return "del";
    case kv::OpKind::kAppendAt: return "append_at";
    case kv::OpKind::kSetExpiry: return "set_expiry";
    case kv::OpKind::kFlushAll: return "flushall";
  }
  return "unknown";
}

// One line per operation: a record of several (MSET, DEL of many keys)
// gives lines with the same LSN and op_index / op_count.
void Dumper::KvRecord(log::Lsn lsn, std::span<const uint8_t> rec) {
  std::vector<kv::Op> ops;
  if (Status st = kv::DecodeRecord(rec, &ops); !st.ok()) return Undecodable("lsn", lsn, "kv", st, rec);
  for (size_t i = 0; i < ops.size(); i++) {
    const kv::Op& op = ops[i];
    if (f_.prefix && op.kind != kv::OpKind::kFlushAll && !op.key.starts_with(*f_.prefix)) continue;
    Line l = Start("lsn", lsn);
    l.Text("model", "kv").Text("op", KvOpName(op.kind));
    if (op.kind != kv::OpKind::kFlushAll) l.Bytes("key", op.key);
    if (op.kind == kv::OpKind::kPut) l.Bytes("value", op.value).I64("expire_at_ms", op.expire_at_ms);
    if (op.kind == kv::OpKind::kAppendAt) l.U64("offset", op.offset).Bytes("value", op.value);
    if (op.kind == kv::OpKind::kSetExpiry) l.I64("expire_at_ms", op.expire_at_ms);
    if (ops.size() > 1) l.U64("op_index", i).U64("op_count", ops.size());
    Emit(l);
  }
}

std::string Settings(const queue::QueueSettings& s) {
  return "{\"max_depth\":" + std::to_string(s.max_depth) + ",\"ack_deadline_ms\":" + std::to_string(s.ack_deadline_ms) +
         ",\"max_retries\":" + std::to_string(s.max_retries) +
         ",\"dead_letter_max\":" + std::to_string(s.dead_letter_max) +
         ",\"default_priority\":" + std::to_string(s.default_priority) +
         ",\"message_ttl_ms\":" + std::to_string(s.message_ttl_ms) + "}";
}

std::string IdList(const std::vector<uint64_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); i++) s += (i > 0 ? "," : "") + std::to_string(ids[i]);
  return s + "]";
}

// One line per record, except a publish: one line per message (op_index /
// op_count when the record holds several).
void Dumper::QueueRecord(log::Lsn lsn, std::span<const uint8_t> rec) {
  queue::QueueRecord r;
  if (Status st = queue::DecodeRecord(rec, &r); !st.ok()) return Undecodable("lsn", lsn, "queue", st, rec);
  if (f_.queue_name && r.queue != *f_.queue_name) return;
  auto start = [&] {
    Line l = Start("lsn", lsn);
    l.Text("model", "queue").Text("op", queue::QueueOpName(r.op)).Bytes("queue", r.queue);
    return l;
  };
  if (r.op == queue::QueueOp::kPublish) {
    for (size_t i = 0; i < r.published.size(); i++) {
      const queue::PublishedMessage& m = r.published[i];
      Line l = start();
      l.U64("id", m.id).U64("priority", m.priority).U64("max_retries", m.max_retries).I64("due_ms", m.due_ms);
      l.I64("published_ms", m.published_ms).PairList("headers", m.headers).Bytes("payload", m.payload);
      if (r.published.size() > 1) l.U64("op_index", i).U64("op_count", r.published.size());
      Emit(l);
    }
    return;
  }
  Line l = start();
  switch (r.op) {
    case queue::QueueOp::kDeclare: l.Raw("settings", Settings(r.settings)); break;
    case queue::QueueOp::kDeliver: {
      std::string msgs = "[";
      for (size_t i = 0; i < r.delivered.size(); i++)
        msgs += std::string(i > 0 ? "," : "") + "{\"id\":" + std::to_string(r.delivered[i].id) +
                ",\"delivery_count\":" + std::to_string(r.delivered[i].delivery_count) + "}";
      l.Bytes("consumer", r.consumer).I64("deadline_ms", r.deadline_ms).Raw("messages", msgs + "]");
      break;
    }
    case queue::QueueOp::kAck:
    case queue::QueueOp::kRevive: l.Raw("ids", IdList(r.ids)); break;
    case queue::QueueOp::kRequeue: l.U64("id", r.ids.front()); break;
    case queue::QueueOp::kDeadLetter:
      l.U64("id", r.ids.front()).Text("reason", queue::ReasonName(static_cast<queue::DeadReason>(r.reason)));
      break;
    case queue::QueueOp::kPublish:
    case queue::QueueOp::kDelete:
    case queue::QueueOp::kPurge:
    case queue::QueueOp::kPurgeDead: break;
  }
  Emit(l);
}

void Dumper::MetaRecord(uint64_t offset, std::span<const uint8_t> rec) {
  stream::EventView ev;
  if (Status st = stream::DecodeEvent(rec, &ev); !st.ok()) return Undecodable("offset", offset, "stream-meta", st, rec);
  stream::MetaEntry e = stream::DecodeMetaEntry(ev.key, ev.payload);
  Line l = Start("offset", offset);
  l.Text("model", "stream-meta").I64("timestamp_ms", ev.timestamp_ms);
  switch (e.kind) {
    case stream::MetaEntry::Kind::kCommit:
      l.Text("op", e.deleted ? "commit_delete" : "commit").Bytes("group", e.group).Bytes("room", e.room);
      if (!e.deleted) l.U64("committed", e.offset);
      break;
    case stream::MetaEntry::Kind::kTopic:
      l.Text("op", e.partitions == 0 ? "topic_delete" : "topic").Bytes("topic", e.topic);
      if (e.partitions != 0) l.U64("partitions", e.partitions);
      break;
    case stream::MetaEntry::Kind::kUnknown:
      l.Text("op", "unknown").Bytes("key", ev.key).Bytes("value", ev.payload);
      break;
  }
  Emit(l);
}

void Dumper::RoomRecord(uint64_t offset, std::span<const uint8_t> rec) {
  stream::EventView ev;
  if (Status st = stream::DecodeEvent(rec, &ev); !st.ok()) return Undecodable("offset", offset, nullptr, st, rec);
  Line l = Start("offset", offset);
  l.I64("timestamp_ms", ev.timestamp_ms);
  if (ev.key.empty()) {
    l.Raw("key", "null");  // key_len 0 is "no key" (§17)
  } else {
    l.Bytes("key", ev.key);
  }
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  for (const stream::HeaderView& h : ev.headers) headers.emplace_back(h.name, h.value);
  l.PairList("headers", headers).Bytes("payload", ev.payload);
  Emit(l);
}

// ---- the directory ----

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Offsets of a room are LSNs - 1; the range's ends clamp so that +1 cannot wrap.
log::Lsn OffsetToLsn(uint64_t offset) { return offset == UINT64_MAX ? UINT64_MAX : offset + 1; }

}  // namespace

Status Dump(const std::string& dir, const DumpFilter& f, const DumpSink& sink, DumpSummary* summary) {
  DumpSummary local;
  DumpSummary* sum = summary != nullptr ? summary : &local;
  *sum = DumpSummary();
  if (dir.empty()) return Status::InvalidArgument("empty data directory path");
  // Shared: beside verify, inspect and other dumps; never beside an engine
  // or a repair, which lock it exclusively (data_dir.h).
  Result<DirLock> lock = DirLock::Take(CleanPath(dir), DirLock::Mode::kShared);
  if (!lock.ok()) return lock.status();
  std::string wal = dir + "/wal", streams = dir + "/streams";
  Dumper d(f, sink, sum);
  if (!f.room.empty()) {
    std::string room = streams + "/" + f.room;
    if (!IsDir(room)) return Status::NotFound("no room '" + f.room + "' in " + streams);
    auto each = [&](log::Lsn lsn, std::span<const uint8_t> rec) { d.RoomRecord(lsn - 1, rec); };
    SYNAP_RETURN_IF_ERROR(d.ScanLog(room, 1, OffsetToLsn(f.from_offset), OffsetToLsn(f.to_offset), each));
    return d.DecodeStatus("room " + f.room);
  }
  if ((f.kv || f.queue) && IsDir(wal)) {
    auto each = [&](log::Lsn lsn, std::span<const uint8_t> rec) { d.MainRecord(lsn, rec); };
    SYNAP_RETURN_IF_ERROR(d.ScanLog(wal, 0, f.from_lsn, f.to_lsn, each));
  }
  std::string meta = streams + "/" + stream::kMetaRoomName;
  if (f.stream_meta && !sum->stopped && IsDir(meta)) {
    auto each = [&](log::Lsn lsn, std::span<const uint8_t> rec) { d.MetaRecord(lsn - 1, rec); };
    SYNAP_RETURN_IF_ERROR(d.ScanLog(meta, 1, OffsetToLsn(f.from_offset), OffsetToLsn(f.to_offset), each));
  }
  return d.DecodeStatus(dir);
}

}  // namespace synap::check
