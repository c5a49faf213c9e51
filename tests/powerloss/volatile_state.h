// What a power cut would lose: the writes no fsync has covered yet, and the
// directory entries no directory fsync has covered yet.
//
// powerloss_fs (powerloss_fs.cc) passes everything through to a backing
// directory, which plays the disk: what is in it survives a power cut. Until
// an fsync/fdatasync of its file, a write (or a truncate or fallocate) lives
// only here, in a per-inode overlay of 4 KiB pages that reads see (page-cache
// semantics). Directory entries (create, mkdir, unlink, rmdir, rename) are
// made in the backing directory at once, and journaled here until an fsync of
// each directory they touch; a cut undoes the uncovered ones, newest first.
//
// Not thread-safe: powerloss_fs holds one mutex around every call.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace powerloss {

// One file's unsynced state. The visible content of byte x is: the overlay
// page holding x if there is one; else the backing file's byte if
// x < backing_valid; else zero. The visible size is `size`.
// Invariant: backing_valid <= size, and backing_valid <= the backing size
// at the last sync (a shrink since then invalidates what lies beyond it).
struct FileOverlay {
  int fd = -1;                    // backing file, O_RDWR, owned
  uint64_t size = 0;              // visible size
  uint64_t backing_valid = 0;     // backing bytes below this are visible
  std::map<uint64_t, std::vector<char>> pages;  // page index -> 4 KiB
  bool dirty = false;             // anything to drop or write back
  // The last unsynced write, kept whole for tearing at a cut.
  uint64_t last_off = 0;
  std::vector<char> last_data;
};

struct CutReport {
  uint64_t files = 0;          // files that lost something
  uint64_t pages = 0;          // overlay pages dropped
  uint64_t torn_sectors = 0;   // 512-byte sectors of last writes kept
  uint64_t dirops_undone = 0;  // directory operations undone
  uint64_t undo_failures = 0;  // undos the backing directory refused
};

struct Counters {
  uint64_t writes = 0, write_bytes = 0, fsyncs = 0, fdatasyncs = 0, dir_fsyncs = 0;
  uint64_t dsync_writes = 0, opens_direct = 0, opens_dsync = 0, fallocates = 0, truncates = 0, cuts = 0;
};

class VolatileState {
 public:
  // backing: the directory that plays the disk; trash: a directory on the
  // same filesystem that keeps unlinked entries until their unlink is durable.
  VolatileState(std::string backing, std::string trash);
  ~VolatileState();

  // The overlay of the backing file open at `fd` (created on first use; its
  // own fd is a dup). Errors: -errno.
  int attach(int fd, FileOverlay** out);
  // Forget any overlay of this inode: a new file took the number.
  void forget_inode(int fd);
  // Visible size of the backing inode, or -1 when it has no overlay.
  int64_t visible_size(dev_t dev, ino_t ino) const;

  int read(FileOverlay* f, char* buf, size_t size, uint64_t off, size_t* got);
  int write(FileOverlay* f, const char* buf, size_t size, uint64_t off);
  int truncate(FileOverlay* f, uint64_t size);
  int fallocate(FileOverlay* f, int mode, uint64_t off, uint64_t len);
  int sync(FileOverlay* f);  // fsync/fdatasync: write back to the backing
  // After write(): make exactly [off, off+size) durable (an O_DSYNC or
  // RWF_DSYNC write), or the whole file when the write changed its durable
  // size or lies past a pending shrink.
  int sync_range(FileOverlay* f, const char* buf, size_t size, uint64_t off);

  // Directory journal. Paths are relative to the mount root ("/a/b").
  void journal_create(const std::string& path, bool is_dir);
  int journal_remove(const std::string& path, bool is_dir);  // moves to trash
  int journal_rename(const std::string& from, const std::string& to);
  void sync_dir(const std::string& dir);
  // Trash entries whose removal a directory fsync made durable: the caller
  // deletes them, outside the lock (unlinking takes milliseconds on ext4,
  // and holding every operation meanwhile would stall the engine).
  std::vector<std::string> take_doomed() { return std::move(doomed_); }

  // The power cut: drop every overlay (tearing each file's last unsynced
  // write at a 512-byte boundary when `tear`), then undo every journaled
  // directory operation not yet covered, newest first.
  CutReport cut(bool tear, std::mt19937_64& rng);

  Counters counters;
  std::string backing_path(const std::string& path) const { return backing_ + path; }

 private:
  struct DirOp {
    enum Kind { kCreate, kMkdir, kRemove, kRename } kind;
    std::string a, b;           // path; rename: from, to
    std::string trash;          // removed or replaced entry's trash name, or ""
    std::set<std::string> pending_dirs;  // directories whose fsync it waits for
  };
  struct Key {
    dev_t dev;
    ino_t ino;
    bool operator<(const Key& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
  };
  int load_page(FileOverlay* f, uint64_t index, std::vector<char>* page);
  std::string new_trash_name();
  void undo(const DirOp& op, CutReport* r);

  std::string backing_, trash_;
  uint64_t trash_seq_ = 0;
  std::map<Key, std::unique_ptr<FileOverlay>> files_;
  std::vector<DirOp> journal_;
  std::vector<std::string> doomed_;
};

// rm -rf of a path in the backing filesystem.
void remove_tree(const std::string& path);

std::string parent_of(const std::string& path);

}  // namespace powerloss
