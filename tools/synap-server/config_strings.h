// The quoted values of a synap-server config file, read as TOML reads
// strings. CLI11 2.1's reader takes no escape but \" and cuts a line at '#'
// even inside quotes, so a requirepass holding '\' or '#' did not survive
// --print-config and back (found by tests/fuzz/fuzz_server_config); main.cc
// lets CLI11 find the keys and takes quoted values from here.
#pragma once

#include <map>
#include <string>

namespace synap::server {

// Fills *out with "section.key" -> value for every `key = "..."` and
// `key = '...'` line of `text` (INI or TOML, with [section] lines). Basic
// strings take TOML's escapes (\\ \" \b \t \n \f \r \uXXXX \UXXXXXXXX) and
// may hold '#'; literal strings take every character as written; multi-line
// strings are left out. Returns false with *error naming the key on a
// missing closing quote or a bad escape. Thread-safe (no shared state).
bool ReadQuotedValues(const std::string& text, std::map<std::string, std::string>* out, std::string* error);

}  // namespace synap::server
