// The command table: each Redis command synap-server knows, by upper-case
// name, with its arity (Redis's convention: n = exactly n arguments
// counting the name, -n = at least n) and handler.
#pragma once

#include <synap/synap.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tools/synap-server/mailbox.h"
#include "tools/synap-server/resp.h"
#include "tools/synap-server/server.h"

namespace synap::server {

// Per-connection state a command may read or change.
struct Session {
  uint64_t id = 0;
  int proto = 2;
  bool authed = false;
  std::string name;
  bool close_after_reply = false;  // QUIT
  uint64_t commands = 0;
  // Pub/sub: this connection's subscriptions, each notifying the loop's
  // eventfd (notify_fd) when a message waits.
  std::map<std::string, synap_subscription*> channels, patterns;
  int notify_fd = -1;
  size_t subscriptions() const { return channels.size() + patterns.size(); }
};

// What a handler works with. A write handler that used a *_async call sets
// `ticket`: the reply is held back until that ticket is acknowledged.
struct Context {
  Server* server;
  synap_db* db;
  Session* session;
  const std::vector<std::string_view>& args;
  ReplyWriter& reply;
  synap_ticket ticket = 0;
  // For replies computed on another thread (a stream append's completion):
  // take a token from the mailbox, set deferred_token, and Post the reply.
  std::shared_ptr<Mailbox> mailbox;
  uint64_t deferred_token = 0;  // set: the reply comes through the mailbox, not `reply`
  // A blocked command (XREAD BLOCK): when its token's post arrives, the loop
  // runs `rerun` for the reply (a rerun that parks again keeps waiting, with
  // the first deadline: QCONSUME BLOCK); after block_ms
  // (> 0) without one, the reply is a null array.
  std::vector<std::string> rerun;
  int64_t block_ms = 0;
  // A parked command's registration to undo when it stops waiting (a
  // timeout, a closed connection) before its wake-up came.
  std::function<void()> cancel;
  bool empty_array_on_timeout = false;  // a timed-out park answers an empty array, not null
};

using Handler = void (*)(Context& c);

struct CommandSpec {
  const char* name;
  int arity;
  Handler handler;
  bool allowed_unauthenticated = false;
  // Writes through a *_async call: it may run while an earlier write of the
  // same connection waits for its ticket (the log orders them). Any other
  // command waits for the connection's pending writes, so it reads its own.
  bool async_write = false;
};

// Looks a command up by name (any case); nullptr if unknown.
const CommandSpec* FindCommand(std::string_view name);
size_t CommandCount();
const CommandSpec* CommandAt(size_t i);  // nullptr past the end
// Runs one parsed command and writes its reply (errors included).
void Execute(Context& c);

// Registration from each commands_*.cc file.
void AddConnectionCommands(std::vector<CommandSpec>* table);
void AddKvCommands(std::vector<CommandSpec>* table);
void AddPubSubCommands(std::vector<CommandSpec>* table);
void AddStreamCommands(std::vector<CommandSpec>* table);
void AddQueueCommands(std::vector<CommandSpec>* table);
void AddStreamGroupCommands(std::vector<CommandSpec>* table);
// Drops every subscription of a closing connection.
void UnsubscribeAll(Server* server, Session* s);
// Writes the messages waiting in s's subscriptions as push frames; stops
// once *out holds more than max_out bytes (0: never), leaving the rest in
// the subscriptions. False when one closed (its buffer overflowed: a slow
// subscriber).
bool DrainSubscriptions(Session* s, std::string* out, size_t max_out);

// The reply for a libsynap error code: "-ERR <message>" (OOM, NOPERM... where
// Redis has a prefix for it).
void ReplyError(ReplyWriter& r, int rc);
// Parses a whole base-10 int64 (as Redis: no spaces, no '+').
bool ParseInt(std::string_view s, int64_t* out);
std::string Upper(std::string_view s);
std::string Lower(std::string_view s);
// The scalar fields of libsynap's JSON (stats), flattened: "wal.durable_lsn" -> "42".
std::vector<std::pair<std::string, std::string>> FlatJson(std::string_view json);

}  // namespace synap::server
