// Fuzz target: crdt::Doc::apply_update must be total. Any input either applies (and what was
// accepted re-encodes to a state another replica loads identically) or is a typed error that
// leaves the document exactly as it was (the corpus holds packed columns that declare far more
// text than their bytes can code: refused before decoding). Second oracle, for the coded text
// column (frame 0x15), on inputs that start with 0xff (no frame does): the rest read as UTF-16
// units (lone surrogates included), repeated to a length that gets coded, must come back unit for
// unit from another replica that loads the encoded state.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/crdt.h"

namespace {

void fill(nitro::crdt::Doc& d) {
  (void)d.get_text("t").insert(0, "base text");
  (void)d.get_text("t").erase(2, 3);
  (void)d.get_map("m").set("k", nitro::Value{1});
  (void)d.get_list("l").push(nitro::Value{"x"});
  (void)d.get_counter("c").increment(3);
  (void)d.get_set("s").add(nitro::Value{2});
}

std::string view(nitro::crdt::Doc& d) {
  std::string s = d.get_text("t").to_string() + "|" + std::to_string(d.get_text("t").length());
  for (const auto& k : d.get_map("m").keys()) s += "|" + k;
  s += "|" + std::to_string(d.get_list("l").length()) + "|" + std::to_string(d.get_counter("c").value());
  s += "|" + std::to_string(d.get_set("s").size());
  return s;
}

bool typed(nitro::Code c) {
  return c == nitro::Code::kDecodeError || c == nitro::Code::kResourceExhausted ||
         c == nitro::Code::kPermissionDenied || c == nitro::Code::kUnauthenticated;
}

void check_packed_round_trip(std::span<const std::uint8_t> input) {
  if (input.size() < 2) return;
  std::u16string units;
  for (std::size_t i = 0; i + 1 < input.size(); i += 2) units.push_back(static_cast<char16_t>(input[i] | input[i + 1] << 8));
  std::u16string text;
  while (text.size() < 600) text += units;
  nitro::crdt::Doc a(7);
  if (!a.get_text("t").insert_utf16(0, text).ok()) std::abort();
  const auto state = a.encode_state();
  nitro::crdt::Doc b(8);
  if (!b.apply_update(state).ok()) std::abort();
  if (b.get_text("t").to_utf16() != text) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> input(data, size);
  if (!input.empty() && input[0] == 0xff) check_packed_round_trip(input.subspan(1));
  nitro::crdt::Doc doc(5);
  fill(doc);
  const auto before = doc.encode_state();
  auto s = doc.apply_update(input);
  if (!s.ok()) {
    if (!typed(s.code())) std::abort();
    if (doc.encode_state() != before || doc.pending_count() != 0) std::abort();
    return 0;
  }
  (void)doc.apply_update(input);  // idempotent
  nitro::crdt::Doc copy(6);
  if (!copy.apply_update(doc.encode_state()).ok()) std::abort();
  if (view(copy) != view(doc)) std::abort();
  if (!doc.get_text("t").insert(0, "after").ok()) std::abort();  // still usable
  return 0;
}
