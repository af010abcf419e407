// Access control: capability tokens verified offline, revocations spread by gossip, and per-node
// allow/deny rules, checked the same way by every protocol on the receiving side.
//
// Token (after UCAN 1.0 and Biscuit): an issuer grants a subject a set of (operation, resource
// pattern) pairs and roles for a time window. A root token is issued by a trusted authority; a
// delegated token names its parents by id (proofs), is issued by their subject, and may only
// narrow: every grant covered by a parent grant, every role held by a parent, its window inside
// every parent's. Encoding is the project codec (msgpack) with a fixed field order; the signature
// covers kTokenDomain || payload bytes; a token's id is BLAKE2b-256(payload || signature).
// Decoding is total and bounded (kTokenBytesMax, kGrantsMax, kRolesMax, kProofsMax, names), chains
// are at most kChainDepthMax tokens deep.
//
// Revocation: a record naming a token id, signed (kRevokeDomain) by any issuer in that token's chain
// (or a trusted authority). Verifiers keep the records they have seen and refuse a chain holding a
// revoked token from that moment on.
//
// Rules (one per line, '#' starts a comment):
//     allow|deny <op|*> <resource pattern> <who>
//     who:  any | peer:<peer id> | role:<role pattern> | grant
// `grant` matches a peer holding a live token whose grant covers the operation and resource.
// Patterns are NATS-style over '.'-separated tokens: `*` one token, `>` one or more trailing tokens
// (`Greeter.*`, `orders.>`, `>`). Every matching rule is looked at: a deny wins over any allow;
// with no match the default decides. When authorities are configured an implicit last rule
// `allow * > grant` lets token holders do what their tokens grant.
//
// Deterministic and sans-IO like the node: time is the node's now_ms plus an injected epoch offset
// (token times are Unix epoch milliseconds), nothing else is read.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nitro/chain_exec.h"
#include "nitro/identity.h"
#include "nitro/node.h"
#include "nitro/status.h"

