// What synap-cli's integrity commands (verify, repair, inspect) share for
// their output: libsynap's JSON reports taken over and parsed, a problem as
// one "file:offset: what" line, aligned tables, byte sizes for people, and
// the progress bar verify draws on a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/synap-cli/json_value.h"

namespace synap::cli {

// Takes a JSON document libsynap returned (freeing it) and parses it; fails
// the command (exit 1) if it does not parse. NULL gives null.
Json TakeReport(char* text, size_t len, const std::string& what);

// A member's unsigned number (0 when absent or not one).
uint64_t U64(const Json& j, const char* name);
// A member's text ("" when absent).
std::string Text(const Json& j, const char* name);
bool Flag(const Json& j, const char* name);

// "wal/00000000000000000001.log:4096: checksum mismatch: batch payload hash
// mismatch (recovery refuses)" for one of a report's problems.
std::string ProblemLine(const Json& problem);

// "0 B", "4.0 KiB", "1.5 GiB".
std::string HumanBytes(uint64_t bytes);

// Columns of text, each as wide as its widest cell; numbers right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void Print(std::FILE* out, const std::string& indent = "  ") const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// A one-line bar on stderr, redrawn at most ten times a second, erased by
// Done(). Draws nothing unless `enabled` (verify: stderr is a terminal and
// --quiet was not given).
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  ~ProgressBar() { Done(); }
  void Update(const char* phase, uint64_t done, uint64_t total);
  void Done();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace synap::cli
