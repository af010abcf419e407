// The rule language: `allow|deny <op|*> <resource pattern> <who>`, one rule per line.
#include <algorithm>
#include <sstream>

#include "nitro/auth.h"

namespace nitro::auth {

namespace {

std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ' ' || c == '\t' || c == '\r') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool known_op(std::string_view op) {
  if (op == "*") return true;
  return std::any_of(kOps.begin(), kOps.end(), [&](const char* o) { return op == o; });
}

Status parse_who(const std::string& who, Rule& r) {
  if (who == "any" || who == "*") {
    r.who = Rule::Who::kAny;
  } else if (who == "grant") {
    r.who = Rule::Who::kGrant;
  } else if (who.rfind("peer:", 0) == 0) {
    auto id = PeerId::parse(std::string_view(who).substr(5));
    if (!id.ok()) return invalid_argument("rule: bad peer id in '" + who + "'");
    r.who = Rule::Who::kPeer;
    r.peer = *id;
  } else if (who.rfind("role:", 0) == 0) {
    r.who = Rule::Who::kRole;
    r.role = who.substr(5);
    NITRO_TRY(check_pattern(r.role));
  } else {
    return invalid_argument("rule: who must be any, grant, peer:<id> or role:<role>, not '" + who + "'");
  }
  return {};
}

}  // namespace

Result<Rule> parse_rule(std::string_view line) {
  if (line.size() > kRuleBytesMax) return invalid_argument("rule: longer than 1024 bytes");
  auto w = words(line);
  if (w.size() != 4) return invalid_argument("rule: expected 'allow|deny <op> <pattern> <who>'");
  Rule r;
  if (w[0] != "allow" && w[0] != "deny") return invalid_argument("rule: must start with allow or deny");
  r.allow = w[0] == "allow";
  if (!known_op(w[1])) return invalid_argument("rule: unknown operation '" + w[1] + "'");
  r.op = w[1];
  NITRO_TRY(check_pattern(w[2]));
  r.resource = w[2];
  NITRO_TRY(parse_who(w[3], r));
  r.text = w[0] + " " + w[1] + " " + w[2] + " " + w[3];
  return r;
}

Result<std::vector<Rule>> parse_rules(std::string_view text) {
  std::vector<Rule> out;
  std::size_t line_no = 0, start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (words(line).empty()) continue;
    auto r = parse_rule(line);
    if (!r.ok()) return invalid_argument("line " + std::to_string(line_no) + ": " + r.status().message());
    if (out.size() >= kRulesMax) return invalid_argument("too many rules");
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace nitro::auth
