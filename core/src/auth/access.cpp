// The access protocol on channel "auth": token presentation per link, revocations by gossip, and
// the decision every protocol asks for through ProtocolContext::authorize.
// Wire (direct, on the channel): msgpack [1, [token bytes...]] — this node's bundle, sent once
// when a link comes up (and again when the bundle changes). The same bundle is announced on
// kTokensTopic so nodes that are not neighbors can check an origin's pub/sub messages.
#include <algorithm>

#include "auth/internal.h"
#include "nitro/auth.h"
#include "nitro/codec.h"

namespace nitro::auth {

namespace {
constexpr std::uint64_t kBundleKind = 1;
constexpr std::uint64_t kAnnounceGapMs = 1000;  // a newcomer triggers a gossip announce at most this often

std::string short_id(const PeerId& p) { return p.short_string(); }
}  // namespace

Access::Access(AccessConfig config) : config_(std::move(config)) {
  authorities_.insert(config_.authorities.begin(), config_.authorities.end());
  default_allow_ = config_.default_allow.value_or(config_.rules.empty() && config_.authorities.empty());
}

Result<std::unique_ptr<Access>> Access::create(AccessConfig config) {
  if (config.tokens.size() > kBundleTokensMax) return invalid_argument("auth.tokens: too many tokens");
  for (const Bytes& t : config.tokens) {
    auto tok = decode_token(t);
    if (!tok.ok()) return invalid_argument("auth.tokens: " + tok.status().message());
  }
  if (config.rules.size() > kRulesMax) return invalid_argument("auth.rules: too many rules");
  if (config.peers_max == 0 || config.revocations_max == 0) return invalid_argument("auth: limits must be positive");
  return std::unique_ptr<Access>(new Access(std::move(config)));
}

std::uint64_t Access::epoch_ms() const {
  const std::int64_t now = static_cast<std::int64_t>(ctx_ ? ctx_->now_ms() : 0) + config_.epoch_offset_ms;
  return now < 0 ? 0 : static_cast<std::uint64_t>(now);
}

// ---- presentation -------------------------------------------------------------------------------

Bytes Access::bundle() const {
  Array tokens;
  for (const Bytes& t : config_.tokens) tokens.push_back(Value{t});
  return codec::encode(Value{Array{Value{kBundleKind}, Value{std::move(tokens)}}});
}

void Access::announce() {
  if (config_.tokens.empty() || !ctx_) return;
  (void)ctx_->publish(kTokensTopic, bundle());  // best effort: the direct presentation is the main path
}

void Access::accept_bundle(const PeerId& peer, std::span<const std::uint8_t> bytes) {
  codec::Limits l;
  l.frame_bytes_max = kTokenBytesMax * kBundleTokensMax + 64;
  l.depth_max = 3;
  l.collection_len_max = kBundleTokensMax;
  auto v = codec::decode(bytes, l);
  if (!v.ok() || !v->is<Array>() || v->as<Array>().size() != 2 || !v->as<Array>()[1].is<Array>()) return;
  if (peers_.count(peer) == 0 && peers_.size() >= config_.peers_max) peers_.erase(peers_.begin());
  PeerTokens pt;
  std::vector<Token> leaves;
  for (const Value& t : v->as<Array>()[1].as<Array>()) {
    if (!t.is<Bytes>()) continue;
    auto tok = decode_token(t.as<Bytes>());
    if (!tok.ok()) {
      stats_.tokens_refused++;
      stats_.refused_tokens[tok.status().code() == Code::kUnauthenticated ? "forged" : "malformed"]++;
      pt.refused = tok.status().message();
      continue;
    }
    if (tok->payload.subject == peer) leaves.push_back(*tok);
    pt.pool.emplace(tok->id, std::move(*tok));
  }
  for (const Token& leaf : leaves) {
    auto chain = verify_chain(leaf, pt.pool, authorities_);
    if (!chain.ok()) {
      stats_.tokens_refused++;
      stats_.refused_tokens[chain.status().message()]++;
      pt.refused = chain.status().message();
      continue;
    }
    stats_.tokens_accepted++;
    pt.chains.push_back(std::move(*chain));
  }
  peers_[peer] = std::move(pt);
}

// ---- revocation -------------------------------------------------------------------------------

void Access::apply_revocation(const Revocation& r, std::span<const std::uint8_t> bytes) {
  auto [it, fresh] = revoked_.try_emplace(r.token);
  if (it->second.count(r.revoker) != 0) return;
  if (fresh && revoked_.size() > config_.revocations_max) {
    revoked_.erase(it);  // full: the newest is the one not kept (older ones stay enforced)
    return;
  }
  it->second.insert(r.revoker);
  stats_.revocations++;
  if (ctx_) ctx_->store_put("revoked/" + to_hex(r.token) + "/" + r.revoker.to_string(), Bytes(bytes.begin(), bytes.end()));
}

void Access::apply_committed(std::span<const std::uint8_t> record) {
  auto r = decode_revocation(record);
  if (!r.ok()) return;
  stats_.committed_revocations++;
  apply_revocation(*r, record);
}

Status Access::revoke(std::span<const std::uint8_t> record) {
  auto r = decode_revocation(record);
  if (!r.ok()) return invalid_argument("revocation: " + r.status().message());
  apply_revocation(*r, record);
  if (ctx_) {
    auto seq = ctx_->publish(kRevokeTopic, record);
    if (!seq.ok()) return seq.status();
  }
  return {};
}

// ---- decision -----------------------------------------------------------------------------------

// Why a verified chain does not count now ("" if it does): revoked by one of its issuers or an
// authority, or a token in it outside its time window.
std::string Access::chain_refusal(const Chain& chain, const PeerTokens& pt, std::uint64_t now_ms) const {
  for (const TokenId& id : chain.tokens) {
    auto it = revoked_.find(id);
    if (it == revoked_.end()) continue;
    for (const PeerId& by : it->second) {
      if (chain.issuers.count(by) != 0 || authorities_.count(by) != 0) return "revoked";
    }
  }
  std::string why;
  for (const TokenId& id : chain.tokens) {
    const TokenPayload& p = pt.pool.at(id).payload;
    if (now_ms < p.not_before_ms) why = "not yet valid";
    if (now_ms >= p.expires_ms) why = "expired";
  }
  return why;
}

Access::Held Access::held(const PeerId& peer) const {
  Held h;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return h;
  h.refused = it->second.refused;
  const std::uint64_t now = epoch_ms();
  for (const Chain& c : it->second.chains) {
    const Token& leaf = it->second.pool.at(c.leaf);
    std::string why = chain_refusal(c, it->second, now);
    if (!why.empty()) {
      h.refused = why;
      continue;
    }
    h.grants.insert(h.grants.end(), leaf.payload.grants.begin(), leaf.payload.grants.end());
    h.roles.insert(leaf.payload.roles.begin(), leaf.payload.roles.end());
  }
  return h;
}

// Fills `h` from exactly the peer's token `token`; returns why it cannot count ("" if it can).
std::string Access::referenced(const PeerId& peer, const TokenId& token, Held& h) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return "unknown on this link";
  const PeerTokens& pt = it->second;
  auto c = std::find_if(pt.chains.begin(), pt.chains.end(), [&](const Chain& ch) { return ch.leaf == token; });
  if (c == pt.chains.end()) return "unknown on this link";
  std::string why = chain_refusal(*c, pt, epoch_ms());
  if (!why.empty()) return why;
  const TokenPayload& leaf = pt.pool.at(token).payload;
  h.grants = leaf.grants;
  h.roles.insert(leaf.roles.begin(), leaf.roles.end());
  return {};
}

