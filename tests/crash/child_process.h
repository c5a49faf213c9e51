// A child process for the crash tests: spawned with its stdout on a pipe the
// test reads line by line, its stderr shared with the test's (so its
// complaints land in the test log). The destructor SIGKILLs and reaps a child
// still running, so a failing test leaves nothing behind.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace synap::testing {

// Where wal_crash_child is: $SYNAP_CRASH_CHILD (set by meson), else the path
// compiled in.
inline std::string CrashChildPath() {
  const char* env = std::getenv("SYNAP_CRASH_CHILD");
  if (env != nullptr && *env != '\0') return env;
#ifdef SYNAP_CRASH_CHILD
  return SYNAP_CRASH_CHILD;
#else
  return "wal_crash_child";
#endif
}

inline std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    if (out_ >= 0) ::close(out_);
  }

  // Starts argv[0] (looked up in PATH). Returns an empty string or the error.
  std::string Spawn(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe2: ") + std::strerror(errno);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      return "posix_spawnp " + argv[0] + ": " + std::strerror(rc);
    }
    pid_ = pid;
    out_ = fds[0];
    eof_ = false;
    return "";
  }

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  bool eof() const { return eof_; }

  // Waits up to timeout_ms for output; appends every complete line (without
  // its newline) to *lines. Returns false once the pipe is at end of file.
  bool ReadLines(int timeout_ms, std::vector<std::string>* lines) {
    if (eof_) return false;
    pollfd p{out_, POLLIN, 0};
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc <= 0) return true;  // timeout (or EINTR)
    char chunk[65536];
    ssize_t n = ::read(out_, chunk, sizeof chunk);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) {
      eof_ = true;
      return false;
    }
    partial_.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
      lines->push_back(partial_.substr(start, nl - start));
    partial_.erase(0, start);
    return true;
  }
  // Bytes after the last newline (a line the child never finished).
  const std::string& partial() const { return partial_; }

  // Non-blocking: true (and *status set) if the child has ended.
  bool Poll(int* status) {
    if (pid_ <= 0) return false;
    pid_t r = ::waitpid(pid_, status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      status_ = *status;
      return true;
    }
    return false;
  }
  // Blocks until the child ends; returns its wait status.
  int Wait() {
    if (pid_ > 0) {
      int st = 0;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      status_ = st;
      pid_ = -1;
    }
    return status_;
  }
  void Kill() {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool eof_ = true;
  int status_ = 0;
  std::string partial_;
};

}  // namespace synap::testing
