// Token references and committed revocations.
// - A call or write that names one of the peer's presented tokens is decided with exactly that
//   token: refused (naming why) when it is unknown on the link, expired, revoked or grants no such
//   operation, even when another presented token would have allowed it.
// - The doc-sync wire carries the reference as msgpack the test builds by hand (an independent
//   encoder: the project codec's generic Value tree, not the sync message encoder).
// - The chain's "auth" module commits a revocation only if its revoker is an issuer in the
//   token's chain; the executor's state keeps it.
#include <catch2/catch.hpp>

#include "consensus/state.h"
#include "nitro/auth.h"
#include "nitro/codec.h"
#include "nitro/docsync.h"

using namespace nitro;
using namespace nitro::auth;

namespace {

constexpr std::int64_t kNow = 50'000;  // epoch ms the Access below runs at (no context: offset only)

crypto::Identity ident(std::uint8_t n) {
  crypto::Seed s{};
  s[0] = n;
  s[1] = 0x5a;
  return crypto::Identity::from_seed(s);
}

Token issue(const crypto::Identity& issuer, const PeerId& subject, std::vector<Grant> grants, std::uint64_t expires_ms = 100'000,
            std::vector<TokenId> proofs = {}) {
  TokenPayload p;
  p.issuer = issuer.peer_id();
  p.subject = subject;
  p.nonce = Bytes{static_cast<std::uint8_t>(grants.size()), static_cast<std::uint8_t>(expires_ms >> 8)};
  p.grants = std::move(grants);
  p.not_before_ms = 1000;
  p.expires_ms = expires_ms;
  p.proofs = std::move(proofs);
  auto t = sign_token(p, issuer);
  REQUIRE(t.ok());
  return *t;
}

Bytes bundle(const std::vector<Token>& tokens) {
  Array a;
  for (const Token& t : tokens) a.push_back(Value{encode_token(t)});
  return codec::encode(Value{Array{Value{std::uint64_t{1}}, Value{std::move(a)}}});
}

std::unique_ptr<Access> access_with(const PeerId& authority, const std::string& rules) {
  AccessConfig c;
  c.authorities = {authority};
  c.epoch_offset_ms = kNow;
  auto r = parse_rules(rules);
  REQUIRE(r.ok());
  c.rules = *r;
  auto a = Access::create(c);
  REQUIRE(a.ok());
  return std::move(*a);
}

}  // namespace

