#include "tools/synap-server/event_loop.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace synap::server {

namespace {

constexpr unsigned kBufferGroup = 0;
constexpr unsigned kRingEntries = 4096;
constexpr uint64_t kIdMask = (uint64_t{1} << 56) - 1;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string PeerAddr(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

// A listening socket on bind:port shared by every loop (SO_REUSEPORT).
int Listen(const std::string& bind, int port, std::string* error) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  int rc = getaddrinfo(bind.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    *error = "bad bind address " + bind + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
      listen(fd, 511) != 0) {
    *error = "listen on " + bind + ":" + std::to_string(port) + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

}  // namespace

EventLoop::EventLoop(Server* server, unsigned index)
    : server_(server),
      cfg_(server->config()),
      index_(index),
      parser_(server->request_limits()),
      limits_version_(server->limits_version()) {}

EventLoop::~EventLoop() {
  for (auto& [id, c] : conns_)
    if (c->fd >= 0) ::close(c->fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (mailbox_) mailbox_->Close();  // late callbacks find it closed
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (ring_ready_) io_uring_queue_exit(&ring_);
  free(bufs_);  // the buffer ring's memory (posix_memalign in Init), no longer the kernel's once the ring is gone
}

std::string EventLoop::Init() {
  io_uring_params p{};
  p.flags = IORING_SETUP_COOP_TASKRUN;  // not SINGLE_ISSUER: Init runs on main, Run on the loop thread
  int rc = io_uring_queue_init_params(kRingEntries, &ring_, &p);
  if (rc < 0) {
    p = io_uring_params{};
    rc = io_uring_queue_init_params(kRingEntries, &ring_, &p);
  }
  if (rc < 0) return std::string("io_uring_queue_init: ") + std::strerror(-rc);
  ring_ready_ = true;
  std::string error;
  listen_fd_ = Listen(cfg_.bind, cfg_.port, &error);
  if (listen_fd_ < 0) return error;
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
  mailbox_ = std::make_shared<Mailbox>(wake_fd_);

  // The provided-buffer ring: recv_buffers (a power of two) buffers of
  // recv_buffer_bytes, each handed back to the kernel once its bytes are copied.
  unsigned n = cfg_.recv_buffers;
  size_t ring_bytes = n * sizeof(io_uring_buf);
  void* ring_mem = nullptr;
  if (posix_memalign(&ring_mem, 4096, ring_bytes) != 0) return "out of memory for the buffer ring";
  std::memset(ring_mem, 0, ring_bytes);
  bufs_ = static_cast<io_uring_buf_ring*>(ring_mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(ring_mem);
  reg.ring_entries = n;
  reg.bgid = kBufferGroup;
  rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) return std::string("io_uring_register_buf_ring: ") + std::strerror(-rc);
  io_uring_buf_ring_init(bufs_);
  buf_mask_ = io_uring_buf_ring_mask(n);
  buf_mem_.resize(size_t{n} * cfg_.recv_buffer_bytes);
  for (unsigned i = 0; i < n; i++)
    io_uring_buf_ring_add(bufs_, buf_mem_.data() + size_t{i} * cfg_.recv_buffer_bytes, cfg_.recv_buffer_bytes,
                          static_cast<unsigned short>(i), buf_mask_, static_cast<int>(i));
  io_uring_buf_ring_advance(bufs_, static_cast<int>(n));
  return "";
}

io_uring_sqe* EventLoop::Sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {  // the ring is full: send what is queued and take the freed slot
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void EventLoop::ArmAccept() {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, Data(kAccept, 0));
  accepting_ = true;
}

void EventLoop::ArmRecv(Conn* c) {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_recv_multishot(sqe, c->fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, Data(kRecv, c->id));
  c->ops++;
}

void EventLoop::ArmWake() {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(sqe, Data(kWake, 0));
}

void EventLoop::Run() {
  ArmAccept();
  ArmWake();
  int64_t next_tick = NowMs() + 100;
  while (true) {
    int64_t wait_ms = std::clamp<int64_t>(earliest_deadline_ - NowMs(), 1, 100);
    __kernel_timespec ts{0, static_cast<long long>(wait_ms) * 1000 * 1000};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      seen++;
      uint64_t d = io_uring_cqe_get_data64(cqe);
      Op op = static_cast<Op>(d >> 56);
      if (op == kAccept) {
        OnAccept(cqe);
      } else if (op == kWake) {
        OnWake();
      } else {
        auto it = conns_.find(d & kIdMask);
        if (it == conns_.end()) continue;
        Conn* c = it->second.get();
        if (op == kRecv) OnRecv(c, cqe);
        else OnSend(c, cqe);
        if (c->closed && c->ops == 0) Reap(c);
      }
    }
    io_uring_cq_advance(&ring_, seen);
    int64_t now = NowMs();
    if (now >= earliest_deadline_) ExpireParked(now, /*all=*/false);
    if (now >= next_tick) {
      Tick(now);
      next_tick = now + 100;
    }
    ReleaseAcked();
    FlushSends();
    if (server_->shutting_down() && conns_.empty()) break;
  }
}

void EventLoop::OnAccept(const io_uring_cqe* cqe) {
  if (!(cqe->flags & IORING_CQE_F_MORE)) accepting_ = false;
  if (cqe->res < 0) return;
  int fd = cqe->res;
  server_->connections_received++;
  if (server_->shutting_down() || server_->client_count() >= server_->max_clients()) {
    static const char kFull[] = "-ERR max number of clients reached\r\n";
    (void)!write(fd, kFull, sizeof kFull - 1);
    ::close(fd);
    server_->rejected_connections++;
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto c = std::make_unique<Conn>();
  c->id = server_->NextClientId();
  c->fd = fd;
  c->session.id = c->id;
  c->session.notify_fd = wake_fd_;  // subscriptions wake this loop
  // As in Redis, a client that connected while no password was set stays
  // authenticated if CONFIG SET requirepass sets one later.
  c->session.authed = !server_->auth_required();
  c->last_active_ms = NowMs();
  ClientInfo info;
  info.addr = PeerAddr(fd);
  info.since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  server_->AddClient(c->id, info);
  Conn* raw = c.get();
  conns_.emplace(c->id, std::move(c));
  ArmRecv(raw);
}

void EventLoop::OnRecv(Conn* c, const io_uring_cqe* cqe) {
  bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (!more) c->ops--;
  if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    char* buf = buf_mem_.data() + size_t{bid} * cfg_.recv_buffer_bytes;
    if (!c->closing && !c->closed) c->in.append(buf, static_cast<size_t>(cqe->res));
    io_uring_buf_ring_add(bufs_, buf, cfg_.recv_buffer_bytes, static_cast<unsigned short>(bid), buf_mask_, 0);
    io_uring_buf_ring_advance(bufs_, 1);
    c->last_active_ms = NowMs();
    // Once: a closing connection keeps receiving (and dropping) until its
    // held replies are out, behind a parked BLOCK 0 read possibly for long,
    // and must not queue one more error per receive meanwhile.
    if (!c->closing && c->in.size() > server_->max_query_bytes()) {
      Deliver(c, 0, "-ERR Protocol error: client query buffer over client-query-buffer-limit\r\n");
      c->closing = true;
    }
    Process(c);
  } else if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS)) {
    Close(c);  // the peer closed, or the socket failed
    return;
  }
  if (!more && !c->closed && !c->closing) ArmRecv(c);  // ENOBUFS or the multishot ended
}

