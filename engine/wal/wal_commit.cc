// Wal: the committer side. Everything here runs on the GroupCommitter's
// thread (or the thread driving RunOnce), except Recover, which runs in Open
// before the log is registered.
//
// Invariants:
//  * inflight_ holds this log's batch requests in LSN order; written_lsn and
//    durable_lsn advance only as its front completes, so both are contiguous.
//  * A segment receives its first batch only after the previous segment is
//    sealed: no batch of it in flight and, unless every batch was already
//    fsynced (kAlways), one fdatasync of it completed.
//  * After Poison, nothing advances: no success is reported after a failure.
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "engine/log/codec.h"
#include "engine/wal/group_committer.h"
#include "engine/wal/wal.h"

namespace synap::wal {
namespace {

uint64_t NowMicros() {
  using namespace std::chrono;
  return static_cast<uint64_t>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

constexpr uint32_t kDataOffset = 4096;  // first batch offset (a whole header block)

}  // namespace

// ---- open ----

// Finds out whether O_DIRECT works in the directory and with what alignment.
Status Wal::ProbeDirect() {
  std::string probe = opts_.dir + "/.direct-probe";
  io_->remove(probe);  // a leftover from a crash; absent is fine
  io::OpenOptions oo;
  oo.create = true;
  oo.direct = true;
  Result<io::FileHandle> f = io_->open(probe, oo);
  if (!f.ok()) {
    if (f.status().code() != Status::Code::kUnsupported) return f.status();
    stats_.fallback_reason = "O_DIRECT refused in " + opts_.dir + " (" + f.status().message() +
                             "); using buffered writes + fdatasync";
    std::fprintf(stderr, "synap: %s\n", stats_.fallback_reason.c_str());
    return Status::Ok();
  }
  alignment_ = std::max<uint32_t>(io_->direct_alignment(*f), log::kMinAlignment);
  direct_ = true;
  io_->close(*f);
  return io_->remove(probe);
}

Status Wal::Recover(const log::ReplayFn& replay, Lsn replay_from, log::RecoveryReport* report) {
  SYNAP_RETURN_IF_ERROR(io_->make_dir(opts_.dir));
  // One writer per directory: a second one would interleave LSNs and lose data.
  Result<io::FileHandle> lock = io_->lock_file(opts_.dir + "/LOCK");
  if (!lock.ok()) return lock.status();
  lock_file_ = *lock;
  if (opts_.mechanism == Mechanism::kDirect) SYNAP_RETURN_IF_ERROR(ProbeDirect());
  stats_.mechanism = MechanismName(direct_ ? Mechanism::kDirect : Mechanism::kBuffered);
  if (direct_ && opts_.segment_bytes % alignment_ != 0)
    return Status::InvalidArgument("wal.segment_bytes (" + std::to_string(opts_.segment_bytes) +
                                   ") is not a multiple of the device's O_DIRECT alignment (" +
                                   std::to_string(alignment_) + ")");
  if (direct_ && alignment_ + kDataOffset + log::kBatchHeaderSize +
                         std::max<uint64_t>(opts_.max_batch_bytes, opts_.max_record_bytes + 4ull) >
                     opts_.segment_bytes)
    return Status::InvalidArgument("wal.segment_bytes too small for a largest batch at this device's alignment");

  preallocate_ = direct_ ? log::Preallocate::kZero : opts_.preallocate;
  if (preallocate_ == log::Preallocate::kAuto)
    preallocate_ = opts_.fsync == FsyncMode::kAlways ? log::Preallocate::kZero : log::Preallocate::kNone;
  if (preallocate_ != log::Preallocate::kNone)
    spare_ = std::make_unique<log::SpareSegment>(io_, opts_.dir, opts_.segment_bytes, preallocate_, direct_,
                                                 alignment_, !committer_->manual());

  log::RecoveryOptions ro;
  ro.mode = opts_.recovery;
  ro.replay_from = replay_from;
  ro.replay = replay;
  ro.name_bias = opts_.segment_name_bias;
  ro.on_batch = opts_.on_batch;
  ro.trust_sealed = opts_.trust_sealed;
  log::RecoveredLog rec;
  SYNAP_RETURN_IF_ERROR(log::RecoverLog(io_, opts_.dir, ro, &rec, report));
  // Say what recovery cut or removed: an operator must be able to see it.
  if (!report->cuts.empty() || !report->removed.empty())
    std::fprintf(stderr, "synap: log %s: %s\n", opts_.dir.c_str(), report->ToString().c_str());
  next_lsn_ = rec.next_lsn;
  next_segment_id_ = rec.next_segment_id;
  if (replay_from > next_lsn_) {
    // The caller's state (a snapshot) holds every record below replay_from,
    // and the log ends before it: fsync=never or periodic lost a tail that
    // the snapshot had already captured. Every record here is covered, and
    // LSNs must go on from replay_from so that none is handed out twice.
    for (const log::SegmentState& seg : rec.segments) SYNAP_RETURN_IF_ERROR(io_->remove(opts_.dir + "/" + seg.name));
    SYNAP_RETURN_IF_ERROR(io_->sync_dir(opts_.dir));
    rec.segments.clear();
    next_lsn_ = replay_from;
  } else if (!rec.segments.empty() && rec.segments.front().header.base_lsn > replay_from) {
    return Status::Corruption("the log in " + opts_.dir + " starts at LSN " +
                              std::to_string(rec.segments.front().header.base_lsn) + " but records from LSN " +
                              std::to_string(replay_from) + " on are needed: segments are missing");
  }
  if (rec.segments.empty()) {
    SYNAP_RETURN_IF_ERROR(Roll(next_lsn_));
  } else {
    SYNAP_RETURN_IF_ERROR(ResumeLastSegment(rec.segments.back()));
    // Skip mode zeroed a hole in the last segment: seal it now, so the hole
    // is never again in a final segment, where a recovery that no longer
    // finds the batch proving it durable (cut with a torn tail) would take
    // it for a torn tail and cut every batch kept after it.
    if (rec.seal_last) SYNAP_RETURN_IF_ERROR(Roll(next_lsn_));
  }
  // Everything recovery kept is durable now (sealed segments were fsynced
  // before their successors got a write; ResumeLastSegment synced the last).
  Lsn recovered = next_lsn_ - 1;
  written_lsn_ = durable_lsn_ = acked_lsn_ = recovered;
  return Status::Ok();
}

// Reopens the final segment for appends, or arranges a roll when it was
// written with another mechanism or alignment.
Status Wal::ResumeLastSegment(const log::SegmentState& last) {
  std::string path = opts_.dir + "/" + last.name;
  bool last_direct = (last.header.flags & log::kSegmentDirect) != 0;
  bool suits = last_direct == direct_ && last.header.alignment == alignment_;
  io::OpenOptions oo;
  oo.direct = direct_ && suits;
  Result<io::FileHandle> f = io_->open(path, oo);
  if (!f.ok()) return f.status();
  // The process that wrote it may have died with writes still in the page
  // cache: make them durable before anything counts them as such.
  Status st = io_->sync(*f);
  if (!st.ok() || suits) {
    if (!st.ok()) io_->close(*f);
    file_ = st.ok() ? *f : io::kInvalidFile;
    segment_ = last.header;
    segment_offset_ = last.end_offset;
    segment_has_batches_ = last.batches > 0;
    return st;
  }
  io_->close(*f);
  if (last.batches > 0) {
    must_roll_ = true;  // the next batch opens a segment that suits the mechanism
    return Status::Ok();
  }
  // An empty segment would share its name with the next one: replace it now,
  // so a segment always records where the LSNs resume.
  SYNAP_RETURN_IF_ERROR(io_->remove(path));
  SYNAP_RETURN_IF_ERROR(io_->sync_dir(opts_.dir));
  return Roll(last.header.base_lsn);
}

void Wal::ReleaseLock() {
  if (lock_file_ != io::kInvalidFile) io_->close(lock_file_);
  lock_file_ = io::kInvalidFile;
}

// ---- one committer round ----

Wal::Clock::time_point Wal::PrepareWork(Clock::time_point now) {
  if (closed_) return Clock::time_point::max();
  // Start as many batches as the in-flight limit allows: a second full batch
  // must not wait for the first one's completion.
  Work work;
  for (;;) {
    work = TakePending(now);
    if (ready_ && !status_ok_.load()) Recycle(std::move(ready_->batch)), ready_.reset();  // waiters already failed
    if (!ready_) break;
    SubmitReady();
    if (ready_) break;  // waiting for the segment to quiet down before a roll
  }
  Lsn written = written_lsn_.load(), durable = durable_lsn_.load();
  bool poisoned = !status_ok_.load();
  if (!poisoned && !sync_op_ && written > durable) {
    bool periodic_due = opts_.fsync == FsyncMode::kPeriodic && now >= next_periodic_;
    // Under never, an fdatasync per kWritebackBytes written bounds the dirty
    // data (RocksDB's bytes_per_sync): else the seal's fsync of a whole
    // segment stalls this thread, and every log it serves, for a long while.
    bool writeback_due = opts_.fsync == FsyncMode::kNever && unsynced_bytes_ >= kWritebackBytes;
    if (periodic_due || writeback_due || work.sync_requested > durable) SubmitSync();
  }
  if (opts_.fsync == FsyncMode::kPeriodic && now >= next_periodic_)
    next_periodic_ = now + std::chrono::milliseconds(opts_.fsync_interval_ms);
  if (work.closing && !ready_ && inflight_.empty() && !sync_op_) {
    bool drained;
    {
      std::lock_guard lk(mu_);
      drained = pending_.empty();
    }
    if (drained) {
      FinishClose();
      return Clock::time_point::max();
    }
  }
  Clock::time_point next = work.linger_deadline;
  if (opts_.fsync == FsyncMode::kPeriodic) next = std::min(next, next_periodic_);
  return next;
}

// Moves the oldest pending batch to ready_ when the log may start one more
// write; releases appenders blocked on max_pending_bytes.
Wal::Work Wal::TakePending(Clock::time_point now) {
  Work w;
  std::unique_ptr<BatchBuffer> taken;
  {
    std::lock_guard lk(mu_);
    w.closing = closing_;
    w.sync_requested = sync_requested_;
    if (!status_.ok()) {
      while (!pending_.empty()) {  // their waiters already got the error
        free_buffers_.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
      pending_bytes_ = 0;
    } else if (!pending_.empty() && !ready_ && inflight_.size() < opts_.max_in_flight) {
      BatchBuffer* front = pending_.front().get();
      bool full = pending_.size() > 1;
      bool linger_over = opts_.linger_us == 0 || w.closing || w.sync_requested >= front->first_lsn ||
                         now >= front->since + std::chrono::microseconds(opts_.linger_us);
      if (full || linger_over) {
        taken = std::move(pending_.front());
        pending_.pop_front();
        pending_bytes_ -= taken->used - log::kBatchHeaderSize;
      } else {
        w.linger_deadline = front->since + std::chrono::microseconds(opts_.linger_us);
      }
    }
  }
  if (taken) {
    space_cv_.notify_all();
    ready_.emplace();
    ready_->batch = std::move(taken);
    EncodeReady();
  }
  return w;
}

// Fills the segment-independent header fields and compresses the payload in
// place when that pays.
void Wal::EncodeReady() {
  BatchBuffer* b = ready_->batch.get();
  log::BatchHeader& h = ready_->header;
  uint32_t raw_len = static_cast<uint32_t>(b->used - log::kBatchHeaderSize);
  h = log::BatchHeader();
  h.raw_len = h.stored_len = raw_len;
  h.record_count = b->count;
  h.first_lsn = b->first_lsn;
  h.timestamp_us = NowMicros();
  if (opts_.codec == log::Codec::kNone || raw_len < opts_.compress_min_bytes) return;
  std::span<const uint8_t> raw(b->buf.data() + log::kBatchHeaderSize, raw_len);
  if (!log::Compress(opts_.codec, opts_.zstd_level, raw, &compress_scratch_, 0)) return;
  // Compressed output is smaller than the raw payload, so it fits in place.
  std::memcpy(b->buf.data() + log::kBatchHeaderSize, compress_scratch_.data(), compress_scratch_.size());
  h.codec = opts_.codec;
  h.stored_len = static_cast<uint32_t>(compress_scratch_.size());
}

// Writes ready_ into the current segment, rolling first if it does not fit.
void Wal::SubmitReady() {
  log::BatchHeader& h = ready_->header;
  uint64_t footprint = log::BatchFootprint(h.stored_len, alignment_);
  bool fits = segment_offset_ + footprint <= opts_.segment_bytes || !segment_has_batches_;
  if (must_roll_ || file_ == io::kInvalidFile || !fits) {
    if (!inflight_.empty() || sync_op_) return;  // seal only once the old segment is quiet
    Status st = Roll(h.first_lsn);
    if (!st.ok()) return Poison(st);
  }
  std::unique_ptr<BatchBuffer> b = std::move(ready_->batch);
  ready_.reset();
  b->Reserve(footprint);
  uint8_t* base = b->buf.data();
  std::memset(base + log::kBatchHeaderSize + h.stored_len, 0, footprint - log::kBatchHeaderSize - h.stored_len);
  h.segment_id = segment_.segment_id;
  h.durable_watermark = durable_lsn_.load();
  h.payload_hash = log::Hash(base + log::kBatchHeaderSize, h.stored_len, segment_.segment_id);
  log::EncodeBatchHeader(h, base);

  auto op = std::make_unique<InflightOp>();
  op->wal = this;
  op->kind = InflightOp::Kind::kBatch;
  op->offset = segment_offset_;
  op->len = static_cast<uint32_t>(footprint);
  op->first_lsn = h.first_lsn;
  op->last_lsn = h.last_lsn();
  op->durability = opts_.fsync != FsyncMode::kAlways ? io::Durability::kNone
                   : direct_                         ? io::Durability::kDsyncWrite
                                                     : io::Durability::kDataSync;
  op->batch = std::move(b);
  if (opts_.on_batch) opts_.on_batch({segment_.base_lsn, op->offset, footprint, h.first_lsn, h.record_count, segment_.flags});
  io_->prepare({file_, op->offset, op->batch->buf.data(), op->len, op->durability,
                reinterpret_cast<uint64_t>(op.get())});
  segment_offset_ += footprint;
  unsynced_bytes_ += footprint;
  segment_has_batches_ = true;
  // Prepare the next segment once this one is half full: early enough to be
  // ready, late enough that a short-lived log never pays for a spare.
  if (spare_ && segment_offset_ > opts_.segment_bytes / 2) spare_->Start();
  {
    std::lock_guard lk(mu_);
    stats_.batches++;
    stats_.batch_bytes += footprint;
    stats_.max_batch_records = std::max<uint64_t>(stats_.max_batch_records, h.record_count);
  }
  inflight_.push_back(std::move(op));
  in_flight_.store(static_cast<uint32_t>(inflight_.size()));
}

// Seals the current segment and creates the next, starting at base_lsn.
Status Wal::Roll(Lsn base_lsn) {
  if (file_ != io::kInvalidFile) {
    if (opts_.fsync != FsyncMode::kAlways) {
      SYNAP_RETURN_IF_ERROR(io_->sync(file_));
      Advance(written_lsn_.load(), written_lsn_.load());
    }
    io_->close(file_);
    file_ = io::kInvalidFile;
  }
  log::SegmentSpec spec;
  spec.header.segment_id = next_segment_id_++;
  spec.header.base_lsn = base_lsn;
  spec.header.created_us = NowMicros();
  spec.header.alignment = alignment_;
  spec.header.data_offset = std::max(kDataOffset, alignment_);
  spec.header.flags = direct_ ? log::kSegmentDirect : 0;
  spec.size_bytes = opts_.segment_bytes;
  spec.preallocate = preallocate_;
  spec.direct = direct_;
  spec.name_bias = opts_.segment_name_bias;
  Result<io::FileHandle> f = spare_ ? spare_->Take(spec) : log::CreateSegment(io_, opts_.dir, spec);
  if (!f.ok()) return f.status();

  file_ = *f;
  segment_ = spec.header;
  segment_offset_ = spec.header.data_offset;
  segment_has_batches_ = false;
  must_roll_ = false;
  std::lock_guard lk(mu_);
  stats_.segments_created++;
  return Status::Ok();
}

// An fdatasync covering every write completed so far.
void Wal::SubmitSync() {
  if (file_ == io::kInvalidFile) return;
  sync_op_ = std::make_unique<InflightOp>();
  sync_op_->wal = this;
  sync_op_->kind = InflightOp::Kind::kSync;
  sync_op_->sync_target = written_lsn_.load();
  unsynced_bytes_ = 0;
  sync_op_->durability = io::Durability::kDataSync;
  io_->prepare({file_, 0, nullptr, 0, io::Durability::kDataSync, reinterpret_cast<uint64_t>(sync_op_.get())});
  std::lock_guard lk(mu_);
  stats_.syncs++;
}

// ---- completions ----

void Wal::OnCompletion(InflightOp* op, const io::Completion& c) {
  if (op->kind == InflightOp::Kind::kSync) {
    std::unique_ptr<InflightOp> done = std::move(sync_op_);
    if (c.error != 0) return Poison(Status::FromErrno(c.error, "fdatasync of " + opts_.dir));
    if (c.durable) Advance(written_lsn_.load(), done->sync_target);
    return;
  }
  uint32_t asked = op->len - op->done;
  if (c.error != 0) {
    op->complete = op->failed = true;
    Poison(Status::FromErrno(c.error, "write to " + opts_.dir + " segment " + std::to_string(segment_.segment_id)));
  } else if (c.written < asked) {
    if (c.written == 0) {
      op->complete = op->failed = true;
      Poison(Status::FromErrno(EIO, "write to " + opts_.dir + " returned 0 bytes"));
    } else {
      op->done += c.written;
      Resubmit(op);
    }
  } else if (op->durability != io::Durability::kNone && !c.durable) {
    op->done = op->len;
    Resubmit(op);  // written in full but not yet durable: sync again
  } else {
    op->done = op->len;
    op->complete = true;
  }
  Retire();
}

// Sends what a short write left, with a new durability step: bytes no
// completed fsync covered are never acknowledged.
void Wal::Resubmit(InflightOp* op) {
  {
    std::lock_guard lk(mu_);
    stats_.short_writes++;
  }
  // O_DIRECT: RWF_DSYNC covers only the bytes of the write that carries it,
  // and a resumed write must stay aligned: the whole batch goes again.
  if (direct_) op->done = 0;
  uint32_t rest = op->len - op->done;
  io::Durability d = op->durability;
  if (rest == 0) d = io::Durability::kDataSync;  // only the sync is missing
  io_->prepare({file_, op->offset + op->done, op->batch->buf.data() + op->done, rest, d,
                reinterpret_cast<uint64_t>(op)});
}

// Pops completed batches off the front, advancing the LSNs contiguously.
void Wal::Retire() {
  Lsn written = written_lsn_.load(), durable = durable_lsn_.load();
  while (!inflight_.empty() && inflight_.front()->complete) {
    std::unique_ptr<InflightOp> op = std::move(inflight_.front());
    inflight_.pop_front();
    if (!op->failed) {
      written = op->last_lsn;
      if (op->durability != io::Durability::kNone) durable = op->last_lsn;
    }
    Recycle(std::move(op->batch));
  }
  in_flight_.store(static_cast<uint32_t>(inflight_.size()));
  Advance(written, durable);
}

void Wal::Recycle(std::unique_ptr<BatchBuffer> b) {
  if (!b) return;
  std::lock_guard lk(mu_);
  if (free_buffers_.size() < opts_.max_in_flight + 2) free_buffers_.push_back(std::move(b));
}

void Wal::Advance(Lsn written, Lsn durable) {
  if (!status_ok_.load()) return;  // never report progress after a failure
  bool moved = false;
  if (written > written_lsn_.load()) {
    written_lsn_.store(written);
    moved = true;
  }
  durable = std::min(durable, written_lsn_.load());
  if (durable > durable_lsn_.load()) {
    durable_lsn_.store(durable, std::memory_order_release);
    moved = true;
  }
  Lsn acked = opts_.fsync == FsyncMode::kAlways ? durable_lsn_.load() : written_lsn_.load();
  if (acked > acked_lsn_.load()) acked_lsn_.store(acked, std::memory_order_release);
  if (moved) ReleaseAcked();
}

void Wal::Poison(const Status& st) {
  {
    std::lock_guard lk(mu_);
    if (!status_.ok()) return;
    status_ = st;
    status_ok_.store(false);
    std::fprintf(stderr, "synap: log %s is now read-only: %s\n", opts_.dir.c_str(), st.ToString().c_str());
  }
  space_cv_.notify_all();
  ReleaseAcked();
}

// Wakes every waiter the acknowledged LSN (or a failure) has settled.
void Wal::ReleaseAcked() {
  std::vector<AckEntry> done;
  Status st;
  int efd;
  {
    std::lock_guard lk(mu_);
    st = status_;
    Lsn acked = acked_lsn_.load();
    while (!acks_.empty() && (!st.ok() || acks_.top().lsn <= acked)) {
      done.push_back(acks_.top());
      acks_.pop();
    }
    efd = event_fd_;
  }
  for (AckEntry& e : done) {
    if (e.waiter != nullptr) {
      e.waiter->result = st;
      e.waiter->done.release();
    } else if (e.cb) {
      e.cb(st);
    }
  }
  if (efd >= 0) {
    uint64_t one = 1;
    ssize_t n = ::write(efd, &one, sizeof one);  // EAGAIN: already readable, which is all we need
    (void)n;
  }
  std::lock_guard lk(mu_);
  state_cv_.notify_all();
}

void Wal::FinishClose() {
  if (file_ != io::kInvalidFile) {
    if (status_ok_.load() && opts_.fsync != FsyncMode::kAlways) {
      Status st = io_->sync(file_);
      if (st.ok()) Advance(written_lsn_.load(), written_lsn_.load());
      else Poison(st);
    }
    io_->close(file_);
    file_ = io::kInvalidFile;
  }
  spare_.reset();
  io_->remove(opts_.dir + "/spare.tmp");  // 64 MiB nobody needs until the next open; absent is fine
  ReleaseLock();
  {
    std::lock_guard lk(mu_);
    closed_ = true;
  }
  ReleaseAcked();
}

}  // namespace synap::wal
