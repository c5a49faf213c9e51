// Tests of SimBackend: the file and directory model, durability at a crash,
// tearing, the seeded async scheduler, fault injection, crash points and
// restart. Every test checks observable behaviour through the backend.
#include "engine/io/sim_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

namespace synap::io {
namespace {

using Op = SimBackend::Op;
using CrashMode = SimBackend::CrashMode;
using Bytes = std::vector<uint8_t>;

Bytes Pattern(size_t n, uint8_t salt) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + salt + 1);
  return b;
}

FileHandle Open(SimBackend& sim, const std::string& path, bool direct = false) {
  OpenOptions o;
  o.create = true;
  o.direct = direct;
  auto r = sim.open(path, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : kInvalidFile;
}

Bytes Contents(const SimBackend& sim, const std::string& path) {
  auto r = sim.contents(path);
  EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
  return r.ok() ? r.value() : Bytes{};
}

bool Exists(const SimBackend& sim, const std::string& path) { return sim.contents(path).ok(); }

void Write(SimBackend& sim, FileHandle f, uint64_t off, const Bytes& b) {
  ASSERT_TRUE(sim.write_at(f, off, b.data(), b.size()).ok());
}

// Submits everything prepared and collects completions until none is left.
std::vector<Completion> Drain(SimBackend& sim) {
  std::vector<Completion> out;
  while (sim.in_flight() > 0) {
    EXPECT_TRUE(sim.submit_and_wait(1, -1, &out).ok());
  }
  return out;
}

WriteRequest Req(FileHandle f, uint64_t off, const Bytes& b, Durability d, uint64_t tag) {
  WriteRequest r;
  r.file = f;
  r.offset = off;
  r.data = b.data();
  r.len = static_cast<uint32_t>(b.size());
  r.durability = d;
  r.tag = tag;
  return r;
}

Completion RunOne(SimBackend& sim, const WriteRequest& r) {
  sim.prepare(r);
  auto out = Drain(sim);
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? Completion{} : out[0];
}

// A fresh backend with "/d" made durable.
void MakeDurableDir(SimBackend& sim, const std::string& dir = "/d") {
  ASSERT_TRUE(sim.make_dir(dir).ok());
  ASSERT_TRUE(sim.sync_dir("/").ok());
}

// ---------------------------------------------------------------- files

TEST(SimFiles, ReadWriteSize) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  const Bytes a = Pattern(100, 1);
  Write(sim, f, 0, a);
  Write(sim, f, 200, a);  // leaves a hole [100, 200)
  EXPECT_EQ(sim.file_size(f).value(), 300u);
  Bytes buf(400, 0xEE);
  auto n = sim.read_at(f, 50, buf.data(), buf.size());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n.value(), 250u);  // short only at end of file
  EXPECT_TRUE(std::equal(a.begin() + 50, a.end(), buf.begin()));
  EXPECT_TRUE(std::all_of(buf.begin() + 50, buf.begin() + 150, [](uint8_t b) { return b == 0; }));
  EXPECT_TRUE(std::equal(a.begin(), a.end(), buf.begin() + 150));
  EXPECT_EQ(sim.read_at(f, 300, buf.data(), 10).value(), 0u);
  EXPECT_EQ(sim.read_at(f, 1000, buf.data(), 10).value(), 0u);
}

TEST(SimFiles, TruncateAndAllocate) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  Write(sim, f, 0, Pattern(100, 1));
  ASSERT_TRUE(sim.truncate(f, 40).ok());
  EXPECT_EQ(sim.file_size(f).value(), 40u);
  ASSERT_TRUE(sim.truncate(f, 80).ok());  // regrows with zeros, not old bytes
  Bytes c = Contents(sim, "/d/a");
  ASSERT_EQ(c.size(), 80u);
  EXPECT_TRUE(std::equal(c.begin(), c.begin() + 40, Pattern(40, 1).begin()));
  EXPECT_TRUE(std::all_of(c.begin() + 40, c.end(), [](uint8_t b) { return b == 0; }));

  ASSERT_TRUE(sim.allocate(f, 0, 10).ok());  // inside: nothing changes
  EXPECT_EQ(Contents(sim, "/d/a"), c);
  ASSERT_TRUE(sim.allocate(f, 64, 4096).ok());  // extends with zeros
  c = Contents(sim, "/d/a");
  ASSERT_EQ(c.size(), 4160u);
  EXPECT_TRUE(std::all_of(c.begin() + 40, c.end(), [](uint8_t b) { return b == 0; }));

  sim.set_allocate_supported(false);
  EXPECT_EQ(sim.allocate(f, 0, 8192).code(), Status::Code::kUnsupported);
  EXPECT_EQ(sim.file_size(f).value(), 4160u);
}

TEST(SimFiles, OpenErrorsAndHandles) {
  SimBackend sim;
  MakeDurableDir(sim);
  OpenOptions create;
  create.create = true;
  auto r = sim.open("/nodir/a", create);
  EXPECT_EQ(r.status().code(), Status::Code::kIoError);
  EXPECT_EQ(r.status().os_error(), ENOENT);
  EXPECT_EQ(sim.open("/d/missing", OpenOptions{}).status().os_error(), ENOENT);
  EXPECT_EQ(sim.open("/d", OpenOptions{}).status().os_error(), EISDIR);
  FileHandle f = Open(sim, "/d/a");
  OpenOptions excl = create;
  excl.exclusive = true;
  EXPECT_EQ(sim.open("/d/a", excl).status().os_error(), EEXIST);
  EXPECT_EQ(sim.open("/d/a/x", create).status().os_error(), ENOTDIR);

  OpenOptions ro;
  ro.read_only = true;
  FileHandle g = sim.open("/d/a", ro).value();
  uint8_t byte = 1;
  EXPECT_EQ(sim.write_at(g, 0, &byte, 1).os_error(), EBADF);
  EXPECT_EQ(sim.truncate(g, 0).os_error(), EBADF);
  EXPECT_TRUE(sim.sync(g).ok());

  // Handles are small ints; a closed one is invalid and not reused at once.
  EXPECT_TRUE(sim.close(f).ok());
  EXPECT_EQ(sim.close(f).os_error(), EBADF);
  EXPECT_EQ(sim.file_size(f).status().os_error(), EBADF);
  FileHandle h = Open(sim, "/d/b");
  EXPECT_NE(h, f);
  EXPECT_LT(h, 8);
  EXPECT_EQ(sim.close(kInvalidFile).os_error(), EBADF);
  EXPECT_EQ(sim.open("/d/../a", create).status().os_error(), EINVAL);
}