void EventLoop::Process(Conn* c) {
  if (limits_version_ != server_->limits_version()) {  // CONFIG SET proto-max-bulk-len; no parse is under way
    limits_version_ = server_->limits_version();
    parser_ = RequestParser(server_->request_limits());
  }
  size_t pos = 0;
  while (!c->closing && !c->closed && pos < c->in.size() && c->slots.size() < kMaxHeldReplies) {
    size_t used = 0;
    std::string error;
    RequestParser::Result r = parser_.Parse(std::string_view(c->in).substr(pos), &used, &args_, &error, &c->parse);
    if (r == RequestParser::Result::kNeedMore) break;
    if (r == RequestParser::Result::kError) {
      Deliver(c, 0, "-ERR " + error + "\r\n");
      c->closing = true;
      break;
    }
    if (args_.empty()) {  // an empty inline line or multibulk
      pos += used;
      continue;
    }
    // Read your writes: a command that is not itself an async write waits
    // until this connection's pending writes are acknowledged (ReleaseAcked
    // resumes parsing).
    const CommandSpec* spec = FindCommand(args_[0]);
    if (!c->slots.empty() && (spec == nullptr || !spec->async_write)) break;
    pos += used;
    std::string reply;
    ReplyWriter w(&reply, c->session.proto);
    Context ctx{server_, server_->db(), &c->session, args_, w, 0, mailbox_, 0, {}, 0, {}};
    Execute(ctx);
    c->session.commands++;
    server_->commands_processed++;
    if (ctx.deferred_token != 0) {  // the reply comes later, through the mailbox
      c->slots.push_back(
          {0, {}, ctx.deferred_token, false, std::move(ctx.rerun), c->session.proto, std::move(ctx.cancel)});
      c->slots.back().empty_array_on_timeout = ctx.empty_array_on_timeout;
      if (ctx.block_ms > 0) {
        // Saturating: BLOCK near INT64_MAX must not wrap into the past.
        constexpr int64_t kFarMs = int64_t{100} * 365 * 24 * 3600 * 1000;
        int64_t at = NowMs() + std::min(ctx.block_ms, kFarMs);
        deadlines_[ctx.deferred_token] = at;
        earliest_deadline_ = std::min(earliest_deadline_, at);
      }
      deferred_[ctx.deferred_token] = c;
      waiting_.insert(c);
    } else {
      Deliver(c, ctx.ticket, std::move(reply));
    }
    if (c->session.close_after_reply) c->closing = true;
  }
  c->in.erase(0, pos);
  if (c->session.subscriptions() > 0) subscribers_.insert(c);
  else subscribers_.erase(c);
  server_->UpdateClient(c->id, c->session.name, c->session.proto, c->session.commands);
}

