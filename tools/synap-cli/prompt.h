// The interactive prompt: `synap-cli [-h host] [-p port] [-a password]`
// with no subcommand, as redis-cli. Each line is one command, split into
// words as redis-cli splits them ("double quotes" with \n, \t, \xHH, ...
// escapes; 'single quotes' with \' only), sent as it is, and its reply
// printed as redis-cli prints it (reply_format.h).
//
// Built in: `help` (synap-server's command families), `help <family>`,
// `history`, `quit` / `exit` (or end of input). SUBSCRIBE and PSUBSCRIBE
// print messages until Ctrl-C, which then ends the prompt.
//
// On a terminal it shows "host:port> " and keeps a history of the lines
// typed: in memory (`history`) and in ~/.synap_cli_history ($SYNAP_CLI_HISTFILE
// overrides the path; an empty value turns the file off), the last
// kHistoryLines of them. Lines that carry a password (AUTH, HELLO ... AUTH)
// are not kept. Without a terminal on stdin it reads commands line by line,
// shows no prompt and keeps no history (scripts and tests).
#pragma once

#include <string>
#include <vector>

namespace synap::cli {

constexpr size_t kHistoryLines = 1000;

// Runs the prompt; returns the exit status: 0 at quit or end of input, 1 if
// it could not connect or the connection was lost.
int RunPrompt();

// Splits a line into words as redis-cli does. False (and *words unchanged)
// for unbalanced quotes or a closing quote not followed by a space.
bool SplitCommandLine(const std::string& line, std::vector<std::string>* words);

}  // namespace synap::cli