TEST(SimFiles, RemovedOpenFileStaysReadable) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  Write(sim, f, 0, Pattern(10, 3));
  ASSERT_TRUE(sim.remove("/d/a").ok());
  EXPECT_FALSE(Exists(sim, "/d/a"));
  Bytes buf(10);
  EXPECT_EQ(sim.read_at(f, 0, buf.data(), 10).value(), 10u);
  EXPECT_EQ(buf, Pattern(10, 3));
}

// ---------------------------------------------------------------- directories

TEST(SimDirs, MakeListRemoveRename) {
  SimBackend sim;
  ASSERT_TRUE(sim.make_dir("/a/b/c").ok());
  ASSERT_TRUE(sim.make_dir("/a/b").ok());  // exists: fine
  Open(sim, "/a/b/z");
  Open(sim, "/a/b/y");
  EXPECT_EQ(sim.list_dir("/a/b").value(), (std::vector<std::string>{"c", "y", "z"}));
  EXPECT_EQ(sim.make_dir("/a/b/z/q").os_error(), ENOTDIR);
  EXPECT_EQ(sim.list_dir("/nope").status().os_error(), ENOENT);

  EXPECT_EQ(sim.remove("/a/b").os_error(), ENOTEMPTY);
  EXPECT_EQ(sim.remove("/a/b/none").os_error(), ENOENT);
  ASSERT_TRUE(sim.remove("/a/b/c").ok());

  ASSERT_TRUE(sim.rename("/a/b/y", "/a/b/z").ok());  // replaces z
  EXPECT_EQ(sim.list_dir("/a/b").value(), (std::vector<std::string>{"z"}));
  ASSERT_TRUE(sim.rename("/a/b/z", "/a/moved").ok());
  EXPECT_EQ(sim.list_dir("/a").value(), (std::vector<std::string>{"b", "moved"}));
  EXPECT_EQ(sim.rename("/a/b", "/a/moved").os_error(), ENOTDIR);
  EXPECT_EQ(sim.rename("/a/moved", "/a/b").os_error(), EISDIR);
  EXPECT_EQ(sim.rename("/a", "/a/b/inside").os_error(), EINVAL);
  EXPECT_EQ(sim.rename("/a/none", "/a/x").os_error(), ENOENT);
}

TEST(SimDurability, CreatedFileNeedsSyncDir) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  Write(sim, f, 0, Pattern(10, 1));
  ASSERT_TRUE(sim.sync(f).ok());  // the data is durable, the name is not
  sim.crash();
  sim.restart();
  EXPECT_FALSE(Exists(sim, "/d/a"));

  f = Open(sim, "/d/a");
  Write(sim, f, 0, Pattern(10, 1));
  ASSERT_TRUE(sim.sync(f).ok());
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  sim.crash();
  sim.restart();
  EXPECT_EQ(Contents(sim, "/d/a"), Pattern(10, 1));
}

TEST(SimDurability, MadeDirIsDurableAtOnce) {
  SimBackend sim;
  ASSERT_TRUE(sim.make_dir("/x/y").ok());
  sim.restart();  // no sync_dir: make_dir fsyncs each new directory's parent
  EXPECT_EQ(sim.list_dir("/x").value(), (std::vector<std::string>{"y"}));
  // A file created inside still needs its own sync_dir.
  FileHandle f = Open(sim, "/x/y/f");
  sim.close(f);
  sim.restart();
  EXPECT_TRUE(sim.list_dir("/x/y").value().empty());
}

TEST(SimDurability, RemoveAndRenameNeedSyncDir) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  Write(sim, f, 0, Pattern(10, 1));
  ASSERT_TRUE(sim.sync(f).ok());
  ASSERT_TRUE(sim.sync_dir("/d").ok());

  ASSERT_TRUE(sim.remove("/d/a").ok());
  sim.restart();  // remove not durable: the file comes back with its data
  EXPECT_EQ(Contents(sim, "/d/a"), Pattern(10, 1));

  ASSERT_TRUE(sim.rename("/d/a", "/d/b").ok());
  sim.restart();
  EXPECT_EQ(sim.list_dir("/d").value(), (std::vector<std::string>{"a"}));

  ASSERT_TRUE(sim.rename("/d/a", "/d/b").ok());
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  sim.restart();
  EXPECT_EQ(sim.list_dir("/d").value(), (std::vector<std::string>{"b"}));
  EXPECT_EQ(Contents(sim, "/d/b"), Pattern(10, 1));

  ASSERT_TRUE(sim.remove("/d/b").ok());
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  sim.restart();
  EXPECT_TRUE(sim.list_dir("/d").value().empty());
}

TEST(SimDurability, CrossDirRenameSyncedOnlyAtTarget) {
  // The inode is reachable from both durable listings: both names survive.
  SimBackend sim;
  MakeDurableDir(sim, "/p");
  MakeDurableDir(sim, "/q");
  FileHandle f = Open(sim, "/p/a");
  Write(sim, f, 0, Pattern(8, 2));
  ASSERT_TRUE(sim.sync(f).ok());
  ASSERT_TRUE(sim.sync_dir("/p").ok());
  ASSERT_TRUE(sim.rename("/p/a", "/q/b").ok());
  ASSERT_TRUE(sim.sync_dir("/q").ok());
  sim.restart();
  EXPECT_EQ(Contents(sim, "/p/a"), Pattern(8, 2));
  EXPECT_EQ(Contents(sim, "/q/b"), Pattern(8, 2));
}

