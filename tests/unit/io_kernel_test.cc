// Unit tests of the kernel backends (io_uring and sync) on a real filesystem.
//
// Scratch files live under $SYNAP_TEST_TMPDIR (set by meson to a directory of
// the build tree, ext4 here), one fresh directory per test. No assertion
// depends on timing: waits carry generous timeouts only so that a broken
// backend fails instead of hanging.
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/backend.h"
#include "engine/io/sync_backend.h"
#include "engine/io/uring_backend.h"

namespace synap::io {
namespace {

namespace fs = std::filesystem;

constexpr unsigned kQueueDepth = 64;
// A safety net against hangs, never a pass/fail criterion.
constexpr int64_t kSafetyTimeoutUs = 20'000'000;

std::string ScratchRoot() {
  const char* env = std::getenv("SYNAP_TEST_TMPDIR");
  return env != nullptr && *env != '\0' ? env : fs::temp_directory_path().string();
}

// A fresh directory removed when the test ends.
class ScratchDir {
 public:
  ScratchDir() {
    fs::create_directories(ScratchRoot());
    std::string tmpl = ScratchRoot() + "/io_kernel_XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr) << "mkdtemp under " << ScratchRoot();
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<uint8_t> Pattern(size_t len, uint32_t seed) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<uint8_t>((i * 131 + seed * 7 + 1) & 0xff);
  return v;
}

using AlignedBuffer = std::unique_ptr<uint8_t, decltype(&std::free)>;

AlignedBuffer AlignedAlloc(size_t align, size_t len) {
  return AlignedBuffer(static_cast<uint8_t*>(std::aligned_alloc(align, len)), &std::free);
}

WriteRequest Request(FileHandle f, uint64_t off, const std::vector<uint8_t>& data,
                     Durability d, uint64_t tag) {
  WriteRequest r;
  r.file = f;
  r.offset = off;
  r.data = data.data();
  r.len = static_cast<uint32_t>(data.size());
  r.durability = d;
  r.tag = tag;
  return r;
}

// Waits until `n` completions are in (or the safety net trips).
std::vector<Completion> Collect(IoBackend& b, size_t n) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::microseconds(kSafetyTimeoutUs);
  std::vector<Completion> out;
  while (out.size() < n && Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
    Status st = b.submit_and_wait(static_cast<unsigned>(n - out.size()), left.count(), &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) break;
  }
  EXPECT_EQ(out.size(), n);
  return out;
}

Completion CollectOne(IoBackend& b) {
  std::vector<Completion> out = Collect(b, 1);
  return out.empty() ? Completion{} : out[0];
}

// Waits like submit_and_wait(min_complete, no limit) except for the safety
// net; true when the call ended before the net, i.e. by wake() or a
// completion. The net is 400 times the waker's delay: not a timing test.
bool WaitEndedBeforeSafetyNet(IoBackend& b, unsigned min_complete, std::vector<Completion>* out) {
  const auto start = std::chrono::steady_clock::now();
  Status st = b.submit_and_wait(min_complete, kSafetyTimeoutUs, out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return std::chrono::steady_clock::now() - start < std::chrono::microseconds(kSafetyTimeoutUs);
}

// ---------------------------------------------------------------------------
// Tests run against every kernel backend and every io_uring setup variant.

struct BackendCase {
  std::string name;
  std::function<Result<std::unique_ptr<IoBackend>>()> make;
};

void PrintTo(const BackendCase& c, std::ostream* os) { *os << c.name; }

Result<std::unique_ptr<IoBackend>> MakeUring(UringSetup setup, bool skip_write_cqes = true) {
  auto b = UringBackend::Create(kQueueDepth, UringOptions{setup, skip_write_cqes});
  if (!b.ok()) return b.status();
  return std::unique_ptr<IoBackend>(std::move(b).value());
}

std::vector<BackendCase> AllBackends() {
  return {
      {"sync", [] { return Result<std::unique_ptr<IoBackend>>(std::make_unique<SyncBackend>()); }},
      {"uring", [] { return MakeUring(UringSetup::kSingleIssuerDeferTaskrun); }},
      {"uring_coop", [] { return MakeUring(UringSetup::kCoopTaskrun); }},
      // No setup flags and two CQEs per write+fsync: the oldest kernels' way.
      {"uring_plain", [] { return MakeUring(UringSetup::kPlain, /*skip_write_cqes=*/false); }},
  };
}

class KernelBackendTest : public ::testing::TestWithParam<BackendCase> {
 protected:
  void SetUp() override {
    auto made = GetParam().make();
    if (!made.ok()) GTEST_SKIP() << "backend unavailable: " << made.status().ToString();
    backend_ = std::move(made).value();
  }

  bool is_uring() const { return std::string(backend_->name()) == "io_uring"; }

  FileHandle OpenRw(const std::string& name) {
    OpenOptions o;
    o.create = true;
    auto f = backend_->open(dir_ / name, o);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? f.value() : kInvalidFile;
  }

  std::vector<uint8_t> ReadAll(FileHandle f, uint64_t off, size_t len) {
    std::vector<uint8_t> buf(len);
    auto n = backend_->read_at(f, off, buf.data(), len);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    buf.resize(n.ok() ? n.value() : 0);
    return buf;
  }

  ScratchDir dir_;
  std::unique_ptr<IoBackend> backend_;
};

TEST_P(KernelBackendTest, OpenCreateAndExclusiveErrors) {
  OpenOptions plain;
  auto missing = backend_->open(dir_ / "absent", plain);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kIoError);
  EXPECT_EQ(missing.status().os_error(), ENOENT);
  EXPECT_NE(missing.status().message().find("absent"), std::string::npos);

  OpenOptions excl;
  excl.create = true;
  excl.exclusive = true;
  auto first = backend_->open(dir_ / "f", excl);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = backend_->open(dir_ / "f", excl);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().os_error(), EEXIST);

