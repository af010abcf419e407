// The signalling frame: a msgpack array [version, kind, to, from, hops, session, text, mid].
// Decoding goes through the core codec with limits sized for one signal, then checks every field's
// type and range, so any input is either a well-formed Signal or a typed error.
#include <algorithm>
#include <cstring>

#include "nitro/codec.h"
#include "nitro/signal.h"

namespace nitro::signal {
namespace {

constexpr std::size_t kFields = 8;
constexpr std::uint64_t kSessionMax = (1ULL << 53) - 1;  // exact as a JS number
constexpr std::size_t kEnvelopeBytes = 128;              // everything but text and mid, generously

Value peer_value(const PeerId& p) { return Value(Bytes(p.bytes().begin(), p.bytes().end())); }

std::optional<PeerId> peer_from(const Value& v) {
  if (!v.is<Bytes>() || v.as<Bytes>().size() != crypto::kPeerIdBytes) return std::nullopt;
  std::array<std::uint8_t, crypto::kPeerIdBytes> key{};
  std::memcpy(key.data(), v.as<Bytes>().data(), key.size());
  return PeerId(key);
}

std::optional<std::uint64_t> uint_from(const Value& v) {
  if (v.is<std::int64_t>() && v.as<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.as<std::int64_t>());
  if (v.is<std::uint64_t>()) return v.as<std::uint64_t>();
  return std::nullopt;
}

bool printable(std::string_view s, bool allow_newlines) {
  return std::all_of(s.begin(), s.end(), [allow_newlines](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return true;
    return allow_newlines && (c == '\r' || c == '\n' || c == '\t');
  });
}

bool has_line(std::string_view sdp, std::string_view prefix) {
  if (sdp.substr(0, prefix.size()) == prefix) return true;
  std::string needle = "\n";
  needle += prefix;
  return sdp.find(needle) != std::string_view::npos;
}

Status check_kind_text(const Signal& s, const SignalLimits& limits) {
  switch (s.kind) {
    case Kind::kOffer:
    case Kind::kAnswer: return check_sdp(s.text, limits);
    case Kind::kCandidate: return check_candidate(s.text, s.mid, limits);
    case Kind::kBye:
      if (!s.text.empty() || !s.mid.empty()) return invalid_argument("signal: bye carries no text");
      return Status::ok_status();
  }
  return invalid_argument("signal: unknown kind");
}

}  // namespace

Bytes encode(const Signal& s) {
  Array a;
  a.reserve(kFields);
  a.emplace_back(static_cast<std::int64_t>(kWireVersion));
  a.emplace_back(static_cast<std::int64_t>(s.kind));
  a.push_back(peer_value(s.to));
  a.push_back(peer_value(s.from));
  a.emplace_back(static_cast<std::int64_t>(s.hops));
  a.emplace_back(s.session);
  a.emplace_back(s.text);
  a.emplace_back(s.mid);
  return codec::encode(Value(std::move(a)));
}

Result<Signal> decode(std::span<const std::uint8_t> bytes, const SignalLimits& limits) {
  codec::Limits cl;
  cl.frame_bytes_max = limits.sdp_bytes_max + limits.mid_bytes_max + kEnvelopeBytes;
  cl.depth_max = 1;
  cl.collection_len_max = kFields;
  cl.string_bytes_max = std::max(limits.sdp_bytes_max, limits.candidate_bytes_max);
  if (bytes.size() > cl.frame_bytes_max) return Status(decode_error("signal: frame too large"));
  auto v = codec::decode(bytes, cl);
  if (!v.ok()) return Status(decode_error("signal: " + v.status().message()));
  if (!v->is<Array>() || v->as<Array>().size() != kFields) return Status(decode_error("signal: not an 8-field array"));
  const Array& a = v->as<Array>();
  auto version = uint_from(a[0]);
  if (!version || *version != kWireVersion) return Status(decode_error("signal: unknown version"));
  auto kind = uint_from(a[1]);
  if (!kind || *kind < 1 || *kind > 4) return Status(decode_error("signal: unknown kind"));
  auto to = peer_from(a[2]);
  auto from = peer_from(a[3]);
  if (!to || !from) return Status(decode_error("signal: peer ids must be 32-byte bins"));
  auto hops = uint_from(a[4]);
  if (!hops || *hops > 1) return Status(decode_error("signal: hops must be 0 or 1"));
  auto session = uint_from(a[5]);
  if (!session || *session == 0 || *session > kSessionMax) return Status(decode_error("signal: bad session id"));
  if (!a[6].is<std::string>() || !a[7].is<std::string>()) return Status(decode_error("signal: text and mid must be strings"));
  Signal s;
  s.kind = static_cast<Kind>(*kind);
  s.to = *to;
  s.from = *from;
  s.hops = static_cast<std::uint8_t>(*hops);
  s.session = *session;
  s.text = a[6].as<std::string>();
  s.mid = a[7].as<std::string>();
  NITRO_TRY(check_kind_text(s, limits));
  return s;
}

Status check_sdp(std::string_view sdp, const SignalLimits& limits) {
  if (sdp.empty() || sdp.size() > limits.sdp_bytes_max) return invalid_argument("sdp: empty or too long");
  if (!printable(sdp, true)) return invalid_argument("sdp: not printable ASCII");
  if (sdp.substr(0, 4) != "v=0\r" && sdp.substr(0, 4) != "v=0\n") return invalid_argument("sdp: must start with v=0");
  for (std::string_view line : {"m=application ", "a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"}) {
    if (!has_line(sdp, line)) return invalid_argument("sdp: no " + std::string(line) + " line");
  }
  return Status::ok_status();
}

Status check_candidate(std::string_view candidate, std::string_view mid, const SignalLimits& limits) {
  if (candidate.empty() || candidate.size() > limits.candidate_bytes_max) return invalid_argument("candidate: empty or too long");
  if (mid.size() > limits.mid_bytes_max) return invalid_argument("candidate: mid too long");
  if (!printable(candidate, false) || !printable(mid, false)) return invalid_argument("candidate: not printable ASCII");
  if (candidate.substr(0, 10) != "candidate:") return invalid_argument("candidate: must start with 'candidate:'");
  return Status::ok_status();
}

}  // namespace nitro::signal
