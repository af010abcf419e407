// One member of a threshold beacon group: signs each round's message with its share when the
// round starts, collects and verifies peers' partials, recovers the group signature at t, and
// catches up on missed rounds by asking a peer (rotating) for recovered signatures.
#include <algorithm>
#include <iterator>
#include <string>

#include "bls/wire.h"
#include "nitro/bls_beacon.h"

namespace nitro::bls {
namespace {

Status check_config(const BeaconConfig& c) {
  if (c.n == 0 || c.n > threshold::kMembersMax) return invalid_argument("beacon: bad group size");
  if (c.poly.threshold() == 0 || c.poly.threshold() > c.n) return invalid_argument("beacon: bad threshold");
  if (c.share.index == 0 || c.share.index > c.n) return invalid_argument("beacon: share index not in the group");
  if (c.period_ms == 0) return invalid_argument("beacon: period_ms must be positive");
  if (c.history_rounds_max == 0 || c.pending_rounds_max == 0) return invalid_argument("beacon: zero bounds");
  if (c.sync_batch_max == 0 || c.sync_batch_max > wire::kSyncEntriesMax) return invalid_argument("beacon: bad sync batch");
  if (scheme_chained(c.scheme) && (c.genesis_seed.empty() || c.genesis_seed.size() > kG2Bytes)) {
    return invalid_argument("beacon: chained schemes need a genesis seed of 1..96 bytes");
  }
  if (c.poly.group != scheme_suite(c.scheme).pk_group()) return invalid_argument("beacon: key group does not fit the scheme");
  return threshold::validate(c.poly);
}

}  // namespace

Result<BeaconEngine> BeaconEngine::create(BeaconConfig config) {
  NITRO_TRY(check_config(config));
  auto matches = threshold::share_matches(config.poly, config.share);
  if (!matches.ok()) return matches.status();
  if (!*matches) return invalid_argument("beacon: share does not match the public polynomial");
  BeaconEngine e;
  e.suite_ = scheme_suite(config.scheme);
  auto gk = PublicKey::decode(config.poly.group, config.poly.group_key());
  if (!gk.ok()) return gk.status();
  e.group_key_ = *gk;
  for (Index i = 1; i <= config.n; ++i) {
    auto pk = threshold::public_share(config.poly, i);
    if (!pk.ok()) return pk.status();
    auto key = PublicKey::decode(config.poly.group, *pk);
    if (!key.ok()) return key.status();
    e.member_keys_.push_back(*key);
  }
  e.sync_peer_ = config.share.index;
  e.config_ = std::move(config);
  return e;
}

std::uint64_t BeaconEngine::round_at(std::uint64_t now_ms) const {
  if (now_ms < config_.genesis_ms) return 0;
  return (now_ms - config_.genesis_ms) / config_.period_ms + 1;
}

std::optional<Bytes> BeaconEngine::signature(std::uint64_t round) const {
  auto it = rounds_.find(round);
  if (it == rounds_.end()) return std::nullopt;
  return it->second;
}

std::optional<Bytes> BeaconEngine::previous_of(std::uint64_t round) const {
  if (round == 1) return config_.genesis_seed;
  auto it = rounds_.find(round - 1);
  if (it == rounds_.end()) return std::nullopt;
  return it->second;
}

std::optional<Bytes> BeaconEngine::message_for(std::uint64_t round) const {
  if (!scheme_chained(config_.scheme)) {
    auto m = beacon_message(config_.scheme, round, {});
    return Bytes(m.begin(), m.end());
  }
  auto prev = previous_of(round);
  if (!prev) return std::nullopt;
  auto m = beacon_message(config_.scheme, round, *prev);
  return Bytes(m.begin(), m.end());
}

void BeaconEngine::tick(std::uint64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  maybe_sign(now_ms);
  maybe_sync(now_ms);
  prune(now_ms);
}

void BeaconEngine::maybe_sign(std::uint64_t now_ms) {
  const std::uint64_t cur = round_at(now_ms);
  catchup_due_ = false;
  if (cur == 0) return;
  if (!scheme_chained(config_.scheme)) {  // rounds are independent: sign each current round once
    if (cur > signed_round_) {
      signed_round_ = cur;
      (void)sign_round(cur, cur);
    }
    catch_up_unchained(cur);
    return;
  }
  // Chained: produce the round after our head, in order, up to the current one (drand's
  // catch-up). When our partial completes a round (t = 1, or the last one missing) the head
  // moves at once; a call signs at most pending_rounds_max rounds and continues at next_deadline.
  for (std::uint32_t k = 0; k < config_.pending_rounds_max; ++k) {
    const std::uint64_t r = latest_round() + 1;
    if (r > cur || !sign_round(r, cur) || !rounds_.count(r)) return;
  }
  catchup_due_ = latest_round() < cur;
}

// Unchained rounds that fewer than t members signed in time stay open for pending_rounds_max
// rounds (drand's catch-up): every member signs each open round of that window it has not signed,
// and re-sends its partials of open rounds once per period (they were broadcast while too few
// members could hear them), so the rounds complete as soon as t members are up again.
void BeaconEngine::catch_up_unchained(std::uint64_t cur) {
  const std::uint64_t lo = cur > config_.pending_rounds_max ? cur - config_.pending_rounds_max + 1 : 1;
  const bool resend = resent_round_ < cur;
  const Index self = config_.share.index;
  // The round before the current one may still have partials in flight: it is not open yet.
  for (std::uint64_t r = std::max(lo, forgotten_ + 1); r + 1 < cur; ++r) {
    if (rounds_.count(r)) continue;
    auto it = pending_.find(r);
    if (it == pending_.end() || !it->second.partials.count(self)) {
      (void)sign_round(r, cur);
    } else if (resend) {
      out_.push_back(Outgoing{std::nullopt, wire::encode(wire::Partial{r, it->second.partials[self]})});
    }
  }
  if (resend) resent_round_ = cur;
}

// Signs `round` and broadcasts the partial; false if the round is settled, its message unknown,
// or already signed. A chained round still missing after its period is re-sent once per period:
// the partials of a stalled round were broadcast while fewer than t members could hear them.
bool BeaconEngine::sign_round(std::uint64_t round, std::uint64_t cur) {
  if (rounds_.count(round) || round <= forgotten_) return false;
  const Index self = config_.share.index;
  auto it = pending_.find(round);
  if (it != pending_.end() && it->second.partials.count(self)) {
    if (round < cur && resent_round_ < cur) {
      resent_round_ = cur;
      out_.push_back(Outgoing{std::nullopt, wire::encode(wire::Partial{round, it->second.partials[self]})});
    }
    return false;
  }
  auto msg = message_for(round);
  if (!msg) return false;  // chained and the previous round is unknown: catch up first
  auto partial = threshold::partial_sign(config_.share, suite_, *msg);
  pending_[round].partials[self] = partial.sig;
  out_.push_back(Outgoing{std::nullopt, wire::encode(wire::Partial{round, partial.sig})});
  try_recover(round);
  return true;
}

// Rounds whose partials are kept: the recent ones and, chained, the catch-up frontier above the
// head (at most 2 * pending_rounds_max + 2 rounds in all).
bool BeaconEngine::in_window(std::uint64_t round, std::uint64_t cur) const {
  if (round + config_.pending_rounds_max >= cur) return true;
  const std::uint64_t head = latest_round();
  return scheme_chained(config_.scheme) && round > head && round <= head + config_.pending_rounds_max;
}

Status BeaconEngine::handle(Index from, ByteSpan bytes, std::uint64_t now_ms) {
  if (from == 0 || from > config_.n || from == config_.share.index) {
    return permission_denied("beacon: sender is not another member");
  }
  now_ms_ = std::max(now_ms_, now_ms);
  auto msg = wire::decode(bytes);
  if (!msg.ok()) {
    reject(from, 0, msg.status());
    return msg.status();
  }
  Status st;
  if (auto* p = std::get_if<wire::Partial>(&*msg)) {
    st = on_partial(from, p->round, p->sig, now_ms);
  } else if (auto* q = std::get_if<wire::SyncRequest>(&*msg)) {
    st = on_sync_request(from, q->first, q->last);
  } else if (auto* r = std::get_if<wire::SyncResponse>(&*msg)) {
    std::vector<Synced> rounds;
    for (auto& e : r->rounds) rounds.push_back(Synced{e.round, std::move(e.sig), std::move(e.prev)});
    st = on_sync_response(from, std::move(rounds), now_ms);
  } else {
    st = invalid_argument("beacon: not a beacon message");
    reject(from, 0, st);
  }
  maybe_sign(now_ms);
  maybe_sync(now_ms);
  return st;
}

Status BeaconEngine::on_partial(Index from, std::uint64_t round, ByteSpan sig, std::uint64_t now_ms) {
  const std::uint64_t cur = round_at(now_ms);
  if (round == 0 || round > cur + 1) {  // one round of clock skew tolerated
    Status st{Code::kOutOfRange, "beacon: partial for a future round " + std::to_string(round)};
    reject(from, round, st);
    return st;
  }
  if (rounds_.count(round) || round <= forgotten_) return Status::ok_status();  // late partial
  if (!in_window(round, cur)) {
    // Not misbehaviour (a slow link, or a peer catching up a chain ahead of our head, whose
    // rounds we will pull by sync): dropped without naming the sender.
    return Status{Code::kOutOfRange, "beacon: partial for a round outside the pending window " + std::to_string(round)};
  }
  auto known = pending_.find(round);
  if (known != pending_.end() && known->second.partials.count(from)) return Status::ok_status();  // duplicate
  auto msg = message_for(round);
  if (!msg) {  // chained: verify once the previous round is known
    if (sig.size() != point_bytes(suite_.sig_group)) {
      Status st = decode_error("beacon: partial signature of a wrong length");
      reject(from, round, st);
      return st;
    }
    pending_[round].unverified[from] = Bytes(sig.begin(), sig.end());
    return Status::ok_status();
  }
  auto ok = verify(suite_, member_keys_[from - 1], *msg, sig);
  if (!ok.ok() || !*ok) {
    Status st = ok.ok() ? permission_denied("beacon: partial does not verify under the sender's share key")
                        : ok.status();
    reject(from, round, st);
    return st;
  }
  pending_[round].partials[from] = Bytes(sig.begin(), sig.end());  // state changes only when valid
  try_recover(round);
  return Status::ok_status();
}

void BeaconEngine::try_recover(std::uint64_t round) {
  if (rounds_.count(round) || round <= forgotten_) return;
  auto it = pending_.find(round);
  if (it == pending_.end()) return;
  auto msg = message_for(round);
  if (!msg) return;
  auto& pending = it->second;
  for (auto& [from, sig] : pending.unverified) {  // chained partials that arrived early
    auto ok = verify(suite_, member_keys_[from - 1], *msg, sig);
    if (ok.ok() && *ok) pending.partials[from] = sig;
    else reject(from, round, ok.ok() ? permission_denied("beacon: partial does not verify") : ok.status());
  }
  pending.unverified.clear();
  const std::uint32_t t = config_.poly.threshold();
  if (pending.partials.size() < t) return;
  std::vector<threshold::Partial> partials;
  for (const auto& [index, sig] : pending.partials) {
    partials.push_back(threshold::Partial{index, sig});
    if (partials.size() == t) break;
  }
  auto sig = threshold::recover(suite_.sig_group, partials, t);
  if (!sig.ok()) return;
  auto ok = verify(suite_, group_key_, *msg, *sig);
  if (!ok.ok() || !*ok) return;  // unreachable with verified partials; never emit a bad round
  Bytes prev = scheme_chained(config_.scheme) ? *previous_of(round) : Bytes{};
  accept_round(round, *sig, std::move(prev));
}

void BeaconEngine::accept_round(std::uint64_t round, Bytes sig, Bytes prev) {
  RoundEvent ev;
  ev.round = round;
  ev.randomness = beacon_randomness(sig);
  ev.previous_signature = std::move(prev);
  ev.signature = sig;
  rounds_[round] = std::move(sig);
  pending_.erase(round);
  while (rounds_.size() > config_.history_rounds_max) {
    forgotten_ = std::max(forgotten_, rounds_.begin()->first);
    rounds_.erase(rounds_.begin());
  }
  events_.push_back(std::move(ev));
  if (scheme_chained(config_.scheme)) try_recover(round + 1);  // depth bounded by pending rounds
}

void BeaconEngine::reject(Index from, std::uint64_t round, const Status& why) {
  events_.push_back(RejectedEvent{from, round, why});
}

void BeaconEngine::prune(std::uint64_t now_ms) {
  const std::uint64_t cur = round_at(now_ms);
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = in_window(it->first, cur) ? std::next(it) : pending_.erase(it);
  }
}

std::optional<Outgoing> BeaconEngine::poll_transmit() {
  if (out_.empty()) return std::nullopt;
  auto o = std::move(out_.front());
  out_.pop_front();
  return o;
}

std::optional<BeaconEvent> BeaconEngine::poll_event() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace nitro::bls
