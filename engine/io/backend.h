// IoBackend: the only door between Synap and the storage device.
//
// The I/O layer moves bytes; it knows nothing of records, batches or logs.
// It offers two kinds of operation:
//
//  * synchronous file-system calls (open, read, write_at, sync, allocate,
//    truncate, directory operations), used at open, recovery and segment
//    roll, where simplicity beats overlap;
//  * asynchronous durable writes (prepare / submit_and_wait), the hot path:
//    one request = "write these bytes at this offset, then make them durable
//    by this means", answered by exactly one Completion.
//
// Three implementations: io_uring (UringBackend), pwritev+fdatasync
// (SyncBackend) and an in-memory, seeded, crash-and-fault-injecting one
// (SimBackend). OpenBackend() picks io_uring and falls back to sync with a
// logged reason.
//
// Threading: the synchronous calls and wake() are thread-safe. prepare() and
// submit_and_wait() must be called from one thread at a time (the submitter);
// io_uring rings are set up SINGLE_ISSUER for exactly that reason.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace synap::io {

// A backend-defined file handle (a file descriptor for the kernel backends).
using FileHandle = int32_t;
inline constexpr FileHandle kInvalidFile = -1;

struct OpenOptions {
  bool create = false;     // create the file if missing (O_CREAT)
  bool exclusive = false;  // with create: fail with an IOError(EEXIST) if it exists
  bool read_only = false;  // open for reading only
  bool direct = false;     // bypass the page cache (O_DIRECT); kUnsupported where refused
};

// How a write request is made durable.
enum class Durability : uint8_t {
  kNone,       // a plain write; durability must come from a later sync request
  kDataSync,   // the write, then fdatasync of the file, as one ordered chain
               // (io_uring: IOSQE_IO_LINK + IORING_FSYNC_DATASYNC)
  kDsyncWrite, // a write with RWF_DSYNC (meant for O_DIRECT files): its
               // completion is its durability, no separate fsync
};

// One asynchronous request. `len == 0` with kDataSync means "fdatasync only".
// The buffer must stay valid and unchanged until the request's Completion.
// For an O_DIRECT file, data, offset and len must be multiples of the file's
// direct_alignment().
struct WriteRequest {
  FileHandle file = kInvalidFile;
  uint64_t offset = 0;
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  Durability durability = Durability::kNone;
  uint64_t tag = 0;  // handed back untouched in the Completion
};

// The answer to one WriteRequest.
//  * error != 0: a positive errno from the write or from the sync step; the
//    request's bytes must be treated as not durable.
//  * error == 0 && written < len: a short write. Nothing of the request is
//    durable (a linked fsync was cancelled); the caller resubmits the rest.
//  * error == 0 && written == len && durable: the bytes are durable as asked
//    (for kNone: written to the file, not durable).
struct Completion {
  uint64_t tag = 0;
  int32_t error = 0;
  uint32_t written = 0;
  bool durable = false;
};

// Counters a test or a benchmark can read to see what a backend really did.
struct IoStats {
  uint64_t enters = 0;        // io_uring_enter calls (0 for other backends)
  uint64_t requests = 0;      // WriteRequests completed
  uint64_t writes = 0;        // write operations issued (including resubmits)
  uint64_t syncs = 0;         // fdatasync operations issued on the async path
  uint64_t dsync_writes = 0;  // RWF_DSYNC writes issued
  uint64_t short_writes = 0;  // writes that completed with fewer bytes
  uint64_t bytes_written = 0;
};

class IoBackend {
 public:
  virtual ~IoBackend() = default;

  // "io_uring", "sync" or "sim".
  virtual const char* name() const = 0;

  // ---- Synchronous file-system operations (thread-safe) ----
  virtual Result<FileHandle> open(const std::string& path, const OpenOptions& opts) = 0;
  virtual Status close(FileHandle f) = 0;
  virtual Result<uint64_t> file_size(FileHandle f) = 0;
  // Reads up to `len` bytes at `off`; fewer only at end of file.
  virtual Result<size_t> read_at(FileHandle f, uint64_t off, uint8_t* buf, size_t len) = 0;
  // Writes all `len` bytes at `off` (retrying short writes) or fails.
  virtual Status write_at(FileHandle f, uint64_t off, const uint8_t* buf, size_t len) = 0;
  virtual Status sync(FileHandle f) = 0;  // fdatasync
  // Reserves [off, off+len) (fallocate mode 0). kUnsupported where the
  // filesystem cannot; callers may go on without it.
  virtual Status allocate(FileHandle f, uint64_t off, uint64_t len) = 0;
  virtual Status truncate(FileHandle f, uint64_t size) = 0;
  // Alignment O_DIRECT needs for this file (statx STATX_DIOALIGN, else 4096).
  virtual uint32_t direct_alignment(FileHandle f) = 0;

  // Creates `path` if missing and takes an exclusive lock on it (flock
  // semantics), held until close() of the returned handle. Locked if any other
  // holder has it, in this process or another.
  virtual Result<FileHandle> lock_file(const std::string& path) = 0;

  // Directory operations. Creating, removing or renaming an entry is durable
  // only after sync_dir() of its parent directory.
  // Like mkdir -p (ok if it exists); every directory it creates is made
  // durable at once (each new directory's parent is fsynced).
  virtual Status make_dir(const std::string& dir) = 0;
  virtual Status sync_dir(const std::string& dir) = 0;
  virtual Result<std::vector<std::string>> list_dir(const std::string& dir) = 0;  // names, no . or ..
  virtual Status remove(const std::string& path) = 0;  // a file, or an empty directory
  virtual Status rename(const std::string& from, const std::string& to) = 0;

  // ---- Asynchronous durable writes (submitter thread only) ----
  // Queues a request; nothing reaches the device before submit_and_wait().
  virtual void prepare(const WriteRequest& req) = 0;
  // Sends every prepared request, then waits until at least `min_complete`
  // requests have completed, `timeout_us` has passed (< 0: no limit), or
  // wake() was called. Appends every completion that is ready to `out`
  // (possibly more than min_complete, possibly none after a timeout or wake).
  // A non-ok Status means the backend itself failed (not one request).
  virtual Status submit_and_wait(unsigned min_complete, int64_t timeout_us,
                                 std::vector<Completion>* out) = 0;
  // Requests prepared or submitted and not yet returned as completions.
  virtual size_t in_flight() const = 0;
  // Thread-safe: makes the current or the next submit_and_wait() return.
  virtual void wake() = 0;

  virtual IoStats stats() const = 0;
};

enum class BackendKind { kAuto, kUring, kSync };

// Opens a kernel backend. kAuto tries io_uring and, where the kernel or a
// seccomp profile refuses it, falls back to sync and says why in *reason.
// `queue_depth` bounds the requests in flight (ring size).
Result<std::unique_ptr<IoBackend>> OpenBackend(BackendKind kind, unsigned queue_depth,
                                               std::string* reason);

}  // namespace synap::io