TEST(SimDurability, SyncedSurvivesUnsyncedDropped) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  Write(sim, f, 0, Pattern(1000, 1));
  ASSERT_TRUE(sim.sync(f).ok());
  Write(sim, f, 500, Pattern(1000, 2));  // overwrites and extends, unsynced
  EXPECT_EQ(sim.file_size(f).value(), 1500u);
  sim.crash();
  EXPECT_TRUE(sim.crashed());
  sim.restart();
  EXPECT_FALSE(sim.crashed());
  EXPECT_EQ(Contents(sim, "/d/a"), Pattern(1000, 1));
}

TEST(SimDurability, SizeChangesRevertUnlessSynced) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  Write(sim, f, 0, Pattern(1000, 1));
  ASSERT_TRUE(sim.sync(f).ok());
  ASSERT_TRUE(sim.truncate(f, 10).ok());
  ASSERT_TRUE(sim.allocate(f, 0, 1 << 20).ok());
  sim.restart();
  EXPECT_EQ(Contents(sim, "/d/a"), Pattern(1000, 1));

  f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.truncate(f, 10).ok());
  ASSERT_TRUE(sim.allocate(f, 0, 4096).ok());
  ASSERT_TRUE(sim.sync(f).ok());
  sim.restart();
  Bytes c = Contents(sim, "/d/a");
  ASSERT_EQ(c.size(), 4096u);
  EXPECT_TRUE(std::equal(c.begin(), c.begin() + 10, Pattern(10, 1).begin()));
  EXPECT_TRUE(std::all_of(c.begin() + 10, c.end(), [](uint8_t b) { return b == 0; }));
}

TEST(SimDurability, SyncAfterShrinkAndRegrowPersistsZeros) {
  // Exercises the incremental sync: bytes past the low-water mark come from
  // live, not from the old durable image.
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  Write(sim, f, 0, Pattern(4096, 1));
  ASSERT_TRUE(sim.sync(f).ok());
  ASSERT_TRUE(sim.truncate(f, 100).ok());
  Write(sim, f, 3000, Pattern(10, 2));
  ASSERT_TRUE(sim.sync(f).ok());
  const Bytes live = Contents(sim, "/d/a");
  sim.restart();
  EXPECT_EQ(Contents(sim, "/d/a"), live);
}

// A naive reference model (whole-file copies on sync) checked against the
// sim's incremental bookkeeping over random mixes of writes, size changes,
// syncs and dsync writes; a drop-mode crash must leave the reference's
// durable bytes exactly.
TEST(SimDurability, MatchesNaiveReferenceModel) {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SimBackend sim(seed);
    MakeDurableDir(sim);
    FileHandle f = Open(sim, "/d/a");
    ASSERT_TRUE(sim.sync_dir("/d").ok());
    Bytes live, durable;
    uint64_t x = seed * 2654435761u + 1;
    auto rnd = [&](uint64_t n) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      return (x >> 33) % n;
    };
    for (int step = 0; step < 200; ++step) {
      const uint64_t off = rnd(6000), len = 1 + rnd(1500);
      const Bytes b = Pattern(len, static_cast<uint8_t>(step));
      switch (rnd(6)) {
        case 0:
        case 1:
          Write(sim, f, off, b);
          if (off + len > live.size()) live.resize(off + len);
          std::copy(b.begin(), b.end(), live.begin() + off);
          break;
        case 2: {
          const Completion c = RunOne(sim, Req(f, off, b, Durability::kDsyncWrite, 0));
          ASSERT_TRUE(c.durable);
          if (off + len > live.size()) live.resize(off + len);
          std::copy(b.begin(), b.end(), live.begin() + off);
          if (off + len > durable.size()) durable.resize(off + len);
          std::copy(b.begin(), b.end(), durable.begin() + off);
          break;
        }
        case 3:
          ASSERT_TRUE(sim.truncate(f, off).ok());
          live.resize(off);
          break;
        case 4:
          ASSERT_TRUE(sim.allocate(f, off, len).ok());
          if (off + len > live.size()) live.resize(off + len);
          break;
        default:
          ASSERT_TRUE(sim.sync(f).ok());
          durable = live;
      }
      ASSERT_EQ(Contents(sim, "/d/a"), live) << seed << " step " << step;
    }
    sim.restart();
    ASSERT_EQ(Contents(sim, "/d/a"), durable) << seed;
  }
}

// ---------------------------------------------------------------- tearing

// Runs one seeded torn crash over 16 unsynced writes of 3 sectors each on top
// of a synced zero file, and returns the image.
Bytes TornImage(uint64_t seed) {
  SimBackend sim(seed);
  sim.set_crash_mode(CrashMode::kTornUnsynced);
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  EXPECT_TRUE(sim.sync_dir("/d").ok());
  EXPECT_TRUE(sim.allocate(f, 0, 16 * 1536).ok());
  EXPECT_TRUE(sim.sync(f).ok());
  for (int i = 0; i < 16; ++i) {
    const Bytes b(1536, static_cast<uint8_t>(i + 1));
    EXPECT_TRUE(sim.write_at(f, uint64_t(i) * 1536, b.data(), b.size()).ok());
  }
  sim.crash();
  sim.restart();
  return Contents(sim, "/d/a");
}

TEST(SimTorn, SectorGranularAndDeterministic) {
  std::set<Bytes> images;
  int dropped = 0, kept = 0, torn = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const Bytes img = TornImage(seed);
    ASSERT_EQ(img.size(), 16u * 1536);
    EXPECT_EQ(img, TornImage(seed));  // same seed, same image
    images.insert(img);
    for (int w = 0; w < 16; ++w) {
      int sectors_kept = 0;
      for (int s = 0; s < 3; ++s) {
        const size_t base = size_t(w) * 1536 + size_t(s) * 512;
        const uint8_t first = img[base];
        // Every sector is wholly old (0) or wholly new.
        EXPECT_TRUE(first == 0 || first == w + 1);
        EXPECT_TRUE(std::all_of(img.begin() + base, img.begin() + base + 512,
                                [&](uint8_t b) { return b == first; }));
        sectors_kept += first != 0;
      }
      (sectors_kept == 0 ? dropped : sectors_kept == 3 ? kept : torn)++;
    }
  }
  EXPECT_GT(images.size(), 10u);  // different seeds give different images
  EXPECT_GT(dropped, 0);
  EXPECT_GT(kept, 0);
  EXPECT_GT(torn, 0);
}