bool Access::rule_matches(const Rule& rule, const PeerId& peer, const Held& h, std::string_view op,
                          std::string_view resource) const {
  if (rule.op != "*" && rule.op != op) return false;
  if (!pattern_matches(rule.resource, resource)) return false;
  switch (rule.who) {
    case Rule::Who::kAny: return true;
    case Rule::Who::kPeer: return rule.peer == peer;
    case Rule::Who::kRole:
      return std::any_of(h.roles.begin(), h.roles.end(), [&](const std::string& r) { return pattern_matches(rule.role, r); });
    case Rule::Who::kGrant:
      return std::any_of(h.grants.begin(), h.grants.end(), [&](const Grant& g) { return grant_allows(g, op, resource); });
  }
  return false;
}

Status Access::deny(const PeerId& peer, std::string_view op, std::string_view resource, const std::string& by,
                    const std::string& rule_text, const Held& h) {
  stats_.denied++;
  stats_.denied_by[by]++;
  if (!h.refused.empty()) stats_.refused_tokens["denied: " + h.refused]++;
  std::string msg = std::string(op) + " " + std::string(resource) + " by " + short_id(peer) + ": denied by " + by;
  if (!rule_text.empty()) msg += " '" + rule_text + "'";
  if (!h.refused.empty()) msg += " (its token: " + h.refused + ")";
  return permission_denied(std::move(msg));
}

