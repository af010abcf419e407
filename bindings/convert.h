// The one conversion header of bindings/: bytes, numbers and times between JS and C++, and the
// one error convention. Conversion only — no protocol logic, wire format or validation rule lives
// in bindings/. Numbers from JS are checked, never cast: NaN, infinities, negatives, fractions
// (where an integer is required) and values beyond 2^53 - 1 are refused with INVALID_ARGUMENT.
#pragma once

#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <array>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::bind {

using emscripten::val;

inline constexpr double kSafeIntegerMax = 9007199254740991.0;  // 2^53 - 1

// A JS number that is a non-negative safe integer, else nullopt.
inline std::optional<std::uint64_t> safe_u64(double d) {
  if (!std::isfinite(d) || d < 0 || d > kSafeIntegerMax || std::trunc(d) != d) return std::nullopt;
  return static_cast<std::uint64_t>(d);
}
inline std::optional<std::uint64_t> safe_u64(const val& x) {
  if (!x.isNumber()) return std::nullopt;
  return safe_u64(x.as<double>());
}

// A time or duration in milliseconds (performance.now() scale: fractions are truncated); NaN,
// infinities and negatives give nullopt.
inline std::optional<std::uint64_t> time_ms(double d) {
  if (!std::isfinite(d) || d < 0 || d > kSafeIntegerMax) return std::nullopt;
  return static_cast<std::uint64_t>(d);
}

// The host's clock (performance.now() milliseconds, fractions truncated) for calls that cannot
// fail. It is the host's value, not user input: NaN or a negative reads as 0, beyond 2^53 - 1
// saturates — the core then sees a clock that stands still, never a wrapped one.
inline std::uint64_t host_now_ms(double d) {
  if (!std::isfinite(d) || d < 0) return d > 0 ? static_cast<std::uint64_t>(kSafeIntegerMax) : 0;
  return d > kSafeIntegerMax ? static_cast<std::uint64_t>(kSafeIntegerMax) : static_cast<std::uint64_t>(d);
}

// Errors cross the boundary as values: { __nitroError: true, code: 'DECODE_ERROR', message }.
// js/src/errors.ts `unwrap()` turns them into NitroError subclasses with the same code.
inline val error_to_js(const Status& status) {
  val e = val::object();
  e.set("__nitroError", true);
  e.set("code", std::string(code_name(status.code())));
  e.set("message", status.message());
  return e;
}
inline val error_or_null(const Status& s) { return s.ok() ? val::null() : error_to_js(s); }

// Reads obj[key] as a non-negative safe integer into `out` (absent: `out` unchanged unless
// required). The error names the field.
template <typename T>
Status read_u64_field(const val& obj, const char* key, T& out, bool required = false) {
  const val x = obj[key];
  if (x.isUndefined() || x.isNull()) {
    return required ? invalid_argument(std::string(key) + " is required") : Status::ok_status();
  }
  auto n = safe_u64(x);
  if (!n || *n > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
    return invalid_argument(std::string(key) + " must be a non-negative safe integer");
  }
  out = static_cast<T>(*n);
  return Status::ok_status();
}

// Reads obj[key] as a probability in [0, 1] (absent: `out` unchanged). The error names the field.
inline Status read_fraction_field(const val& obj, const char* key, double& out) {
  const val x = obj[key];
  if (x.isUndefined() || x.isNull()) return Status::ok_status();
  const double d = x.isNumber() ? x.as<double>() : -1;
  if (!(d >= 0 && d <= 1)) return invalid_argument(std::string(key) + " must be a number in 0..1");
  out = d;
  return Status::ok_status();
}

// Copies a JS Uint8Array (or ArrayBuffer view) into a vector with one memcpy.
inline std::vector<std::uint8_t> bytes_from_js(const val& array) {
  const auto n = array["length"].as<std::size_t>();
  std::vector<std::uint8_t> out(n);
  if (n) val(emscripten::typed_memory_view(n, out.data())).call<void>("set", array);
  return out;
}

// Exactly N bytes (a seed, a key) from a Uint8Array into `out`; anything else gives false.
template <std::size_t N>
bool bytes_into(const val& v, std::array<std::uint8_t, N>& out) {
  if (v.isUndefined() || v.isNull() || !v["length"].isNumber() || v["length"].as<double>() != static_cast<double>(N)) {
    return false;
  }
  const std::vector<std::uint8_t> b = bytes_from_js(v);
  std::memcpy(out.data(), b.data(), N);
  return true;
}

// A fresh JS Uint8Array holding a copy of `bytes` (safe after wasm memory grows).
inline val bytes_to_js(std::span<const std::uint8_t> bytes) {
  val view(emscripten::typed_memory_view(bytes.size(), bytes.data()));
  return view.call<val>("slice");
}

// A view of wasm memory (no copy): valid until the next call into the core. JS copies it once.
inline val view_to_js(std::span<const std::uint8_t> bytes) {
  return val(emscripten::typed_memory_view(bytes.size(), bytes.data()));
}

// JS value <-> nitro::Value (defined in bindings/codec.cpp): numbers that are safe integers become
// ints, other numbers float64, Uint8Array bytes, arrays, plain objects and Maps become maps.
Result<Value> value_from_js(const val& v);
val value_to_js(const Value& v);

}  // namespace nitro::bind