TEST(SimTorn, TearsAlignToFileOffsetsAndMayExtend) {
  // An unaligned write past the durable size: survivors are clipped at
  // 512-byte file offsets, and a kept tail extends the file.
  bool saw_extension = false;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    SimBackend sim(seed);
    sim.set_crash_mode(CrashMode::kTornUnsynced);
    MakeDurableDir(sim);
    FileHandle f = Open(sim, "/d/a");
    ASSERT_TRUE(sim.sync_dir("/d").ok());
    const Bytes b(2000, 0xAB);
    Write(sim, f, 300, b);  // sectors [300,512) [512,1024) [1024,1536) [1536,2048) [2048,2300)
    sim.restart();
    const Bytes img = Contents(sim, "/d/a");
    for (size_t i = 0; i < img.size(); ++i) {
      const size_t sector_start = std::max<size_t>(300, i / 512 * 512);
      if (i < 300) {
        ASSERT_EQ(img[i], 0) << seed;
      } else {
        ASSERT_EQ(img[i], img[sector_start]) << seed << " @" << i;
      }
    }
    saw_extension |= img.size() == 2300;
  }
  EXPECT_TRUE(saw_extension);
}

TEST(SimTorn, DropModeKeepsNothingUnsynced) {
  for (uint64_t seed = 0; seed < 5; ++seed) {
    SimBackend sim(seed);
    MakeDurableDir(sim);
    FileHandle f = Open(sim, "/d/a");
    ASSERT_TRUE(sim.sync_dir("/d").ok());
    for (int i = 0; i < 10; ++i) Write(sim, f, uint64_t(i) * 512, Bytes(512, 7));
    sim.restart();
    EXPECT_TRUE(Contents(sim, "/d/a").empty());
  }
}

// ---------------------------------------------------------------- async

TEST(SimAsync, EachTagCompletesExactlyOnce) {
  SimBackend sim(42);
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  std::vector<Bytes> bufs;
  for (int i = 0; i < 64; ++i) bufs.push_back(Pattern(100, uint8_t(i)));
  for (int i = 0; i < 64; ++i) {
    const Durability d = i % 3 == 0 ? Durability::kDataSync
                         : i % 3 == 1 ? Durability::kNone : Durability::kDsyncWrite;
    sim.prepare(Req(f, uint64_t(i) * 100, bufs[i], d, 1000 + i));
  }
  EXPECT_EQ(sim.in_flight(), 64u);
  std::map<uint64_t, int> seen;
  for (const auto& c : Drain(sim)) {
    ++seen[c.tag];
    EXPECT_EQ(c.error, 0);
    EXPECT_EQ(c.written, 100u);
  }
  EXPECT_EQ(seen.size(), 64u);
  for (const auto& [tag, n] : seen) EXPECT_EQ(n, 1) << tag;
  EXPECT_EQ(sim.in_flight(), 0u);
  EXPECT_EQ(sim.file_size(f).value(), 6400u);
  const IoStats st = sim.stats();
  EXPECT_EQ(st.requests, 64u);
  EXPECT_EQ(st.writes, 64u);
  EXPECT_EQ(st.syncs, 22u);
  EXPECT_EQ(st.dsync_writes, 21u);
  EXPECT_EQ(st.bytes_written, 6400u);
  EXPECT_EQ(st.enters, 0u);
}

// The tag order of completions for one seed, one submit_and_wait at a time.
std::vector<std::vector<uint64_t>> CompletionRounds(uint64_t seed) {
  SimBackend sim(seed);
  EXPECT_TRUE(sim.make_dir("/d").ok());
  FileHandle f = Open(sim, "/d/a");
  const Bytes b(16, 1);
  for (uint64_t i = 0; i < 16; ++i) sim.prepare(Req(f, i * 16, b, Durability::kNone, i));
  std::vector<std::vector<uint64_t>> rounds;
  while (sim.in_flight() > 0) {
    std::vector<Completion> out;
    EXPECT_TRUE(sim.submit_and_wait(1, 0, &out).ok());
    EXPECT_GE(out.size(), 1u);
    rounds.emplace_back();
    for (const auto& c : out) rounds.back().push_back(c.tag);
  }
  return rounds;
}

TEST(SimAsync, SeededPartialCompletionAndReordering) {
  bool partial = false, reordered = false;
  std::set<std::vector<std::vector<uint64_t>>> distinct;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const auto rounds = CompletionRounds(seed);
    EXPECT_EQ(rounds, CompletionRounds(seed));  // deterministic
    distinct.insert(rounds);
    partial |= rounds.size() > 1;
    std::vector<uint64_t> all;
    for (const auto& r : rounds) all.insert(all.end(), r.begin(), r.end());
    reordered |= !std::is_sorted(all.begin(), all.end());
  }
  EXPECT_TRUE(partial);
  EXPECT_TRUE(reordered);
  EXPECT_GT(distinct.size(), 10u);
}

TEST(SimAsync, MinCompleteIsHonoured) {
  SimBackend sim(7);
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  const Bytes b(8, 1);
  for (int round = 0; round < 50; ++round) {
    for (uint64_t i = 0; i < 10; ++i) sim.prepare(Req(f, i * 8, b, Durability::kNone, i));
    std::vector<Completion> out;
    ASSERT_TRUE(sim.submit_and_wait(6, 0, &out).ok());
    EXPECT_GE(out.size(), 6u);
    EXPECT_LE(out.size(), 10u);
    Drain(sim);
  }
}

