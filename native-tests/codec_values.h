// The named values of golden/codec-frames.txt. node-tests/codec.test.mjs builds the same table
// in JS; both suites check that each encodes to exactly the golden bytes and decodes back.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "nitro/value.h"

namespace nitro::test {

inline std::map<std::string, Value> golden_values() {
  std::map<std::string, Value> v;
  v["nil"] = Value{};
  v["true"] = Value{true};
  v["false"] = Value{false};
  v["zero"] = Value{0};
  v["fixint_127"] = Value{127};
  v["uint8_200"] = Value{200};
  v["uint16_65535"] = Value{65535};
  v["uint32_max"] = Value{std::int64_t{4294967295}};
  v["uint64_max"] = Value{std::numeric_limits<std::uint64_t>::max()};
  v["negfix_-32"] = Value{-32};
  v["int8_-128"] = Value{-128};
  v["int16_-32768"] = Value{-32768};
  v["int32_min"] = Value{std::int64_t{-2147483648LL}};
  v["int64_min"] = Value{std::numeric_limits<std::int64_t>::min()};
  v["float_1.5"] = Value{1.5};
  v["float_-1e300"] = Value{-1e300};
  v["str_empty"] = Value{""};
  v["str_utf8"] = Value{"h\xc3\xa9llo \xe2\x9c\x93"};
  v["str8_40"] = Value{std::string(40, 'x')};
  v["bytes_3"] = Value{Bytes{1, 2, 3}};
  v["array_mixed"] = Value{Array{Value{1}, Value{"a"}, Value{}}};
  v["map_nested"] = Value{Map{{Value{"a"}, Value{1}}, {Value{"b"}, Value{Array{Value{true}}}}}};
  v["map_empty"] = Value{Map{}};
  return v;
}

}  // namespace nitro::test
