// Capability tokens and revocation records: canonical encoding, signatures, bounded decoding.
// Wire: a token is msgpack [payload bin, signature bin(64)]; the payload is msgpack
// [1, issuer bin(32), subject bin(32), [[op, pattern]...], [role...], not_before, expires,
// nonce bin, [proof bin(32)...]]. The decoder re-encodes what it read and refuses anything that
// is not byte-for-byte canonical, so one token has exactly one encoding (and one id).
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "nitro/auth.h"
#include "auth/internal.h"
#include "crypto/sodium_init.h"
#include "nitro/codec.h"

namespace nitro::auth {

namespace {

constexpr std::uint64_t kVersion = 1;

codec::Limits limits() {
  codec::Limits l;
  l.frame_bytes_max = kTokenBytesMax;
  l.depth_max = 4;
  l.collection_len_max = kGrantsMax;
  l.string_bytes_max = kTokenBytesMax;
  return l;
}

Value bin(std::span<const std::uint8_t> b) { return Value{Bytes(b.begin(), b.end())}; }

Bytes signed_message(const char* domain, std::span<const std::uint8_t> body) {
  Bytes msg(domain, domain + std::strlen(domain));
  msg.insert(msg.end(), body.begin(), body.end());
  return msg;
}

std::optional<std::uint64_t> as_u64(const Value& v) {
  if (v.is<std::int64_t>() && v.as<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.as<std::int64_t>());
  if (v.is<std::uint64_t>()) return v.as<std::uint64_t>();
  return std::nullopt;
}

// Malformed bytes are a DECODE_ERROR, whatever field they are in (from_bytes alone says
// INVALID_ARGUMENT, which reads as the caller's mistake).
Result<PeerId> as_peer(const Value& v) {
  if (!v.is<Bytes>() || v.as<Bytes>().size() != crypto::kPeerIdBytes) return decode_error("key must be 32 bytes");
  return PeerId::from_bytes(v.as<Bytes>());
}

Status check_name(std::string_view name, const char* what) {
  if (name.empty() || name.size() > kNameBytesMax) return invalid_argument(std::string("token: bad ") + what);
  return {};
}

bool known_op(std::string_view op) {
  if (op == "*") return true;
  return std::any_of(kOps.begin(), kOps.end(), [&](const char* o) { return op == o; });
}

Status check_payload(const TokenPayload& p) {
  if (p.grants.size() > kGrantsMax) return invalid_argument("token: too many grants");
  if (p.roles.size() > kRolesMax) return invalid_argument("token: too many roles");
  if (p.proofs.size() > kProofsMax) return invalid_argument("token: too many proofs");
  if (p.nonce.size() > kNonceBytesMax) return invalid_argument("token: nonce too long");
  if (p.expires_ms <= p.not_before_ms) return invalid_argument("token: expires must be after not_before");
  for (const Grant& g : p.grants) {
    if (!known_op(g.op)) return invalid_argument("token: unknown operation '" + g.op + "'");
    NITRO_TRY(check_pattern(g.resource));
  }
  for (const std::string& r : p.roles) NITRO_TRY(check_name(r, "role"));
  return {};
}

Result<std::vector<Grant>> decode_grants(const Value& v) {
  if (!v.is<Array>()) return decode_error("token: grants must be an array");
  std::vector<Grant> out;
  for (const Value& g : v.as<Array>()) {
    if (!g.is<Array>() || g.as<Array>().size() != 2) return decode_error("token: a grant is [op, pattern]");
    const Array& a = g.as<Array>();
    if (!a[0].is<std::string>() || !a[1].is<std::string>()) return decode_error("token: a grant is [op, pattern]");
    out.push_back(Grant{a[0].as<std::string>(), a[1].as<std::string>()});
  }
  return out;
}

Result<TokenPayload> decode_payload(std::span<const std::uint8_t> bytes) {
  AUTH_ASSIGN(Value v, codec::decode(bytes, limits()));
  if (!v.is<Array>() || v.as<Array>().size() != 9) return decode_error("token: payload must be a 9-array");
  const Array& a = v.as<Array>();
  if (as_u64(a[0]) != kVersion) return decode_error("token: unknown version");
  TokenPayload p;
  AUTH_ASSIGN(p.issuer, as_peer(a[1]));
  AUTH_ASSIGN(p.subject, as_peer(a[2]));
  AUTH_ASSIGN(p.grants, decode_grants(a[3]));
  if (!a[4].is<Array>()) return decode_error("token: roles must be an array");
  for (const Value& r : a[4].as<Array>()) {
    if (!r.is<std::string>()) return decode_error("token: a role is a string");
    p.roles.push_back(r.as<std::string>());
  }
  auto nbf = as_u64(a[5]), exp = as_u64(a[6]);
  if (!nbf || !exp) return decode_error("token: times must be unsigned integers");
  p.not_before_ms = *nbf;
  p.expires_ms = *exp;
  if (!a[7].is<Bytes>()) return decode_error("token: nonce must be bytes");
  p.nonce = a[7].as<Bytes>();
  if (!a[8].is<Array>()) return decode_error("token: proofs must be an array");
  for (const Value& pr : a[8].as<Array>()) {
    if (!pr.is<Bytes>() || pr.as<Bytes>().size() != 32) return decode_error("token: a proof is 32 bytes");
    TokenId id;
    std::copy(pr.as<Bytes>().begin(), pr.as<Bytes>().end(), id.begin());
    p.proofs.push_back(id);
  }
  Status shape = check_payload(p);
  if (!shape.ok()) return decode_error(shape.message());
  return p;
}

}  // namespace

Bytes encode_payload(const TokenPayload& p) {
  Array grants, roles, proofs;
  for (const Grant& g : p.grants) grants.push_back(Value{Array{Value{g.op}, Value{g.resource}}});
  for (const std::string& r : p.roles) roles.push_back(Value{r});
  for (const TokenId& id : p.proofs) proofs.push_back(bin(id));
  return codec::encode(Value{Array{Value{kVersion}, bin(p.issuer.bytes()), bin(p.subject.bytes()), Value{std::move(grants)},
                                   Value{std::move(roles)}, Value{p.not_before_ms}, Value{p.expires_ms}, Value{p.nonce},
                                   Value{std::move(proofs)}}});
}

TokenId token_id(std::span<const std::uint8_t> payload_bytes, const crypto::Signature& signature) {
  crypto::detail::ensure_sodium();
  TokenId id;
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, id.size());
  crypto_generichash_update(&st, payload_bytes.data(), payload_bytes.size());
  crypto_generichash_update(&st, signature.data(), signature.size());
  crypto_generichash_final(&st, id.data(), id.size());
  return id;
}