TEST(SimAsync, DurabilityKindsAtCrash) {
  SimBackend sim(3);
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  const Bytes a = Pattern(100, 1), b = Pattern(100, 2), c = Pattern(100, 3);

  Completion x = RunOne(sim, Req(f, 0, a, Durability::kDataSync, 1));
  EXPECT_TRUE(x.durable);
  EXPECT_EQ(x.written, 100u);
  x = RunOne(sim, Req(f, 100, b, Durability::kNone, 2));
  EXPECT_FALSE(x.durable);
  EXPECT_EQ(x.written, 100u);
  x = RunOne(sim, Req(f, 300, c, Durability::kDsyncWrite, 3));
  EXPECT_TRUE(x.durable);
  sim.restart();
  // a durable; b lost; c durable alone, the gap before it reads as zeros.
  const Bytes img = Contents(sim, "/d/a");
  ASSERT_EQ(img.size(), 400u);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), img.begin()));
  EXPECT_TRUE(std::all_of(img.begin() + 100, img.begin() + 300, [](uint8_t v) { return v == 0; }));
  EXPECT_TRUE(std::equal(c.begin(), c.end(), img.begin() + 300));
}

TEST(SimAsync, SyncOnlyRequestMakesEarlierWritesDurable) {
  SimBackend sim(3);
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  const Bytes a = Pattern(100, 1);
  RunOne(sim, Req(f, 0, a, Durability::kNone, 1));
  WriteRequest s;
  s.file = f;
  s.durability = Durability::kDataSync;
  s.tag = 2;
  const Completion c = RunOne(sim, s);
  EXPECT_EQ(c.error, 0);
  EXPECT_EQ(c.written, 0u);
  EXPECT_TRUE(c.durable);
  EXPECT_EQ(sim.stats().syncs, 1u);
  EXPECT_EQ(sim.stats().writes, 1u);
  sim.restart();
  EXPECT_EQ(Contents(sim, "/d/a"), a);
}

TEST(SimAsync, DsyncWriteBeatsOlderUnsyncedWriteInEveryTear) {
  for (uint64_t seed = 0; seed < 30; ++seed) {
    SimBackend sim(seed);
    sim.set_crash_mode(CrashMode::kTornUnsynced);
    MakeDurableDir(sim);
    FileHandle f = Open(sim, "/d/a");
    ASSERT_TRUE(sim.sync_dir("/d").ok());
    Write(sim, f, 0, Bytes(2048, 0x11));  // unsynced, older
    const Bytes d(1024, 0x22);
    RunOne(sim, Req(f, 512, d, Durability::kDsyncWrite, 1));
    sim.restart();
    const Bytes img = Contents(sim, "/d/a");
    ASSERT_GE(img.size(), 1536u) << seed;
    EXPECT_TRUE(std::all_of(img.begin() + 512, img.begin() + 1536, [](uint8_t v) { return v == 0x22; }))
        << seed;
  }
}

TEST(SimAsync, BadHandleAndReadOnlyFailWithEbadf) {
  SimBackend sim;
  MakeDurableDir(sim);
  Open(sim, "/d/a");
  OpenOptions ro;
  ro.read_only = true;
  FileHandle r = sim.open("/d/a", ro).value();
  const Bytes b(8, 1);
  EXPECT_EQ(RunOne(sim, Req(77, 0, b, Durability::kNone, 1)).error, EBADF);
  EXPECT_EQ(RunOne(sim, Req(r, 0, b, Durability::kNone, 2)).error, EBADF);
  EXPECT_TRUE(Contents(sim, "/d/a").empty());
}

TEST(SimAsync, CloseAfterSubmitStillCompletes) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  const Bytes b = Pattern(64, 9);
  sim.prepare(Req(f, 0, b, Durability::kDataSync, 1));
  std::vector<Completion> out;
  ASSERT_TRUE(sim.submit_and_wait(0, 0, &out).ok());  // may complete none
  ASSERT_TRUE(sim.close(f).ok());
  for (const auto& c : Drain(sim)) out.push_back(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(Contents(sim, "/d/a"), b);
}

// ---------------------------------------------------------------- faults

TEST(SimFaults, ShortWrites) {
  SimBackend sim(11);
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  sim.set_short_write_probability(1.0);
  const Bytes b = Pattern(1000, 4);
  const Completion c = RunOne(sim, Req(f, 0, b, Durability::kDataSync, 5));
  EXPECT_EQ(c.tag, 5u);
  EXPECT_EQ(c.error, 0);
  EXPECT_GE(c.written, 1u);
  EXPECT_LT(c.written, 1000u);
  EXPECT_FALSE(c.durable);
  EXPECT_EQ(Contents(sim, "/d/a"), Bytes(b.begin(), b.begin() + c.written));
  EXPECT_EQ(sim.stats().short_writes, 1u);
  EXPECT_EQ(sim.stats().syncs, 0u);  // the linked sync was skipped
  EXPECT_EQ(sim.stats().bytes_written, c.written);
  sim.restart();  // and nothing of it is durable
  EXPECT_TRUE(Contents(sim, "/d/a").empty());
}

TEST(SimFaults, ShortDirectWritesStayAligned) {
  SimBackend sim(12);
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a", /*direct=*/true);
  sim.set_short_write_probability(1.0);
  alignas(4096) static uint8_t buf[4096 * 8];
  for (int i = 0; i < 20; ++i) {
    WriteRequest r;
    r.file = f;
    r.data = buf;
    r.len = sizeof(buf);
    r.durability = Durability::kDsyncWrite;
    const Completion c = RunOne(sim, r);
    EXPECT_EQ(c.error, 0);
    EXPECT_EQ(c.written % 4096, 0u);
    EXPECT_GT(c.written, 0u);
    EXPECT_LT(c.written, sizeof(buf));
    EXPECT_FALSE(c.durable);
  }
}

TEST(SimFaults, ZeroWrites) {
  SimBackend sim(13);
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  sim.set_zero_write_probability(1.0);
  const Completion c = RunOne(sim, Req(f, 0, Pattern(10, 1), Durability::kDataSync, 1));
  EXPECT_EQ(c.error, 0);
  EXPECT_EQ(c.written, 0u);
  EXPECT_FALSE(c.durable);
  EXPECT_TRUE(Contents(sim, "/d/a").empty());
}