  OpenOptions excl_only;
  excl_only.exclusive = true;
  EXPECT_EQ(backend_->open(dir_ / "f", excl_only).status().code(),
            Status::Code::kInvalidArgument);

  OpenOptions ro;
  ro.read_only = true;
  auto r = backend_->open(dir_ / "f", ro);
  ASSERT_TRUE(r.ok());
  const uint8_t byte = 1;
  Status w = backend_->write_at(r.value(), 0, &byte, 1);
  EXPECT_EQ(w.os_error(), EBADF);
  EXPECT_NE(w.message().find(dir_ / "f"), std::string::npos) << w.message();

  EXPECT_TRUE(backend_->close(r.value()).ok());
  EXPECT_TRUE(backend_->close(first.value()).ok());
  EXPECT_FALSE(backend_->close(first.value()).ok());  // already closed
}

TEST_P(KernelBackendTest, WriteReadRoundtripAndSize) {
  FileHandle f = OpenRw("data");
  std::vector<uint8_t> data = Pattern(10000, 3);
  ASSERT_TRUE(backend_->write_at(f, 100, data.data(), data.size()).ok());
  ASSERT_TRUE(backend_->sync(f).ok());
  auto size = backend_->file_size(f);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size.value(), 10100u);

  EXPECT_EQ(ReadAll(f, 100, data.size()), data);
  // Short only at end of file.
  std::vector<uint8_t> tail = ReadAll(f, 10000, 500);
  EXPECT_EQ(tail, std::vector<uint8_t>(data.end() - 100, data.end()));
  EXPECT_TRUE(ReadAll(f, 20000, 10).empty());
  EXPECT_TRUE(backend_->close(f).ok());

  EXPECT_FALSE(backend_->file_size(f).ok());  // closed handle
}

TEST_P(KernelBackendTest, TruncateAndAllocate) {
  FileHandle f = OpenRw("t");
  std::vector<uint8_t> data = Pattern(4096, 1);
  ASSERT_TRUE(backend_->write_at(f, 0, data.data(), data.size()).ok());
  ASSERT_TRUE(backend_->truncate(f, 50).ok());
  EXPECT_EQ(backend_->file_size(f).value(), 50u);
  EXPECT_EQ(ReadAll(f, 0, 4096), std::vector<uint8_t>(data.begin(), data.begin() + 50));

  Status alloc = backend_->allocate(f, 0, 1 << 20);
  ASSERT_TRUE(alloc.ok()) << alloc.ToString();  // ext4 supports fallocate
  EXPECT_EQ(backend_->file_size(f).value(), uint64_t{1} << 20);
  EXPECT_FALSE(backend_->truncate(kInvalidFile, 0).ok());
  EXPECT_TRUE(backend_->close(f).ok());
}

