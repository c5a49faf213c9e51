// Status and Result: how every fallible engine call reports failure.
//
// A Status is either ok or carries a Code and a message. Codes are coarse on
// purpose: they map one-to-one onto the C ABI's SYNAP_E* values, so a binding
// can branch on them; the message is for people. Result<T> is a value or a
// non-ok Status. Neither throws.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace synap {

class Status {
 public:
  enum class Code : int {
    kOk = 0,
    kNotFound,         // the thing asked for does not exist (not an error for lookups)
    kInvalidArgument,  // the caller's input is wrong
    kTooLarge,         // a named limit was exceeded
    kCorruption,       // stored bytes failed validation
    kIoError,          // the OS reported an error (errno in the message)
    kNoSpace,          // ENOSPC
    kReadOnly,         // the log is poisoned after a failed write or fsync
    kLocked,           // another process holds the data directory
    kClosed,           // the object was closed
    kBusy,             // a bounded resource is full; try again later
    kUnsupported,      // the platform cannot do what was asked
    kOutOfMemory,      // allocation failed, or over a memory limit with nothing to evict
    kOutOfRange,       // a number would leave its range (an int64 increment overflows)
    kPermission,       // the configuration does not allow the operation
    kAlreadyExists,    // a create found the thing already there
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status TooLarge(std::string m) { return Status(Code::kTooLarge, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status ReadOnly(std::string m) { return Status(Code::kReadOnly, std::move(m)); }
  static Status Locked(std::string m) { return Status(Code::kLocked, std::move(m)); }
  static Status Closed(std::string m) { return Status(Code::kClosed, std::move(m)); }
  static Status Busy(std::string m) { return Status(Code::kBusy, std::move(m)); }
  static Status Unsupported(std::string m) { return Status(Code::kUnsupported, std::move(m)); }
  static Status OutOfMemory(std::string m) { return Status(Code::kOutOfMemory, std::move(m)); }
  static Status OutOfRange(std::string m) { return Status(Code::kOutOfRange, std::move(m)); }
  static Status Permission(std::string m) { return Status(Code::kPermission, std::move(m)); }
  static Status AlreadyExists(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }
  // The same status (code, errno) with "<context>: " before its message.
  Status WithContext(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_, errno_);
  }

  // An OS error: ENOSPC becomes kNoSpace, everything else kIoError. `err` is a
  // positive errno value.
  static Status FromErrno(int err, std::string_view what) {
    std::string m(what);
    m += ": ";
    m += std::strerror(err);
    return Status(err == ENOSPC ? Code::kNoSpace : Code::kIoError, std::move(m), err);
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int os_error() const { return errno_; }  // 0 unless made by FromErrno
  const std::string& message() const { return message_; }
  std::string ToString() const;

  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }

 private:
  Status(Code c, std::string m, int err = 0) : code_(c), errno_(err), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string message_;
};

const char* CodeName(Status::Code c);

inline std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

inline const char* CodeName(Status::Code c) {
  switch (c) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kNotFound: return "NotFound";
    case Status::Code::kInvalidArgument: return "InvalidArgument";
    case Status::Code::kTooLarge: return "TooLarge";
    case Status::Code::kCorruption: return "Corruption";
    case Status::Code::kIoError: return "IOError";
    case Status::Code::kNoSpace: return "NoSpace";
    case Status::Code::kReadOnly: return "ReadOnly";
    case Status::Code::kLocked: return "Locked";
    case Status::Code::kClosed: return "Closed";
    case Status::Code::kBusy: return "Busy";
    case Status::Code::kUnsupported: return "Unsupported";
    case Status::Code::kOutOfMemory: return "OutOfMemory";
    case Status::Code::kOutOfRange: return "OutOfRange";
    case Status::Code::kPermission: return "Permission";
    case Status::Code::kAlreadyExists: return "AlreadyExists";
  }
  return "Unknown";
}

// A value or the Status that explains why there is none. The Status held is
// never ok.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status s) : v_(std::move(s)) {}             // NOLINT: implicit by design
  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  T& operator*() { return std::get<0>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace synap

// Returns early from the enclosing function when `expr` is not ok.
#define SYNAP_RETURN_IF_ERROR(expr)          \
  do {                                       \
    ::synap::Status _st = (expr);            \
    if (!_st.ok()) return _st;               \
  } while (0)
