#include "tools/synap-cli/resp_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>

namespace synap::cli {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void OnInterrupt(int) { g_interrupted = 1; }

constexpr int kConnectTimeoutSeconds = 5;
constexpr size_t kReadChunk = 64 * 1024;

int64_t ParseInteger(const std::string& s, const char* what) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    throw RespError(std::string("protocol error: malformed ") + what + " '" + s.substr(0, 32) + "' in a reply");
  return v;
}

void SetTimeout(int fd, int option, int seconds) {
  timeval tv{};
  tv.tv_sec = seconds;
  setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

}  // namespace

void InstallInterruptHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked recv returns EINTR, and the reader throws RespInterrupted
  sigaction(SIGINT, &sa, nullptr);
}

bool InterruptRequested() { return g_interrupted != 0; }

std::string EncodeCommand(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

RespClient::RespClient(const RespEndpoint& endpoint) {
  name_ = endpoint.host + ":" + std::to_string(endpoint.port);
  Connect(endpoint);
  try {
    if (endpoint.resp3) {
      std::vector<std::string> hello = {"HELLO", "3"};
      if (!endpoint.password.empty()) hello.insert(hello.end(), {"AUTH", "default", endpoint.password});
      RespReply r = Call(hello);
      if (r.is_error()) throw RespError("the server refused HELLO 3: " + r.str);
      protocol_ = 3;
    } else if (!endpoint.password.empty()) {
      RespReply r = Call({"AUTH", endpoint.password});
      if (r.is_error()) throw RespError("authentication failed: " + r.str);
    }
  } catch (...) {
    close(fd_);
    throw;
  }
}

RespClient::~RespClient() {
  if (fd_ >= 0) close(fd_);
}

void RespClient::Connect(const RespEndpoint& endpoint) {
  if (endpoint.port < 1 || endpoint.port > 65535)
    throw RespError("cannot connect to " + name_ + ": the port must be 1..65535");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(endpoint.host.c_str(), std::to_string(endpoint.port).c_str(), &hints, &found);
  if (rc != 0) throw RespError("cannot connect to " + name_ + ": " + gai_strerror(rc));
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    SetTimeout(fd, SO_SNDTIMEO, kConnectTimeoutSeconds);  // Linux applies the send timeout to connect()
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      SetTimeout(fd, SO_SNDTIMEO, 0);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
      break;
    }
    why = errno == EINPROGRESS || errno == EAGAIN ? "timed out" : std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  if (fd_ < 0) throw RespError("cannot connect to " + name_ + ": " + why);
}