TEST_P(KernelBackendTest, DirectoryOperations) {
  const std::string nested = dir_ / "a/b/c";
  ASSERT_TRUE(backend_->make_dir(nested).ok());
  EXPECT_TRUE(fs::is_directory(nested));
  EXPECT_TRUE(backend_->make_dir(nested).ok());        // exists: fine
  EXPECT_TRUE(backend_->make_dir(nested + "/").ok());  // trailing slash

  FileHandle f = OpenRw("a/file");
  ASSERT_TRUE(backend_->close(f).ok());
  EXPECT_FALSE(backend_->make_dir(dir_ / "a/file").ok());       // a file is in the way
  EXPECT_FALSE(backend_->make_dir(dir_ / "a/file/sub").ok());

  auto names = backend_->list_dir(dir_ / "a");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names.value(), (std::vector<std::string>{"b", "file"}));

  ASSERT_TRUE(backend_->rename(dir_ / "a/file", dir_ / "a/moved").ok());
  ASSERT_TRUE(backend_->sync_dir(dir_ / "a").ok());
  EXPECT_EQ(backend_->list_dir(dir_ / "a").value(), (std::vector<std::string>{"b", "moved"}));

  ASSERT_TRUE(backend_->remove(dir_ / "a/moved").ok());
  Status gone = backend_->remove(dir_ / "a/moved");
  EXPECT_EQ(gone.os_error(), ENOENT);
  EXPECT_EQ(backend_->list_dir(dir_ / "a").value(), std::vector<std::string>{"b"});

  EXPECT_FALSE(backend_->rename(dir_ / "nope", dir_ / "x").ok());
  EXPECT_FALSE(backend_->sync_dir(dir_ / "nope").ok());
  EXPECT_FALSE(backend_->list_dir(dir_ / "nope").ok());
}

TEST_P(KernelBackendTest, DirectOpenOnExt4) {
  OpenOptions o;
  o.create = true;
  o.direct = true;
  auto f = backend_->open(dir_ / "direct", o);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const uint32_t align = backend_->direct_alignment(f.value());
  EXPECT_GE(align, 512u);
  EXPECT_EQ(align & (align - 1), 0u) << align;

  AlignedBuffer out = AlignedAlloc(align, 2 * align);
  AlignedBuffer in = AlignedAlloc(align, 2 * align);
  std::vector<uint8_t> data = Pattern(2 * align, 9);
  std::copy(data.begin(), data.end(), out.get());
  ASSERT_TRUE(backend_->write_at(f.value(), align, out.get(), 2 * align).ok());
  auto n = backend_->read_at(f.value(), align, in.get(), 2 * align);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(n.value(), 2 * align);
  EXPECT_EQ(std::vector<uint8_t>(in.get(), in.get() + 2 * align), data);
  EXPECT_TRUE(backend_->close(f.value()).ok());
}

TEST_P(KernelBackendTest, DirectOpenRefusedIsUnsupported) {
  // procfs has no direct I/O: open(2) answers EINVAL, as older tmpfs did.
  OpenOptions o;
  o.read_only = true;
  o.direct = true;
  auto f = backend_->open("/proc/self/status", o);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Status::Code::kUnsupported) << f.status().ToString();
  EXPECT_NE(f.status().message().find("O_DIRECT"), std::string::npos);
}

TEST_P(KernelBackendTest, DirectOpenOnTmpfs) {
  struct statfs sfs;
  if (::statfs("/dev/shm", &sfs) != 0 || sfs.f_type != TMPFS_MAGIC) {
    GTEST_SKIP() << "/dev/shm is not a tmpfs";
  }
  const std::string path = "/dev/shm/synap_io_kernel_" + std::to_string(::getpid());
  OpenOptions o;
  o.create = true;
  o.direct = true;
  auto f = backend_->open(path, o);
  if (f.ok()) {
    EXPECT_TRUE(backend_->close(f.value()).ok());
    EXPECT_TRUE(backend_->remove(path).ok());
    GTEST_SKIP() << "this kernel's tmpfs accepts O_DIRECT (Linux 6.6+)";
  }
  EXPECT_EQ(f.status().code(), Status::Code::kUnsupported) << f.status().ToString();
}

