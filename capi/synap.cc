// libsynap: the C ABI over the engine. No C++ exception may cross this
// boundary (synap.h's conventions): an entry point that can throw catches
// everything and turns it into a result code.
#include <synap/synap.h>

#include <cstdlib>
#include <string>

namespace {

// The message of the calling thread's most recent failed call. No call can
// fail yet; the first fallible entry point (the engine's open, with the
// KV issue) maps Status codes onto SYNAP_E* and sets it.
thread_local std::string last_error;

}  // namespace

extern "C" {

int synap_version_number(void) { return SYNAP_VERSION_NUMBER; }

const char* synap_version_string(void) { return SYNAP_VERSION_STRING; }

const char* synap_strerror(int code) {
  switch (code) {
    case SYNAP_OK: return "ok";
    case SYNAP_NOTFOUND: return "not found";
    case SYNAP_EINVAL: return "invalid argument";
    case SYNAP_ETOOLARGE: return "a limit was exceeded";
    case SYNAP_ECORRUPT: return "stored data is corrupt";
    case SYNAP_EIO: return "I/O error";
    case SYNAP_ENOSPC: return "no space left on device";
    case SYNAP_EREADONLY: return "read-only after a failed write or fsync";
    case SYNAP_ELOCKED: return "the data directory is locked by another process";
    case SYNAP_ECLOSED: return "the handle is closed";
    case SYNAP_EBUSY: return "busy: a bounded resource is full";
    case SYNAP_EUNSUPPORTED: return "unsupported";
    case SYNAP_ENOMEM: return "out of memory";
    case SYNAP_EINTERNAL: return "internal error";
    default: return "unknown result code";
  }
}

const char* synap_last_error(void) { return last_error.c_str(); }

void synap_free(void* ptr) { std::free(ptr); }

}  // extern "C"
