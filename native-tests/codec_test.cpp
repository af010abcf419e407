#include <catch2/catch.hpp>

#include <sstream>

#include "codec_values.h"
#include "nitro/codec.h"
#include "test_util.h"

using namespace nitro;
using nitro::test::from_hex;
using nitro::test::to_hex;

namespace {

Result<Value> decode_hex(const std::string& hex) { return codec::decode(from_hex(hex)); }

void require_decode_error(const Bytes& bytes) {
  auto r = codec::decode(bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kDecodeError);
}

}  // namespace

TEST_CASE("codec: golden frames encode and decode byte for byte", "[codec]") {
  auto values = test::golden_values();
  std::istringstream lines(test::read_file(test::source_path("golden/codec-frames.txt")));
  std::string name, hex;
  std::size_t checked = 0;
  while (lines >> name >> hex) {
    INFO("frame " << name);
    REQUIRE(values.count(name) == 1);
    CHECK(to_hex(codec::encode(values[name])) == hex);
    auto decoded = decode_hex(hex);
    REQUIRE(decoded.ok());
    CHECK(*decoded == values[name]);
    ++checked;
  }
  CHECK(checked == values.size());
}

TEST_CASE("codec: round trip of a large nested value", "[codec]") {
  Array items;
  for (int i = 0; i < 1000; ++i) {
    items.push_back(Value{Map{{Value{"id"}, Value{i}}, {Value{"name"}, Value{"item " + std::to_string(i)}},
                              {Value{"blob"}, Value{Bytes(i % 17, static_cast<std::uint8_t>(i))}}}});
  }
  Value v{Map{{Value{"items"}, Value{items}}, {Value{"pi"}, Value{3.14159}}}};
  auto decoded = codec::decode(codec::encode(v));
  REQUIRE(decoded.ok());
  CHECK(*decoded == v);
  REQUIRE(decoded->find("pi") != nullptr);
  CHECK(decoded->find("pi")->as<double>() == 3.14159);
}

TEST_CASE("codec: malformed frames are typed errors", "[codec]") {
  SECTION("empty") { require_decode_error({}); }
  SECTION("truncated at every position") {
    Bytes full = codec::encode(test::golden_values()["map_nested"]);
    for (std::size_t n = 0; n < full.size(); ++n) require_decode_error(Bytes(full.begin(), full.begin() + n));
  }
  SECTION("trailing bytes") { require_decode_error({0xc0, 0xc0}); }
  SECTION("reserved byte 0xc1") { require_decode_error({0xc1}); }
  SECTION("ext types are rejected") { require_decode_error({0xd4, 0x01, 0x00}); }
  SECTION("2^32-1 length claims allocate nothing") {
    require_decode_error({0xdb, 0xff, 0xff, 0xff, 0xff, 'a'});   // str32
    require_decode_error({0xc6, 0xff, 0xff, 0xff, 0xff, 0x00});  // bin32
    require_decode_error({0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0});  // array32
    require_decode_error({0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0});  // map32
    require_decode_error({0xc9, 0xff, 0xff, 0xff, 0xff, 0x01});  // ext32
  }
  SECTION("10,000-deep nesting") {
    require_decode_error(Bytes(10000, 0x91));
    Bytes deep(10000, 0x91);
    deep.push_back(0xc0);
    auto r = codec::decode(deep);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("nesting") != std::string::npos);
  }
  SECTION("limits are enforced") {
    codec::Limits small;
    small.string_bytes_max = 4;
    auto r = codec::decode(codec::encode(Value{"hello"}), small);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kDecodeError);
    small = {};
    small.frame_bytes_max = 3;
    CHECK_FALSE(codec::decode(codec::encode(Value{"hello"}), small).ok());
    small = {};
    small.collection_len_max = 2;
    CHECK_FALSE(codec::decode(codec::encode(Value{Array{Value{1}, Value{2}, Value{3}}}), small).ok());
  }
}

TEST_CASE("codec: float32 input widens, positive int64 normalizes", "[codec]") {
  auto f = decode_hex("ca3fc00000");  // float32 1.5
  REQUIRE(f.ok());
  CHECK(f->as<double>() == 1.5);
  auto u = decode_hex("cf0000000000000005");  // uint64 5 decodes equal to int 5
  REQUIRE(u.ok());
  CHECK(*u == Value{5});
}

// Vectors from Markus Kuhn's UTF-8 decoder stress test and Unicode 15 Table 3-7 (independent of
// the decoder): each is wrapped in a str header; the ill-formed ones must be refused, as
// TextDecoder('utf-8', { fatal: true }) refuses them in the JS codec.
TEST_CASE("codec: a str must be well-formed UTF-8", "[codec]") {
  auto str = [](const Bytes& body) {
    Bytes frame{static_cast<std::uint8_t>(0xa0 | body.size())};
    frame.insert(frame.end(), body.begin(), body.end());
    return frame;
  };
  const std::vector<Bytes> well_formed = {
      {},
      {0x7f},
      {0xc2, 0x80},                // U+0080
      {0xdf, 0xbf},                // U+07FF
      {0xe0, 0xa0, 0x80},          // U+0800
      {0xed, 0x9f, 0xbf},          // U+D7FF
      {0xee, 0x80, 0x80},          // U+E000
      {0xef, 0xbf, 0xbd},          // U+FFFD
      {0xef, 0xbf, 0xbf},          // U+FFFF (a noncharacter, still well-formed)
      {0xf0, 0x90, 0x80, 0x80},    // U+10000
      {0xf4, 0x8f, 0xbf, 0xbf},    // U+10FFFF
      {0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5},  // "κόσμε"
  };
  const std::vector<Bytes> ill_formed = {
      {0x80},                      // lone continuation byte
      {0xbf},
      {0xc0, 0xaf},                // overlong '/'
      {0xc1, 0xbf},                // overlong U+007F
      {0xe0, 0x80, 0xaf},          // overlong '/' in three bytes
      {0xe0, 0x9f, 0xbf},          // overlong U+07FF
      {0xf0, 0x80, 0x80, 0xaf},    // overlong '/' in four bytes
      {0xf0, 0x8f, 0xbf, 0xbf},    // overlong U+FFFF
      {0xed, 0xa0, 0x80},          // U+D800 (surrogate)
      {0xed, 0xbf, 0xbf},          // U+DFFF
      {0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80},  // a surrogate pair encoded as two (CESU-8)
      {0xf4, 0x90, 0x80, 0x80},    // U+110000
      {0xf5, 0x80, 0x80, 0x80},
      {0xf8, 0x88, 0x80, 0x80, 0x80},  // five-byte form
      {0xfe}, {0xff},
      {0xc2},                      // truncated sequences
      {0xe0, 0xa0},
      {0xf0, 0x90, 0x80},
      {0xc2, 0x41},                // a continuation byte missing before ASCII
      {0x41, 0xe2, 0x82},          // truncated at the end of the string
  };
  for (const auto& body : well_formed) {
    INFO(to_hex(body));
    auto r = codec::decode(str(body));
    REQUIRE(r.ok());
    CHECK(r->as<std::string>() == std::string(body.begin(), body.end()));
  }
  for (const auto& body : ill_formed) {
    INFO(to_hex(body));
    require_decode_error(str(body));
  }
  SECTION("as a map key too") { require_decode_error({0x81, 0xa1, 0xff, 0xc0}); }
}
