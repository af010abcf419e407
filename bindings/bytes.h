// Shared embind glue helpers: bytes across the boundary and errors as values.
// Glue only — no protocol logic lives in bindings/.
#pragma once

#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <span>
#include <vector>

#include "nitro/status.h"

namespace nitro::bind {

using emscripten::val;

// Copies a JS Uint8Array (or ArrayBuffer view) into a vector with one memcpy.
inline std::vector<std::uint8_t> bytes_from_js(const val& array) {
  const auto n = array["length"].as<std::size_t>();
  std::vector<std::uint8_t> out(n);
  if (n) val(emscripten::typed_memory_view(n, out.data())).call<void>("set", array);
  return out;
}

// A fresh JS Uint8Array holding a copy of `bytes` (safe after wasm memory grows).
inline val bytes_to_js(std::span<const std::uint8_t> bytes) {
  val view(emscripten::typed_memory_view(bytes.size(), bytes.data()));
  return view.call<val>("slice");
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

}  // namespace nitro::bind

#include "nitro/value.h"

namespace nitro::bind {
// JS value <-> nitro::Value (defined in bindings/codec.cpp): numbers that are safe integers become
// ints, other numbers float64, Uint8Array bytes, arrays, plain objects and Maps become maps.
Result<Value> value_from_js(const val& v);
val value_to_js(const Value& v);
}  // namespace nitro::bind
