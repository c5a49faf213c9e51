// A small blocking RESP2/RESP3 client: what synap-cli's online commands and
// its prompt use to talk to synap-server (or any Redis-protocol server).
//
// One connection, one request at a time: Call() sends a command as an array
// of bulk strings and reads one reply. Replies are parsed whole, every RESP3
// type included (maps, sets, pushes, attributes, doubles, booleans, big
// numbers, verbatim and blob-error strings, streamed strings and
// aggregates). Connection failures (connect, I/O, a malformed reply, a
// server that hung up) throw RespError; an error *reply* (-ERR ...) is not
// an exception but a reply of type kError.
//
// Limits, all enforced while parsing (a reply over one is a RespError and
// the connection is unusable): a bulk or simple string of at most
// kMaxReplyString bytes, aggregates nested at most kMaxReplyDepth deep, at
// most kMaxReplyElements elements in one aggregate.
//
// Not thread-safe: one thread per RespClient.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace synap::cli {

constexpr size_t kMaxReplyString = 1ull << 30;   // 1 GiB
constexpr int kMaxReplyDepth = 64;
constexpr int64_t kMaxReplyElements = 1ll << 26;

struct RespReply {
  enum class Type {
    kSimple,     // +OK
    kError,      // -ERR ..., and RESP3 blob errors (!)
    kInteger,    // :1
    kBulk,       // $3 abc (and RESP3 streamed strings)
    kNull,       // $-1, *-1, _
    kDouble,     // ,1.5 (str holds the text as sent: "inf", "-inf", "nan" too)
    kBoolean,    // #t / #f (integer holds 1 / 0)
    kVerbatim,   // =txt:... (str: the text; format: "txt", "mkd", ...)
    kBigNumber,  // (1234... (str holds the digits)
    kArray,      // *n
    kMap,        // %n: elems holds key, value, key, value, ...
    kSet,        // ~n
    kPush,       // >n: out-of-band data (pub/sub messages in RESP3)
  };
  Type type = Type::kNull;
  std::string str;
  std::string format;
  int64_t integer = 0;
  std::vector<RespReply> elems;
  std::vector<RespReply> attributes;  // a preceding |n attribute's key, value pairs

  bool is_error() const { return type == Type::kError; }
  bool is_null() const { return type == Type::kNull; }
  bool is_string() const { return type == Type::kSimple || type == Type::kBulk || type == Type::kVerbatim; }
  // Array, set or push (maps have pairs in elems as well, but callers ask is_map()).
  bool is_list() const { return type == Type::kArray || type == Type::kSet || type == Type::kPush; }
  bool is_map() const { return type == Type::kMap; }
};

class RespError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by a read that a SIGINT interrupted (see InstallInterruptHandler).
class RespInterrupted : public RespError {
 public:
  RespInterrupted() : RespError("interrupted") {}
};

// Makes SIGINT (Ctrl-C) set a flag and interrupt a blocked read, which then
// throws RespInterrupted, instead of killing the process: a subscriber or a
// blocked consume can end cleanly. Idempotent.
void InstallInterruptHandler();
bool InterruptRequested();

struct RespEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // "": no AUTH
  bool resp3 = false;    // HELLO 3 after connecting
};

class RespClient {
 public:
  // Connects (a 5 s limit on the TCP connect) and greets: HELLO 3 [AUTH
  // default <password>] with resp3, else AUTH <password> when one is given.
  // Throws RespError: the message names host:port and the OS error, or
  // quotes the server's refusal of HELLO / AUTH.
  explicit RespClient(const RespEndpoint& endpoint);
  ~RespClient();
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // Sends `args` and reads one reply (skipping RESP3 push frames that arrive
  // before it, which only a subscribed connection gets: use Read for those).
  RespReply Call(const std::vector<std::string>& args);
  // The two halves of Call, for pub/sub: Send a command, then Read each
  // frame (pushes included) as it comes.
  void Send(const std::vector<std::string>& args);
  RespReply Read();

  int protocol() const { return protocol_; }
  // "host:port", as the prompt and error messages show it.
  const std::string& name() const { return name_; }

 private:
  void Connect(const RespEndpoint& endpoint);
  void Fill();
  std::string Line();
  std::string Exactly(size_t n);
  RespReply Parse(int depth);
  void ParseAggregate(RespReply* r, const std::string& count, int depth, bool pairs);

  int fd_ = -1;
  int protocol_ = 2;
  std::string name_;
  std::string in_;
  size_t pos_ = 0;  // first unread byte of in_
};

// The RESP encoding of a command: an array of bulk strings.
std::string EncodeCommand(const std::vector<std::string>& args);

}  // namespace synap::cli
