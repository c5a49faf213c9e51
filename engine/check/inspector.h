// Inspect: what a data directory holds, read-only — log segments (LSN
// ranges, sizes, batches, records, codecs), snapshots, queues, stream rooms
// (offsets, segments, settings), consumer groups and topics — as one JSON
// document (its fields: synap_inspect_json in synap.h, and docs/cli.md).
//
// Nothing is written. The queue state is rebuilt in a scratch in-memory
// QueueStore from the newest snapshot that reads back clean and the log
// after it, as an open would rebuild it; the groups and topics from the
// "__meta" room's events (stream/meta_entry.h). Logs are read by ScanLog
// (log_scan.h), so every batch counted passed its checksums. Damage does not
// stop an inspect: it shows what is readable, counts the problems and says
// what it could not show; `verify` gives the details.
#pragma once

#include <string>

#include "engine/base/status.h"
#include "engine/io/backend.h"

namespace synap::check {

// Errors: InvalidArgument (not a data directory), Locked (a server holds it),
// IOError (a directory could not be listed).
Result<std::string> InspectJson(io::IoBackend* io, const std::string& root);

}  // namespace synap::check
