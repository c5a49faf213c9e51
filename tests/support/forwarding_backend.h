// An IoBackend that forwards every call to another one it does not own, so a
// simulated disk can outlive the Database (and GroupCommitter) using it:
// crash the disk, drop the Database, restart the disk, open again.
#pragma once

#include "engine/io/backend.h"

namespace synap::testing {

class ForwardingBackend : public io::IoBackend {
 public:
  explicit ForwardingBackend(io::IoBackend* to) : to_(to) {}
  const char* name() const override { return to_->name(); }
  Result<io::FileHandle> open(const std::string& p, const io::OpenOptions& o) override { return to_->open(p, o); }
  Status close(io::FileHandle f) override { return to_->close(f); }
  Result<uint64_t> file_size(io::FileHandle f) override { return to_->file_size(f); }
  Result<size_t> read_at(io::FileHandle f, uint64_t off, uint8_t* buf, size_t len) override {
    return to_->read_at(f, off, buf, len);
  }
  Status write_at(io::FileHandle f, uint64_t off, const uint8_t* buf, size_t len) override {
    return to_->write_at(f, off, buf, len);
  }
  Status sync(io::FileHandle f) override { return to_->sync(f); }
  Status allocate(io::FileHandle f, uint64_t off, uint64_t len) override { return to_->allocate(f, off, len); }
  Status truncate(io::FileHandle f, uint64_t size) override { return to_->truncate(f, size); }
  uint32_t direct_alignment(io::FileHandle f) override { return to_->direct_alignment(f); }
  Result<io::FileHandle> lock_file(const std::string& p) override { return to_->lock_file(p); }
  Status make_dir(const std::string& d) override { return to_->make_dir(d); }
  Status sync_dir(const std::string& d) override { return to_->sync_dir(d); }
  Result<std::vector<std::string>> list_dir(const std::string& d) override { return to_->list_dir(d); }
  Status remove(const std::string& p) override { return to_->remove(p); }
  Status rename(const std::string& a, const std::string& b) override { return to_->rename(a, b); }
  void prepare(const io::WriteRequest& r) override { to_->prepare(r); }
  Status submit_and_wait(unsigned n, int64_t timeout_us, std::vector<io::Completion>* out) override {
    return to_->submit_and_wait(n, timeout_us, out);
  }
  size_t in_flight() const override { return to_->in_flight(); }
  void wake() override { to_->wake(); }
  io::IoStats stats() const override { return to_->stats(); }

 private:
  io::IoBackend* to_;
};

}  // namespace synap::testing
