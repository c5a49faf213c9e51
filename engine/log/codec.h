// Per-batch compression. A batch's payload is compressed only when it is at
// least `min_bytes` long and compression saves space; otherwise it is stored
// as is and its header says Codec::kNone.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/log/format.h"

namespace synap::log {

Result<Codec> ParseCodec(const std::string& name);  // "none", "lz4", "zstd"
const char* CodecName(Codec c);

// Compresses `raw` with `codec` (level is used by zstd only) into
// out[offset...], resizing `out` to exactly offset + compressed size. Returns
// false when the result would not be smaller than `raw` (the caller then
// stores the payload raw).
bool Compress(Codec codec, int level, std::span<const uint8_t> raw, std::vector<uint8_t>* out,
              size_t offset);

// Decompresses `stored` into `out`, which must become exactly `raw_len` bytes.
// Any mismatch is Corruption.
Status Decompress(Codec codec, std::span<const uint8_t> stored, uint32_t raw_len,
                  std::vector<uint8_t>* out);

}  // namespace synap::log
