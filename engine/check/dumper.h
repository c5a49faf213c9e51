// Dump: a data directory's log records as JSON lines, offline and read-only
// (synap-cli dump, synap_dump in the C ABI).
//
// What it reads, and through what (docs/format.md):
//   * the main log, <dir>/wal (§1-13): KV records (§15, kv::DecodeRecord)
//     and queue records (§16, queue::DecodeRecord), in LSN order;
//   * the stream store's own room, <dir>/streams/__meta (§17): consumer-group
//     commits and topics (stream::DecodeEvent, stream::DecodeMetaEntry);
//   * or one room, <dir>/streams/<room>: its events (stream::DecodeEvent).
// Each log is scanned by log::RecoverLog in read-only mode, so every batch
// shown has passed its checksums, and nothing on disk is ever changed (a
// torn tail is skipped as the next open would trim it, and left in place).
// Log segments wholly outside the LSN or offset range asked for are not
// read at all (verify reads everything).
//
// The dump holds a shared flock on <dir>/LOCK while it reads: it refuses
// (Locked) a directory an engine has open, and an engine cannot open the
// directory until the dump is done (check::DirLock, shared). Dumps, verify
// and inspect may run side by side.
//
// Lines (one JSON object each, no newline; the field list is in
// docs/cli.md): {"lsn":..,"model":"kv","op":"set","key":..,"value":..,
// "expire_at_ms":..}, {"lsn":..,"model":"queue","op":"publish","queue":..},
// {"offset":..,"model":"stream-meta","op":"commit",..}, and for a room
// {"offset":..,"timestamp_ms":..,"key":..,"headers":[[name,value]],
// "payload":..}. Stored bytes (keys, values, payloads, names) are a JSON
// string when they are valid UTF-8, else {"base64":"<standard base64>"}
// (as synap-cli's data commands print them); with encoding=base64, every
// such field is a base64 string instead, whatever the bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "engine/log/format.h"

namespace synap::check {

enum class DumpEncoding : uint8_t { kAuto, kBase64 };

struct DumpFilter {
  // The main log (when `room` is empty): what, and which LSNs (inclusive).
  bool kv = true;
  bool queue = true;
  bool stream_meta = false;  // the __meta room, after the main log
  log::Lsn from_lsn = 1;
  log::Lsn to_lsn = UINT64_MAX;
  std::optional<std::string> prefix;      // only KV ops on keys starting with it (and flushall, which hits them)
  std::optional<std::string> queue_name;  // only records of this queue
  // One room's events instead of the main log ("__meta" allowed).
  std::string room;
  // Offsets (inclusive) of the room, or of the __meta room.
  uint64_t from_offset = 0;
  uint64_t to_offset = UINT64_MAX;
  DumpEncoding encoding = DumpEncoding::kAuto;
};

// Parses "name=value" pairs separated by spaces, tabs, newlines or ';' (NOT
// ','; type takes a comma list). Each value is percent-decoded (%XX is the
// byte XX), so a prefix may hold any byte. Names: from_lsn, to_lsn, type
// (kv, queue, stream-meta, comma-separated), prefix, queue, room,
// from_offset, to_offset, encoding (auto | base64). Without type, a
// prefix alone dumps only KV records and a queue alone only queue records.
// InvalidArgument names the pair at fault: an unknown name, a name given
// twice, a number that does not parse, from > to, a filter that cannot
// apply (prefix without kv, offsets without a room or stream-meta, LSNs or
// types with a room), a bad room name.
Result<DumpFilter> ParseDumpFilter(std::string_view text);

// Gets each line; returns false to stop the dump early (Dump then returns Ok).
using DumpSink = std::function<bool(const std::string& line)>;

struct DumpSummary {
  uint64_t records = 0;      // log records read within the range
  uint64_t lines = 0;        // lines handed to the sink
  uint64_t undecodable = 0;  // records that did not decode (each got an "error" line)
  bool stopped = false;      // the sink asked to stop
};

// Errors: InvalidArgument (dir missing, not a directory, or not a data
// directory: no LOCK, wal/, snapshots/ or streams/), NotFound (no such
// room), Locked, Corruption / Unsupported (a log the engine would refuse to open, after the
// lines before the damage; or records that did not decode, after every
// line), IOError.
Status Dump(const std::string& dir, const DumpFilter& filter, const DumpSink& sink, DumpSummary* summary = nullptr);

}  // namespace synap::check
