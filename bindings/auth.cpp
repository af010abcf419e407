// Embind glue for access control (nitro/auth.h): attach the "auth" protocol to a NodeCore, ask it,
// and the offline token helpers (issue, inspect, verify a chain, revocation records). Conversion
// only: token format, chains and rules live in core/src/auth. Errors are values.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "convert.h"
#include "node_core.h"
#include "nitro/auth.h"

namespace nitro::bind {
namespace {

auth::Access* access_of(NodeCore& core) { return dynamic_cast<auth::Access*>(core.node().protocol(auth::kChannel)); }

Result<std::vector<Bytes>> byte_list(const val& list, const char* what) {
  std::vector<Bytes> out;
  if (list.isUndefined() || list.isNull()) return out;
  if (!list.isArray()) return invalid_argument(std::string(what) + " must be an array of Uint8Array");
  const auto n = list["length"].as<std::size_t>();
  if (n > auth::kBundleTokensMax * 4) return invalid_argument(std::string(what) + ": too many");
  for (std::size_t i = 0; i < n; ++i) {
    if (!list[i].instanceof(val::global("Uint8Array"))) return invalid_argument(std::string(what) + " must be Uint8Array");
    out.push_back(bytes_from_js(list[i]));
  }
  return out;
}

Result<std::vector<PeerId>> peer_list(const val& list, const char* what) {
  std::vector<PeerId> out;
  if (list.isUndefined() || list.isNull()) return out;
  if (!list.isArray()) return invalid_argument(std::string(what) + " must be an array of peer ids");
  const auto n = list["length"].as<std::size_t>();
  for (std::size_t i = 0; i < n && i < 1024; ++i) {
    if (!list[i].isString()) return invalid_argument(std::string(what) + " must be peer id strings");
    auto id = PeerId::parse(list[i].as<std::string>());
    if (!id.ok()) return invalid_argument(std::string(what) + ": " + id.status().message());
    out.push_back(*id);
  }
  return out;
}

std::string hex(std::span<const std::uint8_t> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto x : b) { s.push_back(d[x >> 4]); s.push_back(d[x & 15]); }
  return s;
}

val token_to_js(const auth::Token& t) {
  val o = val::object();
  o.set("id", auth::to_hex(t.id));
  o.set("issuer", t.payload.issuer.to_string());
  o.set("subject", t.payload.subject.to_string());
  val grants = val::array();
  for (std::size_t i = 0; i < t.payload.grants.size(); ++i) {
    val g = val::object();
    g.set("op", t.payload.grants[i].op);
    g.set("resource", t.payload.grants[i].resource);
    grants.set(i, g);
  }
  o.set("grants", grants);
  val roles = val::array();
  for (std::size_t i = 0; i < t.payload.roles.size(); ++i) roles.set(i, t.payload.roles[i]);
  o.set("roles", roles);
  o.set("notBeforeMs", static_cast<double>(t.payload.not_before_ms));
  o.set("expiresMs", static_cast<double>(t.payload.expires_ms));
  o.set("nonce", hex(t.payload.nonce));
  val proofs = val::array();
  for (std::size_t i = 0; i < t.payload.proofs.size(); ++i) proofs.set(i, auth::to_hex(t.payload.proofs[i]));
  o.set("proofs", proofs);
  return o;
}

// opts: { authorities?: string[], rules?: string, defaultAllow?: boolean, epochOffsetMs: number,
//         tokens?: Uint8Array[] }
val auth_attach(NodeCore& core, const val& opts) {
  if (access_of(core)) return error_to_js(Status(Code::kAlreadyExists, "auth: already attached"));
  auth::AccessConfig c;
  auto authorities = peer_list(opts["authorities"], "auth.authorities");
  if (!authorities.ok()) return error_to_js(authorities.status());
  c.authorities = std::move(*authorities);
  if (opts["rules"].isString()) {
    auto rules = auth::parse_rules(opts["rules"].as<std::string>());
    if (!rules.ok()) return error_to_js(invalid_argument("auth.rules: " + rules.status().message()));
    c.rules = std::move(*rules);
  }
  if (opts["defaultAllow"].isTrue()) c.default_allow = true;
  if (opts["defaultAllow"].isFalse()) c.default_allow = false;
  const val offset = opts["epochOffsetMs"];
  if (offset.isNumber() && std::isfinite(offset.as<double>())) c.epoch_offset_ms = static_cast<std::int64_t>(offset.as<double>());
  auto tokens = byte_list(opts["tokens"], "auth.tokens");
  if (!tokens.ok()) return error_to_js(tokens.status());
  c.tokens = std::move(*tokens);
  auto p = auth::Access::create(std::move(c));
  if (!p.ok()) return error_to_js(p.status());
  Status s = core.node().add_protocol(auth::kChannel, std::move(*p));
  return s.ok() ? val::undefined() : error_to_js(s);
}

// token: the id (hex) of the peer's token to decide with, or "" for all its live tokens.
val auth_authorize(NodeCore& core, const std::string& peer, const std::string& op, const std::string& resource,
                   const std::string& token) {
  auto id = PeerId::parse(peer);
  if (!id.ok()) return error_to_js(id.status());
  return error_or_null(core.node().authorize_with(*id, op, resource, token));
}

val auth_revoke(NodeCore& core, const val& record) {
  auto* a = access_of(core);
  if (!a) return error_to_js(failed_precondition("auth: not attached"));
  return error_or_null(a->revoke(bytes_from_js(record)));
}

val auth_set_tokens(NodeCore& core, const val& list) {
  auto* a = access_of(core);
  if (!a) return error_to_js(failed_precondition("auth: not attached"));
  auto tokens = byte_list(list, "tokens");
  if (!tokens.ok()) return error_to_js(tokens.status());
  return error_or_null(a->set_tokens(std::move(*tokens)));
}

val auth_set_rules(NodeCore& core, const std::string& text) {
  auto* a = access_of(core);
  if (!a) return error_to_js(failed_precondition("auth: not attached"));
  auto rules = auth::parse_rules(text);
  if (!rules.ok()) return error_to_js(invalid_argument("auth.rules: " + rules.status().message()));
  return error_or_null(a->set_rules(std::move(*rules)));
}

val counts_to_js(const std::map<std::string, std::uint64_t>& m) {
  val o = val::object();
  for (const auto& [k, v] : m) o.set(k, static_cast<double>(v));
  return o;
}

val auth_stats(NodeCore& core) {
  auto* a = access_of(core);
  if (!a) return val::null();
  const auth::AccessStats& s = a->stats();
  val o = val::object();
  o.set("allowed", static_cast<double>(s.allowed));
  o.set("denied", static_cast<double>(s.denied));
  o.set("tokensAccepted", static_cast<double>(s.tokens_accepted));
  o.set("tokensRefused", static_cast<double>(s.tokens_refused));
  o.set("revocations", static_cast<double>(s.revocations));
  o.set("committedRevocations", static_cast<double>(s.committed_revocations));
  o.set("deniedBy", counts_to_js(s.denied_by));
  o.set("refusedTokens", counts_to_js(s.refused_tokens));
  return o;
}

// ---- offline helpers ------------------------------------------------------------------------------

Result<auth::TokenPayload> payload_from_js(const crypto::Identity& issuer, const val& o) {
  auth::TokenPayload p;
  p.issuer = issuer.peer_id();
  if (!o["subject"].isString()) return invalid_argument("token: subject must be a peer id");
  auto subject = PeerId::parse(o["subject"].as<std::string>());
  if (!subject.ok()) return invalid_argument("token: subject: " + subject.status().message());
  p.subject = *subject;
  const val grants = o["grants"];
  if (!grants.isArray()) return invalid_argument("token: grants must be an array of { op, resource }");
  for (std::size_t i = 0, n = grants["length"].as<std::size_t>(); i < n && i <= auth::kGrantsMax; ++i) {
    const val g = grants[i];
    if (!g["op"].isString() || !g["resource"].isString()) return invalid_argument("token: a grant is { op, resource }");
    p.grants.push_back({g["op"].as<std::string>(), g["resource"].as<std::string>()});
  }
  const val roles = o["roles"];
  if (roles.isArray()) {
    for (std::size_t i = 0, n = roles["length"].as<std::size_t>(); i < n && i <= auth::kRolesMax; ++i) {
      if (!roles[i].isString()) return invalid_argument("token: roles must be strings");
      p.roles.push_back(roles[i].as<std::string>());
    }
  }
  NITRO_TRY(read_u64_field(o, "notBeforeMs", p.not_before_ms, true));
  NITRO_TRY(read_u64_field(o, "expiresMs", p.expires_ms, true));
  if (o["nonce"].instanceof(val::global("Uint8Array"))) p.nonce = bytes_from_js(o["nonce"]);
  const val proofs = o["proofs"];
  if (proofs.isArray()) {
    for (std::size_t i = 0, n = proofs["length"].as<std::size_t>(); i < n && i <= auth::kProofsMax; ++i) {
      if (!proofs[i].isString()) return invalid_argument("token: proofs are token id hex strings");
      auto id = auth::token_id_from_hex(proofs[i].as<std::string>());
      if (!id.ok()) return id.status();
      p.proofs.push_back(*id);
    }
  }
  return p;
}

// -> Uint8Array (the token) or an error value.
val token_issue(const val& seed, const val& opts) {
  auto issuer = crypto::Identity::import_seed(bytes_from_js(seed));
  if (!issuer.ok()) return error_to_js(issuer.status());
  auto p = payload_from_js(*issuer, opts);
  if (!p.ok()) return error_to_js(p.status());
  auto t = auth::sign_token(*p, *issuer);
  if (!t.ok()) return error_to_js(t.status());
  return bytes_to_js(auth::encode_token(*t));
}

val token_inspect(const val& bytes) {
  auto t = auth::decode_token(bytes_from_js(bytes));
  if (!t.ok()) return error_to_js(t.status());
  return token_to_js(*t);
}

// The leaf's chain against the tokens of `bundle` and the trusted `authorities`, at `nowMs`
// (epoch) with the revocation records given: -> { ok, reason, tokens: id[] }.
val token_verify(const val& leaf_bytes, const val& bundle, const val& authorities, double now_ms, const val& revocations) {
  auto leaf = auth::decode_token(bytes_from_js(leaf_bytes));
  val out = val::object();
  if (!leaf.ok()) {
    out.set("ok", false);
    out.set("reason", leaf.status().message());
    return out;
  }
  auto list = byte_list(bundle, "bundle");
  auto roots = peer_list(authorities, "authorities");
  auto revs = byte_list(revocations, "revocations");
  if (!list.ok()) return error_to_js(list.status());
  if (!roots.ok()) return error_to_js(roots.status());
  if (!revs.ok()) return error_to_js(revs.status());
  std::map<auth::TokenId, auth::Token> pool;
  for (const Bytes& b : *list) {
    auto t = auth::decode_token(b);
    if (t.ok()) pool.emplace(t->id, std::move(*t));
  }
  auto chain = auth::verify_chain(*leaf, pool, std::set<PeerId>(roots->begin(), roots->end()));
  std::string reason = chain.ok() ? "" : chain.status().message();
  if (chain.ok()) {
    const auto now = static_cast<std::uint64_t>(std::max(0.0, now_ms));
    for (const auto& id : chain->tokens) {
      const auto& p = id == leaf->id ? leaf->payload : pool.at(id).payload;
      if (now < p.not_before_ms) reason = "not yet valid";
      if (now >= p.expires_ms) reason = "expired";
    }
    for (const Bytes& r : *revs) {
      auto rec = auth::decode_revocation(r);
      if (!rec.ok()) continue;
      const bool in_chain = std::find(chain->tokens.begin(), chain->tokens.end(), rec->token) != chain->tokens.end();
      if (in_chain && (chain->issuers.count(rec->revoker) || std::count(roots->begin(), roots->end(), rec->revoker))) reason = "revoked";
    }
  }
  out.set("ok", reason.empty());
  out.set("reason", reason);
  val ids = val::array();
  if (chain.ok()) for (std::size_t i = 0; i < chain->tokens.size(); ++i) ids.set(i, auth::to_hex(chain->tokens[i]));
  out.set("tokens", ids);
  return out;
}

val token_revocation(const val& seed, const std::string& id_hex, double at_ms) {
  auto revoker = crypto::Identity::import_seed(bytes_from_js(seed));
  if (!revoker.ok()) return error_to_js(revoker.status());
  auto id = auth::token_id_from_hex(id_hex);
  if (!id.ok()) return error_to_js(id.status());
  auto r = auth::sign_revocation(*id, *revoker, static_cast<std::uint64_t>(std::max(0.0, at_ms)));
  if (!r.ok()) return error_to_js(r.status());
  return bytes_to_js(auth::encode_revocation(*r));
}

val revocation_inspect(const val& bytes) {
  auto r = auth::decode_revocation(bytes_from_js(bytes));
  if (!r.ok()) return error_to_js(r.status());
  val o = val::object();
  o.set("token", auth::to_hex(r->token));
  o.set("revoker", r->revoker.to_string());
  o.set("atMs", static_cast<double>(r->at_ms));
  return o;
}

val rules_check(const std::string& text) {
  auto rules = auth::parse_rules(text);
  if (!rules.ok()) return error_to_js(rules.status());
  val out = val::array();
  for (std::size_t i = 0; i < rules->size(); ++i) out.set(i, (*rules)[i].text);
  return out;
}

}  // namespace

EMSCRIPTEN_BINDINGS(nitro_auth) {
  emscripten::function("authAttach", &auth_attach);
  emscripten::function("authAuthorize", &auth_authorize);
  emscripten::function("authRevoke", &auth_revoke);
  emscripten::function("authSetTokens", &auth_set_tokens);
  emscripten::function("authSetRules", &auth_set_rules);
  emscripten::function("authStats", &auth_stats);
  emscripten::function("tokenIssue", &token_issue);
  emscripten::function("tokenInspect", &token_inspect);
  emscripten::function("tokenVerify", &token_verify);
  emscripten::function("tokenRevocation", &token_revocation);
  emscripten::function("revocationInspect", &revocation_inspect);
  emscripten::function("rulesCheck", &rules_check);
}

}  // namespace nitro::bind
