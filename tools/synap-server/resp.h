// RESP: the Redis serialization protocol, both directions.
//
// RequestParser reads commands from a connection's bytes: RESP arrays of
// bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") or inline commands typed
// into nc ("GET k\r\n"). ReplyWriter writes RESP2 or RESP3 replies
// (https://redis.io/docs/latest/develop/reference/protocol-spec/).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace synap::server {

struct RequestLimits {
  size_t max_bulk_bytes = 512u << 20;  // proto-max-bulk-len
  size_t max_args = 1u << 20;          // arguments per command
  size_t max_inline_bytes = 64u << 10; // an inline command line
};

// How far an incomplete multibulk request was checked, so that parsing it
// again when more bytes arrive resumes there. Without it, a request of a
// million small arguments arriving 16 KiB at a time is rescanned from its
// first argument on every receive: quadratic time, seconds to hours of one
// loop's CPU for one hostile client. Offsets count from the request's first
// byte; each connection keeps its own (the parser is shared by a loop).
struct ParseProgress {
  size_t pos = 0;    // the first byte not yet checked (0: not even the header)
  size_t first = 0;  // where the first argument starts (after the header)
  int64_t argc = 0;  // the multibulk length read from the header
  int64_t done = 0;  // arguments checked completely, ending before pos
};

class RequestParser {
 public:
  enum class Result { kCommand, kNeedMore, kError };
  explicit RequestParser(const RequestLimits& limits) : limits_(limits) {}
  // Parses one command from the front of `in`. kCommand: *args views `in`,
  // *consumed its bytes. kNeedMore: nothing consumed. kError: *error says
  // why (the connection must be closed after replying it).
  // With `progress` (nullptr: none), a kNeedMore records how far the
  // request was checked and the next call resumes there; the caller must
  // pass the same request's bytes (more of them) until a kCommand or
  // kError, which reset it. Each argument is then checked once, and the
  // arguments are collected in one pass at the end.
  Result Parse(std::string_view in, size_t* consumed, std::vector<std::string_view>* args, std::string* error,
               ParseProgress* progress = nullptr);

 private:
  Result ParseMultibulk(std::string_view in, size_t* consumed, ParseProgress* p, std::string* error);
  Result ParseInline(std::string_view in, size_t* consumed, std::vector<std::string_view>* args, std::string* error);
  RequestLimits limits_;
  std::deque<std::string> scratch_;  // unescaped inline words (a deque: views stay valid)
};

class ReplyWriter {
 public:
  ReplyWriter(std::string* out, int proto) : out_(out), proto_(proto) {}
  int proto() const { return proto_; }
  void set_proto(int p) { proto_ = p; }
  void Simple(std::string_view s);          // +OK
  void Error(std::string_view s);           // -ERR ... (s includes the prefix word)
  void Integer(int64_t v);                  // :1
  void Bulk(std::string_view s);            // $3\r\nabc
  void Null();                              // RESP2 $-1, RESP3 _
  void NullArray();                         // RESP2 *-1, RESP3 _
  void Array(size_t n);                     // *n
  void Map(size_t pairs);                   // RESP3 %n, RESP2 *2n
  void Set(size_t n);                       // RESP3 ~n, RESP2 *n
  void Push(size_t n);                      // RESP3 >n, RESP2 *n
  void Double(double d);                    // RESP3 ,d, RESP2 bulk
  void Bool(bool b);                        // RESP3 #t, RESP2 :1
  void Verbatim(std::string_view s);        // RESP3 =txt:, RESP2 bulk
  void Raw(std::string_view encoded) { out_->append(encoded); }  // replies written by another writer

 private:
  void Header(char c, int64_t n);
  std::string* out_;
  int proto_;
};

}  // namespace synap::server
