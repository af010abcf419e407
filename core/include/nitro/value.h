// A Nitro value: the data model every frame, RPC payload and event carries. It mirrors msgpack:
// nil, bool, int64/uint64, float64, string, bytes, array and map (keys of any type, in order).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace nitro {

struct Nil {
  bool operator==(const Nil&) const = default;
};
class Value;
using Bytes = std::vector<std::uint8_t>;
using Array = std::vector<Value>;
using Map = std::vector<std::pair<Value, Value>>;

class Value {
 public:
  using Storage = std::variant<Nil, bool, std::int64_t, std::uint64_t, double, std::string, Bytes, Array, Map>;

  Value() = default;
  Value(Nil) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(std::int64_t{i}) {}
  Value(std::int64_t i) : v_(i) {}
  // Unsigned values that fit int64 are stored as int64 so equal numbers compare equal.
  Value(std::uint64_t u) {
    if (u <= static_cast<std::uint64_t>(INT64_MAX)) v_ = static_cast<std::int64_t>(u); else v_ = u;
  }
  Value(double d) : v_(d) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(Bytes b) : v_(std::move(b)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Map m) : v_(std::move(m)) {}

  template <typename T> bool is() const { return std::holds_alternative<T>(v_); }
  template <typename T> const T& as() const { return std::get<T>(v_); }
  template <typename T> T& as() { return std::get<T>(v_); }
  bool is_nil() const { return is<Nil>(); }
  const Storage& storage() const { return v_; }

  // Map lookup by string key; nullptr when absent or when this is not a map.
  const Value* find(std::string_view key) const;

  bool operator==(const Value& other) const { return v_ == other.v_; }

 private:
  Storage v_;
};

}  // namespace nitro
