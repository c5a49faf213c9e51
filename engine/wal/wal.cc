// Wal: the appender side — open and recovery, append, waiting, close.
// The committer side (batches, segments, completions) is in wal_commit.cc.
#include "engine/wal/wal.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/wal/group_committer.h"
#include "engine/wal/inflight.h"

namespace synap::wal {

void BatchBuffer::Reserve(size_t n) {
  if (n <= buf.size()) return;
  size_t cap = std::max<size_t>(n, buf.size() * 2);
  log::AlignedBuffer bigger(log::AlignUp(cap, 4096), 4096);
  if (used > 0 && buf.data() != nullptr) std::memcpy(bigger.data(), buf.data(), used);
  buf = std::move(bigger);
}

Wal::Wal(GroupCommitter* committer, const WalOptions& opts)
    : committer_(committer), opts_(opts), io_(committer->io()) {}

Wal::~Wal() {
  if (!closed_) Close();
}

Result<std::unique_ptr<Wal>> Wal::Open(GroupCommitter* committer, const WalOptions& opts,
                                       const log::ReplayFn& replay, log::RecoveryReport* report,
                                       Lsn replay_from) {
  SYNAP_RETURN_IF_ERROR(opts.Validate());
  // replay_from comes from a snapshot file: past kMaxLsn + 1 it would make
  // the next LSN wrap.
  if (replay_from == 0 || replay_from > log::kMaxLsn + 1)
    return Status::Corruption("the log in " + opts.dir + " is asked to resume at LSN " + std::to_string(replay_from) +
                              ", past the largest LSN + 1");
  std::unique_ptr<Wal> w(new Wal(committer, opts));
  log::RecoveryReport local;
  Status st = w->Recover(replay, replay_from, report != nullptr ? report : &local);
  if (!st.ok()) {
    if (w->file_ != io::kInvalidFile) w->io_->close(w->file_);
    w->spare_.reset();
    w->ReleaseLock();
    w->closed_ = true;  // never registered: nothing for the committer to finish
    return st;
  }
  committer->Register(w.get());
  return w;
}

Result<Lsn> Wal::Append(std::span<const uint8_t> record) {
  std::span<const uint8_t> one[1] = {record};
  return AppendMany(one);
}

Result<Lsn> Wal::AppendMany(std::span<const std::span<const uint8_t>> records) {
  if (records.empty()) return Status::InvalidArgument("AppendMany with no records");
  uint64_t bytes = 0;
  for (const auto& r : records) {
    if (r.size() > opts_.max_record_bytes)
      return Status::TooLarge("record of " + std::to_string(r.size()) + " bytes exceeds wal.max_record_bytes (" +
                              std::to_string(opts_.max_record_bytes) + ")");
    bytes += log::kRecordPrefixSize + r.size();
  }
  // One call is one batch: it must fit the batch caps (a lone record may be
  // as large as max_record_bytes), so every batch fits in a segment.
  uint64_t max_batch = std::max<uint64_t>(opts_.max_batch_bytes, uint64_t{opts_.max_record_bytes} + 4);
  if (records.size() > 1 && bytes > max_batch)
    return Status::TooLarge("AppendMany of " + std::to_string(bytes) + " bytes exceeds one batch (" +
                            std::to_string(max_batch) + " bytes: wal.max_batch_bytes, or one record of "
                            "wal.max_record_bytes)");
  if (records.size() > opts_.max_batch_records)
    return Status::TooLarge("AppendMany of " + std::to_string(records.size()) +
                            " records exceeds wal.max_batch_records (" + std::to_string(opts_.max_batch_records) + ")");
  Lsn last = 0;
  {
    std::unique_lock lk(mu_);
    SYNAP_RETURN_IF_ERROR(AppendLocked(lk, records, &last));
  }
  if (in_flight_.load() < opts_.max_in_flight) committer_->Notify();
  return last;
}

// Copies records into the open pending batch, starting a new one where the
// batch caps would be passed. Caller holds mu_.
Status Wal::AppendLocked(std::unique_lock<std::mutex>& lk, std::span<const std::span<const uint8_t>> records,
                         Lsn* last) {
  uint64_t bytes = 0;
  for (const auto& r : records) bytes += log::kRecordPrefixSize + r.size();
  if (records.size() > log::kMaxLsn - (next_lsn_ - 1))
    return Status::TooLarge("the log has handed out every LSN up to " + std::to_string(log::kMaxLsn));
  for (;;) {
    if (closing_) return Status::Closed("the log is closed");
    if (!status_.ok()) return Status::ReadOnly("the log is read-only after an I/O error: " + status_.message());
    if (pending_bytes_ + bytes <= opts_.max_pending_bytes) break;
    if (committer_->manual()) return Status::Busy("wal.max_pending_bytes reached");
    space_cv_.wait(lk);  // backpressure: the committer frees space as it takes batches
  }
  if (pending_.empty() || pending_.back()->count + records.size() > opts_.max_batch_records ||
      (pending_.back()->count > 0 && pending_.back()->used - log::kBatchHeaderSize + bytes > opts_.max_batch_bytes))
    pending_.push_back(NewBuffer());
  BatchBuffer* b = pending_.back().get();
  if (b->count == 0) {
    b->first_lsn = next_lsn_;
    if (opts_.linger_us > 0) b->since = Clock::now();
  }
  b->Reserve(b->used + bytes);
  for (const auto& r : records) {
    uint32_t len = static_cast<uint32_t>(r.size());
    std::memcpy(b->buf.data() + b->used, &len, sizeof len);
    if (len > 0) std::memcpy(b->buf.data() + b->used + sizeof len, r.data(), len);
    b->used += sizeof len + len;
  }
  b->count += static_cast<uint32_t>(records.size());
  next_lsn_ += records.size();
  pending_bytes_ += bytes;
  stats_.appends += records.size();
  stats_.payload_bytes += bytes;
  *last = next_lsn_ - 1;
  return Status::Ok();
}

std::unique_ptr<BatchBuffer> Wal::NewBuffer() {
  std::unique_ptr<BatchBuffer> b;
  if (!free_buffers_.empty()) {
    b = std::move(free_buffers_.back());
    free_buffers_.pop_back();
  } else {
    b = std::make_unique<BatchBuffer>();
  }
  b->used = log::kBatchHeaderSize;
  b->count = 0;
  b->first_lsn = 0;
  return b;
}

Status Wal::WaitFor(Lsn lsn) {
  if (acked_lsn() >= lsn) return Status::Ok();
  Waiter w;
  {
    std::lock_guard lk(mu_);
    if (lsn >= next_lsn_) return Status::InvalidArgument("LSN " + std::to_string(lsn) + " was never appended");
    if (acked_lsn() >= lsn) return Status::Ok();
    if (!status_.ok()) return status_;
    acks_.push(AckEntry{lsn, ack_seq_++, &w, nullptr});
  }
  if (committer_->manual()) {
    while (!w.done.try_acquire()) committer_->RunOnce(0);
  } else {
    w.done.acquire();
  }
  return w.result;
}

void Wal::OnAcked(Lsn lsn, std::function<void(Status)> cb) {
  Status now;
  {
    std::lock_guard lk(mu_);
    if (lsn >= next_lsn_) {
      now = Status::InvalidArgument("LSN " + std::to_string(lsn) + " was never appended");
    } else if (acked_lsn() >= lsn) {
      now = Status::Ok();
    } else if (!status_.ok()) {
      now = status_;
    } else {
      acks_.push(AckEntry{lsn, ack_seq_++, nullptr, std::move(cb)});
      return;
    }
  }
  cb(now);
}

Result<int> Wal::event_fd() {
  std::lock_guard lk(mu_);
  if (event_fd_ < 0) {
    event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) return Status::FromErrno(errno, "eventfd");
  }
  return event_fd_;
}

