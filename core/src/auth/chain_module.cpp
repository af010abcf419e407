// Revocations committed on a chain: the "auth" module of the chain's executor. A record committed
// here is part of the replicated state, so every replica that applies the block, restarts from its
// records or installs a snapshot later honours it, where gossip reaches only the nodes up at the time.
#include <algorithm>

#include "nitro/auth.h"

namespace nitro::auth {

namespace {

const Bytes* bin_arg(const Value& args, std::string_view name) {
  const Value* v = args.find(name);
  return v && v->is<Bytes>() ? &v->as<Bytes>() : nullptr;
}

// The issuers of `leaf`'s chain within `pool` (signatures checked by decode_token), walking proofs
// at most kChainDepthMax deep. Narrowing and trust are each verifier's business, not the chain's.
void collect_issuers(const Token& t, const std::map<TokenId, Token>& pool, std::size_t depth, std::set<PeerId>& out) {
  out.insert(t.payload.issuer);
  if (depth + 1 >= kChainDepthMax) return;
  for (const TokenId& id : t.payload.proofs) {
    auto it = pool.find(id);
    if (it != pool.end()) collect_issuers(it->second, pool, depth + 1, out);
  }
}

class RevocationModule final : public chain::BuiltinModule {
 public:
  Result<Value> apply(chain::KvState& state, const std::string& op, const Value& args, const chain::TxContext&) override {
    if (op != kChainRevokeOp) return Status(Code::kNotFound, "chain: no auth op " + op);
    const Bytes* record = bin_arg(args, "record");
    const Value* tokens = args.find("tokens");
    if (!record || !tokens || !tokens->is<Array>() || tokens->as<Array>().empty() ||
        tokens->as<Array>().size() > kBundleTokensMax) {
      return Status(invalid_argument("auth.revoke: needs record (bin) and tokens (1..32 token bins: the token and its ancestors)"));
    }
    auto r = decode_revocation(*record);
    if (!r.ok()) return Status(invalid_argument("auth.revoke: " + r.status().message()));
    std::map<TokenId, Token> pool;
    for (const Value& t : tokens->as<Array>()) {
      if (!t.is<Bytes>()) return Status(invalid_argument("auth.revoke: a token is bin"));
      auto tok = decode_token(t.as<Bytes>());
      if (!tok.ok()) return Status(invalid_argument("auth.revoke: " + tok.status().message()));
      pool.emplace(tok->id, std::move(*tok));
    }
    auto leaf = pool.find(r->token);
    if (leaf == pool.end()) return Status(invalid_argument("auth.revoke: the revoked token is not among tokens"));
    std::set<PeerId> issuers;
    collect_issuers(leaf->second, pool, 0, issuers);
    if (issuers.count(r->revoker) == 0) return Status(permission_denied("auth.revoke: the revoker is not an issuer in the token's chain"));
    const std::string hex = to_hex(r->token);
    NITRO_TRY(state.put(std::string(kChainRevokedPrefix) + hex + "/" + r->revoker.to_string(), Value{*record}));
    return Value(Map{{Value("token"), Value(hex)}, {Value("revoker"), Value(r->revoker.to_string())}, {Value("record"), Value{*record}}});
  }
};

}  // namespace

std::shared_ptr<chain::BuiltinModule> make_chain_module() { return std::make_shared<RevocationModule>(); }

}  // namespace nitro::auth
