// NATS-style resource patterns over '.'-separated tokens: `*` is one token, `>` one or more
// trailing tokens. Covering (is one pattern at least as wide as another) decides attenuation.
#include <vector>

#include "nitro/auth.h"

namespace nitro::auth {

namespace {

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

Status check_pattern(std::string_view pattern) {
  if (pattern.empty() || pattern.size() > kNameBytesMax) return invalid_argument("pattern must be 1..256 bytes");
  auto parts = split(pattern);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) return invalid_argument("pattern has an empty token: '" + std::string(pattern) + "'");
    if (parts[i] == ">" && i + 1 != parts.size()) return invalid_argument("'>' must be the last token");
  }
  return {};
}

bool pattern_covers(std::string_view parent, std::string_view child) {
  auto p = split(parent), c = split(child);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return c.size() > i;  // any one-or-more tail, wildcards included
    if (i >= c.size() || c[i] == ">") return false;
    if (p[i] == "*") continue;
    if (c[i] == "*" || c[i] != p[i]) return false;
  }
  return c.size() == p.size();
}

bool pattern_matches(std::string_view pattern, std::string_view name) { return pattern_covers(pattern, name); }

bool grant_covers(const Grant& parent, const Grant& child) {
  if (parent.op != "*" && parent.op != child.op) return false;
  return pattern_covers(parent.resource, child.resource);
}

bool grant_allows(const Grant& grant, std::string_view op, std::string_view resource) {
  return (grant.op == "*" || grant.op == op) && pattern_matches(grant.resource, resource);
}

bool is_protocol_topic(std::string_view topic) {
  for (std::string_view prefix : {"auth.", "rpc.", "doc/", "nitro", "beacon", "consensus", "chain", "signal"}) {
    if (topic.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

}  // namespace nitro::auth
