#include "tools/synap-cli/check_output.h"

#include <synap/synap.h>

#include <algorithm>

#include "tools/synap-cli/command_failure.h"

namespace synap::cli {

Json TakeReport(char* text, size_t len, const std::string& what) {
  if (text == nullptr) return Json();
  std::string s(text, len);
  synap_free(text);
  Json j;
  std::string error;
  if (!Json::Parse(s, &j, &error)) Fail(kExitFailed, what + " returned malformed JSON: " + error);
  return j;
}

uint64_t U64(const Json& j, const char* name) {
  const Json* v = j.Find(name);
  uint64_t out = 0;
  return v != nullptr && v->AsU64(&out) ? out : 0;
}

std::string Text(const Json& j, const char* name) {
  const Json* v = j.Find(name);
  return v != nullptr ? v->text() : "";
}

bool Flag(const Json& j, const char* name) { return Text(j, name) == "true"; }

std::string ProblemLine(const Json& p) {
  return Text(p, "file") + ":" + Text(p, "offset") + ": " + Text(p, "what") + ": " + Text(p, "detail") +
         " (recovery " + Text(p, "recovery") + (Flag(p, "harmless") ? ": harmless)" : ")");
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024;
  size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof kUnits / sizeof kUnits[0]) v /= 1024, u++;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

namespace {

bool Numeric(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

}  // namespace

void Table::Print(std::FILE* out, const std::string& indent) const {
  std::vector<size_t> width(header_.size(), 0);
  for (size_t c = 0; c < header_.size(); c++) width[c] = header_[c].size();
  for (const auto& row : rows_)
    for (size_t c = 0; c < row.size() && c < width.size(); c++) width[c] = std::max(width[c], row[c].size());
  auto line = [&](const std::vector<std::string>& row, bool head) {
    std::string s = indent;
    for (size_t c = 0; c < width.size(); c++) {
      const std::string cell = c < row.size() ? row[c] : "";
      std::string pad(width[c] - cell.size(), ' ');
      bool right = !head && c > 0 && Numeric(cell);
      s += right ? pad + cell : cell + (c + 1 < width.size() ? pad : "");
      if (c + 1 < width.size()) s += "  ";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::fprintf(out, "%s\n", s.c_str());
  };
  line(header_, true);
  for (const auto& row : rows_) line(row, false);
}

void ProgressBar::Update(const char* phase, uint64_t done, uint64_t total) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && done != total && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  constexpr int kWidth = 30;
  double f = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  int filled = static_cast<int>(f * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r\033[K[%s] %3d%%  %s / %s  %s", bar.c_str(), static_cast<int>(f * 100),
               HumanBytes(done).c_str(), HumanBytes(total).c_str(), phase);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Done() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace synap::cli
