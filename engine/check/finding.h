// Finding: one problem an offline check found in a data directory, and what
// the engine's own recovery would do about it. The verifier produces them,
// the repairer acts on them, and the C ABI hands them out as JSON
// (docs/cli.md, "Offline: verify, repair, inspect").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/json_writer.h"

namespace synap::check {

// What is wrong. Names (ProblemName) are part of the JSON report.
enum class Problem : uint8_t {
  kChecksum,         // a batch, block, header or footer hash does not match its bytes
  kTornTail,         // damage at the end of the final segment no later batch proves durable
  kBadHeader,        // a segment or snapshot header that does not decode
  kBadBatch,         // a batch whose hashes hold but whose contents do not decode
  kBadRecord,        // a record whose batch is intact but that does not parse (model byte, event)
  kLsnGap,           // LSNs that do not follow on: a segment or batch missing or out of place
  kMissingSegments,  // the log starts after the LSN its snapshot needs it to start at
  kIndexMismatch,    // a room's .index/.timeindex that does not validate or does not match its segment
  kTruncated,        // a snapshot shorter than its footer says (or too short to hold one)
  kBadSnapshot,      // any other damage in a snapshot (block framing, footer totals)
  kUnsupported,      // a header or record of a newer format version
  kReadError,        // the file could not be read (the OS said why)
};

// What the engine's recovery (synap_open) would do about it, as the data
// directory stands. Names (VerdictName) are part of the JSON report.
enum class Verdict : uint8_t {
  kTrims,     // cuts it at open; nothing acknowledged is lost (harmless)
  kSkips,     // a damaged snapshot: an older one, or the whole log, is used instead (harmless)
  kRebuilds,  // a room index: ignored, the segment is scanned and its index written afresh (harmless)
  kRefuses,   // the open fails; `repair` truncates there, and what follows is lost
  kAccepts,   // the open succeeds but does not check it: reads of it fail or go astray
};

const char* ProblemName(Problem p);
const char* VerdictName(Verdict v);
inline bool Harmless(Verdict v) { return v == Verdict::kTrims || v == Verdict::kSkips || v == Verdict::kRebuilds; }

struct Finding {
  std::string area;      // "log", "snapshot" or "room"
  std::string room;      // the room's name when area is "room"
  std::string file;      // relative to the data directory, e.g. "wal/00000000000000000001.log"
  uint64_t offset = 0;   // byte offset in `file` where the problem starts
  Problem problem = Problem::kChecksum;
  std::string detail;    // the reader's own words, e.g. "batch payload hash mismatch"
  Verdict verdict = Verdict::kRefuses;
};

// Something worth knowing that is not damage (a room index not written yet).
struct Note {
  std::string file;
  std::string text;
};

// Appends "problems": [...] and "notes": [...] to `j`.
void WriteFindings(JsonWriter& j, const std::vector<Finding>& findings, const std::vector<Note>& notes);
// Appends `key`: [...], the findings alone.
void WriteFindingList(JsonWriter& j, std::string_view key, const std::vector<Finding>& findings);

}  // namespace synap::check
