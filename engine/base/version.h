// The engine's version, as the C ABI reports it (capi checks at compile
// time that synap.h's SYNAP_VERSION_STRING says the same).
#pragma once

namespace synap {

inline constexpr const char kVersion[] = "0.3.0";

}  // namespace synap
