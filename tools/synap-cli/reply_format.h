// Replies printed the way redis-cli prints them on a terminal: (integer) 1,
// "bulk" (quoted, with escapes), OK for a status, (nil), (error) ERR ...,
// numbered lists ("1) ...") with nested lists indented under their number,
// maps as "1# key => value", sets as "1~ ...", (double) 1.5, (true),
// (big number) ..., and verbatim strings (INFO) as their plain text.
#pragma once

#include <string>
#include <string_view>

#include "tools/synap-cli/resp_client.h"

namespace synap::cli {

// The reply as text, ending in a newline.
std::string FormatReply(const RespReply& reply);

// A bulk string as redis-cli quotes it: "..." with \\, \", \n, \r, \t, \a,
// \b and \xHH for other bytes outside printable ASCII.
std::string QuoteBulk(std::string_view s);

}  // namespace synap::cli
