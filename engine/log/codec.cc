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

namespace {

// LZ4's densest encoding: one byte of a match length extension stands for
// 255 output bytes, so no block decodes to more than 255 bytes per stored
// byte (plus a constant for the last sequence).
constexpr uint64_t kLz4MaxRatio = 255;
constexpr uint64_t kLz4Slack = 64;

// Whether `stored` can decode to exactly raw_len bytes, checked before
// anything is allocated: raw_len comes from the header, and a header with
// valid hashes but a huge raw_len (a hostile or buggy file) must not make
// every reader allocate up to 4 GiB (found by tests/fuzz/fuzz_log_batch).
// Compress() writes every zstd frame with its content size, so a frame
// without one, or with another one, was not written by Synap.
Status CheckRawLength(Codec codec, std::span<const uint8_t> stored, uint32_t raw_len) {
  if (codec == Codec::kLz4) {
    if (raw_len > stored.size() * kLz4MaxRatio + kLz4Slack)
      return Status::Corruption("lz4 payload of " + std::to_string(stored.size()) + " bytes cannot decode to " +
                                std::to_string(raw_len));
    return Status::Ok();
  }
  unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (size != raw_len)
    return Status::Corruption("zstd frame content size does not match the raw length " + std::to_string(raw_len));
  return Status::Ok();
}

}  // namespace

Status Decompress(Codec codec, std::span<const uint8_t> stored, uint32_t raw_len,
                  std::vector<uint8_t>* out) {
  if (codec != Codec::kLz4 && codec != Codec::kZstd)
    return Status::InvalidArgument("Decompress called for an uncompressed batch");
  SYNAP_RETURN_IF_ERROR(CheckRawLength(codec, stored, raw_len));
  out->resize(raw_len);
  if (codec == Codec::kLz4) {
    int n = LZ4_decompress_safe(reinterpret_cast<const char*>(stored.data()),
                                reinterpret_cast<char*>(out->data()), static_cast<int>(stored.size()),
                                static_cast<int>(raw_len));
    if (n < 0 || static_cast<uint32_t>(n) != raw_len) return Status::Corruption("lz4 payload does not decode");
    return Status::Ok();
  }
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), out->data(), raw_len, stored.data(), stored.size());
  if (ZSTD_isError(n) || n != raw_len) return Status::Corruption("zstd payload does not decode");
  return Status::Ok();
}

}  // namespace synap::log