TEST_P(KernelBackendTest, DataSyncWriteIsDurableAndReadsBack) {
  FileHandle f = OpenRw("wal");
  std::vector<uint8_t> data = Pattern(4096, 5);
  backend_->prepare(Request(f, 512, data, Durability::kDataSync, 77));
  EXPECT_EQ(backend_->in_flight(), 1u);
  Completion c = CollectOne(*backend_);
  EXPECT_EQ(c.tag, 77u);
  EXPECT_EQ(c.error, 0);
  EXPECT_EQ(c.written, 4096u);
  EXPECT_TRUE(c.durable);
  EXPECT_EQ(backend_->in_flight(), 0u);
  EXPECT_EQ(ReadAll(f, 512, 4096), data);
  IoStats s = backend_->stats();
  EXPECT_EQ(s.requests, 1u);
  EXPECT_EQ(s.writes, 1u);
  EXPECT_EQ(s.syncs, 1u);
  EXPECT_EQ(s.bytes_written, 4096u);
  EXPECT_EQ(s.short_writes, 0u);
  if (is_uring()) {
    EXPECT_GT(s.enters, 0u);
  } else {
    EXPECT_EQ(s.enters, 0u);
  }
}

TEST_P(KernelBackendTest, FsyncOnlyRequest) {
  FileHandle f = OpenRw("sync_only");
  std::vector<uint8_t> data = Pattern(100, 2);
  ASSERT_TRUE(backend_->write_at(f, 0, data.data(), data.size()).ok());
  backend_->prepare(Request(f, 0, {}, Durability::kDataSync, 5));
  Completion c = CollectOne(*backend_);
  EXPECT_EQ(c.tag, 5u);
  EXPECT_EQ(c.error, 0);
  EXPECT_EQ(c.written, 0u);
  EXPECT_TRUE(c.durable);
  EXPECT_EQ(backend_->stats().syncs, 1u);
  EXPECT_EQ(backend_->stats().writes, 0u);
}

TEST_P(KernelBackendTest, DsyncWriteOnDirectFile) {
  OpenOptions o;
  o.create = true;
  o.direct = true;
  auto f = backend_->open(dir_ / "direct_dsync", o);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const uint32_t align = backend_->direct_alignment(f.value());
  const size_t len = 4 * size_t{align};
  AlignedBuffer buf = AlignedAlloc(align, len);
  std::vector<uint8_t> data = Pattern(len, 11);
  std::copy(data.begin(), data.end(), buf.get());

  WriteRequest r;
  r.file = f.value();
  r.offset = align;
  r.data = buf.get();
  r.len = static_cast<uint32_t>(len);
  r.durability = Durability::kDsyncWrite;
  r.tag = 123;
  backend_->prepare(r);
  Completion c = CollectOne(*backend_);
  EXPECT_EQ(c.tag, 123u);
  EXPECT_EQ(c.error, 0);
  EXPECT_EQ(c.written, len);
  EXPECT_TRUE(c.durable);
  EXPECT_EQ(backend_->stats().dsync_writes, 1u);
  EXPECT_EQ(backend_->stats().syncs, 0u);

  AlignedBuffer back = AlignedAlloc(align, len);
  auto n = backend_->read_at(f.value(), align, back.get(), len);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::vector<uint8_t>(back.get(), back.get() + n.value()), data);
  EXPECT_TRUE(backend_->close(f.value()).ok());
}