TEST_CASE("auth ref: a referenced token decides alone, and every reason to refuse it is named") {
  const auto root = ident(1), alice = ident(2);
  const PeerId peer = alice.peer_id();
  const Token broad = issue(root, peer, {{"rpc", "Greeter.*"}, {"doc.write", "plans"}});
  const Token narrow = issue(root, peer, {{"rpc", "Greeter.Hello"}});
  const Token expired = issue(root, peer, {{"rpc", "Greeter.*"}}, 40'000);
  const Token revoked = issue(root, peer, {{"rpc", "Greeter.*"}, {"rpc", "Billing.*"}}, 90'000);
  const Token absent = issue(root, peer, {{"rpc", "Greeter.*"}}, 95'000);  // never presented
  auto a = access_with(root.peer_id(), "deny rpc Greeter.Admin any");
  a->on_message(peer, bundle({broad, narrow, expired, revoked}), 0);
  auto rec = sign_revocation(revoked.id, root, 1);
  REQUIRE(rec.ok());
  a->apply_committed(encode_revocation(*rec));
  REQUIRE(a->revoked(revoked.id));

  // No reference: any live token of the peer's counts (the behaviour without references).
  CHECK(a->authorize(peer, "rpc", "Greeter.Bye").ok());
  CHECK(a->authorize(peer, "doc.write", "plans").ok());
  // Referenced: exactly that token.
  CHECK(a->authorize_with(peer, "rpc", "Greeter.Bye", to_hex(broad.id)).ok());
  CHECK(a->authorize_with(peer, "rpc", "Greeter.Hello", to_hex(narrow.id)).ok());
  auto check_refused = [&](const Token& t, std::string_view op, std::string_view res, const std::string& why) {
    Status s = a->authorize_with(peer, op, res, to_hex(t.id));
    INFO(s.message());
    CHECK(s.code() == Code::kPermissionDenied);
    CHECK(s.message().find("denied by referenced token '" + to_hex(t.id).substr(0, 16) + "'") != std::string::npos);
    CHECK(s.message().find("(its token: " + why + ")") != std::string::npos);
  };
  check_refused(narrow, "rpc", "Greeter.Bye", "grants no such operation");     // broad would allow it
  check_refused(narrow, "doc.write", "plans", "grants no such operation");
  check_refused(expired, "rpc", "Greeter.Hello", "expired");
  check_refused(revoked, "rpc", "Greeter.Hello", "revoked");
  check_refused(absent, "rpc", "Greeter.Hello", "unknown on this link");
  // A deny rule still wins over the referenced token's grant.
  Status denied = a->authorize_with(peer, "rpc", "Greeter.Admin", to_hex(broad.id));
  CHECK(denied.code() == Code::kPermissionDenied);
  CHECK(denied.message().find("rule 1 'deny rpc Greeter.Admin any'") != std::string::npos);
  // A reference that is no token id is refused, never taken for "none".
  CHECK(a->authorize_with(peer, "rpc", "Greeter.Hello", "zz").code() == Code::kPermissionDenied);
  // Another peer cannot use alice's token by naming it.
  CHECK(a->authorize_with(ident(3).peer_id(), "rpc", "Greeter.Hello", to_hex(broad.id)).code() == Code::kPermissionDenied);
  // Counted: per deciding rule, per refusal reason.
  CHECK(a->stats().denied_by.at("referenced token") == 7);
  CHECK(a->stats().refused_tokens.at("denied: grants no such operation") == 2);
  CHECK(a->stats().refused_tokens.at("denied: unknown on this link") == 2);
}

TEST_CASE("auth ref: doc-sync messages and gossip payloads carry the token reference as msgpack") {
  const std::string ref(64, 'a');
  // Hand-built expected frames (fixed key order: k, d, u, t).
  const Bytes expected_up = codec::encode(Value{Map{{Value{"k"}, Value{"up"}}, {Value{"d"}, Value{"board"}},
                                                    {Value{"u"}, Value{Bytes{1, 2}}}, {Value{"t"}, Value{ref}}}});
  crdt::SyncMessage m;
  m.kind = crdt::SyncMessage::Kind::kUpdate;
  m.doc = "board";
  m.bytes = {1, 2};
  m.token = ref;
  CHECK(crdt::encode_sync_message(m) == expected_up);
  auto back = crdt::decode_sync_message(expected_up);
  REQUIRE(back.ok());
  CHECK(back->token == ref);
  // Without a reference the frame is what it always was (golden frames unchanged).
  m.token.clear();
  CHECK(crdt::encode_sync_message(m) ==
        codec::encode(Value{Map{{Value{"k"}, Value{"up"}}, {Value{"d"}, Value{"board"}}, {Value{"u"}, Value{Bytes{1, 2}}}}}));
  // A reference of the wrong shape is a decode error.
  const Bytes bad = codec::encode(Value{Map{{Value{"k"}, Value{"up"}}, {Value{"d"}, Value{"board"}},
                                            {Value{"u"}, Value{Bytes{1}}}, {Value{"t"}, Value{std::uint64_t{7}}}}});
  CHECK(crdt::decode_sync_message(bad).status().code() == Code::kDecodeError);

  CHECK(crdt::encode_gossip_update(Bytes{9}, "") == codec::encode(Value{Bytes{9}}));
  CHECK(crdt::encode_gossip_update(Bytes{9}, ref) == codec::encode(Value{Array{Value{Bytes{9}}, Value{ref}}}));
  auto g = crdt::decode_gossip_update(codec::encode(Value{Array{Value{Bytes{9}}, Value{ref}}}));
  REQUIRE(g.ok());
  CHECK(g->update == Bytes{9});
  CHECK(g->token == ref);
  CHECK_FALSE(crdt::decode_gossip_update(codec::encode(Value{Array{Value{Bytes{9}}, Value{"short"}}})).ok());
  CHECK_FALSE(crdt::decode_gossip_update(codec::encode(Value{Array{Value{Bytes{9}}}})).ok());
}

TEST_CASE("auth ref: the chain commits a revocation only from an issuer in the token's chain") {
  const auto root = ident(1), alice = ident(2), bob = ident(4), mallory = ident(5), submitter = ident(6);
  const Token parent = issue(root, alice.peer_id(), {{"rpc", "Greeter.*"}});
  const Token child = issue(alice, bob.peer_id(), {{"rpc", "Greeter.Hello"}}, 100'000, {parent.id});
  const Bytes tokens_value_parent = encode_token(parent), tokens_value_child = encode_token(child);
  auto args = [&](const Revocation& r, std::vector<Bytes> tokens) {
    Array t;
    for (auto& b : tokens) t.push_back(Value{b});
    return Value{Map{{Value{"record"}, Value{encode_revocation(r)}}, {Value{"tokens"}, Value{std::move(t)}}}};
  };
  auto by_root = sign_revocation(child.id, root, 7);      // the root issued the parent: in the chain
  auto by_alice = sign_revocation(child.id, alice, 8);    // issued the child itself
  auto by_mallory = sign_revocation(child.id, mallory, 9);
  REQUIRE((by_root.ok() && by_alice.ok() && by_mallory.ok()));
  consensus::Executor ex;
  std::uint64_t nonce = 0;
  auto run = [&](const Value& a) {
    auto outs = ex.execute({++nonce, 1000 * nonce, PeerId{}, 0}, {consensus::encode_signed_tx(submitter, nonce, kChainRevokeOp, a)});
    REQUIRE(outs.size() == 1);
    return outs[0];
  };
  auto refused = run(args(*by_mallory, {tokens_value_child, tokens_value_parent}));
  CHECK_FALSE(refused.ok);
  CHECK(refused.error.code() == Code::kPermissionDenied);
  CHECK_FALSE(run(args(*by_root, {tokens_value_child})).ok);  // the parent is needed to see the root
  CHECK_FALSE(run(args(*by_root, {tokens_value_parent})).ok);  // the revoked token itself is needed
  const std::string prefix(kChainRevokedPrefix);
  auto kept_keys = [&] {
    std::vector<std::string> keys;
    for (const auto& [k, e] : ex.store().entries()) {
      if (k.rfind(prefix, 0) == 0) keys.push_back(k);
    }
    return keys;
  };
  CHECK(kept_keys().empty());
  auto ok = run(args(*by_root, {tokens_value_child, tokens_value_parent}));
  REQUIRE(ok.ok);
  CHECK(ok.op == kChainRevokeOp);
  CHECK(ok.result.find("record")->as<Bytes>() == encode_revocation(*by_root));
  REQUIRE(run(args(*by_alice, {tokens_value_child})).ok);  // alice issued it: no ancestor needed
  auto kept = kept_keys();
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].rfind(prefix + to_hex(child.id) + "/", 0) == 0);
  // A user op cannot write there: keys starting with NUL are the built-in modules'.
  auto forged = ex.execute({++nonce, 1000 * nonce, PeerId{}, 0},
                           {consensus::encode_signed_tx(submitter, nonce, "kv.put",
                                                        Value{Map{{Value{"key"}, Value{prefix + "x"}}, {Value{"value"}, Value{1}}}})});
  CHECK_FALSE(forged[0].ok);
}
