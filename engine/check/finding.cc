#include "engine/check/finding.h"

namespace synap::check {

const char* ProblemName(Problem p) {
  switch (p) {
    case Problem::kChecksum: return "checksum mismatch";
    case Problem::kTornTail: return "torn tail";
    case Problem::kBadHeader: return "bad header";
    case Problem::kBadBatch: return "bad batch";
    case Problem::kBadRecord: return "bad record";
    case Problem::kLsnGap: return "LSN gap";
    case Problem::kMissingSegments: return "missing segments";
    case Problem::kIndexMismatch: return "index mismatch";
    case Problem::kTruncated: return "truncated";
    case Problem::kBadSnapshot: return "bad snapshot";
    case Problem::kUnsupported: return "unsupported version";
    case Problem::kReadError: return "read error";
  }
  return "unknown";
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kTrims: return "trims";
    case Verdict::kSkips: return "skips";
    case Verdict::kRebuilds: return "rebuilds";
    case Verdict::kRefuses: return "refuses";
    case Verdict::kAccepts: return "accepts";
  }
  return "unknown";
}

void WriteFindingList(JsonWriter& j, std::string_view key, const std::vector<Finding>& findings) {
  j.BeginArray(key);
  for (const Finding& f : findings) {
    j.BeginObject().Str("area", f.area);
    if (!f.room.empty()) j.Str("room", f.room);
    j.Str("file", f.file)
        .U64("offset", f.offset)
        .Str("what", ProblemName(f.problem))
        .Str("detail", f.detail)
        .Str("recovery", VerdictName(f.verdict))
        .Bool("harmless", Harmless(f.verdict))
        .EndObject();
  }
  j.EndArray();
}

void WriteFindings(JsonWriter& j, const std::vector<Finding>& findings, const std::vector<Note>& notes) {
  WriteFindingList(j, "problems", findings);
  j.BeginArray("notes");
  for (const Note& n : notes) j.BeginObject().Str("file", n.file).Str("note", n.text).EndObject();
  j.EndArray();
}

}  // namespace synap::check