namespace nitro::auth {

inline constexpr const char* kChannel = "auth";
inline constexpr const char* kRevokeTopic = "auth.revoke";  // revocation records (gossip)
inline constexpr const char* kTokensTopic = "auth.tokens";  // token bundles, for non-neighbor origins
inline constexpr const char* kTokenDomain = "nitro-token-v1";
inline constexpr const char* kRevokeDomain = "nitro-revoke-v1";
// The RPC metadata key naming the token a call is authorized with (its id in hex).
inline constexpr const char* kTokenMetadataKey = "nitro-token";
// The chain op that commits a revocation, and where the chain's state keeps committed records
// ("\0auth/revoked/<token id hex>/<revoker>": NUL-prefixed keys are out of user ops' reach).
inline constexpr const char* kChainRevokeOp = "auth.revoke";
inline constexpr std::string_view kChainRevokedPrefix{"\0auth/revoked/", 14};

inline constexpr std::size_t kTokenBytesMax = 4096;
inline constexpr std::size_t kGrantsMax = 32;
inline constexpr std::size_t kRolesMax = 16;
inline constexpr std::size_t kProofsMax = 4;
inline constexpr std::size_t kChainDepthMax = 8;
inline constexpr std::size_t kNameBytesMax = 256;    // an operation, a pattern, a role
inline constexpr std::size_t kNonceBytesMax = 32;
inline constexpr std::size_t kBundleTokensMax = 32;  // tokens one peer may present
inline constexpr std::size_t kRulesMax = 1024;
inline constexpr std::size_t kRuleBytesMax = 1024;
static_assert(kChainDepthMax <= kBundleTokensMax);

// The operation classes a grant or rule names ("*" in a grant or rule means any of them).
inline constexpr std::array<const char*, 6> kOps = {"rpc", "publish", "subscribe", "doc.write", "chain.submit", "sync"};

using TokenId = std::array<std::uint8_t, 32>;

struct Grant {
  std::string op;        // one of kOps, or "*"
  std::string resource;  // pattern
  bool operator==(const Grant&) const = default;
};

struct TokenPayload {
  PeerId issuer;
  PeerId subject;
  std::vector<Grant> grants;
  std::vector<std::string> roles;
  std::uint64_t not_before_ms = 0;  // Unix epoch ms
  std::uint64_t expires_ms = 0;     // Unix epoch ms, exclusive
  Bytes nonce;
  std::vector<TokenId> proofs;      // parent token ids; empty for a root token
};

struct Token {
  TokenPayload payload;
  Bytes payload_bytes;  // the canonical encoding that was signed
  crypto::Signature signature{};
  TokenId id{};
};

// Canonical payload bytes (fixed field order).
Bytes encode_payload(const TokenPayload& payload);
// Checks the shape (names, patterns, bounds) and signs with `issuer` (whose key must be payload.issuer).
Result<Token> sign_token(const TokenPayload& payload, const crypto::Identity& issuer);
Bytes encode_token(const Token& token);
// Total and bounded; checks the shape and the signature (kUnauthenticated if it does not verify).
Result<Token> decode_token(std::span<const std::uint8_t> bytes);
TokenId token_id(std::span<const std::uint8_t> payload_bytes, const crypto::Signature& signature);
std::string to_hex(const TokenId& id);
Result<TokenId> token_id_from_hex(std::string_view hex);

// Patterns.
Status check_pattern(std::string_view pattern);
bool pattern_matches(std::string_view pattern, std::string_view name);
// Every name `child` matches is matched by `parent` (child is equal or narrower).
bool pattern_covers(std::string_view parent, std::string_view child);
bool grant_covers(const Grant& parent, const Grant& child);
bool grant_allows(const Grant& grant, std::string_view op, std::string_view resource);

struct Revocation {
  TokenId token{};
  PeerId revoker;
  std::uint64_t at_ms = 0;
  crypto::Signature signature{};
};
Result<Revocation> sign_revocation(const TokenId& token, const crypto::Identity& revoker, std::uint64_t at_ms);
Bytes encode_revocation(const Revocation& revocation);
Result<Revocation> decode_revocation(std::span<const std::uint8_t> bytes);  // total; checks the signature

// A verified chain: the leaf, and every token it rests on (ids, for revocation and time checks).
struct Chain {
  TokenId leaf{};
  std::vector<TokenId> tokens;  // leaf first; each once
  std::set<PeerId> issuers;
};
// Verifies `leaf` against its ancestors in `pool`: signatures (already checked by decode_token),
// issuer == every parent's subject, narrowing, root issuers among `authorities`, depth. Time and
// revocation are checked separately (they change), by chain_live. kPermissionDenied with a reason
// ("untrusted issuer", "widens its parent", "missing proof", "too deep", "wrong issuer").
Result<Chain> verify_chain(const Token& leaf, const std::map<TokenId, Token>& pool, const std::set<PeerId>& authorities);

// Rules.
struct Rule {
  enum class Who : std::uint8_t { kAny, kPeer, kRole, kGrant };
  bool allow = true;
  std::string op;        // one of kOps or "*"
  std::string resource;  // pattern
  Who who = Who::kAny;
  PeerId peer;           // kPeer
  std::string role;      // kRole: pattern
  std::string text;      // as written, normalized whitespace: names the rule in denials
};
Result<Rule> parse_rule(std::string_view line);
// Lines; blank lines and '#' comments skipped. kInvalidArgument naming the line.
Result<std::vector<Rule>> parse_rules(std::string_view text);

struct AccessConfig {
  std::vector<PeerId> authorities;
  std::vector<Rule> rules;
  std::optional<bool> default_allow;  // unset: open without rules and authorities, closed otherwise
  std::int64_t epoch_offset_ms = 0;   // Unix epoch ms = node now_ms + this (injected by the host)
  std::vector<Bytes> tokens;          // this node's bundle: its tokens and their ancestors
  std::size_t peers_max = 4096;       // peers whose tokens are cached
  std::size_t revocations_max = 65536;
  std::uint64_t announce_interval_ms = 30000;  // token bundle re-announced by gossip
};

struct AccessStats {
  std::uint64_t allowed = 0, denied = 0;
  std::uint64_t tokens_accepted = 0, tokens_refused = 0, revocations = 0;
  std::uint64_t committed_revocations = 0;  // records a chain handed over (seen before or not)
  std::map<std::string, std::uint64_t> denied_by;      // "rule 2", "default", "token holder"
  std::map<std::string, std::uint64_t> refused_tokens; // reason -> count ("expired", "revoked", ...)
};

// The access protocol (channel "auth"): presents this node's tokens once per link, keeps the
// verified tokens of peers, spreads and honours revocations, and decides. The node routes every
// protocol's ProtocolContext::authorize here.
class Access final : public Protocol {
 public:
  static Result<std::unique_ptr<Access>> create(AccessConfig config);