TEST(SimFaults, InjectedAsyncWriteErrorAppliesNothing) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  sim.inject_error(Op::kWrite, EIO, 2);  // the third write fails
  const Bytes b = Pattern(10, 1);
  for (uint64_t i = 0; i < 4; ++i) {
    const Completion c = RunOne(sim, Req(f, i * 10, b, Durability::kDataSync, i));
    EXPECT_EQ(c.error, i == 2 ? EIO : 0) << i;
    EXPECT_EQ(c.durable, i != 2) << i;
  }
  const Bytes img = Contents(sim, "/d/a");
  ASSERT_EQ(img.size(), 40u);
  EXPECT_TRUE(std::all_of(img.begin() + 20, img.begin() + 30, [](uint8_t v) { return v == 0; }));
  EXPECT_TRUE(std::equal(b.begin(), b.end(), img.begin() + 30));
}

TEST(SimFaults, InjectedAsyncSyncErrorLeavesDurableImage) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  sim.inject_error(Op::kSync, ENOSPC, 0);
  const Bytes b = Pattern(10, 1);
  const Completion c = RunOne(sim, Req(f, 0, b, Durability::kDataSync, 1));
  EXPECT_EQ(c.error, ENOSPC);
  EXPECT_FALSE(c.durable);
  EXPECT_EQ(Contents(sim, "/d/a"), b);  // the write itself happened
  sim.restart();
  EXPECT_TRUE(Contents(sim, "/d/a").empty());  // but never became durable
}

TEST(SimFaults, AnyAsyncCountsBothSteps) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  sim.inject_error(Op::kAnyAsync, EIO, 1);  // write passes, its sync fails
  const Completion c = RunOne(sim, Req(f, 0, Pattern(10, 1), Durability::kDataSync, 1));
  EXPECT_EQ(c.error, EIO);
  EXPECT_EQ(sim.stats().syncs, 1u);
  EXPECT_EQ(RunOne(sim, Req(f, 0, Pattern(10, 1), Durability::kDataSync, 2)).error, 0);
}

TEST(SimFaults, InjectedSynchronousErrors) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  const Bytes b = Pattern(10, 1);

  sim.inject_error(Op::kWriteAt, ENOSPC, 0);
  Status s = sim.write_at(f, 0, b.data(), b.size());
  EXPECT_EQ(s.code(), Status::Code::kNoSpace);
  EXPECT_EQ(s.os_error(), ENOSPC);
  EXPECT_TRUE(Contents(sim, "/d/a").empty());

  Write(sim, f, 0, b);
  sim.inject_error(Op::kSyncFile, EIO, 0);
  s = sim.sync(f);
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_EQ(s.os_error(), EIO);
  sim.crash();
  sim.restart();
  EXPECT_TRUE(Contents(sim, "/d/a").empty());

  sim.inject_error(Op::kOpen, EIO, 1);
  EXPECT_TRUE(sim.open("/d/a", OpenOptions{}).ok());
  EXPECT_EQ(sim.open("/d/a", OpenOptions{}).status().os_error(), EIO);
  EXPECT_TRUE(sim.open("/d/a", OpenOptions{}).ok());

  sim.inject_error(Op::kSyncDir, EIO, 0);
  EXPECT_EQ(sim.sync_dir("/d").os_error(), EIO);
  f = Open(sim, "/d/a");
  sim.inject_error(Op::kAllocate, ENOSPC, 0);
  EXPECT_EQ(sim.allocate(f, 0, 100).code(), Status::Code::kNoSpace);
  EXPECT_EQ(sim.file_size(f).value(), 0u);
}

TEST(SimFaults, QueuedInjectionsFireInTurn) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  sim.inject_error(Op::kWriteAt, EIO, 0);
  sim.inject_error(Op::kWriteAt, ENOSPC, 0);
  uint8_t x = 1;
  EXPECT_EQ(sim.write_at(f, 0, &x, 1).os_error(), EIO);
  EXPECT_EQ(sim.write_at(f, 0, &x, 1).os_error(), ENOSPC);
  EXPECT_TRUE(sim.write_at(f, 0, &x, 1).ok());
}

TEST(SimFaults, RandomErrorsAreSeeded) {
  auto run = [](uint64_t seed) {
    SimBackend sim(seed);
    EXPECT_TRUE(sim.make_dir("/d").ok());
    FileHandle f = Open(sim, "/d/a");
    sim.set_error_probability(Op::kWrite, EIO, 0.3);
    const Bytes b(8, 1);
    std::vector<int> errors;
    for (uint64_t i = 0; i < 100; ++i) errors.push_back(RunOne(sim, Req(f, 0, b, Durability::kNone, i)).error);
    return errors;
  };
  const auto e = run(5);
  EXPECT_EQ(e, run(5));
  EXPECT_NE(e, run(6));
  const auto failures = std::count(e.begin(), e.end(), EIO);
  EXPECT_GT(failures, 10);
  EXPECT_LT(failures, 60);
  EXPECT_EQ(failures + std::count(e.begin(), e.end(), 0), 100);
}

TEST(SimFaults, FaultsDoNotPerturbScheduling) {
  // Fault draws use their own stream: the completion order is unchanged.
  auto order = [](double p) {
    SimBackend sim(99);
    EXPECT_TRUE(sim.make_dir("/d").ok());
    FileHandle f = Open(sim, "/d/a");
    sim.set_short_write_probability(p);
    const Bytes b(8, 1);
    for (uint64_t i = 0; i < 16; ++i) sim.prepare(Req(f, 0, b, Durability::kNone, i));
    std::vector<uint64_t> tags;
    for (const auto& c : Drain(sim)) tags.push_back(c.tag);
    return tags;
  };
  EXPECT_EQ(order(0.0), order(0.5));
}

// ---------------------------------------------------------------- crashes

