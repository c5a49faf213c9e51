// libsynap: synap_dump (synap.h, "Offline tools"): a data directory's log
// records as JSON lines, through engine/check/dumper.
#include "capi/capi_common.h"
#include "engine/check/dumper.h"

namespace {

using namespace synap::capi;

}  // namespace

extern "C" {

int synap_dump(const char* dir, const char* filter, synap_dump_fn fn, void* user) {
  return Guard([&] {
    REQUIRE(dir != nullptr && fn != nullptr, "dir and fn must not be NULL");
    synap::Result<synap::check::DumpFilter> f = synap::check::ParseDumpFilter(filter != nullptr ? filter : "");
    if (!f.ok()) return From(f.status());
    // The line is a std::string: NUL-terminated, as synap.h promises.
    auto sink = [&](const std::string& line) { return fn(user, line.c_str(), line.size()) == 0; };
    return From(synap::check::Dump(dir, *f, sink));
  });
}

}  // extern "C"