// A reply goes out at once unless a ticket, its own or an earlier reply's,
// is still waiting: then it queues behind, so replies keep their order.
void EventLoop::Deliver(Conn* c, synap_ticket ticket, std::string&& bytes) {
  if (c->slots.empty() && ticket <= acked_) {
    c->out += bytes;
  } else {
    c->slots.push_back({ticket, std::move(bytes), 0, false, {}, 2, {}});
    waiting_.insert(c);
  }
  if (ticket > registered_) {
    registered_ = ticket;
    // The callback owns a reference to the mailbox: it may come after this loop is gone.
    synap_on_acked(server_->db(), ticket, &EventLoop::OnAcked, new std::shared_ptr<Mailbox>(mailbox_));
  }
  CloseIfOverOutputLimit(c);
}

// client-output-buffer-limit: a client whose unsent output outgrew it (it
// reads slower than it asks, or a subscriber falls behind its messages) is
// disconnected. Checked wherever output is added: replies, held replies
// released, pub/sub messages.
bool EventLoop::OverOutputLimit(const Conn* c) const {
  size_t max_output = server_->max_output_bytes();  // 0: no limit
  return max_output != 0 && !c->closed && c->out.size() + c->sending.size() > max_output;
}

bool EventLoop::CloseIfOverOutputLimit(Conn* c) {
  if (!OverOutputLimit(c)) return false;
  c->closing = true;
  Close(c);
  return true;
}

// On libsynap's committer thread (or at once): wake the loop. Tickets are
// acknowledged in order, so the loop learns how far with synap_acked().
void EventLoop::OnAcked(void* box, synap_ticket, int) {
  auto* ref = static_cast<std::shared_ptr<Mailbox>*>(box);
  (*ref)->Wake();
  delete ref;
}

