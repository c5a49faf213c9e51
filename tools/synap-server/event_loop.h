// EventLoop: one thread's io_uring loop serving RESP clients.
//
// Each loop has its own ring and its own listening socket (SO_REUSEPORT: the
// kernel spreads connections over the loops). Accepts are multishot;
// receives are multishot into a ring of provided buffers; replies are
// gathered per connection and sent once per loop turn.
//
// Writes never block the loop: a command that wrote through a *_async call
// leaves a ticket, its reply waits in the connection's queue (behind which
// later replies queue, so pipelined replies keep their order), and
// synap_on_acked wakes the loop through an eventfd once the ticket is
// acknowledged.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tools/synap-server/commands.h"
#include "tools/synap-server/server.h"

namespace synap::server {

// Replies one connection may have held back (waiting for a ticket or a
// parked command) before the loop stops parsing its input: past this, its
// requests wait unparsed, where client-query-buffer-limit bounds them, so a
// client pipelining behind a blocked command cannot grow memory unbounded.
inline constexpr size_t kMaxHeldReplies = 65536;

class EventLoop {
 public:
  EventLoop(Server* server, unsigned index);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Sets up the ring, the listening socket and the buffers; "" or why not.
  std::string Init();
  // Serves until the server shuts down and every connection is closed.
  void Run();

 private:
  struct Slot {  // a reply waiting for its ticket, or for its token's post
    synap_ticket ticket = 0;
    std::string bytes;
    uint64_t token = 0;   // non-zero: a deferred reply
    bool filled = false;  // the deferred reply arrived
    std::vector<std::string> rerun;  // a parked command, run again when its token's post arrives
    int proto = 2;
    std::function<void()> cancel;    // undoes a parked command's wake-up registration
    bool empty_array_on_timeout = false;  // a timed-out park answers *0 (QCONSUME COUNT), not null
  };
  struct Conn {
    uint64_t id = 0;
    int fd = -1;
    std::string in;          // received, not yet parsed
    ParseProgress parse;     // how far the request at the front of `in` was checked
    std::string out;         // replies ready to send
    std::string sending;     // the send in flight (never touched meanwhile)
    std::deque<Slot> slots;  // replies held back, in order
    Session session;
    int ops = 0;             // io_uring requests in flight for it
    bool send_in_flight = false;
    bool closing = false;    // no more input; close once the output is out
    bool closed = false;     // shut down; freed when ops reaches 0
    int64_t last_active_ms = 0;
  };
  enum Op : uint64_t { kAccept = 1, kRecv = 2, kSend = 3, kWake = 4 };
  static uint64_t Data(Op op, uint64_t id) { return (op << 56) | id; }

  io_uring_sqe* Sqe();
  void ArmAccept();
  void ArmRecv(Conn* c);
  void ArmWake();
  void OnAccept(const io_uring_cqe* cqe);
  void OnRecv(Conn* c, const io_uring_cqe* cqe);
  void OnSend(Conn* c, const io_uring_cqe* cqe);
  void OnWake();
  void Process(Conn* c);
  void Deliver(Conn* c, synap_ticket ticket, std::string&& bytes);
  void ReleaseAcked();
  void TakeCompletions();
  bool Ready(const Slot& s) const;
  void FlushSends();
  void Close(Conn* c);
  bool OverOutputLimit(const Conn* c) const;  // client-output-buffer-limit
  bool CloseIfOverOutputLimit(Conn* c);
  void Reap(Conn* c);
  void Tick(int64_t now_ms);
  static void OnAcked(void* box, synap_ticket ticket, int result);

  Server* server_;
  const Config& cfg_;
  unsigned index_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::shared_ptr<Mailbox> mailbox_;  // over wake_fd_; shared with libsynap's callbacks
  uint64_t wake_value_ = 0;
  io_uring_buf_ring* bufs_ = nullptr;
  std::vector<char> buf_mem_;
  unsigned buf_mask_ = 0;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::set<Conn*> waiting_;      // connections with slots
  std::set<Conn*> subscribers_;  // connections with subscriptions
  synap_ticket acked_ = 0, registered_ = 0;
  std::string ack_error_;  // set once the log failed: held replies become this error
  bool accepting_ = false;
  std::map<uint64_t, Conn*> deferred_;  // token -> the connection holding its slot
  std::map<uint64_t, int64_t> deadlines_;  // token -> when a parked command gives up (ms)
  int64_t earliest_deadline_ = INT64_MAX;   // <= every deadline in deadlines_ (ms)
  void ExpireParked(int64_t now_ms, bool all);
  void Fill(uint64_t token, std::string bytes, bool timed_out);
  RequestParser parser_;      // with the limits of limits_version_
  uint64_t limits_version_ = 0;
  std::vector<std::string_view> args_;
};

}  // namespace synap::server