Result<Token> sign_token(const TokenPayload& payload, const crypto::Identity& issuer) {
  if (issuer.peer_id() != payload.issuer) return invalid_argument("token: the signing key is not the issuer");
  NITRO_TRY(check_payload(payload));
  Token t;
  t.payload = payload;
  t.payload_bytes = encode_payload(payload);
  if (t.payload_bytes.size() + crypto::kSignatureBytes + 8 > kTokenBytesMax) return invalid_argument("token: too large");
  t.signature = issuer.sign(signed_message(kTokenDomain, t.payload_bytes));
  t.id = token_id(t.payload_bytes, t.signature);
  return t;
}

Bytes encode_token(const Token& t) { return codec::encode(Value{Array{Value{t.payload_bytes}, bin(t.signature)}}); }

Result<Token> decode_token(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kTokenBytesMax) return decode_error("token: too large");
  AUTH_ASSIGN(Value v, codec::decode(bytes, limits()));
  if (!v.is<Array>() || v.as<Array>().size() != 2) return decode_error("token: must be [payload, signature]");
  const Array& a = v.as<Array>();
  if (!a[0].is<Bytes>() || !a[1].is<Bytes>() || a[1].as<Bytes>().size() != crypto::kSignatureBytes) {
    return decode_error("token: must be [payload, signature]");
  }
  Token t;
  t.payload_bytes = a[0].as<Bytes>();
  std::copy(a[1].as<Bytes>().begin(), a[1].as<Bytes>().end(), t.signature.begin());
  AUTH_ASSIGN(t.payload, decode_payload(t.payload_bytes));
  if (encode_payload(t.payload) != t.payload_bytes || encode_token(t) != Bytes(bytes.begin(), bytes.end())) {
    return decode_error("token: not canonical");
  }
  if (!t.payload.issuer.verify(signed_message(kTokenDomain, t.payload_bytes), t.signature)) {
    return unauthenticated("token: bad signature (forged)");
  }
  t.id = token_id(t.payload_bytes, t.signature);
  return t;
}