void EventLoop::OnWake() {
  synap_ticket a = 0;
  int rc = synap_acked(server_->db(), &a);
  acked_ = std::max(acked_, a);
  if (rc != SYNAP_OK && ack_error_.empty()) {
    ack_error_ = std::string("-IOERR the write was not made durable: ") + synap_last_error() + "\r\n";
  }
  TakeCompletions();
  // The same eventfd carries pub/sub notifications: hand out what waits.
  // A subscriber that does not read: its messages are drained into its
  // output only up to client-output-buffer-limit, which then disconnects
  // it. With the limit at 0 nothing bounds its output: the messages leave
  // its subscriptions as fast as they come, so their 10,000-message bound
  // (SYNAP_ECLOSED) only catches a loop too busy to drain them.
  size_t max_output = server_->max_output_bytes();
  for (Conn* c : std::vector<Conn*>(subscribers_.begin(), subscribers_.end()))
    if (!c->closed && !DrainSubscriptions(&c->session, &c->out, max_output)) Close(c);  // a subscriber too slow
    else CloseIfOverOutputLimit(c);
  if (!server_->shutting_down() || !conns_.empty()) ArmWake();
}

// Fills the deferred slots whose replies arrived (on the loop thread). A
// parked command's post is a wake-up: it runs again now for its reply.
void EventLoop::TakeCompletions() {
  for (auto& [token, bytes] : mailbox_->Take()) Fill(token, std::move(bytes), false);
}

// A parked command that timed out answers a null array; one whose post
// (a wake-up) arrived runs again for its reply, and may park again under a
// new token with its first deadline; any other takes `bytes`.
void EventLoop::Fill(uint64_t token, std::string bytes, bool timed_out) {
  auto when = deadlines_.find(token);
  int64_t deadline = when != deadlines_.end() ? when->second : 0;
  if (when != deadlines_.end()) deadlines_.erase(when);
  auto it = deferred_.find(token);
  if (it == deferred_.end()) return;  // its connection is gone, or it timed out
  Conn* c = it->second;
  deferred_.erase(it);
  for (Slot& s : c->slots) {
    if (s.token != token) continue;
    if (timed_out) {
      if (s.cancel) s.cancel();
      bytes.clear();
      if (s.empty_array_on_timeout) ReplyWriter(&bytes, s.proto).Array(0);
      else ReplyWriter(&bytes, s.proto).NullArray();
    } else if (!s.rerun.empty()) {
      s.cancel = nullptr;  // its wake-up came: nothing left to undo
      std::vector<std::string_view> args(s.rerun.begin(), s.rerun.end());
      std::string out;
      ReplyWriter w(&out, s.proto);
      Context ctx{server_, server_->db(), &c->session, args, w, 0, mailbox_, 0, {}, 0, {}};
      Execute(ctx);
      if (ctx.deferred_token != 0) {  // parked again (XREADGROUP: another consumer took the entries that woke it)
        s.token = ctx.deferred_token;
        s.rerun = std::move(ctx.rerun);
        s.cancel = std::move(ctx.cancel);
        deferred_[s.token] = c;
        if (deadline != 0 && !s.rerun.empty()) {
          deadlines_[s.token] = deadline;  // the first deadline holds
          earliest_deadline_ = std::min(earliest_deadline_, deadline);
        }
        return;
      }
      bytes = std::move(out);
    }
    s.bytes = std::move(bytes);
    s.filled = true;
    return;
  }
}

bool EventLoop::Ready(const Slot& s) const {
  if (s.token != 0) return s.filled;
  return s.ticket <= acked_ || !ack_error_.empty();
}

void EventLoop::ReleaseAcked() {
  std::vector<Conn*> resume;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    Conn* c = *it;
    bool released = false;
    while (!c->slots.empty() && Ready(c->slots.front())) {
      Slot& s = c->slots.front();
      c->out += s.token != 0 || s.ticket <= acked_ ? s.bytes : ack_error_;
      c->slots.pop_front();
      released = true;
    }
    // Commands held back (read-your-writes, or kMaxHeldReplies) may go on.
    if (released && OverOutputLimit(c)) {
      it = waiting_.erase(it);  // first: Close erases c from waiting_, which is being walked
      CloseIfOverOutputLimit(c);
      continue;
    }
    if (released && !c->in.empty()) resume.push_back(c);
    if (c->slots.empty()) it = waiting_.erase(it);
    else ++it;
  }
  for (Conn* c : resume) Process(c);
}

