#include "tools/synap-server/resp.h"

#include <cctype>
#include <charconv>
#include <string>
#include <cmath>
#include <cstdio>

namespace synap::server {

namespace {

enum class Len { kOk, kNeedMore, kBad };

// Reads "<integer>\r\n" at `pos` (after the type byte) into *v. The
// integer and its CRLF must fit in 34 bytes: the CRLF is looked for only
// there, so that a header without its CRLF followed by megabytes of input
// is not rescanned on every receive, and the answer is the same whether the
// bytes came at once or in pieces (bad only once all 34 are there).
Len ReadLength(std::string_view in, size_t* pos, int64_t* v) {
  constexpr size_t kMaxField = 34;  // 32 characters and the CRLF
  std::string_view field = in.substr(*pos, kMaxField);
  size_t end = field.find("\r\n");
  if (end == std::string_view::npos) return field.size() == kMaxField ? Len::kBad : Len::kNeedMore;
  auto [p, ec] = std::from_chars(field.data(), field.data() + end, *v);
  if (ec != std::errc() || p != field.data() + end) return Len::kBad;
  *pos += end + 2;
  return Len::kOk;
}

// Collects the arguments of a multibulk request whose `argc` bulk strings,
// starting at `pos`, were all checked already.
void CollectArgs(std::string_view in, size_t pos, int64_t argc, std::vector<std::string_view>* args) {
  args->reserve(static_cast<size_t>(argc));
  for (int64_t i = 0; i < argc; i++) {
    int64_t len = 0;
    pos++;  // '$'
    ReadLength(in, &pos, &len);
    args->emplace_back(in.data() + pos, static_cast<size_t>(len));
    pos += static_cast<size_t>(len) + 2;
  }
}

}  // namespace

RequestParser::Result RequestParser::Parse(std::string_view in, size_t* consumed,
                                           std::vector<std::string_view>* args, std::string* error,
                                           ParseProgress* progress) {
  args->clear();
  scratch_.clear();
  ParseProgress local;
  ParseProgress& p = progress != nullptr ? *progress : local;
  if (in.empty()) return Result::kNeedMore;
  if (in[0] != '*') {
    p = ParseProgress{};
    return ParseInline(in, consumed, args, error);
  }
  Result r = ParseMultibulk(in, consumed, &p, error);
  if (r == Result::kCommand) CollectArgs(in, p.first, p.argc, args);
  if (r != Result::kNeedMore) p = ParseProgress{};
  return r;
}

// "*<argc>\r\n" then argc "$<len>\r\n<len bytes>\r\n", checked from where
// *p says; on kCommand p->first and p->argc say where the arguments are.
RequestParser::Result RequestParser::ParseMultibulk(std::string_view in, size_t* consumed, ParseProgress* p,
                                                    std::string* error) {
  if (p->pos == 0) {
    size_t pos = 1;
    Len l = ReadLength(in, &pos, &p->argc);
    if (l == Len::kNeedMore) return Result::kNeedMore;
    if (l == Len::kBad) {
      *error = "Protocol error: invalid multibulk length";
      return Result::kError;
    }
    if (p->argc <= 0) {  // an empty or null multibulk: skipped, as Redis does
      p->argc = 0;
      *consumed = pos;
      return Result::kCommand;
    }
    if (static_cast<uint64_t>(p->argc) > limits_.max_args) {
      *error = "Protocol error: too many arguments (limit " + std::to_string(limits_.max_args) + ")";
      return Result::kError;
    }
    p->first = p->pos = pos;
    p->done = 0;
  }
  size_t pos = p->pos;
  for (; p->done < p->argc; p->done++) {
    p->pos = pos;  // a kNeedMore below resumes at this argument
    if (pos >= in.size()) return Result::kNeedMore;
    if (in[pos] != '$') {
      *error = std::string("Protocol error: expected '$', got '") + in[pos] + "'";
      return Result::kError;
    }
    pos++;
    int64_t len = 0;
    Len bl = ReadLength(in, &pos, &len);
    if (bl == Len::kNeedMore) return Result::kNeedMore;
    if (bl == Len::kBad || len < 0 || static_cast<uint64_t>(len) > limits_.max_bulk_bytes) {
      *error = "Protocol error: invalid bulk length";
      return Result::kError;
    }
    if (in.size() - pos < static_cast<size_t>(len) + 2) return Result::kNeedMore;
    if (in[pos + len] != '\r' || in[pos + len + 1] != '\n') {
      *error = "Protocol error: bulk string not followed by CRLF";
      return Result::kError;
    }
    pos += static_cast<size_t>(len) + 2;
  }
  *consumed = pos;
  return Result::kCommand;
}

// "SET k v\r\n": words split on spaces and tabs. A word in double quotes
// may hold spaces and the escapes \" \\ \n \r \t \xHH; one in single quotes
// only \'. Unescaped words live in scratch_ until the next Parse.
RequestParser::Result RequestParser::ParseInline(std::string_view in, size_t* consumed,
                                                 std::vector<std::string_view>* args, std::string* error) {
  size_t nl = in.find('\n');
  // The limit holds however the line arrived: also when its newline came in
  // the same read (before, only a line arriving in pieces was refused: the
  // answer depended on how TCP cut the stream; found by tests/fuzz/fuzz_resp).
  if ((nl == std::string_view::npos ? in.size() : nl) > limits_.max_inline_bytes) {
    *error = "Protocol error: too big inline request";
    return Result::kError;
  }
  if (nl == std::string_view::npos) return Result::kNeedMore;
  std::string_view line = in.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == line.size()) break;
    char q = line[i];
    if (q != '"' && q != '\'') {
      size_t end = line.find_first_of(" \t", i);
      if (end == std::string_view::npos) end = line.size();
      args->push_back(line.substr(i, end - i));
      i = end;
      continue;
    }
    std::string& word = scratch_.emplace_back();
    bool closed = false;
    for (i++; i < line.size(); i++) {
      char ch = line[i];
      if (ch == q) {
        closed = true;
        i++;
        break;
      }
      if (ch == '\\' && i + 1 < line.size()) {
        char e = line[i + 1];
        if (q == '\'' && e != '\'') {
          word.push_back(ch);
          continue;
        }
        i++;
        if (e == 'n') word.push_back('\n');
        else if (e == 'r') word.push_back('\r');
        else if (e == 't') word.push_back('\t');
        else if (e == 'x' && i + 2 < line.size() && std::isxdigit(static_cast<unsigned char>(line[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(line[i + 2]))) {
          word.push_back(static_cast<char>(std::stoi(std::string(line.substr(i + 1, 2)), nullptr, 16)));
          i += 2;
        } else {
          word.push_back(e);
        }
        continue;
      }
      word.push_back(ch);
    }
    // A closing quote must end the word, as in Redis.
    if (!closed || (i < line.size() && line[i] != ' ' && line[i] != '\t')) {
      *error = "Protocol error: unbalanced quotes in request";
      return Result::kError;
    }
    args->push_back(word);
  }
  *consumed = nl + 1;
  return Result::kCommand;  // possibly no args: the caller skips empty lines
}

void ReplyWriter::Header(char c, int64_t n) {
  char buf[32];
  int len = std::snprintf(buf, sizeof buf, "%c%lld\r\n", c, static_cast<long long>(n));
  out_->append(buf, static_cast<size_t>(len));
}

void ReplyWriter::Simple(std::string_view s) {
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n");
}

void ReplyWriter::Error(std::string_view s) {
  out_->push_back('-');
  for (char c : s) out_->push_back(c == '\r' || c == '\n' ? ' ' : c);
  out_->append("\r\n");
}

void ReplyWriter::Integer(int64_t v) { Header(':', v); }

void ReplyWriter::Bulk(std::string_view s) {
  Header('$', static_cast<int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n");
}

void ReplyWriter::Null() { out_->append(proto_ >= 3 ? "_\r\n" : "$-1\r\n"); }
void ReplyWriter::NullArray() { out_->append(proto_ >= 3 ? "_\r\n" : "*-1\r\n"); }
void ReplyWriter::Array(size_t n) { Header('*', static_cast<int64_t>(n)); }
void ReplyWriter::Map(size_t pairs) {
  if (proto_ >= 3) Header('%', static_cast<int64_t>(pairs));
  else Header('*', static_cast<int64_t>(pairs * 2));
}
void ReplyWriter::Set(size_t n) { Header(proto_ >= 3 ? '~' : '*', static_cast<int64_t>(n)); }
void ReplyWriter::Push(size_t n) { Header(proto_ >= 3 ? '>' : '*', static_cast<int64_t>(n)); }

void ReplyWriter::Double(double d) {
  char buf[64];
  int len = std::isinf(d) ? std::snprintf(buf, sizeof buf, "%s", d > 0 ? "inf" : "-inf")
                          : std::snprintf(buf, sizeof buf, "%.17g", d);
  if (proto_ >= 3) {
    out_->push_back(',');
    out_->append(buf, static_cast<size_t>(len));
    out_->append("\r\n");
  } else {
    Bulk(std::string_view(buf, static_cast<size_t>(len)));
  }
}

void ReplyWriter::Bool(bool b) {
  if (proto_ >= 3) out_->append(b ? "#t\r\n" : "#f\r\n");
  else Integer(b ? 1 : 0);
}

void ReplyWriter::Verbatim(std::string_view s) {
  if (proto_ < 3) return Bulk(s);
  Header('=', static_cast<int64_t>(s.size() + 4));
  out_->append("txt:");
  out_->append(s);
  out_->append("\r\n");
}

}  // namespace synap::server
