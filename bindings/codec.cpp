// Embind glue for the msgpack codec: JS values <-> nitro::Value <-> bytes.
#include <cmath>

#include "bytes.h"
#include "nitro/codec.h"

namespace nitro::bind {
namespace {

constexpr std::size_t kDepthMax = codec::Limits{}.depth_max;

Result<Value> from_js(const val& v, std::size_t depth);

Result<Value> number_from_js(double d) {
  if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) <= 9007199254740991.0) {
    return Value{static_cast<std::int64_t>(d)};
  }
  return Value{d};
}

Result<Value> bigint_from_js(const val& v) {
  const std::string text = v.call<std::string>("toString");
  errno = 0;
  char* end = nullptr;
  if (!text.empty() && text[0] == '-') {
    long long i = std::strtoll(text.c_str(), &end, 10);
    if (errno || *end) return invalid_argument("bigint " + text + " is outside int64");
    return Value{static_cast<std::int64_t>(i)};
  }
  unsigned long long u = std::strtoull(text.c_str(), &end, 10);
  if (errno || *end) return invalid_argument("bigint " + text + " is outside uint64");
  return Value{static_cast<std::uint64_t>(u)};
}

Result<Value> entries_from_js(const val& entries, std::size_t depth) {
  const auto n = entries["length"].as<std::size_t>();
  Map map;
  map.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    val pair = entries[i];
    auto key = from_js(pair[0], depth + 1);
    if (!key.ok()) return key.status();
    auto item = from_js(pair[1], depth + 1);
    if (!item.ok()) return item.status();
    map.emplace_back(std::move(*key), std::move(*item));
  }
  return Value{std::move(map)};
}

Result<Value> object_from_js(const val& v, std::size_t depth) {
  static const val kArray = val::global("Array");
  static const val kObject = val::global("Object");
  static const val kMap = val::global("Map");
  static const val kUint8Array = val::global("Uint8Array");
  if (v.instanceof(kUint8Array)) return Value{bytes_from_js(v)};
  if (kArray.call<bool>("isArray", v)) {
    const auto n = v["length"].as<std::size_t>();
    Array items;
    items.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto item = from_js(v[i], depth + 1);
      if (!item.ok()) return item.status();
      items.push_back(std::move(*item));
    }
    return Value{std::move(items)};
  }
  if (v.instanceof(kMap)) return entries_from_js(kArray.call<val>("from", v), depth);
  return entries_from_js(kObject.call<val>("entries", v), depth);
}

Result<Value> from_js(const val& v, std::size_t depth) {
  if (depth > kDepthMax) return invalid_argument("value nested deeper than " + std::to_string(kDepthMax));
  const std::string type = v.typeOf().as<std::string>();
  if (type == "number") return number_from_js(v.as<double>());
  if (type == "string") return Value{v.as<std::string>()};
  if (type == "boolean") return Value{v.as<bool>()};
  if (type == "undefined" || v.isNull()) return Value{};
  if (type == "bigint") return bigint_from_js(v);
  if (type == "object") return object_from_js(v, depth);
  return invalid_argument("cannot encode a JS " + type);
}

val to_js(const Value& value);

val int_to_js(std::int64_t i) {
  if (i >= -9007199254740991LL && i <= 9007199254740991LL) return val(static_cast<double>(i));
  return val::global("BigInt")(std::to_string(i));
}

val map_to_js(const Map& map) {
  bool string_keys = true;
  for (const auto& [k, _] : map) string_keys = string_keys && k.is<std::string>();
  if (string_keys) {
    val obj = val::object();
    for (const auto& [k, v] : map) obj.set(k.as<std::string>(), to_js(v));
    return obj;
  }
  val m = val::global("Map").new_();
  for (const auto& [k, v] : map) m.call<void>("set", to_js(k), to_js(v));
  return m;
}

val to_js(const Value& value) {
  return std::visit(
      [](const auto& v) -> val {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Nil>) return val::null();
        else if constexpr (std::is_same_v<T, bool>) return val(v);
        else if constexpr (std::is_same_v<T, std::int64_t>) return int_to_js(v);
        else if constexpr (std::is_same_v<T, std::uint64_t>) return val::global("BigInt")(std::to_string(v));
        else if constexpr (std::is_same_v<T, double>) return val(v);
        else if constexpr (std::is_same_v<T, std::string>) return val(v);
        else if constexpr (std::is_same_v<T, Bytes>) return bytes_to_js(v);
        else if constexpr (std::is_same_v<T, Array>) {
          val arr = val::array();
          for (std::size_t i = 0; i < v.size(); ++i) arr.set(i, to_js(v[i]));
          return arr;
        } else {
          return map_to_js(v);
        }
      },
      value.storage());
}

val encode(const val& js_value) {
  auto value = from_js(js_value, 0);
  if (!value.ok()) return error_to_js(value.status());
  return bytes_to_js(codec::encode(*value));
}

val decode(const val& bytes) {
  auto value = codec::decode(bytes_from_js(bytes));
  if (!value.ok()) return error_to_js(value.status());
  return to_js(*value);
}

}  // namespace

// Exposed for other bindings that carry Nitro values (RPC payloads, events, CRDT values).
Result<Value> value_from_js(const val& v) { return from_js(v, 0); }
val value_to_js(const Value& v) { return to_js(v); }

}  // namespace nitro::bind

EMSCRIPTEN_BINDINGS(nitro_codec) {
  emscripten::function("codecEncode", &nitro::bind::encode);
  emscripten::function("codecDecode", &nitro::bind::decode);
}