std::string to_hex(const TokenId& id) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : id) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 15]);
  }
  return s;
}

Result<TokenId> token_id_from_hex(std::string_view hex) {
  if (hex.size() != 64) return invalid_argument("token id: 64 hex digits expected");
  TokenId id;
  for (std::size_t i = 0; i < 32; ++i) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      const char c = hex[2 * i + k];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return invalid_argument("token id: not hex");
      v = v * 16 + d;
    }
    id[i] = static_cast<std::uint8_t>(v);
  }
  return id;
}

// ---- revocation -------------------------------------------------------------------------------

namespace {
Bytes revocation_body(const TokenId& token, const PeerId& revoker, std::uint64_t at_ms) {
  return codec::encode(Value{Array{Value{kVersion}, bin(token), bin(revoker.bytes()), Value{at_ms}}});
}
}  // namespace

Result<Revocation> sign_revocation(const TokenId& token, const crypto::Identity& revoker, std::uint64_t at_ms) {
  Revocation r;
  r.token = token;
  r.revoker = revoker.peer_id();
  r.at_ms = at_ms;
  r.signature = revoker.sign(signed_message(kRevokeDomain, revocation_body(token, r.revoker, at_ms)));
  return r;
}

Bytes encode_revocation(const Revocation& r) {
  return codec::encode(Value{Array{Value{revocation_body(r.token, r.revoker, r.at_ms)}, bin(r.signature)}});
}

Result<Revocation> decode_revocation(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > 512) return decode_error("revocation: too large");
  AUTH_ASSIGN(Value v, codec::decode(bytes, limits()));
  if (!v.is<Array>() || v.as<Array>().size() != 2 || !v.as<Array>()[0].is<Bytes>() || !v.as<Array>()[1].is<Bytes>() ||
      v.as<Array>()[1].as<Bytes>().size() != crypto::kSignatureBytes) {
    return decode_error("revocation: must be [body, signature]");
  }
  const Bytes& body = v.as<Array>()[0].as<Bytes>();
  AUTH_ASSIGN(Value b, codec::decode(body, limits()));
  if (!b.is<Array>() || b.as<Array>().size() != 4) return decode_error("revocation: body must be a 4-array");
  const Array& a = b.as<Array>();
  if (as_u64(a[0]) != kVersion || !a[1].is<Bytes>() || a[1].as<Bytes>().size() != 32 || !as_u64(a[3])) {
    return decode_error("revocation: malformed body");
  }
  Revocation r;
  std::copy(a[1].as<Bytes>().begin(), a[1].as<Bytes>().end(), r.token.begin());
  AUTH_ASSIGN(r.revoker, as_peer(a[2]));
  r.at_ms = *as_u64(a[3]);
  std::copy(v.as<Array>()[1].as<Bytes>().begin(), v.as<Array>()[1].as<Bytes>().end(), r.signature.begin());
  if (revocation_body(r.token, r.revoker, r.at_ms) != body) return decode_error("revocation: not canonical");
  if (!r.revoker.verify(signed_message(kRevokeDomain, body), r.signature)) {
    return unauthenticated("revocation: bad signature");
  }
  return r;
}

}  // namespace nitro::auth