  // OK, or PERMISSION_DENIED naming the deciding rule (counted). The local node is always allowed.
  Status authorize(const PeerId& peer, std::string_view op, std::string_view resource);
  // The same with exactly one of the peer's presented tokens (its id in hex) instead of all of them:
  // refused, naming the reason, if it is unknown on the link (never presented, or its chain did
  // not verify), revoked, outside its time window, or grants no `op` on `resource`. Deny rules
  // still win; allow rules by role or grant see only that token.
  Status authorize_with(const PeerId& peer, std::string_view op, std::string_view resource, std::string_view token_ref);
  // A revocation committed on a chain (the node's consensus protocol hands it over when it applies
  // a block or installs a snapshot): honoured like one from gossip, not spread again.
  void apply_committed(std::span<const std::uint8_t> record);
  // Applies and spreads a revocation record (bytes from encode_revocation).
  Status revoke(std::span<const std::uint8_t> record);
  // Replaces this node's bundle and presents it again to every linked peer.
  Status set_tokens(std::vector<Bytes> tokens);
  Status set_rules(std::vector<Rule> rules);
  bool revoked(const TokenId& id) const { return revoked_.count(id) != 0; }
  const AccessStats& stats() const { return stats_; }
  std::uint64_t epoch_ms() const;

  // Protocol
  void attach(ProtocolContext& ctx) override;
  void on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) override;
  void on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t seq,
                    std::span<const std::uint8_t> payload, std::uint64_t now_ms) override;
  void on_peer_up(const PeerId& peer, std::uint64_t now_ms) override;
  void tick(std::uint64_t now_ms) override;
  std::optional<std::uint64_t> next_deadline() const override;

 private:
  struct PeerTokens {
    std::vector<Chain> chains;
    std::map<TokenId, Token> pool;
    std::string refused;  // why the last refused token was refused ("" if none)
  };
  struct Held {
    std::vector<Grant> grants;
    std::set<std::string> roles;
    std::string refused;  // a chain that is not live now: why
  };
  explicit Access(AccessConfig config);
  void accept_bundle(const PeerId& peer, std::span<const std::uint8_t> bytes);
  Held held(const PeerId& peer) const;
  std::string referenced(const PeerId& peer, const TokenId& token, Held& h) const;
  Status decide(const PeerId& peer, std::string_view op, std::string_view resource, const Held& h);
  std::string chain_refusal(const Chain& chain, const PeerTokens& pt, std::uint64_t now_ms) const;
  bool rule_matches(const Rule& rule, const PeerId& peer, const Held& h, std::string_view op,
                    std::string_view resource) const;
  Status deny(const PeerId& peer, std::string_view op, std::string_view resource, const std::string& by,
              const std::string& rule_text, const Held& h);
  void apply_revocation(const Revocation& r, std::span<const std::uint8_t> bytes);
  Bytes bundle() const;
  void announce();

  AccessConfig config_;
  std::set<PeerId> authorities_;
  bool default_allow_ = true;
  ProtocolContext* ctx_ = nullptr;
  std::map<PeerId, PeerTokens> peers_;
  std::map<TokenId, std::set<PeerId>> revoked_;  // token -> who revoked it (signatures checked)
  AccessStats stats_;
  std::uint64_t next_announce_ms_ = 0;
  bool announce_due_ = false;
};

// The chain module behind kChainRevokeOp (registered by the chain's executor). Arguments
// {record: revocation bytes, tokens: [the revoked token and its ancestors]}; verified on execution:
// the record's signature, and its revoker is an issuer in the token's chain (authorities are a
// per-node setting, so a chain does not check them; every verifier still does). Result:
// {token: id hex, revoker, record}; the record is kept under kChainRevokedPrefix.
std::shared_ptr<chain::BuiltinModule> make_chain_module();

// Topics the node's own protocols use (their messages are checked by those protocols): exempt
// from the pub/sub publish check.
bool is_protocol_topic(std::string_view topic);

}  // namespace nitro::auth
