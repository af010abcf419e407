// Fuzz target: the rule parser and the pattern functions must be total. Whatever parses prints
// (Rule::text) to a rule that parses to the same text; any two patterns that check out give a
// coverage answer consistent with matching (a covered literal name is matched by the parent).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nitro/auth.h"

using namespace nitro;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = auth::parse_rules(text);
  if (rules.ok()) {
    for (const auto& r : *rules) {
      auto again = auth::parse_rule(r.text);
      if (!again.ok() || again->text != r.text) std::abort();
    }
  } else if (rules.status().code() != Code::kInvalidArgument) {
    std::abort();
  }
  const auto split = text.find('\n');
  if (split == std::string_view::npos) return 0;
  const auto a = text.substr(0, split), b = text.substr(split + 1);
  if (!auth::check_pattern(a).ok() || !auth::check_pattern(b).ok()) return 0;
  if (auth::pattern_covers(a, b) && b.find('*') == std::string_view::npos && b.find('>') == std::string_view::npos &&
      !auth::pattern_matches(a, b)) {
    std::abort();
  }
  if (!auth::pattern_covers(a, a)) std::abort();  // coverage is reflexive
  return 0;
}
