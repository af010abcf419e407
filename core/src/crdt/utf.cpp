// UTF-16 <-> UTF-8. Updates carry text as WTF-8 (UTF-8 that also encodes lone surrogates) so any
// JS string, including one split inside a surrogate pair, round-trips unit for unit. API strings
// are UTF-8 in and out; lone surrogates become U+FFFD on the way out, as TextEncoder does.
#include "crdt/state.h"

namespace nitro::crdt::detail {
namespace {

// Writes cp's UTF-8 at p; returns the byte after it.
char* put_utf8(std::uint32_t cp, char* p) {
  if (cp < 0x80) {
    *p++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *p++ = static_cast<char>(0xC0 | (cp >> 6));
    *p++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *p++ = static_cast<char>(0xE0 | (cp >> 12));
    *p++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *p++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *p++ = static_cast<char>(0xF0 | (cp >> 18));
    *p++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *p++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *p++ = static_cast<char>(0x80 | (cp & 0x3F));
  }
  return p;
}

bool is_high(char16_t u) { return u >= 0xD800 && u <= 0xDBFF; }
bool is_low(char16_t u) { return u >= 0xDC00 && u <= 0xDFFF; }

// Writes cp's UTF-16 at p; returns the unit after it.
char16_t* put_utf16(std::uint32_t cp, char16_t* p) {
  if (cp < 0x10000) {
    *p++ = static_cast<char16_t>(cp);
  } else {
    cp -= 0x10000;
    *p++ = static_cast<char16_t>(0xD800 + (cp >> 10));
    *p++ = static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
  }
  return p;
}

// Both conversions size the output up front and write through a pointer: text is mostly ASCII,
// which then costs a compare and a store per unit (raw pointers: the default wasm page is built for
// size, where a subscript can stay a call). UTF-8 is sized for ASCII, and for the worst case (3
// bytes per unit) of the rest once a wider unit shows up.
void to_utf8(std::u16string_view in, std::string& out, bool lossy) {
  out.resize(out.size() + in.size());
  char* p = out.data() + out.size() - in.size();
  const char16_t* const src = in.data();
  const std::size_t n = in.size();
  bool wide = false;
  for (std::size_t i = 0; i < n; ++i) {
    const char16_t u = src[i];
    if (u < 0x80) {
      *p++ = static_cast<char>(u);
      continue;
    }
    if (!wide) {
      const auto at = static_cast<std::size_t>(p - out.data());
      out.resize(at + 3 * (n - i));
      p = out.data() + at;
      wide = true;
    }
    if (is_high(u) && i + 1 < n && is_low(src[i + 1])) {
      p = put_utf8(0x10000 + ((std::uint32_t(u) - 0xD800) << 10) + (src[i + 1] - 0xDC00), p);
      ++i;
    } else if (lossy && (is_high(u) || is_low(u))) {
      p = put_utf8(0xFFFD, p);
    } else {
      p = put_utf8(u, p);
    }
  }
  out.resize(static_cast<std::size_t>(p - out.data()));
}

// Decodes one sequence starting at in[i]; returns the code point or -1 when malformed.
std::int64_t next_cp(std::string_view in, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(in[i]);
  if (b0 < 0x80) return ++i, b0;
  const int n = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : b0 >= 0xC0 ? 1 : -1;
  if (n < 0 || b0 > 0xF4) return -1;
  std::uint32_t cp = b0 & (0x3F >> n);
  for (int k = 1; k <= n; ++k) {
    if (i + k >= in.size()) return -1;
    const auto b = static_cast<unsigned char>(in[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF) return -1;  // overlong or out of range
  i += n + 1;
  return cp;
}

}  // namespace

void utf16_to_wtf8(std::u16string_view in, std::string& out) { to_utf8(in, out, false); }

std::string utf16_to_utf8_lossy(std::u16string_view in) {
  std::string out;
  to_utf8(in, out, true);
  return out;
}

bool wtf8_to_utf16(std::string_view in, std::u16string& out) {
  const std::size_t start = out.size();
  out.resize(start + in.size());
  char16_t* p = out.data() + start;
  const auto* const src = reinterpret_cast<const unsigned char*>(in.data());
  for (std::size_t i = 0; i < in.size();) {
    if (src[i] < 0x80) {
      *p++ = src[i++];
      continue;
    }
    std::int64_t cp = next_cp(in, i);
    if (cp < 0) return out.resize(static_cast<std::size_t>(p - out.data())), false;
    p = put_utf16(static_cast<std::uint32_t>(cp), p);
  }
  out.resize(static_cast<std::size_t>(p - out.data()));
  return true;
}

std::u16string utf8_to_utf16_lossy(std::string_view in) {
  std::u16string out(in.size(), u'\0');
  char16_t* p = out.data();
  for (std::size_t i = 0; i < in.size();) {
    std::int64_t cp = next_cp(in, i);
    if (cp < 0) {
      cp = 0xFFFD;
      ++i;
    }
    p = put_utf16(static_cast<std::uint32_t>(cp), p);
  }
  out.resize(static_cast<std::size_t>(p - out.data()));
  return out;
}

}  // namespace nitro::crdt::detail
