#include "engine/check/backup.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

namespace synap::check {

namespace {

constexpr size_t kChunk = 1u << 20;

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Status Backup::CheckTarget(const std::string& dir, const std::string& data_root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path backup = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  fs::path root = fs::weakly_canonical(fs::absolute(data_root, ec), ec);
  if (ec) return Status::InvalidArgument("cannot resolve " + dir + " or " + data_root + ": " + ec.message());
  std::string b = backup.string(), r = root.string();
  if (b == r || (b.size() > r.size() && b.compare(0, r.size(), r) == 0 && b[r.size()] == '/'))
    return Status::InvalidArgument("the backup directory " + dir + " lies inside the data directory " + data_root +
                                   ": choose one outside it");
  fs::file_status st = fs::status(backup, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) return Status::FromErrno(ec.value(), "stat " + dir);
  if (!fs::exists(st)) return Status::Ok();
  if (!fs::is_directory(st)) return Status::AlreadyExists("the backup path " + dir + " exists and is not a directory");
  if (!fs::is_empty(backup, ec) || ec)
    return Status::AlreadyExists("the backup directory " + dir + " exists and is not empty: choose another");
  return Status::Ok();
}

Result<io::FileHandle> Backup::Create(const std::string& rel) {
  std::string path = dir_ + "/" + rel;
  std::string parent = Parent(path);
  SYNAP_RETURN_IF_ERROR(io_->make_dir(parent));  // fsyncs the parent of each level it creates
  dirs_.insert(parent);
  io::OpenOptions oo;
  oo.create = true;
  oo.exclusive = true;  // a backup never overwrites anything
  return io_->open(path, oo);
}

Status Backup::CopyRange(const std::string& src, uint64_t from, uint64_t to, const std::string& rel) {
  io::OpenOptions ro;
  ro.read_only = true;
  Result<io::FileHandle> in = io_->open(src, ro);
  if (!in.ok()) return in.status();
  Result<io::FileHandle> out = Create(rel);
  if (!out.ok()) {
    io_->close(*in);
    return out.status();
  }
  std::vector<uint8_t> buf(kChunk);
  Status st;
  for (uint64_t pos = from; st.ok() && pos < to;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, to - pos));
    Result<size_t> n = io_->read_at(*in, pos, buf.data(), want);
    if (!n.ok()) {
      st = n.status();
    } else if (*n != want) {
      st = Status::FromErrno(EIO, src + ": the file shrank while being backed up");
    } else if (std::any_of(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(want), [](uint8_t c) { return c != 0; })) {
      st = io_->write_at(*out, pos - from, buf.data(), want);
    }
    pos += want;
  }
  if (st.ok()) st = io_->truncate(*out, to - from);  // the size, holes included
  if (st.ok()) st = io_->sync(*out);
  io_->close(*out);
  io_->close(*in);
  return st;
}

Status Backup::WriteFile(const std::string& rel, std::string_view bytes) {
  Result<io::FileHandle> out = Create(rel);
  if (!out.ok()) return out.status();
  Status st = io_->write_at(*out, 0, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (st.ok()) st = io_->sync(*out);
  io_->close(*out);
  return st;
}

Status Backup::Sync() {
  for (const std::string& d : dirs_) SYNAP_RETURN_IF_ERROR(io_->sync_dir(d));
  return io_->sync_dir(Parent(dir_));
}

}  // namespace synap::check
