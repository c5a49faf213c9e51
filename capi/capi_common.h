// What libsynap's source files share: the handle types, the thread's
// last-error message, Status -> SYNAP_* mapping, the exception guard and
// argument checks. Private to capi/.
#pragma once

#include <synap/synap.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "engine/db/database.h"

struct synap_options {
  synap::db::DbOptions opts;
};

struct synap_db {
  std::unique_ptr<synap::db::Database> db;
};

namespace synap::capi {

using synap::Status;

// The message of the calling thread's most recent failed call (synap.cc).
extern thread_local std::string last_error;

inline int Fail(int code, std::string msg) {
  last_error = std::move(msg);
  return code;
}

inline int Code(Status::Code c) {
  switch (c) {
    case Status::Code::kOk: return SYNAP_OK;
    case Status::Code::kNotFound: return SYNAP_NOTFOUND;
    case Status::Code::kInvalidArgument: return SYNAP_EINVAL;
    case Status::Code::kTooLarge: return SYNAP_ETOOLARGE;
    case Status::Code::kCorruption: return SYNAP_ECORRUPT;
    case Status::Code::kIoError: return SYNAP_EIO;
    case Status::Code::kNoSpace: return SYNAP_ENOSPC;
    case Status::Code::kReadOnly: return SYNAP_EREADONLY;
    case Status::Code::kLocked: return SYNAP_ELOCKED;
    case Status::Code::kClosed: return SYNAP_ECLOSED;
    case Status::Code::kBusy: return SYNAP_EBUSY;
    case Status::Code::kUnsupported: return SYNAP_EUNSUPPORTED;
    case Status::Code::kOutOfMemory: return SYNAP_ENOMEM;
    case Status::Code::kOutOfRange: return SYNAP_ERANGE;
    case Status::Code::kPermission: return SYNAP_EPERM;
    case Status::Code::kAlreadyExists: return SYNAP_EEXIST;
  }
  return SYNAP_EINTERNAL;
}

// Success clears the thread's message; an error sets it.
inline int From(const Status& st) {
  if (st.ok() || st.IsNotFound()) {
    last_error.clear();
    return st.ok() ? SYNAP_OK : SYNAP_NOTFOUND;
  }
  return Fail(Code(st.code()), st.message());
}

inline int Ok(int code = SYNAP_OK) {
  last_error.clear();
  return code;
}

template <typename Fn>
inline int Guard(Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Fail(SYNAP_ENOMEM, "out of memory");
  } catch (const std::exception& e) {
    return Fail(SYNAP_EINTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return Fail(SYNAP_EINTERNAL, "internal error: unknown exception");
  }
}

#define REQUIRE(cond, what) \
  if (!(cond)) return Fail(SYNAP_EINVAL, what)

inline std::string_view View(const void* p, size_t n) { return std::string_view(static_cast<const char*>(p), n); }

// A key or value argument: NULL is allowed only with length 0.
inline bool Valid(const void* p, size_t n) { return p != nullptr || n == 0; }

// Copies bytes into a malloc'd buffer (never NULL, even for 0 bytes).
inline void* Dup(std::string_view v) {
  void* p = std::malloc(v.size() > 0 ? v.size() : 1);
  if (p == nullptr) throw std::bad_alloc();
  if (!v.empty()) std::memcpy(p, v.data(), v.size());
  return p;
}

inline int KeyList(size_t n, const void* const* keys, const size_t* klens, std::vector<std::string_view>* out) {
  REQUIRE(n == 0 || (keys != nullptr && klens != nullptr), "keys and key lengths must not be NULL");
  for (size_t i = 0; i < n; i++) {
    REQUIRE(Valid(keys[i], klens[i]), "a key pointer is NULL with a non-zero length");
    out->push_back(View(keys[i], klens[i]));
  }
  return SYNAP_OK;
}

}  // namespace synap::capi