TEST(SimCrash, EveryOperationFailsAfterCrash) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  const Bytes b(8, 1);
  sim.prepare(Req(f, 0, b, Durability::kDataSync, 1));
  sim.crash();
  const uint64_t ops = sim.ops_executed();
  uint8_t buf[8];
  OpenOptions create;
  create.create = true;
  EXPECT_EQ(sim.open("/d/b", create).status().os_error(), EIO);
  EXPECT_EQ(sim.open("/d/a", OpenOptions{}).status().os_error(), EIO);
  EXPECT_EQ(sim.write_at(f, 0, b.data(), 8).os_error(), EIO);
  EXPECT_EQ(sim.read_at(f, 0, buf, 8).status().os_error(), EIO);
  EXPECT_EQ(sim.file_size(f).status().os_error(), EIO);
  EXPECT_EQ(sim.sync(f).os_error(), EIO);
  EXPECT_EQ(sim.allocate(f, 0, 8).os_error(), EIO);
  EXPECT_EQ(sim.truncate(f, 0).os_error(), EIO);
  EXPECT_EQ(sim.close(f).os_error(), EIO);
  EXPECT_EQ(sim.make_dir("/e").os_error(), EIO);
  EXPECT_EQ(sim.sync_dir("/d").os_error(), EIO);
  EXPECT_EQ(sim.list_dir("/d").status().os_error(), EIO);
  EXPECT_EQ(sim.remove("/d/a").os_error(), EIO);
  EXPECT_EQ(sim.rename("/d/a", "/d/c").os_error(), EIO);
  // The request prepared before the crash completes with EIO, applying nothing.
  const auto out = Drain(sim);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, EIO);
  EXPECT_FALSE(out[0].durable);
  EXPECT_EQ(sim.ops_executed(), ops);
  EXPECT_TRUE(Contents(sim, "/d/a").empty());  // live state frozen, unchanged
}

TEST(SimCrash, CrashAfterLandsAtTheNthOperation) {
  // Count the ops of a run, then crash at every point and check that exactly
  // n operations ran and the data synced by then (and only it) survives.
  auto run = [](SimBackend& sim) {
    OpenOptions create;
    create.create = true;
    auto opened = sim.open("/d/a", create);  // op 1
    if (!opened.ok()) return;
    const FileHandle f = opened.value();
    if (!sim.sync_dir("/d").ok()) return;  // op 2
    for (uint8_t i = 0; i < 5; ++i) {
      const Bytes b(100, i + 1);
      if (!sim.write_at(f, i * 100u, b.data(), b.size()).ok()) return;
      if (!sim.sync(f).ok()) return;
    }
  };
  SimBackend probe;
  MakeDurableDir(probe);
  const uint64_t base = probe.ops_executed();
  run(probe);
  const uint64_t total = probe.ops_executed() - base;
  ASSERT_EQ(total, 12u);
  for (uint64_t n = 0; n <= total; ++n) {
    SimBackend sim;
    MakeDurableDir(sim);
    sim.crash_after(n);
    run(sim);
    EXPECT_EQ(sim.ops_executed() - base, n);
    EXPECT_EQ(sim.crashed(), n < total);
    sim.restart();
    // Op 2 makes the name durable; each sync (op 4, 6, ...) 100 more bytes.
    const uint64_t synced = n < 2 ? 0 : (n - 2) / 2;
    if (n < 2) {
      EXPECT_FALSE(Exists(sim, "/d/a")) << n;
      continue;
    }
    const Bytes img = Contents(sim, "/d/a");
    ASSERT_EQ(img.size(), synced * 100) << n;
    for (size_t i = 0; i < img.size(); ++i) ASSERT_EQ(img[i], i / 100 + 1) << n;
  }
}

TEST(SimCrash, CrashBetweenWriteAndLinkedSync) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  const Bytes b = Pattern(100, 1);
  sim.crash_after(1);  // the write step runs, the sync step meets the crash
  const Completion c = RunOne(sim, Req(f, 0, b, Durability::kDataSync, 1));
  EXPECT_EQ(c.error, EIO);
  EXPECT_FALSE(c.durable);
  EXPECT_TRUE(sim.crashed());
  EXPECT_EQ(Contents(sim, "/d/a"), b);  // it was written (page cache) ...
  sim.restart();
  EXPECT_TRUE(Contents(sim, "/d/a").empty());  // ... but not synced
}

TEST(SimCrash, CrashMidBatchFailsTheRestWithEio) {
  SimBackend sim(5);
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  const Bytes b(8, 1);
  for (uint64_t i = 0; i < 10; ++i) sim.prepare(Req(f, i * 8, b, Durability::kNone, i));
  sim.crash_after(4);
  std::vector<Completion> out;
  ASSERT_TRUE(sim.submit_and_wait(10, 0, &out).ok());
  ASSERT_EQ(out.size(), 10u);
  int ok = 0;
  for (const auto& c : out) ok += c.error == 0;
  EXPECT_EQ(ok, 4);
  for (size_t i = 4; i < out.size(); ++i) EXPECT_EQ(out[i].error, EIO);
  EXPECT_EQ(sim.in_flight(), 0u);
}

TEST(SimCrash, RestartClosesHandlesClearsFaultsAndRuns) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  sim.set_error_probability(Op::kWriteAt, EIO, 1.0);
  sim.set_short_write_probability(1.0);
  sim.inject_error(Op::kSyncFile, EIO, 0);
  const Bytes b = Pattern(700, 1);
  sim.prepare(Req(f, 0, b, Durability::kNone, 1));  // dropped by restart
  sim.crash();
  sim.restart();
  EXPECT_FALSE(sim.crashed());
  EXPECT_EQ(sim.in_flight(), 0u);
  EXPECT_EQ(sim.file_size(f).status().os_error(), EBADF);  // handles are gone
  f = Open(sim, "/d/a");
  Write(sim, f, 0, b);
  EXPECT_TRUE(sim.sync(f).ok());
  EXPECT_EQ(RunOne(sim, Req(f, 700, b, Durability::kDataSync, 2)).written, 700u);
  sim.restart();  // restart without crash() = power cut now
  const Bytes img = Contents(sim, "/d/a");
  ASSERT_EQ(img.size(), 1400u);
  EXPECT_TRUE(std::equal(b.begin(), b.end(), img.begin() + 700));
}