TEST_P(KernelBackendTest, ManyRequestsInFlightCompleteOnceEach) {
  FileHandle f = OpenRw("many");
  constexpr size_t kRequests = kQueueDepth;
  constexpr size_t kLen = 512;
  std::vector<std::vector<uint8_t>> bufs;
  for (size_t i = 0; i < kRequests; ++i) bufs.push_back(Pattern(kLen, static_cast<uint32_t>(i)));
  const Durability kinds[] = {Durability::kDataSync, Durability::kNone, Durability::kDataSync,
                              Durability::kDsyncWrite};
  for (size_t i = 0; i < kRequests; ++i) {
    backend_->prepare(Request(f, i * kLen, bufs[i], kinds[i % 4], 1000 + i));
  }
  EXPECT_EQ(backend_->in_flight(), kRequests);
  std::vector<Completion> out = Collect(*backend_, kRequests);
  std::map<uint64_t, int> seen;
  for (const Completion& c : out) {
    ++seen[c.tag];
    EXPECT_EQ(c.error, 0) << c.tag;
    EXPECT_EQ(c.written, kLen) << c.tag;
    EXPECT_TRUE(c.durable) << c.tag;
  }
  ASSERT_EQ(seen.size(), kRequests);
  for (size_t i = 0; i < kRequests; ++i) EXPECT_EQ(seen[1000 + i], 1) << i;
  EXPECT_EQ(backend_->in_flight(), 0u);
  for (size_t i = 0; i < kRequests; ++i) EXPECT_EQ(ReadAll(f, i * kLen, kLen), bufs[i]) << i;
  IoStats s = backend_->stats();
  EXPECT_EQ(s.requests, kRequests);
  EXPECT_EQ(s.writes, kRequests);
  EXPECT_EQ(s.syncs, kRequests / 2);
  EXPECT_EQ(s.dsync_writes, kRequests / 4);
  EXPECT_EQ(s.bytes_written, kRequests * kLen);

  // The slab is reused: a second round behaves the same.
  for (size_t i = 0; i < kRequests; ++i) {
    backend_->prepare(Request(f, i * kLen, bufs[i], Durability::kNone, i));
  }
  EXPECT_EQ(Collect(*backend_, kRequests).size(), kRequests);
}

TEST_P(KernelBackendTest, MoreSqesThanTheRingHoldsStillAllComplete) {
  // kQueueDepth write+fsync pairs fill the 2 * kQueueDepth SQ exactly; with
  // the armed wake read that is one SQE too many, so prepare() must flush.
  FileHandle f = OpenRw("full");
  std::vector<uint8_t> data = Pattern(300, 14);
  for (uint64_t i = 0; i < kQueueDepth; ++i) {
    backend_->prepare(Request(f, i * data.size(), data, Durability::kDataSync, i));
  }
  std::vector<Completion> out = Collect(*backend_, kQueueDepth);
  std::vector<int> seen(kQueueDepth, 0);
  for (const Completion& c : out) {
    ASSERT_LT(c.tag, kQueueDepth);
    ++seen[c.tag];
    EXPECT_TRUE(c.durable) << c.tag;
  }
  EXPECT_EQ(seen, std::vector<int>(kQueueDepth, 1));
  EXPECT_EQ(backend_->stats().syncs, kQueueDepth);
}

