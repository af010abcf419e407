// Signed envelopes. See nitro/envelope.h for the contract and wire form.
#include "nitro/envelope.h"

#include <sodium.h>

#include <cstring>

#include "crypto/sodium_init.h"

namespace nitro::crypto {
namespace {

constexpr std::uint8_t kMagic = 0x4E, kVersion = 0x01;
constexpr char kDomain[] = "nitro-envelope/1";  // signed with its terminating NUL
constexpr std::size_t kFixedHeaderBytes = 2 + 32 + 8 + 8 + 2;  // through topic_len
static_assert(kEnvelopeOverheadBytes == kFixedHeaderBytes + 4 + kSignatureBytes);

void put_be(Bytes& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t get_be(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// Strict UTF-8 (no overlongs, no surrogates, max U+10FFFF).
bool valid_utf8(std::span<const std::uint8_t> s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::uint8_t c = s[i];
    std::size_t n = 0;
    std::uint32_t cp = 0, min = 0;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; min = 0x10000; }
    else return false;
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Everything before the signature.
void encode_body(const Envelope& e, Bytes& out) {
  out.push_back(kMagic);
  out.push_back(kVersion);
  out.insert(out.end(), e.origin.bytes().begin(), e.origin.bytes().end());
  put_be(out, e.seq, 8);
  put_be(out, e.timestamp_ms, 8);
  put_be(out, e.topic.size(), 2);
  out.insert(out.end(), e.topic.begin(), e.topic.end());
  put_be(out, e.payload.size(), 4);
  out.insert(out.end(), e.payload.begin(), e.payload.end());
}

Status check_fields(const std::string& topic, const Bytes& payload, const EnvelopeLimits& limits) {
  if (topic.size() > limits.topic_bytes_max || topic.size() > 0xFFFF) return invalid_argument("envelope topic too long");
  if (payload.size() > limits.payload_bytes_max || payload.size() > 0xFFFFFFFFu) {
    return invalid_argument("envelope payload too large");
  }
  if (!valid_utf8(as_bytes(topic))) return invalid_argument("envelope topic is not UTF-8");
  return {};
}

}  // namespace

Bytes Envelope::signed_bytes() const {
  Bytes out(sizeof kDomain);
  std::memcpy(out.data(), kDomain, sizeof kDomain);
  out.reserve(sizeof kDomain + kEnvelopeOverheadBytes + topic.size() + payload.size());
  encode_body(*this, out);
  return out;
}

Result<Envelope> Envelope::sign(const Identity& origin, std::uint64_t seq, std::uint64_t timestamp_ms,
                                std::string topic, Bytes payload, const EnvelopeLimits& limits) {
  NITRO_TRY(check_fields(topic, payload, limits));
  Envelope e;
  e.origin = origin.peer_id();
  e.seq = seq;
  e.timestamp_ms = timestamp_ms;
  e.topic = std::move(topic);
  e.payload = std::move(payload);
  e.signature = origin.sign(e.signed_bytes());
  return e;
}

Bytes Envelope::encode() const {
  Bytes out;
  out.reserve(kEnvelopeOverheadBytes + topic.size() + payload.size());
  encode_body(*this, out);
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

Result<Envelope> Envelope::decode(std::span<const std::uint8_t> bytes, const EnvelopeLimits& limits) {
  if (bytes.size() < kEnvelopeOverheadBytes) return decode_error("envelope truncated");
  if (bytes.size() > kEnvelopeOverheadBytes + limits.topic_bytes_max + limits.payload_bytes_max) {
    return decode_error("envelope above size limit");
  }
  if (bytes[0] != kMagic || bytes[1] != kVersion) return decode_error("envelope: bad magic or version");
  const std::size_t topic_len = get_be(bytes.data() + kFixedHeaderBytes - 2, 2);
  if (topic_len > limits.topic_bytes_max) return decode_error("envelope topic above limit");
  if (bytes.size() < kEnvelopeOverheadBytes + topic_len) return decode_error("envelope truncated in topic");
  const std::size_t payload_len = get_be(bytes.data() + kFixedHeaderBytes + topic_len, 4);
  if (payload_len > limits.payload_bytes_max) return decode_error("envelope payload above limit");
  if (bytes.size() != kEnvelopeOverheadBytes + topic_len + payload_len) {
    return decode_error("envelope length mismatch (truncated or trailing bytes)");
  }
  auto topic_bytes = bytes.subspan(kFixedHeaderBytes, topic_len);
  if (!valid_utf8(topic_bytes)) return decode_error("envelope topic is not UTF-8");
  Envelope e;
  e.origin = PeerId::from_bytes(bytes.subspan(2, 32)).value();
  e.seq = get_be(bytes.data() + 34, 8);
  e.timestamp_ms = get_be(bytes.data() + 42, 8);
  e.topic.assign(topic_bytes.begin(), topic_bytes.end());
  auto payload_bytes = bytes.subspan(kFixedHeaderBytes + topic_len + 4, payload_len);
  e.payload.assign(payload_bytes.begin(), payload_bytes.end());
  std::memcpy(e.signature.data(), bytes.data() + bytes.size() - kSignatureBytes, kSignatureBytes);
  return e;
}

Status Envelope::verify() const {
  if (!origin.verify(signed_bytes(), signature)) return unauthenticated("envelope signature does not verify");
  return {};
}

Result<Envelope> Envelope::open(std::span<const std::uint8_t> bytes, const EnvelopeLimits& limits) {
  auto e = decode(bytes, limits);
  if (!e.ok()) return e.status();
  NITRO_TRY(e->verify());
  return e;
}

std::array<std::uint8_t, 32> Envelope::digest() const {
  detail::ensure_sodium();
  Bytes bytes = encode();
  std::array<std::uint8_t, 32> out{};
  crypto_hash_sha256(out.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace nitro::crypto