Status Access::authorize(const PeerId& peer, std::string_view op, std::string_view resource) {
  if (ctx_ && peer == ctx_->local_id()) return {};
  return decide(peer, op, resource, held(peer));
}

// A referenced token must count and grant the operation itself; a rule that would allow the
// peer anyway does not stand in for it (the caller asked for this token, and an error tells it
// the token is stale rather than hiding that until the rules change).
Status Access::authorize_with(const PeerId& peer, std::string_view op, std::string_view resource,
                              std::string_view token_ref) {
  if (ctx_ && peer == ctx_->local_id()) return {};
  Held h;
  auto id = token_id_from_hex(token_ref);
  std::string why = id.ok() ? referenced(peer, *id, h) : "not a token id";
  if (why.empty() && std::none_of(h.grants.begin(), h.grants.end(), [&](const Grant& g) { return grant_allows(g, op, resource); })) {
    why = "grants no such operation";
  }
  if (!why.empty()) {
    h.refused = why;
    return deny(peer, op, resource, "referenced token", id.ok() ? to_hex(*id).substr(0, 16) : "malformed", h);
  }
  return decide(peer, op, resource, h);
}

Status Access::decide(const PeerId& peer, std::string_view op, std::string_view resource, const Held& h) {
  std::optional<std::size_t> allowed_by;
  for (std::size_t i = 0; i < config_.rules.size(); ++i) {
    const Rule& r = config_.rules[i];
    if (!rule_matches(r, peer, h, op, resource)) continue;
    if (!r.allow) return deny(peer, op, resource, "rule " + std::to_string(i + 1), r.text, h);
    if (!allowed_by) allowed_by = i;
  }
  const bool token_grants = !authorities_.empty() &&
      std::any_of(h.grants.begin(), h.grants.end(), [&](const Grant& g) { return grant_allows(g, op, resource); });
  if (allowed_by || token_grants || default_allow_) {
    stats_.allowed++;
    return {};
  }
  return deny(peer, op, resource, "default", "closed", h);
}

Status Access::set_tokens(std::vector<Bytes> tokens) {
  if (tokens.size() > kBundleTokensMax) return invalid_argument("auth.tokens: too many tokens");
  for (const Bytes& t : tokens) {
    auto tok = decode_token(t);
    if (!tok.ok()) return invalid_argument("auth.tokens: " + tok.status().message());
  }
  config_.tokens = std::move(tokens);
  if (!ctx_) return {};
  const Bytes b = bundle();
  for (const PeerInfo& p : ctx_->peers()) (void)ctx_->send(p.peer, b);
  announce();
  return {};
}

Status Access::set_rules(std::vector<Rule> rules) {
  if (rules.size() > kRulesMax) return invalid_argument("auth.rules: too many rules");
  config_.rules = std::move(rules);
  return {};
}

// ---- protocol -----------------------------------------------------------------------------------

void Access::attach(ProtocolContext& ctx) {
  ctx_ = &ctx;
  (void)ctx.subscribe(kRevokeTopic);
  (void)ctx.subscribe(kTokensTopic);
  for (const auto& [key, bytes] : ctx.take_restored()) {
    if (key.rfind("revoked/", 0) != 0) continue;
    auto r = decode_revocation(bytes);
    if (r.ok()) apply_revocation(*r, bytes);
  }
}

void Access::on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t) {
  accept_bundle(from, bytes);
}

void Access::on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t, std::span<const std::uint8_t> payload,
                          std::uint64_t) {
  if (origin == ctx_->local_id()) return;
  if (topic == kTokensTopic) return accept_bundle(origin, payload);
  if (topic != kRevokeTopic) return;
  auto r = decode_revocation(payload);
  if (r.ok()) apply_revocation(*r, payload);
}

void Access::on_peer_up(const PeerId& peer, std::uint64_t now_ms) {
  if (config_.tokens.empty()) return;
  (void)ctx_->send(peer, bundle());
  if (next_announce_ms_ == 0 || now_ms + config_.announce_interval_ms - kAnnounceGapMs >= next_announce_ms_) {
    announce_due_ = true;
  }
}

void Access::tick(std::uint64_t now_ms) {
  if (config_.tokens.empty()) return;
  if (announce_due_ || now_ms >= next_announce_ms_) {
    announce_due_ = false;
    next_announce_ms_ = now_ms + config_.announce_interval_ms;
    announce();
  }
}

std::optional<std::uint64_t> Access::next_deadline() const {
  if (config_.tokens.empty()) return std::nullopt;
  if (announce_due_) return ctx_ ? ctx_->now_ms() : 0;
  return next_announce_ms_;
}

}  // namespace nitro::auth
