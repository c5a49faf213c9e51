// Fuzz target: synap-server's RESP request parser
// (tools/synap-server/resp.cc, compiled into this target; no server runs).
//
// Input: the bytes a client sends: multibulk requests, inline commands, or
// anything else. Parsed under the default limits and under tiny ones (so
// every limit's error path is reached), the way the event loop does
// (event_loop.cc, Process): commands taken from the front of the unconsumed
// bytes until kNeedMore or kError.
//
// Invariants, besides no crash and no sanitizer report (which covers every
// argument view staying inside the input or the parser's scratch):
//  * kCommand consumes at least one byte and at most what it was given;
//  * the same bytes arriving in pieces (the parser resuming with its
//    ParseProgress, as a connection does) give the same commands and the
//    same error as all of them at once: what a client gets must not depend
//    on how TCP cut its stream;
//  * a parsed command, written back as a multibulk request, parses to the
//    same arguments.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_support.h"
#include "tools/synap-server/resp.h"

namespace {

using synap::server::ParseProgress;
using synap::server::RequestLimits;
using synap::server::RequestParser;

struct Parsed {
  std::vector<std::vector<std::string>> commands;
  bool error = false;
  size_t consumed = 0;  // bytes taken by the commands
};

// Takes commands from the front of in[pos...] until the parser wants more
// bytes or fails; appends them to *out.
void Drain(RequestParser* parser, std::string_view in, ParseProgress* progress, Parsed* out) {
  std::vector<std::string_view> args;
  while (!out->error && out->consumed < in.size()) {
    std::string_view rest = in.substr(out->consumed);
    size_t used = 0;
    std::string error;
    RequestParser::Result r = parser->Parse(rest, &used, &args, &error, progress);
    if (r == RequestParser::Result::kNeedMore) return;
    if (r == RequestParser::Result::kError) {
      FUZZ_CHECK(!error.empty(), "kError without a message");
      out->error = true;
      return;
    }
    FUZZ_CHECK(used >= 1 && used <= rest.size(), "kCommand consumed %zu of %zu bytes", used, rest.size());
    out->consumed += used;
    out->commands.emplace_back(args.begin(), args.end());
  }
}

Parsed AllAtOnce(const RequestLimits& limits, std::string_view in) {
  RequestParser parser(limits);
  Parsed out;
  Drain(&parser, in, nullptr, &out);
  return out;
}

Parsed InPieces(const RequestLimits& limits, std::string_view in, size_t piece) {
  RequestParser parser(limits);
  ParseProgress progress;
  Parsed out;
  for (size_t end = 0; end < in.size() && !out.error;) {
    end = std::min(in.size(), end + piece);
    Drain(&parser, in.substr(0, end), &progress, &out);
  }
  return out;
}

std::string Multibulk(const std::vector<std::string>& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

void Check(const RequestLimits& limits, std::string_view in, size_t piece) {
  Parsed whole = AllAtOnce(limits, in);
  Parsed pieces = InPieces(limits, in, piece);
  FUZZ_CHECK(pieces.commands == whole.commands && pieces.error == whole.error && pieces.consumed == whole.consumed,
             "in pieces of %zu: %zu commands, error %d, %zu bytes; all at once: %zu commands, error %d, %zu bytes",
             piece, pieces.commands.size(), pieces.error, pieces.consumed, whole.commands.size(), whole.error,
             whole.consumed);
  for (const std::vector<std::string>& cmd : whole.commands) {
    if (cmd.empty() || cmd.size() > limits.max_args) continue;
    bool fits = true;
    for (const std::string& a : cmd) fits &= a.size() <= limits.max_bulk_bytes;
    if (!fits) continue;
    std::string again = Multibulk(cmd);
    Parsed back = AllAtOnce(limits, again);
    FUZZ_CHECK(!back.error && back.commands.size() == 1 && back.commands[0] == cmd && back.consumed == again.size(),
               "a command written back as multibulk did not parse to itself");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (64u << 10)) return -1;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  RequestLimits tiny;
  tiny.max_bulk_bytes = 16;
  tiny.max_args = 4;
  tiny.max_inline_bytes = 64;
  const size_t piece = size == 0 ? 1 : 1 + data[size - 1] % 13;  // a cut chosen by the input
  Check(RequestLimits{}, in, piece);
  Check(tiny, in, piece);
  if (size <= 512) Check(tiny, in, 1);  // byte by byte: quadratic, so only for short inputs
  return 0;
}