void EventLoop::FlushSends() {
  for (auto& [id, cp] : conns_) {
    Conn* c = cp.get();
    if (c->closed) continue;
    if (!c->send_in_flight && !c->out.empty()) {
      c->sending.swap(c->out);
      c->out.clear();
      io_uring_sqe* sqe = Sqe();
      io_uring_prep_send(sqe, c->fd, c->sending.data(), c->sending.size(), MSG_NOSIGNAL);
      io_uring_sqe_set_data64(sqe, Data(kSend, c->id));
      c->send_in_flight = true;
      c->ops++;
    } else if (c->closing && !c->send_in_flight && c->out.empty() && c->slots.empty()) {
      Close(c);
      if (c->ops == 0) {
        Reap(c);
        return;  // conns_ changed: the rest goes next turn
      }
    }
  }
}

void EventLoop::OnSend(Conn* c, const io_uring_cqe* cqe) {
  c->ops--;
  c->send_in_flight = false;
  if (cqe->res < 0) return Close(c);
  size_t sent = static_cast<size_t>(cqe->res);
  if (sent < c->sending.size()) {  // a short send: the rest goes first, before anything newer
    c->sending.erase(0, sent);
    c->out.insert(0, c->sending);
  }
  c->sending.clear();
}

void EventLoop::Close(Conn* c) {
  if (c->closed) return;
  c->closed = true;
  waiting_.erase(c);
  for (Slot& s : c->slots) {
    if (s.token == 0) continue;
    if (deferred_.erase(s.token) > 0 && s.cancel) s.cancel();  // still parked: undo its registration
    deadlines_.erase(s.token);
  }
  subscribers_.erase(c);
  UnsubscribeAll(server_, &c->session);
  shutdown(c->fd, SHUT_RDWR);  // ends the multishot receive
  server_->RemoveClient(c->id);
}

void EventLoop::Reap(Conn* c) {
  ::close(c->fd);
  conns_.erase(c->id);
}

// Parked commands whose time is up (or all of them, at shutdown) answer
// their timeout reply. Recomputes earliest_deadline_.
void EventLoop::ExpireParked(int64_t now_ms, bool all) {
  std::vector<uint64_t> expired;
  earliest_deadline_ = INT64_MAX;
  for (const auto& [token, at] : deadlines_) {
    if (all || now_ms >= at) expired.push_back(token);
    else earliest_deadline_ = std::min(earliest_deadline_, at);
  }
  if (all) {  // parked without a deadline (XREAD BLOCK 0) too
    for (const auto& [token, c] : deferred_)
      for (const Slot& s : c->slots)
        if (s.token == token && !s.rerun.empty() && !deadlines_.count(token)) expired.push_back(token);
  }
  for (uint64_t token : expired) Fill(token, {}, /*timed_out=*/true);
}

void EventLoop::Tick(int64_t now_ms) {
  if (server_->shutting_down()) {
    if (listen_fd_ >= 0) {
      shutdown(listen_fd_, SHUT_RDWR);  // ends the multishot accept
      ::close(listen_fd_);
      listen_fd_ = -1;
    }
    for (auto& [id, c] : conns_) c->closing = true;  // flush what is owed, then close
    ExpireParked(now_ms, /*all=*/true);  // a blocked client (BLOCK 0 too) gets its timeout reply now
  } else if (!accepting_) {
    ArmAccept();
  }
  int64_t idle_ms = int64_t{server_->idle_timeout_s()} * 1000;  // 0: never
  if (idle_ms > 0)
    for (auto& [id, c] : conns_)
      if (!c->closed && now_ms - c->last_active_ms > idle_ms && c->slots.empty())
        Close(c.get());
  std::vector<Conn*> dead;
  for (auto& [id, c] : conns_)
    if (c->closed && c->ops == 0) dead.push_back(c.get());
  for (Conn* c : dead) Reap(c);
  (void)index_;
}

}  // namespace synap::server
