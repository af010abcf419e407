// Delegation chains: a token rests on its proofs, down to root tokens issued by a trusted
// authority. Each link must narrow (grants covered, roles held, time window inside).
#include <algorithm>

#include "nitro/auth.h"

namespace nitro::auth {

namespace {

bool narrows(const TokenPayload& child, const std::vector<const Token*>& parents) {
  for (const Grant& g : child.grants) {
    bool covered = false;
    for (const Token* p : parents) {
      for (const Grant& pg : p->payload.grants) covered = covered || grant_covers(pg, g);
    }
    if (!covered) return false;
  }
  for (const std::string& role : child.roles) {
    bool held = false;
    for (const Token* p : parents) {
      const auto& roles = p->payload.roles;
      held = held || std::find(roles.begin(), roles.end(), role) != roles.end();
    }
    if (!held) return false;
  }
  for (const Token* p : parents) {
    if (child.not_before_ms < p->payload.not_before_ms || child.expires_ms > p->payload.expires_ms) return false;
  }
  return true;
}

class Verifier {
 public:
  Verifier(const std::map<TokenId, Token>& pool, const std::set<PeerId>& authorities)
      : pool_(pool), authorities_(authorities) {}

  Status visit(const Token& t, std::size_t depth, Chain& chain) {
    if (depth >= kChainDepthMax) return permission_denied("token chain too deep");
    if (std::find(chain.tokens.begin(), chain.tokens.end(), t.id) != chain.tokens.end()) return {};
    chain.tokens.push_back(t.id);
    chain.issuers.insert(t.payload.issuer);
    if (t.payload.proofs.empty()) {
      if (authorities_.count(t.payload.issuer) == 0) return permission_denied("token issued by an untrusted key");
      return {};
    }
    std::vector<const Token*> parents;
    for (const TokenId& id : t.payload.proofs) {
      auto it = pool_.find(id);
      if (it == pool_.end()) return permission_denied("token proof missing");
      if (it->second.payload.subject != t.payload.issuer) return permission_denied("token issuer is not its parent's subject");
      NITRO_TRY(visit(it->second, depth + 1, chain));
      parents.push_back(&it->second);
    }
    if (!narrows(t.payload, parents)) return permission_denied("delegated token widens its parent");
    return {};
  }

 private:
  const std::map<TokenId, Token>& pool_;
  const std::set<PeerId>& authorities_;
};

}  // namespace

Result<Chain> verify_chain(const Token& leaf, const std::map<TokenId, Token>& pool, const std::set<PeerId>& authorities) {
  Chain chain;
  chain.leaf = leaf.id;
  Verifier v(pool, authorities);
  NITRO_TRY(v.visit(leaf, 0, chain));
  return chain;
}

}  // namespace nitro::auth
