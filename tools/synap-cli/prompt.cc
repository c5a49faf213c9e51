#include "tools/synap-cli/prompt.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "tools/synap-cli/command_failure.h"
#include "tools/synap-cli/connection.h"
#include "tools/synap-cli/reply_format.h"

namespace synap::cli {
namespace {

struct Family {
  const char* name;
  const char* summary;
  const char* commands;  // one command per line
};

// synap-server's commands by family (docs/server.md has the details).
const Family kFamilies[] = {
    {"server", "connection and server",
     "PING [message]\nECHO message\nHELLO [2|3] [AUTH user password] [SETNAME name]\nAUTH [user] password\n"
     "INFO [server|clients|memory|persistence|stats|keyspace|queues|streams|all]\nDBSIZE\n"
     "CONFIG GET pattern | CONFIG SET name value [name value ...] | CONFIG RESETSTAT\n"
     "CLIENT ID | GETNAME | SETNAME name | LIST\nCOMMAND [COUNT | INFO name | DOCS name]\n"
     "SAVE | BGSAVE | LASTSAVE\nFLUSHALL (only when the server allows it)\nSHUTDOWN\nQUIT"},
    {"kv", "keys and values",
     "GET key | MGET key [key ...] | GETDEL key | GETSET key value\n"
     "SET key value [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] [NX|XX] [GET]\nSETNX | SETEX | PSETEX | MSET | MSETNX\n"
     "DEL key [key ...] | UNLINK | EXISTS key [key ...]\nINCR | DECR | INCRBY key n | DECRBY key n\n"
     "APPEND key value | STRLEN key\nEXPIRE | PEXPIRE | EXPIREAT | PEXPIREAT key time [NX|XX|GT|LT]\n"
     "TTL | PTTL | PERSIST | TYPE key\nKEYS pattern | SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]"},
    {"queue", "Synap's durable work queues",
     "QCREATE name [MAXDEPTH n] [DEADLINE ms] [MAXRETRIES n] [DLQMAX n] [PRIORITY p] [TTL ms]\n"
     "QDELETE name | QLIST | QPURGE name\nQPUBLISH name payload [PRIORITY 0-9] [DELAY ms] [MAXRETRIES n]\n"
     "QCONSUME name [consumer] [COUNT n] [BLOCK ms]\nQACK name id [id ...]\nQNACK name id [REQUEUE 1|0]\n"
     "QSTATS [name]\nQDLQ name [COUNT n] [OFFSET n] | QDLQREQUEUE name [id] | QDLQPURGE name"},
    {"stream", "event streams (a stream key is a Synap room; entry <n+1>-0 is offset n)",
     "XADD key [NOMKSTREAM] * field value [field value ...]\nXLEN key\nXRANGE | XREVRANGE key start end [COUNT n]\n"
     "XREAD [COUNT n] [BLOCK ms] STREAMS key [key ...] id [id ...]\n"
     "XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT n]\nXINFO STREAM key [FULL [COUNT n]]"},
    {"group", "stream consumer groups",
     "XGROUP CREATE key group $|0|id [MKSTREAM] | DESTROY key group | SETID key group id\n"
     "XGROUP CREATECONSUMER | DELCONSUMER key group consumer\n"
     "XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key [key ...] >|id [...]\n"
     "XACK key group id [id ...]\nXPENDING key group [[IDLE ms] start end count [consumer]]"},
    {"pubsub", "in-memory pub/sub over Synap topics ('.' levels; in patterns * is one level, # the rest)",
     "PUBLISH topic message\nSUBSCRIBE topic [topic ...] | PSUBSCRIBE pattern [pattern ...]\n"
     "UNSUBSCRIBE | PUNSUBSCRIBE\nPUBSUB CHANNELS [pattern] | NUMSUB [topic ...] | NUMPAT"},
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void PrintHelp(const std::vector<std::string>& words) {
  if (words.size() > 1) {
    for (const Family& f : kFamilies) {
      if (Lower(words[1]) != f.name) continue;
      std::printf("%s: %s\n", f.name, f.summary);
      std::string cmds = f.commands;
      for (size_t at = 0; at < cmds.size();) {
        size_t nl = std::min(cmds.find('\n', at), cmds.size());
        std::printf("  %s\n", cmds.substr(at, nl - at).c_str());
        at = nl + 1;
      }
      return;
    }
    std::printf("no help for '%s'\n", words[1].c_str());
  }
  std::printf("synap-server's commands, by family (\"help <family>\" lists one):\n");
  for (const Family& f : kFamilies) std::printf("  %-7s %s\n", f.name, f.summary);
  std::printf("In this prompt: help, history, quit (or exit, or Ctrl-D). docs/server.md has every detail.\n");
}

// The history file's path: $SYNAP_CLI_HISTFILE, else ~/.synap_cli_history;
// "" when there is none.
std::string HistoryPath() {
  if (const char* env = std::getenv("SYNAP_CLI_HISTFILE")) return env;
  const char* home = std::getenv("HOME");
  return home != nullptr && *home != '\0' ? std::string(home) + "/.synap_cli_history" : "";
}

class History {
 public:
  History() : path_(HistoryPath()) {
    if (path_.empty()) return;
    std::ifstream in(path_);
    for (std::string line; std::getline(in, line);) Add(line);
  }

  // A line worth keeping: not blank, not a repeat of the last one, not
  // carrying a password.
  void Record(const std::vector<std::string>& words, const std::string& line) {
    std::string cmd = Lower(words[0]);
    bool secret = cmd == "auth" ||
                  (cmd == "hello" && std::any_of(words.begin(), words.end(),
                                                 [](const std::string& w) { return Lower(w) == "auth"; }));
    if (secret || (!lines_.empty() && lines_.back() == line)) return;
    Add(line);
    if (path_.empty()) return;
    std::ofstream out(path_, std::ios::app);  // at once: a killed prompt keeps what was typed
    out << line << '\n';
  }

  void Print() const {
    for (size_t i = 0; i < lines_.size(); i++) std::printf("%5zu  %s\n", i + 1, lines_[i].c_str());
  }

  // Cuts the file to the lines kept in memory (the file only grows by
  // appends while the prompt runs).
  ~History() {
    if (path_.empty() || lines_.empty()) return;
    std::ofstream out(path_, std::ios::trunc);
    for (const std::string& l : lines_) out << l << '\n';
  }

 private:
  void Add(const std::string& line) {
    lines_.push_back(line);
    if (lines_.size() > kHistoryLines) lines_.erase(lines_.begin());
  }

  std::string path_;
  std::vector<std::string> lines_;
};

// SUBSCRIBE / PSUBSCRIBE: every frame that comes, until Ctrl-C (which
// throws RespInterrupted out of Read) or the server hangs up.
void PrintMessages(RespClient& client, const std::vector<std::string>& words) {
  client.Send(words);
  std::printf("Reading messages... (press Ctrl-C to quit)\n");
  std::fflush(stdout);
  for (;;) {
    std::fputs(FormatReply(client.Read()).c_str(), stdout);
    std::fflush(stdout);
  }
}

int Prompt() {
  InstallInterruptHandler();
  std::unique_ptr<RespClient> client = ConnectToServer();
  const bool terminal = isatty(STDIN_FILENO) == 1;
  std::unique_ptr<History> history;
  if (terminal) history = std::make_unique<History>();
  for (;;) {
    if (terminal) {
      std::printf("%s> ", client->name().c_str());
      std::fflush(stdout);
    }
    std::string line;
    if (InterruptRequested() || !std::getline(std::cin, line)) break;
    std::vector<std::string> words;
    if (!SplitCommandLine(line, &words)) {
      std::printf("Invalid argument(s)\n");
      continue;
    }
    if (words.empty()) continue;
    if (history) history->Record(words, line);
    std::string cmd = Lower(words[0]);
    if (cmd == "quit" || cmd == "exit") break;
    if (cmd == "help") {
      PrintHelp(words);
    } else if (cmd == "history") {
      if (history) history->Print();
    } else if (cmd == "subscribe" || cmd == "psubscribe") {
      PrintMessages(*client, words);
    } else {
      std::fputs(FormatReply(client->Call(words)).c_str(), stdout);
    }
    std::fflush(stdout);
  }
  if (terminal) std::printf("\n");
  return kExitOk;
}

// "\xHH" at s[i] (the backslash): its byte, i moved past it.
bool HexEscape(const std::string& s, size_t* i, char* out) {
  if (*i + 3 >= s.size() || s[*i + 1] != 'x' || !std::isxdigit(static_cast<unsigned char>(s[*i + 2])) ||
      !std::isxdigit(static_cast<unsigned char>(s[*i + 3])))
    return false;
  *out = static_cast<char>(std::stoi(s.substr(*i + 2, 2), nullptr, 16));
  *i += 3;
  return true;
}

}  // namespace

bool SplitCommandLine(const std::string& line, std::vector<std::string>* words) {
  std::vector<std::string> out;
  size_t i = 0;
  auto space = [&](size_t k) { return k >= line.size() || std::isspace(static_cast<unsigned char>(line[k])); };
  for (;;) {
    while (i < line.size() && space(i)) i++;
    if (i >= line.size()) break;
    std::string w;
    if (line[i] == '"') {
      for (i++;; i++) {
        if (i >= line.size()) return false;  // unbalanced
        char c = line[i];
        if (c == '"') break;
        if (c != '\\' || i + 1 >= line.size()) {
          w += c;
          continue;
        }
        char hex;
        if (HexEscape(line, &i, &hex)) {
          w += hex;
          continue;
        }
        char e = line[++i];
        w += e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == 'b' ? '\b' : e == 'a' ? '\a' : e;
      }
      if (!space(++i)) return false;  // "foo"bar
    } else if (line[i] == '\'') {
      for (i++;; i++) {
        if (i >= line.size()) return false;
        if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '\'') {
          w += '\'';
          i++;
          continue;
        }
        if (line[i] == '\'') break;
        w += line[i];
      }
      if (!space(++i)) return false;
    } else {
      while (!space(i)) w += line[i++];
    }
    out.push_back(std::move(w));
  }
  *words = std::move(out);
  return true;
}

int RunPrompt() {
  return Guarded(Prompt)();
}

}  // namespace synap::cli