void RespClient::Send(const std::vector<std::string>& args) {
  std::string out = EncodeCommand(args);
  for (size_t sent = 0; sent < out.size();) {
    ssize_t n = send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw RespError("lost the connection to " + name_ + ": " + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
}

RespReply RespClient::Call(const std::vector<std::string>& args) {
  Send(args);
  for (;;) {
    RespReply r = Read();
    if (r.type != RespReply::Type::kPush) return r;
  }
}

RespReply RespClient::Read() { return Parse(0); }

void RespClient::Fill() {
  if (pos_ > 0 && pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  } else if (pos_ > kReadChunk) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
  char buf[kReadChunk];
  for (;;) {
    if (InterruptRequested()) throw RespInterrupted();  // a Ctrl-C that came between two reads
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      return;
    }
    if (n == 0) throw RespError("the server at " + name_ + " closed the connection");
    if (errno != EINTR) throw RespError("lost the connection to " + name_ + ": " + std::strerror(errno));
    if (InterruptRequested()) throw RespInterrupted();
  }
}

// The next line without its CRLF.
std::string RespClient::Line() {
  size_t scanned = 0;  // bytes after pos_ known to hold no CRLF (Fill may move pos_)
  for (;;) {
    size_t end = in_.find("\r\n", pos_ + scanned);
    if (end != std::string::npos) {
      std::string line = in_.substr(pos_, end - pos_);
      pos_ = end + 2;
      return line;
    }
    if (in_.size() - pos_ > kMaxReplyString) throw RespError("protocol error: a reply line over 1 GiB");
    scanned = in_.size() > pos_ ? in_.size() - pos_ - 1 : 0;  // a CR may end the bytes read so far
    Fill();
  }
}

// n bytes, then the CRLF that ends them.
std::string RespClient::Exactly(size_t n) {
  while (in_.size() - pos_ < n + 2) Fill();
  if (in_.compare(pos_ + n, 2, "\r\n") != 0) throw RespError("protocol error: a bulk string without its CRLF");
  std::string out = in_.substr(pos_, n);
  pos_ += n + 2;
  return out;
}

RespReply RespClient::Parse(int depth) {
  if (depth > kMaxReplyDepth) throw RespError("protocol error: a reply nested more than 64 deep");
  std::string line = Line();
  if (line.empty()) throw RespError("protocol error: an empty reply line");
  const char kind = line[0];
  const std::string rest = line.substr(1);
  RespReply r;
  using T = RespReply::Type;
  switch (kind) {
    case '+': r.type = T::kSimple; r.str = rest; return r;
    case '-': r.type = T::kError; r.str = rest; return r;
    case ':': r.type = T::kInteger; r.integer = ParseInteger(rest, "integer"); return r;
    case '_': r.type = T::kNull; return r;
    case ',': r.type = T::kDouble; r.str = rest; return r;
    case '(': r.type = T::kBigNumber; r.str = rest; return r;
    case '#':
      if (rest != "t" && rest != "f") throw RespError("protocol error: a boolean that is neither #t nor #f");
      r.type = T::kBoolean;
      r.integer = rest == "t";
      return r;
    case '$':
    case '!':
    case '=': {
      r.type = kind == '$' ? T::kBulk : kind == '!' ? T::kError : T::kVerbatim;
      if (rest == "?") {  // a streamed string: ;<n> chunks until ;0
        for (;;) {
          std::string chunk = Line();
          if (chunk.empty() || chunk[0] != ';') throw RespError("protocol error: expected a ;<length> chunk");
          int64_t n = ParseInteger(chunk.substr(1), "chunk length");
          if (n < 0 || r.str.size() + static_cast<uint64_t>(n) > kMaxReplyString)
            throw RespError("protocol error: a streamed string over 1 GiB");
          if (n == 0) break;
          r.str += Exactly(static_cast<size_t>(n));
        }
      } else {
        int64_t n = ParseInteger(rest, "length");
        if (n == -1 && kind == '$') {
          r.type = T::kNull;
          return r;
        }
        if (n < 0 || static_cast<uint64_t>(n) > kMaxReplyString)
          throw RespError("protocol error: a string length of " + rest + " bytes (the limit is 1 GiB)");
        r.str = Exactly(static_cast<size_t>(n));
      }
      if (r.type == T::kVerbatim) {  // "txt:" + text
        if (r.str.size() < 4 || r.str[3] != ':')
          throw RespError("protocol error: a verbatim string without its format");
        r.format = r.str.substr(0, 3);
        r.str.erase(0, 4);
      }
      return r;
    }
    case '*': r.type = T::kArray; break;
    case '~': r.type = T::kSet; break;
    case '>': r.type = T::kPush; break;
    case '%': r.type = T::kMap; break;
    case '|': {  // attributes describe the reply that follows them
      RespReply attrs;
      ParseAggregate(&attrs, rest, depth, true);
      RespReply next = Parse(depth);
      next.attributes = std::move(attrs.elems);
      return next;
    }
    default:
      throw RespError("protocol error: unknown reply type '" + std::string(1, kind) + "'");
  }
  if (rest == "-1" && kind == '*') {  // RESP2's null array
    r.type = T::kNull;
    return r;
  }
  ParseAggregate(&r, rest, depth, kind == '%');
  return r;
}

// The elements of an aggregate whose count line was `count` ("n", or "?"
// for a streamed aggregate ended by a "." line); `pairs` doubles the count.
void RespClient::ParseAggregate(RespReply* r, const std::string& count, int depth, bool pairs) {
  if (count == "?") {
    for (;;) {
      while (pos_ >= in_.size()) Fill();
      if (in_[pos_] == '.') {
        if (Line() != ".") throw RespError("protocol error: a malformed end of a streamed aggregate");
        break;
      }
      if (static_cast<int64_t>(r->elems.size()) >= kMaxReplyElements)
        throw RespError("protocol error: an aggregate over the element limit");
      r->elems.push_back(Parse(depth + 1));
    }
    if (pairs && r->elems.size() % 2 != 0) throw RespError("protocol error: a map with a key but no value");
    return;
  }
  int64_t n = ParseInteger(count, "aggregate length");
  if (n < 0 || n > kMaxReplyElements / (pairs ? 2 : 1))
    throw RespError("protocol error: an aggregate of " + count + " elements");
  if (pairs) n *= 2;
  r->elems.reserve(static_cast<size_t>(std::min<int64_t>(n, 1024)));  // the count is the peer's word: grow as they come
  for (int64_t i = 0; i < n; i++) r->elems.push_back(Parse(depth + 1));
}

}  // namespace synap::cli
