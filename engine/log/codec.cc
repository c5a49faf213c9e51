#include "engine/log/codec.h"

#include <lz4.h>
#include <zstd.h>

#include <memory>

namespace synap::log {

Result<Codec> ParseCodec(const std::string& name) {
  if (name == "none") return Codec::kNone;
  if (name == "lz4") return Codec::kLz4;
  if (name == "zstd") return Codec::kZstd;
  return Status::InvalidArgument("unknown codec '" + name + "' (expected none, lz4 or zstd)");
}

const char* CodecName(Codec c) {
  switch (c) {
    case Codec::kNone: return "none";
    case Codec::kLz4: return "lz4";
    case Codec::kZstd: return "zstd";
  }
  return "unknown";
}

namespace {

// One Zstd context per thread, reused batch after batch: creating one per
// call cost ~15% more CPU (bench/micro_bench.cc, BM_ZstdCompressReusedContext).
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> ctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  return ctx.get();
}

ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  return ctx.get();
}

}  // namespace

bool Compress(Codec codec, int level, std::span<const uint8_t> raw, std::vector<uint8_t>* out,
              size_t offset) {
  if (codec == Codec::kNone || raw.empty()) return false;
  // Only worth it if it saves space: cap the output at raw.size() - 1.
  size_t cap = raw.size() - 1;
  if (codec == Codec::kLz4) {
    if (raw.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) return false;
    out->resize(offset + cap);
    int n = LZ4_compress_default(reinterpret_cast<const char*>(raw.data()),
                                 reinterpret_cast<char*>(out->data() + offset),
                                 static_cast<int>(raw.size()), static_cast<int>(cap));
    if (n <= 0) return false;
    out->resize(offset + static_cast<size_t>(n));
    return true;
  }
  out->resize(offset + ZSTD_compressBound(raw.size()));
  size_t n = ZSTD_compressCCtx(ThreadCCtx(), out->data() + offset, out->size() - offset, raw.data(), raw.size(), level);
  if (ZSTD_isError(n) || n >= raw.size()) return false;
  out->resize(offset + n);
  return true;
}

Status Decompress(Codec codec, std::span<const uint8_t> stored, uint32_t raw_len,
                  std::vector<uint8_t>* out) {
  out->resize(raw_len);
  if (codec == Codec::kLz4) {
    int n = LZ4_decompress_safe(reinterpret_cast<const char*>(stored.data()),
                                reinterpret_cast<char*>(out->data()), static_cast<int>(stored.size()),
                                static_cast<int>(raw_len));
    if (n < 0 || static_cast<uint32_t>(n) != raw_len) return Status::Corruption("lz4 payload does not decode");
    return Status::Ok();
  }
  if (codec == Codec::kZstd) {
    size_t n = ZSTD_decompressDCtx(ThreadDCtx(), out->data(), raw_len, stored.data(), stored.size());
    if (ZSTD_isError(n) || n != raw_len) return Status::Corruption("zstd payload does not decode");
    return Status::Ok();
  }
  return Status::InvalidArgument("Decompress called for an uncompressed batch");
}

}  // namespace synap::log