TEST_P(KernelBackendTest, MinCompleteCountsRequests) {
  FileHandle f = OpenRw("min");
  std::vector<uint8_t> data = Pattern(256, 4);
  for (uint64_t i = 0; i < 3; ++i) {
    backend_->prepare(Request(f, i * 256, data, Durability::kDataSync, i));
  }
  std::vector<Completion> out;
  ASSERT_TRUE(backend_->submit_and_wait(1, kSafetyTimeoutUs, &out).ok());
  ASSERT_GE(out.size(), 1u);
  ASSERT_LE(out.size(), 3u);
  EXPECT_EQ(backend_->in_flight(), 3u - out.size());
  // Asking for every remaining request returns each of them, whole.
  while (backend_->in_flight() > 0) {
    ASSERT_TRUE(backend_->submit_and_wait(static_cast<unsigned>(backend_->in_flight()),
                                          kSafetyTimeoutUs, &out).ok());
  }
  ASSERT_EQ(out.size(), 3u);
  uint64_t tag_mask = 0;
  for (const Completion& c : out) {
    EXPECT_TRUE(c.durable);
    tag_mask |= uint64_t{1} << c.tag;
  }
  EXPECT_EQ(tag_mask, 0b111u);

  // min_complete = 0 with nothing queued returns at once, empty.
  out.clear();
  ASSERT_TRUE(backend_->submit_and_wait(0, -1, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST_P(KernelBackendTest, TimeoutReturnsWithoutCompletions) {
  std::vector<Completion> out;
  ASSERT_TRUE(backend_->submit_and_wait(1, 20'000, &out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(backend_->submit_and_wait(1, 0, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST_P(KernelBackendTest, WakeFromAnotherThreadEndsAWait) {
  // Nothing is in flight: only wake() can end this wait.
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // likely waiting by now
    backend_->wake();
  });
  std::vector<Completion> out;
  EXPECT_TRUE(WaitEndedBeforeSafetyNet(*backend_, 1, &out)) << "wake() did not end the wait";
  waker.join();
  EXPECT_TRUE(out.empty());
}

TEST_P(KernelBackendTest, WakeBeforeWaitMakesTheNextCallReturn) {
  backend_->wake();
  backend_->wake();  // wakes coalesce
  std::vector<Completion> out;
  EXPECT_TRUE(WaitEndedBeforeSafetyNet(*backend_, 1, &out)) << "an earlier wake() was lost";
  EXPECT_TRUE(out.empty());
  // Consumed: the following call is back to waiting (here: until its timeout).
  ASSERT_TRUE(backend_->submit_and_wait(1, 10'000, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST_P(KernelBackendTest, WakeEndsAWaitForMoreThanIsInFlight) {
  FileHandle f = OpenRw("wake");
  std::vector<uint8_t> data = Pattern(128, 6);
  backend_->prepare(Request(f, 0, data, Durability::kDataSync, 1));
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    backend_->wake();
  });
  std::vector<Completion> out;
  // Two asked for, one can ever come: only wake() ends this.
  EXPECT_TRUE(WaitEndedBeforeSafetyNet(*backend_, 2, &out)) << "wake() did not end the wait";
  waker.join();
  if (out.empty()) out = Collect(*backend_, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].durable);
}

TEST_P(KernelBackendTest, BadHandleSurfacesAsRequestError) {
  constexpr FileHandle kBogus = 1'000'000;  // far above any descriptor in use
  std::vector<uint8_t> data = Pattern(64, 8);
  backend_->prepare(Request(kBogus, 0, data, Durability::kDataSync, 1));
  backend_->prepare(Request(kBogus, 0, {}, Durability::kDataSync, 2));
  backend_->prepare(Request(kBogus, 0, data, Durability::kNone, 3));
  std::vector<Completion> out = Collect(*backend_, 3);
  for (const Completion& c : out) {
    EXPECT_EQ(c.error, EBADF) << c.tag;
    EXPECT_EQ(c.written, 0u) << c.tag;
    EXPECT_FALSE(c.durable) << c.tag;
  }
  EXPECT_EQ(backend_->in_flight(), 0u);
}

// RLIMIT_FSIZE makes a write that crosses the limit come back short (the
// bytes below it are written, the rest refused) while SIGXFSZ is ignored.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t limit) {
    ::getrlimit(RLIMIT_FSIZE, &old_limit_);
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGXFSZ, &ignore, &old_action_);
    struct rlimit l = old_limit_;
    l.rlim_cur = limit;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &l) == 0;
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_limit_);
    ::sigaction(SIGXFSZ, &old_action_, nullptr);
  }
  bool ok() const { return ok_; }

 private:
  struct rlimit old_limit_ = {};
  struct sigaction old_action_ = {};
  bool ok_ = false;
};

TEST_P(KernelBackendTest, ShortWriteIsReportedNotAnError) {
  FileHandle f = OpenRw("short");
  // Far above any log file the test runner may be writing to meanwhile.
  constexpr uint64_t kLimit = uint64_t{1} << 30;
  constexpr uint64_t kBelow = 6000;
  std::vector<uint8_t> data = Pattern(8192, 12);
  std::vector<Completion> out;
  {
    FileSizeLimit limit(kLimit);
    ASSERT_TRUE(limit.ok());
    backend_->prepare(Request(f, kLimit - kBelow, data, Durability::kDataSync, 1));
    backend_->prepare(Request(f, kLimit - kBelow, data, Durability::kNone, 2));
    out = Collect(*backend_, 2);
  }
  ASSERT_EQ(out.size(), 2u);
  for (const Completion& c : out) {
    EXPECT_EQ(c.error, 0) << c.tag;  // a cancelled linked fsync is not an error
    EXPECT_EQ(c.written, kBelow) << c.tag;
    EXPECT_FALSE(c.durable) << c.tag;
  }
  EXPECT_EQ(backend_->stats().short_writes, 2u);
  EXPECT_EQ(backend_->stats().syncs, 0u);  // cancelled / skipped: never ran

  // The caller resubmits the rest, which now goes through.
  std::vector<uint8_t> rest(data.begin() + kBelow, data.end());
  backend_->prepare(Request(f, kLimit, rest, Durability::kDataSync, 3));
  Completion c = CollectOne(*backend_);
  EXPECT_EQ(c.written, rest.size());
  EXPECT_TRUE(c.durable);
  EXPECT_EQ(ReadAll(f, kLimit - kBelow, data.size()), data);
}

