#include <catch2/catch.hpp>
#include "nitro/crdt.h"
using namespace nitro;
TEST_CASE("crdt: smoke", "[crdt]") {
  crdt::Doc a(1), b(2);
  auto t = a.get_text("t");
  REQUIRE(t.insert(0, "hello").ok());
  REQUIRE(t.insert(5, " world").ok());
  REQUIRE(t.erase(0, 1).ok());
  CHECK(t.to_string() == "ello world");
  REQUIRE(b.apply_update(a.encode_state()).ok());
  CHECK(b.get_text("t").to_string() == "ello world");
}