// Blocks until pred() holds (checked under mu_), driving the committer
// ourselves when it has no thread. Returns false if the log failed first.
void Wal::WaitState(const std::function<bool()>& pred) {
  std::unique_lock lk(mu_);
  while (!pred()) {
    if (committer_->manual()) {
      lk.unlock();
      committer_->RunOnce(0);
      lk.lock();
    } else {
      state_cv_.wait(lk);
    }
  }
}

Status Wal::Sync() {
  Lsn target = last_lsn();
  if (target == 0) return Status::Ok();
  if (opts_.fsync == FsyncMode::kAlways) return WaitFor(target);
  {
    std::lock_guard lk(mu_);
    if (!status_.ok()) return status_;
    sync_requested_ = std::max(sync_requested_, target);
  }
  committer_->Notify();
  WaitState([&] { return durable_lsn() >= target || !status_.ok() || closed_; });
  std::lock_guard lk(mu_);
  if (!status_.ok()) return status_;
  return durable_lsn() >= target ? Status::Ok() : Status::Closed("the log closed before the sync");
}

Status Wal::Close() {
  {
    std::lock_guard lk(mu_);
    if (closed_) return status_;
    closing_ = true;
  }
  space_cv_.notify_all();
  committer_->Notify();
  WaitState([&] { return closed_; });
  committer_->Unregister(this);
  std::lock_guard lk(mu_);
  if (event_fd_ >= 0) {
    ::close(event_fd_);
    event_fd_ = -1;
  }
  return status_;
}

Lsn Wal::last_lsn() const {
  std::lock_guard lk(mu_);
  return next_lsn_ - 1;
}

Status Wal::status() const {
  std::lock_guard lk(mu_);
  return status_;
}

WalStats Wal::stats() const {
  std::lock_guard lk(mu_);
  WalStats s = stats_;
  s.last_lsn = next_lsn_ - 1;
  s.written_lsn = written_lsn_.load();
  s.durable_lsn = durable_lsn_.load();
  s.acked_lsn = acked_lsn_.load();
  return s;
}

}  // namespace synap::wal

namespace synap::wal {

// Segment i is removable when segment i+1 exists and starts at or below
// `lsn`: all of i's records are then below `lsn`. The newest segment never
// has a successor, so the active one is never touched; a sealed one may
// still have a completed fdatasync's file handle open, which unlink allows.
Result<uint64_t> Wal::RemoveSegmentsBelow(Lsn lsn) {
  Result<std::vector<std::string>> names = io_->list_dir(opts_.dir);
  if (!names.ok()) return names.status();
  std::vector<Lsn> bases;
  for (const std::string& n : *names) {
    Lsn base;
    if (log::ParseSegmentFileName(n, &base)) bases.push_back(base + opts_.segment_name_bias);
  }
  std::sort(bases.begin(), bases.end());
  uint64_t removed = 0;
  for (size_t i = 0; i + 1 < bases.size() && bases[i + 1] <= lsn; i++) {
    SYNAP_RETURN_IF_ERROR(io_->remove(opts_.dir + "/" + log::SegmentFileName(bases[i], opts_.segment_name_bias)));
    removed++;
  }
  if (removed > 0) SYNAP_RETURN_IF_ERROR(io_->sync_dir(opts_.dir));
  return removed;
}

}  // namespace synap::wal