TEST_P(KernelBackendTest, StatsCountWhatHappened) {
  FileHandle f = OpenRw("stats");
  std::vector<uint8_t> data = Pattern(1000, 13);
  backend_->prepare(Request(f, 0, data, Durability::kNone, 1));
  backend_->prepare(Request(f, 1000, data, Durability::kDataSync, 2));
  backend_->prepare(Request(f, 2000, data, Durability::kDsyncWrite, 3));
  backend_->prepare(Request(f, 0, {}, Durability::kDataSync, 4));
  Collect(*backend_, 4);
  IoStats s = backend_->stats();
  EXPECT_EQ(s.requests, 4u);
  EXPECT_EQ(s.writes, 3u);
  EXPECT_EQ(s.syncs, 2u);
  EXPECT_EQ(s.dsync_writes, 1u);
  EXPECT_EQ(s.short_writes, 0u);
  EXPECT_EQ(s.bytes_written, 3000u);
  if (is_uring()) {
    EXPECT_GT(s.enters, 0u);
  } else {
    EXPECT_EQ(s.enters, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Kernel, KernelBackendTest, ::testing::ValuesIn(AllBackends()),
                         [](const ::testing::TestParamInfo<BackendCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------
// io_uring specifics.

const UringSetup kAllSetups[] = {UringSetup::kSingleIssuerDeferTaskrun,
                                          UringSetup::kCoopTaskrun,
                                          UringSetup::kPlain};

std::unique_ptr<UringBackend> MakeUringOrSkip(UringSetup setup) {
  auto b = UringBackend::Create(kQueueDepth, UringOptions{setup, true});
  if (!b.ok()) return nullptr;
  return std::move(b).value();
}

TEST(UringBackendTest, FallbackChainVariantsAllWork) {
  for (UringSetup setup : kAllSetups) {
    auto b = MakeUringOrSkip(setup);
    if (b == nullptr) GTEST_SKIP() << "io_uring unavailable";
    std::string flags = b->setup_flags();
    // Each start point lands on itself or a later (more conservative) entry.
    if (setup == UringSetup::kPlain) {
      EXPECT_EQ(flags, "none");
    }
    if (setup == UringSetup::kCoopTaskrun) {
      EXPECT_TRUE(flags == "COOP_TASKRUN" || flags == "none") << flags;
    }
    std::cout << "[          ] io_uring setup from variant " << static_cast<int>(setup) << ": "
              << flags << "\n";
  }
}

TEST(UringBackendTest, CreatedOnOneThreadDrivenFromAnother) {
  for (UringSetup setup : kAllSetups) {
    ScratchDir dir;
    auto b = MakeUringOrSkip(setup);
    if (b == nullptr) GTEST_SKIP() << "io_uring unavailable";
    auto f = b->open(dir / "wal", OpenOptions{.create = true});
    ASSERT_TRUE(f.ok());
    std::vector<uint8_t> data = Pattern(4096, 21);
    std::vector<Completion> out;
    std::atomic<bool> wait_started{false};
    std::thread committer([&] {
      for (uint64_t i = 0; i < 8; ++i) {
        b->prepare(Request(f.value(), i * 4096, data, Durability::kDataSync, i));
      }
      out = Collect(*b, 8);
      // Then wait for wake() from the creating thread, as the engine does.
      wait_started = true;
      std::vector<Completion> none;
      EXPECT_TRUE(WaitEndedBeforeSafetyNet(*b, 1, &none)) << "wake() did not end the wait";
      EXPECT_TRUE(none.empty());
    });
    while (!wait_started) std::this_thread::yield();
    b->wake();
    committer.join();
    ASSERT_EQ(out.size(), 8u) << b->setup_flags();
    for (const Completion& c : out) EXPECT_TRUE(c.durable) << b->setup_flags();
    for (uint64_t i = 0; i < 8; ++i) {
      std::vector<uint8_t> back(4096);
      ASSERT_EQ(b->read_at(f.value(), i * 4096, back.data(), back.size()).value(), 4096u);
      EXPECT_EQ(back, data);
    }
    EXPECT_GE(b->stats().syncs, 8u);
    EXPECT_TRUE(b->close(f.value()).ok());
  }
}

TEST(UringBackendTest, SingleIssuerRefusesASecondSubmitter) {
  auto b = MakeUringOrSkip(UringSetup::kSingleIssuerDeferTaskrun);
  if (b == nullptr) GTEST_SKIP() << "io_uring unavailable";
  if (std::string(b->setup_flags()).find("SINGLE_ISSUER") == std::string::npos) {
    GTEST_SKIP() << "kernel without SINGLE_ISSUER";
  }
  std::thread owner([&] {
    std::vector<Completion> out;
    EXPECT_TRUE(b->submit_and_wait(0, 0, &out).ok());  // enables the ring here
  });
  owner.join();
  std::vector<Completion> out;
  Status st = b->submit_and_wait(0, 0, &out);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.os_error(), EEXIST) << st.ToString();
}

TEST(UringBackendTest, DestroyWaitsForRequestsInFlight) {
  ScratchDir dir;
  std::vector<uint8_t> data = Pattern(65536, 31);
  {
    auto b = MakeUringOrSkip(UringSetup::kSingleIssuerDeferTaskrun);
    if (b == nullptr) GTEST_SKIP() << "io_uring unavailable";
    auto f = b->open(dir / "late", OpenOptions{.create = true});
    ASSERT_TRUE(f.ok());
    b->prepare(Request(f.value(), 0, data, Durability::kDataSync, 1));
    std::vector<Completion> out;
    ASSERT_TRUE(b->submit_and_wait(0, 0, &out).ok());  // submitted, maybe not done
    if (out.empty()) {
      EXPECT_EQ(b->in_flight(), 1u);
    }
  }  // destroyed with the request possibly in flight: it drains first
  std::vector<uint8_t> back(data.size());
  int fd = ::open((dir / "late").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::pread(fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  ::close(fd);
  EXPECT_EQ(back, data);
}

TEST(UringBackendTest, OneKernelEntryPerCommittedRequest) {
  ScratchDir dir;
  auto b = MakeUringOrSkip(UringSetup::kSingleIssuerDeferTaskrun);
  if (b == nullptr) GTEST_SKIP() << "io_uring unavailable";
  if (!b->skips_write_cqes()) GTEST_SKIP() << "kernel without IORING_FEAT_CQE_SKIP";
  auto f = b->open(dir / "wal", OpenOptions{.create = true});
  ASSERT_TRUE(f.ok());
  std::vector<uint8_t> data = Pattern(4096, 41);
  std::vector<Completion> out;
  ASSERT_TRUE(b->submit_and_wait(0, 0, &out).ok());  // arms the wake read
  const uint64_t before = b->stats().enters;
  constexpr int kRounds = 20;
  for (int i = 0; i < kRounds; ++i) {
    b->prepare(Request(f.value(), 0, data, Durability::kDataSync, i));
    out.clear();
    ASSERT_TRUE(b->submit_and_wait(1, kSafetyTimeoutUs, &out).ok());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].durable);
  }
  // The write posts no CQE, so submit + wait for the fsync is one syscall.
  EXPECT_EQ(b->stats().enters - before, uint64_t{kRounds});
}

TEST(UringBackendTest, RejectsBadQueueDepth) {
  EXPECT_EQ(UringBackend::Create(0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(UringBackend::Create(1u << 20).status().code(), Status::Code::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// OpenBackend

TEST(OpenBackendTest, PicksWhatIsAskedOrExplainsTheFallback) {
  std::string reason = "stale";
  auto sync = OpenBackend(BackendKind::kSync, 8, &reason);
  ASSERT_TRUE(sync.ok());
  EXPECT_STREQ(sync.value()->name(), "sync");
  EXPECT_TRUE(reason.empty());

  auto uring = OpenBackend(BackendKind::kUring, 8, &reason);
  auto autob = OpenBackend(BackendKind::kAuto, 8, &reason);
  ASSERT_TRUE(autob.ok());
  if (uring.ok()) {
    EXPECT_STREQ(uring.value()->name(), "io_uring");
    EXPECT_STREQ(autob.value()->name(), "io_uring");
    EXPECT_TRUE(reason.empty());
  } else {
    EXPECT_STREQ(autob.value()->name(), "sync");
    EXPECT_FALSE(reason.empty());
  }
  EXPECT_FALSE(OpenBackend(BackendKind::kAuto, 0, nullptr).ok());  // caller error, no fallback
}

}  // namespace
}  // namespace synap::io