TEST(SimCrash, CorruptFlipsLiveAndDurable) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  const Bytes b = Pattern(100, 1);
  Write(sim, f, 0, b);
  ASSERT_TRUE(sim.sync(f).ok());
  ASSERT_TRUE(sim.corrupt("/d/a", 10, 0x80).ok());
  uint8_t x = 0;
  ASSERT_EQ(sim.read_at(f, 10, &x, 1).value(), 1u);
  EXPECT_EQ(x, b[10] ^ 0x80);
  sim.restart();
  EXPECT_EQ(Contents(sim, "/d/a")[10], b[10] ^ 0x80);
  EXPECT_FALSE(sim.corrupt("/d/a", 100, 1).ok());
  EXPECT_FALSE(sim.corrupt("/d/none", 0, 1).ok());
}

TEST(SimCrash, GarbageCollectionKeepsDurablyNamedFiles) {
  // Creating many files triggers collection; a removed-but-durably-named
  // file must still come back at a crash.
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/keep");
  Write(sim, f, 0, Pattern(10, 1));
  ASSERT_TRUE(sim.sync(f).ok());
  ASSERT_TRUE(sim.sync_dir("/d").ok());
  ASSERT_TRUE(sim.close(f).ok());
  ASSERT_TRUE(sim.remove("/d/keep").ok());
  for (int i = 0; i < 500; ++i) {
    const std::string p = "/d/t" + std::to_string(i);
    ASSERT_TRUE(sim.close(Open(sim, p)).ok());
    ASSERT_TRUE(sim.remove(p).ok());
  }
  sim.restart();
  EXPECT_EQ(Contents(sim, "/d/keep"), Pattern(10, 1));
  EXPECT_EQ(sim.list_dir("/d").value(), (std::vector<std::string>{"keep"}));
}

// ---------------------------------------------------------------- direct I/O

TEST(SimDirect, SupportAndAlignment) {
  SimBackend sim;
  MakeDurableDir(sim);
  sim.set_direct_supported(false);
  OpenOptions o;
  o.create = true;
  o.direct = true;
  EXPECT_EQ(sim.open("/d/a", o).status().code(), Status::Code::kUnsupported);
  sim.set_direct_supported(true);
  FileHandle f = sim.open("/d/a", o).value();
  EXPECT_EQ(sim.direct_alignment(f), 4096u);

  alignas(4096) static uint8_t buf[8192];
  auto req = [&](const uint8_t* data, uint64_t off, uint32_t len) {
    WriteRequest r;
    r.file = f;
    r.data = data;
    r.offset = off;
    r.len = len;
    r.durability = Durability::kDsyncWrite;
    return RunOne(sim, r);
  };
  EXPECT_EQ(req(buf, 0, 4096).error, 0);
  EXPECT_EQ(req(buf + 512, 0, 4096).error, EINVAL);
  EXPECT_EQ(req(buf, 100, 4096).error, EINVAL);
  EXPECT_EQ(req(buf, 0, 1000).error, EINVAL);
  EXPECT_EQ(sim.file_size(f).value(), 4096u);

  sim.set_direct_alignment(512);
  EXPECT_EQ(sim.direct_alignment(f), 512u);
  EXPECT_EQ(req(buf + 512, 512, 1024).error, 0);

  // A buffered handle on the same file has no alignment rule.
  FileHandle g = Open(sim, "/d/a");
  const Bytes b(3, 1);
  EXPECT_EQ(RunOne(sim, Req(g, 1, b, Durability::kNone, 1)).error, 0);
}

// ---------------------------------------------------------------- waiting

TEST(SimWait, WakeFromAnotherThread) {
  SimBackend sim;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    std::vector<Completion> out;
    EXPECT_TRUE(sim.submit_and_wait(1, -1, &out).ok());  // nothing in flight: blocks
    EXPECT_TRUE(out.empty());
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(returned.load());
  sim.wake();
  waiter.join();
  EXPECT_TRUE(returned.load());
}

TEST(SimWait, PendingWakeAndTimeout) {
  SimBackend sim;
  std::vector<Completion> out;
  sim.wake();  // makes the next call return at once
  EXPECT_TRUE(sim.submit_and_wait(1, -1, &out).ok());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(sim.submit_and_wait(1, 20000, &out).ok());  // times out
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(15));
  EXPECT_TRUE(out.empty());
}

TEST(SimWait, MoreThanInFlightCompletesAllThenWaits) {
  SimBackend sim;
  MakeDurableDir(sim);
  FileHandle f = Open(sim, "/d/a");
  const Bytes b(8, 1);
  for (uint64_t i = 0; i < 3; ++i) sim.prepare(Req(f, 0, b, Durability::kNone, i));
  std::vector<Completion> out;
  EXPECT_TRUE(sim.submit_and_wait(5, 1000, &out).ok());
  EXPECT_EQ(out.size(), 3u);
}

// ---------------------------------------------------------------- speed

TEST(SimSpeed, ThousandsOfSeededRunsAreFast) {
  // 1000 runs x 1000 small synced writes with a crash in each: the budget a
  // WAL crash suite needs. The assertion is loose; the log shows the time.
  const auto t0 = std::chrono::steady_clock::now();
  const Bytes b = Pattern(64, 1);
  uint64_t checked = 0;
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    SimBackend sim(seed);
    sim.set_crash_mode(CrashMode::kTornUnsynced);
    MakeDurableDir(sim);
    FileHandle f = Open(sim, "/d/a");
    ASSERT_TRUE(sim.sync_dir("/d").ok());
    sim.crash_after(1 + seed % 1500);
    for (uint64_t i = 0; i < 1000 && !sim.crashed(); ++i) {
      const Durability d = i % 4 == 3 ? Durability::kDataSync : Durability::kNone;
      sim.prepare(Req(f, i * 64, b, d, i));
      std::vector<Completion> out;
      ASSERT_TRUE(sim.submit_and_wait(1, 0, &out).ok());
    }
    Drain(sim);
    sim.restart();
    checked += Contents(sim, "/d/a").size();
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0).count();
  std::printf("1000 runs: %lld ms, %llu bytes recovered\n", static_cast<long long>(ms),
              static_cast<unsigned long long>(checked));
  EXPECT_LT(ms, 20000);
}

}  // namespace
}  // namespace synap::io
