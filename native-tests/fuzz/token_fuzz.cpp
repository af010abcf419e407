// Fuzz target: the token and revocation decoders must be total, bounded and canonical. The first
// byte picks the surface: (even) decode_token — whatever decodes re-encodes to the same bytes, has
// the id of its payload and signature, and verifies against a pool holding only itself without a
// crash; (odd) decode_revocation — whatever decodes re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nitro/auth.h"

using namespace nitro;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::span<const std::uint8_t> in(data + 1, size - 1);
  if (data[0] % 2 == 1) {
    auto r = auth::decode_revocation(in);
    if (!r.ok()) {
      if (r.status().code() != Code::kDecodeError && r.status().code() != Code::kUnauthenticated) std::abort();
      return 0;
    }
    if (auth::encode_revocation(*r) != Bytes(in.begin(), in.end())) std::abort();
    return 0;
  }
  auto t = auth::decode_token(in);
  if (!t.ok()) {
    if (t.status().code() != Code::kDecodeError && t.status().code() != Code::kUnauthenticated) std::abort();
    return 0;
  }
  if (auth::encode_token(*t) != Bytes(in.begin(), in.end())) std::abort();
  if (auth::token_id(t->payload_bytes, t->signature) != t->id) std::abort();
  std::map<auth::TokenId, auth::Token> pool{{t->id, *t}};
  auto chain = auth::verify_chain(*t, pool, {t->payload.issuer});
  if (chain.ok() && chain->tokens.front() != t->id) std::abort();
  return 0;
}
