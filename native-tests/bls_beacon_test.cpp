// Threshold BLS, DKG and the beacon engine, driven by a small deterministic multi-member
// harness: virtual clock, per-message delay and loss, crashed members, all from one seed.
#include <catch2/catch.hpp>

#include "test_util.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "bls/wire.h"
#include "nitro/bls.h"
#include "nitro/bls_beacon.h"
#include "nitro/bls_threshold.h"
#include "nitro/identity.h"

using namespace nitro;
using namespace nitro::bls;
namespace th = nitro::bls::threshold;

namespace {

using Rng = nitro::test::SplitMix;

Bytes seed_bytes(std::uint64_t seed, std::uint8_t tag) {
  Bytes b(32, tag);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(seed >> (8 * i));
  return b;
}

struct InFlight {
  Index from = 0, to = 0;
  Bytes bytes;
};

// A network of engines (BeaconEngine or Dkg) on a virtual clock.
template <typename Engine>
struct Harness {
  Rng rng;
  double loss = 0;
  std::uint64_t now_ms = 0;
  std::uint64_t seq = 0;
  std::vector<std::optional<Engine>> members;  // index i at [i - 1]
  std::set<Index> crashed;
  std::multimap<std::pair<std::uint64_t, std::uint64_t>, InFlight> queue;  // (deliver_ms, seq)
  // Optional tamper hook: returns false to drop a message, may rewrite it.
  std::function<bool(InFlight&)> tamper;

  Index n() const { return static_cast<Index>(members.size()); }
  bool alive(Index i) const { return members[i - 1].has_value() && !crashed.count(i); }

  void send(Index from, const Outgoing& o) {
    for (Index to = 1; to <= n(); ++to) {
      if (to == from || (o.to && *o.to != to)) continue;
      if (rng.chance(loss)) continue;
      InFlight m{from, to, o.bytes};
      if (tamper && !tamper(m)) continue;
      queue.emplace(std::make_pair(now_ms + 5 + rng.below(45), seq++), std::move(m));
    }
  }

  template <typename OnEvent>
  void drain(Index i, OnEvent&& on_event) {
    auto& e = *members[i - 1];
    while (auto o = e.poll_transmit()) send(i, *o);
    while (auto ev = e.poll_event()) on_event(i, *ev);
  }

  // Advances the clock in 10 ms steps to end_ms, delivering and ticking.
  template <typename OnEvent>
  void run_until(std::uint64_t end_ms, OnEvent&& on_event) {
    for (; now_ms <= end_ms; now_ms += 10) {
      while (!queue.empty() && queue.begin()->first.first <= now_ms) {
        InFlight m = std::move(queue.begin()->second);
        queue.erase(queue.begin());
        if (!alive(m.to)) continue;
        (void)members[m.to - 1]->handle(m.from, m.bytes, now_ms);
        drain(m.to, on_event);
      }
      for (Index i = 1; i <= n(); ++i) {
        if (!alive(i)) continue;
        members[i - 1]->tick(now_ms);
        drain(i, on_event);
        auto deadline = members[i - 1]->next_deadline();  // after a tick, always in the future
        if (deadline) REQUIRE(*deadline > now_ms);
      }
    }
  }
};

constexpr std::uint64_t kGenesisMs = 1000;
constexpr std::uint64_t kPeriodMs = 1000;

BeaconConfig beacon_config(const th::Dealing& d, std::uint32_t n, Index i, Scheme scheme) {
  BeaconConfig c;
  c.scheme = scheme;
  c.poly = d.poly;
  c.share = d.shares[i - 1];
  c.n = n;
  c.genesis_ms = kGenesisMs;
  c.period_ms = kPeriodMs;
  c.genesis_seed = Bytes(32, 0x42);
  return c;
}

struct BeaconRun {
  th::Dealing dealing;
  Harness<BeaconEngine> net;
  std::map<Index, std::map<std::uint64_t, Bytes>> seen;  // member -> round -> signature
  std::vector<RejectedEvent> rejected;

  BeaconRun(std::uint64_t seed, std::uint32_t n, std::uint32_t t, Scheme scheme) {
    auto pk_group = scheme_suite(scheme).pk_group();
    dealing = *th::deal(pk_group, t, n, seed_bytes(seed, 1));
    net.rng = Rng{seed};
    for (Index i = 1; i <= n; ++i) net.members.emplace_back(*BeaconEngine::create(beacon_config(dealing, n, i, scheme)));
  }
  void run(std::uint64_t end_ms) {
    net.run_until(end_ms, [this](Index i, const BeaconEvent& ev) {
      if (auto* r = std::get_if<RoundEvent>(&ev)) {
        CHECK(seen[i].count(r->round) == 0);  // each round emitted once per member
        seen[i][r->round] = r->signature;
      } else {
        rejected.push_back(std::get<RejectedEvent>(ev));
      }
    });
  }
  void restart(Index i, Scheme scheme) {
    net.members[i - 1].emplace(*BeaconEngine::create(beacon_config(dealing, net.n(), i, scheme)));
    net.crashed.erase(i);
    seen.erase(i);  // a fresh engine re-emits what it catches up on
  }
};

// Every alive member saw rounds first..last with one signature per round, valid as a drand beacon.
void check_rounds(BeaconRun& run, Scheme scheme, std::uint64_t first, std::uint64_t last) {
  std::map<std::uint64_t, Bytes> agreed;
  for (Index i = 1; i <= run.net.n(); ++i) {
    if (!run.net.alive(i)) continue;
    for (std::uint64_t r = first; r <= last; ++r) {
      INFO("member " << i << " round " << r);
      REQUIRE(run.seen[i].count(r) == 1);
      auto [it, fresh] = agreed.emplace(r, run.seen[i][r]);
      CHECK(it->second == run.seen[i][r]);
    }
  }
  for (const auto& [r, sig] : agreed) {
    Bytes prev = r == 1 ? Bytes(32, 0x42) : agreed.count(r - 1) ? agreed[r - 1] : Bytes{};
    if (scheme_chained(scheme) && prev.empty()) continue;
    auto res = verify_beacon(scheme, run.dealing.poly.group_key(), r, sig, prev);
    REQUIRE(res.ok());
    CHECK(res->valid);
  }
}

}  // namespace

TEST_CASE("bls: any t partials recover the same group signature", "[bls]") {
  auto d = *th::deal(Group::kG2, 4, 7, seed_bytes(1, 9));
  auto msg = beacon_message(Scheme::kBlsUnchainedG1Rfc9380, 17, {});
  std::vector<th::Partial> partials;
  for (const auto& s : d.shares) partials.push_back(th::partial_sign(s, kMinSigBasic, msg));
  for (const auto& p : partials) CHECK(*th::partial_verify(kMinSigBasic, d.poly, p, msg));
  std::set<Bytes> recovered;
  for (unsigned mask = 0; mask < 128; ++mask) {  // all 35 subsets of size 4
    if (__builtin_popcount(mask) != 4) continue;
    std::vector<th::Partial> subset;
    for (int i = 0; i < 7; ++i) if (mask & (1u << i)) subset.push_back(partials[i]);
    auto sig = th::recover(Group::kG1, subset, 4);
    REQUIRE(sig.ok());
    recovered.insert(*sig);
  }
  REQUIRE(recovered.size() == 1);
  auto res = verify_beacon(Scheme::kBlsUnchainedG1Rfc9380, d.poly.group_key(), 17, *recovered.begin());
  REQUIRE(res.ok());
  CHECK(res->valid);
  // Three partials interpolate to something else, which does not verify.
  auto three = *th::recover(Group::kG1, std::span(partials).first(3), 3);
  CHECK_FALSE(verify_beacon(Scheme::kBlsUnchainedG1Rfc9380, d.poly.group_key(), 17, three)->valid);
  // The shares interpolate to the dealer's secret.
  auto secret = th::recover_secret(std::span(d.shares).subspan(2, 4), 4);
  REQUIRE(secret.ok());
  CHECK(sk_to_pk(*secret, Group::kG2) == d.poly.group_key());
}

TEST_CASE("bls: threshold inputs are checked", "[bls]") {
  auto d = *th::deal(Group::kG1, 3, 5, seed_bytes(2, 9));
  Bytes msg(32, 7);
  std::vector<th::Partial> p;
  for (const auto& s : d.shares) p.push_back(th::partial_sign(s, kMinPkBasic, msg));
  CHECK(th::recover(Group::kG2, std::span(p).first(2), 3).status().code() == Code::kFailedPrecondition);
  std::vector<th::Partial> dup = {p[0], p[0], p[1]};
  CHECK(th::recover(Group::kG2, dup, 3).status().code() == Code::kInvalidArgument);
  // A partial under the wrong index does not verify.
  th::Partial wrong = p[1];
  wrong.index = 3;
  CHECK_FALSE(*th::partial_verify(kMinPkBasic, d.poly, wrong, msg));
  CHECK(th::deal(Group::kG1, 0, 5, seed_bytes(2, 9)).status().code() == Code::kInvalidArgument);
  CHECK(th::deal(Group::kG1, 6, 5, seed_bytes(2, 9)).status().code() == Code::kInvalidArgument);
  CHECK(th::deal(Group::kG1, 2, 5, Bytes(8, 1)).status().code() == Code::kInvalidArgument);
  for (const auto& s : d.shares) CHECK(*th::share_matches(d.poly, s));
  CHECK_FALSE(*th::share_matches(d.poly, th::Share{1, d.shares[1].key}));
  CHECK(th::validate(d.poly).ok());
}

TEST_CASE("bls: 7 members with t=4 produce identical rounds with up to 3 crashed", "[bls]") {
  const auto scheme = Scheme::kBlsUnchainedG1Rfc9380;
  for (std::uint64_t seed : {11u, 12u, 13u}) {
    INFO("reproduce with seed=" << seed);
    BeaconRun run(seed, 7, 4, scheme);
    Rng pick{seed * 7919};
    std::uint32_t crash_count = static_cast<std::uint32_t>(seed % 4);  // 3, 0, 1 crashed
    while (run.net.crashed.size() < crash_count) run.net.crashed.insert(static_cast<Index>(pick.below(7) + 1));
    run.run(kGenesisMs + 6 * kPeriodMs);
    check_rounds(run, scheme, 1, 6);
    CHECK(run.rejected.empty());
  }
}

TEST_CASE("bls: the harness replays exactly from its seed", "[bls]") {
  auto once = [](std::uint64_t seed) {
    BeaconRun run(seed, 5, 3, Scheme::kBlsUnchainedG1Rfc9380);
    run.net.loss = 0.3;
    run.run(kGenesisMs + 3 * kPeriodMs);
    return std::make_pair(run.seen, run.net.seq);
  };
  auto a = once(77), b = once(77);
  CHECK(a == b);
  CHECK(a.first != once(78).first);  // another seed, another group and schedule
}

TEST_CASE("bls: with fewer than t members alive no round is produced, and the open ones are caught up", "[bls]") {
  const auto scheme = Scheme::kBlsUnchainedG1Rfc9380;
  BeaconRun run(21, 7, 4, scheme);
  run.net.crashed = {1, 4, 6, 7};
  run.run(kGenesisMs + 4 * kPeriodMs);
  for (const auto& [member, rounds] : run.seen) CHECK(rounds.empty());
  // The fourth member back: the rounds missed within the pending window (8) are signed late, as
  // drand catches up, and verify like any other.
  run.net.crashed.erase(6);
  run.run(kGenesisMs + 7 * kPeriodMs);
  for (Index i : {2u, 3u, 5u, 6u}) {
    INFO("member " << i);
    for (std::uint64_t r = 1; r <= 7; ++r) CHECK(run.seen[i].count(r) == 1);
  }
  CHECK(run.rejected.empty());
}

// Unchained, fewer than t alive for `stall` periods with 10% loss: once the crashed members are
// back, every round of the last pending_rounds_max (8) is produced; older ones stay skipped.
void run_unchained_stall(std::uint64_t seed, std::uint64_t stall) {
  INFO("reproduce with NITRO_SEED=" << seed);
  const auto scheme = Scheme::kBlsUnchainedG1Rfc9380;
  BeaconRun run(seed, 7, 4, scheme);
  run.net.loss = 0.1;
  run.run(kGenesisMs + 2 * kPeriodMs + 500);
  Rng pick{seed * 7919};
  std::set<Index> down;
  while (down.size() < 4) down.insert(static_cast<Index>(pick.below(7) + 1));
  run.net.crashed = down;
  const std::uint64_t back = 3 + stall;  // the round during which they return
  run.run(kGenesisMs + (back - 1) * kPeriodMs + kPeriodMs / 2);
  for (Index i : down) run.restart(i, scheme);
  run.run(kGenesisMs + (back + 3) * kPeriodMs);
  const std::uint64_t first_open = back > 8 ? back - 8 + 1 : 1;
  check_rounds(run, scheme, first_open, back + 2);
  CHECK(run.rejected.empty());
}

TEST_CASE("bls: an unchained beacon stalled below t catches up the open rounds", "[bls]") {
  for (std::uint64_t seed : nitro::test::test_seeds("bls-unchained-stall", 4)) {
    run_unchained_stall(seed, 3 + seed % 4);
  }
  run_unchained_stall(65, 20);  // longer than the window: only its last 8 rounds come back
}

TEST_CASE("bls: rounds survive message loss and a crashed member catches up", "[bls]") {
  const auto scheme = Scheme::kBlsUnchainedG1Rfc9380;
  BeaconRun run(31, 7, 4, scheme);
  run.net.loss = 0.2;
  run.run(kGenesisMs + 2 * kPeriodMs + 500);
  run.net.crashed.insert(5);
  run.run(kGenesisMs + 7 * kPeriodMs);
  run.restart(5, scheme);  // fresh state: knows nothing
  run.run(kGenesisMs + 10 * kPeriodMs);
  check_rounds(run, scheme, 1, 9);
  CHECK(run.rejected.empty());
}

TEST_CASE("bls: chained beacon rounds link and catch up in order", "[bls]") {
  const auto scheme = Scheme::kPedersenBlsChained;
  BeaconRun run(41, 5, 3, scheme);
  run.run(kGenesisMs + 2 * kPeriodMs + 500);
  run.net.crashed.insert(2);
  run.run(kGenesisMs + 5 * kPeriodMs + 500);
  run.restart(2, scheme);
  run.run(kGenesisMs + 8 * kPeriodMs);
  check_rounds(run, scheme, 1, 7);
  CHECK(run.rejected.empty());
}

// Chained, with fewer than t alive for `stall` periods: the chain stalls; once the four crashed
// members are back (fresh state) the group re-signs the missed rounds in order and every round
// from genesis on exists, identical at every member, with 10% of the messages lost.
// Returns what every member saw and the number of messages sent, to check the replay.
std::pair<std::map<Index, std::map<std::uint64_t, Bytes>>, std::uint64_t> run_chained_stall(std::uint64_t seed,
                                                                                          std::uint64_t stall) {
  INFO("reproduce with seed=" << seed);
  const auto scheme = Scheme::kPedersenBlsChained;
  BeaconRun run(seed, 7, 4, scheme);
  run.net.loss = 0.1;
  run.run(kGenesisMs + 2 * kPeriodMs + 500);
  Rng pick{seed * 7919};
  std::set<Index> down;
  while (down.size() < 4) down.insert(static_cast<Index>(pick.below(7) + 1));
  run.net.crashed = down;
  run.run(kGenesisMs + (3 + stall) * kPeriodMs);
  std::uint64_t head = 0;
  for (Index i = 1; i <= 7; ++i) {
    if (run.net.alive(i)) head = std::max(head, run.net.members[i - 1]->latest_round());
  }
  REQUIRE(head <= 4);  // stalled: rounds 5..(4 + stall) were never produced
  for (Index i : down) run.restart(i, scheme);
  run.run(kGenesisMs + (9 + stall) * kPeriodMs);
  check_rounds(run, scheme, 1, 8 + stall);
  CHECK(run.rejected.empty());
  return {run.seen, run.net.seq};
}

TEST_CASE("bls: a chained beacon stalled below t re-signs the missed rounds in order", "[bls]") {
  for (std::uint64_t seed : {61u, 62u, 63u}) run_chained_stall(seed, 5);
  const auto once = run_chained_stall(64, 20);  // longer than the pending window (8 rounds)
  CHECK(run_chained_stall(64, 20) == once);    // a seed replays exactly
}

// A one-member group (t = 1) has nobody to sync from or wait for: every round is its own.
TEST_CASE("bls: a one-member group produces every round and never spins", "[bls]") {
  for (auto scheme : {Scheme::kPedersenBlsChained, Scheme::kBlsUnchainedG1Rfc9380}) {
    INFO("scheme " << static_cast<int>(scheme));
    BeaconRun run(71, 1, 1, scheme);
    run.run(kGenesisMs + 9 * kPeriodMs + 10);
    check_rounds(run, scheme, 1, 10);
  }
  // Chained, ticked at round 1 and next at round 60: the missed rounds are signed in order, a
  // bounded number per call, with next_deadline asking to be called again right away.
  auto d = *th::deal(Group::kG1, 1, 1, seed_bytes(72, 1));
  auto e = *BeaconEngine::create(beacon_config(d, 1, 1, Scheme::kPedersenBlsChained));
  std::uint64_t now = kGenesisMs + 10;
  e.tick(now);
  now = kGenesisMs + 59 * kPeriodMs + 10;
  std::vector<std::uint64_t> rounds;
  int calls = 0;
  for (; calls < 100; ++calls) {
    e.tick(now);
    while (e.poll_transmit()) {}
    while (auto ev = e.poll_event()) rounds.push_back(std::get<RoundEvent>(*ev).round);
    if (*e.next_deadline() != now + 1) break;
    now += 1;
  }
  CHECK(calls >= 5);  // 59 rounds at most 8 per call
  CHECK(calls < 100);
  REQUIRE(rounds.size() == 60);
  for (std::size_t i = 0; i < rounds.size(); ++i) CHECK(rounds[i] == i + 1);
  CHECK(*e.next_deadline() == kGenesisMs + 60 * kPeriodMs);
}

TEST_CASE("bls: a chained member that keeps little history joins late from an anchored round", "[bls]") {
  const auto scheme = Scheme::kPedersenBlsChained;
  BeaconRun run(43, 5, 3, scheme);
  run.net.crashed.insert(4);  // member 4 is offline from genesis
  run.run(kGenesisMs + 8 * kPeriodMs + 500);
  auto c = beacon_config(run.dealing, 5, 4, scheme);
  c.history_rounds_max = 3;  // asks only for the last 3 settled rounds: round 6 has no predecessor
  run.net.members[3].emplace(*BeaconEngine::create(c));
  run.net.crashed.erase(4);
  run.run(kGenesisMs + 11 * kPeriodMs);
  CHECK(run.seen[4].count(5) == 0);
  for (std::uint64_t r = 7; r <= 11; ++r) {
    INFO("round " << r);
    REQUIRE(run.seen[4].count(r) == 1);
    CHECK(run.seen[4][r] == run.seen[1][r]);
  }
  CHECK(run.net.members[3]->latest_round() == 11);
  CHECK(run.rejected.empty());
}

TEST_CASE("bls: invalid partials are rejected and the sender reported", "[bls]") {
  const auto scheme = Scheme::kBlsUnchainedG1Rfc9380;
  auto d = *th::deal(Group::kG2, 3, 4, seed_bytes(5, 1));
  auto e = *BeaconEngine::create(beacon_config(d, 4, 1, scheme));
  const std::uint64_t now = kGenesisMs + 2 * kPeriodMs + 10;  // round 3
  e.tick(now);
  auto partial_frame = [&](const th::Share& s, std::uint64_t round, std::uint64_t signed_round) {
    auto msg = beacon_message(scheme, signed_round, {});
    auto p = th::partial_sign(s, kMinSigBasic, msg);
    // Encoded as the engine's wire frame [10, round, sig] (msgpack): built by a peer engine.
    auto peer = *BeaconEngine::create(beacon_config(d, 4, s.index, scheme));
    (void)p;
    peer.tick(kGenesisMs + (signed_round - 1) * kPeriodMs + 10);
    auto o = peer.poll_transmit();
    REQUIRE(o.has_value());
    return o->bytes;
  };
  auto drain_rejections = [&]() {
    std::vector<RejectedEvent> out;
    while (auto ev = e.poll_event()) if (auto* r = std::get_if<RejectedEvent>(&*ev)) out.push_back(*r);
    return out;
  };
  // Wrong key: member 3's partial delivered as coming from member 2.
  CHECK(e.handle(2, partial_frame(d.shares[2], 3, 3), now).code() == Code::kPermissionDenied);
  auto r1 = drain_rejections();
  REQUIRE(r1.size() == 1);
  CHECK(r1[0].from == 2);
  // Wrong round: member 2's partial of round 2 claims round 2 but we are at round 3 -> it is
  // valid for round 2; a partial of round 2 relabelled as round 3 is rejected.
  Bytes relabelled = partial_frame(d.shares[1], 2, 2);
  auto pos = std::find(relabelled.begin(), relabelled.end(), std::uint8_t{2});
  REQUIRE(pos != relabelled.end());
  *pos = 3;  // [10, 2, sig] -> [10, 3, sig]
  CHECK(e.handle(2, relabelled, now).code() == Code::kPermissionDenied);
  CHECK(drain_rejections().size() == 1);
  // Future round and malformed frames.
  CHECK(e.handle(3, partial_frame(d.shares[2], 9, 9), now).code() == Code::kOutOfRange);
  CHECK(e.handle(3, Bytes{0x93, 0x0a, 0x03}, now).code() == Code::kDecodeError);
  CHECK(e.handle(3, Bytes{0xc1}, now).code() == Code::kDecodeError);
  auto r3 = drain_rejections();
  REQUIRE(r3.size() == 3);
  for (const auto& r : r3) CHECK(r.from == 3);
  // Not a member, or self.
  CHECK(e.handle(9, Bytes{0xc0}, now).code() == Code::kPermissionDenied);
  CHECK(e.handle(1, Bytes{0xc0}, now).code() == Code::kPermissionDenied);
  // Valid partials from two peers complete round 3 (t = 3 with our own).
  CHECK(e.handle(2, partial_frame(d.shares[1], 3, 3), now).ok());
  CHECK(e.handle(4, partial_frame(d.shares[3], 3, 3), now).ok());
  bool got = false;
  while (auto ev = e.poll_event()) if (auto* r = std::get_if<RoundEvent>(&*ev)) got = got || r->round == 3;
  CHECK(got);
  // A valid partial of a round past the pending window is dropped, its sender not named (a
  // slow link or a peer catching up is no misbehaviour).
  const std::uint64_t later = kGenesisMs + 19 * kPeriodMs + 10;  // round 20; window 12..21
  e.tick(later);
  while (e.poll_event()) {}
  CHECK(e.handle(2, partial_frame(d.shares[1], 5, 5), later).code() == Code::kOutOfRange);
  CHECK(drain_rejections().empty());
}

TEST_CASE("bls: beacon engine configuration is checked", "[bls]") {
  auto d = *th::deal(Group::kG2, 3, 4, seed_bytes(6, 1));
  auto c = beacon_config(d, 4, 1, Scheme::kBlsUnchainedG1Rfc9380);
  c.share = d.shares[1];  // index 2's share claimed as... still index 2: fine
  CHECK(BeaconEngine::create(c).ok());
  c.share.index = 1;  // share of 2 under index 1
  CHECK(BeaconEngine::create(c).status().code() == Code::kInvalidArgument);
  auto wrong_group = beacon_config(d, 4, 1, Scheme::kPedersenBlsUnchained);
  CHECK(BeaconEngine::create(wrong_group).status().code() == Code::kInvalidArgument);
  auto zero_period = beacon_config(d, 4, 1, Scheme::kBlsUnchainedG1Rfc9380);
  zero_period.period_ms = 0;
  CHECK(BeaconEngine::create(zero_period).status().code() == Code::kInvalidArgument);
}

namespace {

// Member i's signing identity (the node identity in production).
const crypto::Identity& member_identity(Index i) {
  static std::map<Index, crypto::Identity> ids;
  auto it = ids.find(i);
  if (it == ids.end()) {
    crypto::Seed seed{};
    seed.fill(static_cast<std::uint8_t>(i));
    seed[31] = 0xd7;
    it = ids.emplace(i, crypto::Identity::from_seed(seed)).first;
  }
  return it->second;
}

DkgConfig dkg_config(std::uint32_t n, std::uint32_t t, Index self, Bytes session = Bytes{'s', '1'}) {
  DkgConfig c{Group::kG2, n, t, self, 1000};
  c.session = std::move(session);
  c.sign = [self](ByteSpan m) {
    const auto sig = member_identity(self).sign(m);
    return Bytes(sig.begin(), sig.end());
  };
  c.verify = [n](Index i, ByteSpan m, ByteSpan sig) { return i >= 1 && i <= n && member_identity(i).peer_id().verify(m, sig); };
  return c;
}

// Three stages of dkg_relay_rounds (at most 4 for these groups) phases of 1000 ms, and time for
// the last messages.
constexpr std::uint64_t kDkgEndMs = 12500;

struct DkgRun {
  Harness<Dkg> net;
  std::map<Index, DkgFinished> done;
  std::map<Index, Status> failed;
  DkgRun(std::uint64_t seed, std::uint32_t n, std::uint32_t t) {
    net.rng = Rng{seed};
    for (Index i = 1; i <= n; ++i) net.members.emplace_back(*Dkg::create(dkg_config(n, t, i), seed_bytes(seed * 100 + i, 3)));
  }
  void on(Index i, const DkgEvent& ev) {
    if (auto* f = std::get_if<DkgFinished>(&ev)) done[i] = *f;
    else failed[i] = std::get<DkgFailed>(ev).reason;
  }
  void start() {
    for (Index i = 1; i <= net.n(); ++i) {
      if (!net.alive(i)) continue;
      net.members[i - 1]->start(0);
      net.drain(i, [this](Index m, const DkgEvent& ev) { on(m, ev); });
    }
  }
  void finish() { net.run_until(kDkgEndMs, [this](Index m, const DkgEvent& ev) { on(m, ev); }); }
  void run() {
    start();
    finish();
  }
};

// A second dealing by `dealer` (another secret polynomial, signed by the dealer): its deal frame
// and each member's share frame, as an equivocating dealer would send them.
struct OtherDealing {
  Bytes deal;
  std::map<Index, Bytes> shares;
  OtherDealing(std::uint32_t n, std::uint32_t t, Index dealer, std::uint64_t seed) {
    auto d = *Dkg::create(dkg_config(n, t, dealer), seed_bytes(seed, 0x5e));
    d.start(0);
    while (auto o = d.poll_transmit()) {
      if (o->to) shares[*o->to] = o->bytes;
      else deal = o->bytes;
    }
  }
};

// The DKG output works as a beacon group: t members' partials recover a signature valid under
// the group key, identical whichever t.
void check_dkg_group(DkgRun& run, std::uint32_t t) {
  REQUIRE(!run.done.empty());
  const auto& poly = run.done.begin()->second.poly;
  std::vector<th::Partial> partials;
  auto msg = beacon_message(Scheme::kBlsUnchainedG1Rfc9380, 5, {});
  for (const auto& [i, f] : run.done) {
    CHECK(f.poly.commitments == poly.commitments);
    CHECK(*th::share_matches(poly, f.share));
    partials.push_back(th::partial_sign(f.share, kMinSigBasic, msg));
  }
  REQUIRE(partials.size() >= t + 1);
  auto a = *th::recover(Group::kG1, std::span(partials).first(t), t);
  auto b = *th::recover(Group::kG1, std::span(partials).last(t), t);
  CHECK(a == b);
  CHECK(verify_beacon(Scheme::kBlsUnchainedG1Rfc9380, poly.group_key(), 5, a)->valid);
}

}  // namespace

TEST_CASE("bls: DKG without a dealer gives every member a share of one group key", "[bls]") {
  DkgRun run(7, 7, 4);
  run.run();
  CHECK(run.done.size() == 7);
  CHECK(run.failed.empty());
  CHECK(run.done[1].qualified.size() == 7);
  check_dkg_group(run, 4);
}

TEST_CASE("bls: DKG excludes a silent dealer and disqualifies one that will not justify", "[bls]") {
  DkgRun run(8, 7, 4);
  run.net.crashed.insert(7);  // never deals
  // Dealer 3 sends member 2 a wrong share and then withholds every justification.
  run.net.tamper = [](InFlight& m) {
    if (m.from == 3 && m.to == 2 && m.bytes.size() > 30 && m.bytes[1] == 0x02) m.bytes.back() ^= 1;
    if (m.from == 3 && m.bytes.size() > 2 && m.bytes[1] == 0x04) return false;
    return true;
  };
  run.run();
  CHECK(run.done.size() == 6);
  run.done.erase(3);  // the cheater believes its withheld answers arrived; its view is moot
  for (const auto& [i, f] : run.done) CHECK(f.qualified == std::vector<Index>{1, 2, 4, 5, 6});
  check_dkg_group(run, 4);
}

TEST_CASE("bls: DKG keeps a dealer that answers a complaint correctly", "[bls]") {
  DkgRun run(9, 5, 3);
  // Dealer 2's private share to member 4 is corrupted in transit; 2 reveals it publicly.
  run.net.tamper = [](InFlight& m) {
    if (m.from == 2 && m.to == 4 && m.bytes.size() > 30 && m.bytes[1] == 0x02) m.bytes.back() ^= 1;
    return true;
  };
  run.run();
  CHECK(run.done.size() == 5);
  for (const auto& [i, f] : run.done) CHECK(f.qualified.size() == 5);
  check_dkg_group(run, 3);
}

TEST_CASE("bls: DKG with fewer than t dealers fails", "[bls]") {
  DkgRun run(10, 5, 3);
  run.net.crashed = {1, 2, 3};
  run.run();
  CHECK(run.done.empty());
  CHECK(run.failed.size() == 2);
}

// Dealer 3 shows members 5, 6, 7 another polynomial (deal and matching shares) than members 1,
// 2, 4, as a split broadcast would: each side alone sees a consistent dealer. The echo of the
// deals' digests exposes it, and every honest member disqualifies 3 and ends with one key.
TEST_CASE("bls: DKG disqualifies a dealer that shows members different commitments", "[bls]") {
  for (std::uint64_t seed : {81u, 82u}) {
    INFO("reproduce with seed=" << seed);
    DkgRun run(seed, 7, 4);
    OtherDealing other(7, 4, 3, seed);
    run.net.tamper = [&other](InFlight& m) {
      if (m.from != 3 || m.to < 5 || m.bytes.size() < 2) return true;
      if (m.bytes[1] == 0x01) m.bytes = other.deal;
      if (m.bytes[1] == 0x02) m.bytes = other.shares.at(m.to);
      return true;
    };
    run.run();
    run.done.erase(3);  // the cheater's own view is moot
    REQUIRE(run.done.size() == 6);
    for (const auto& [i, f] : run.done) {
      INFO("member " << i);
      CHECK(f.qualified == std::vector<Index>{1, 2, 4, 5, 6, 7});
    }
    check_dkg_group(run, 4);
  }
}

// Dealer 3 broadcasts two different signed deals (two gossip messages): every member receives
// both, in an order that differs between members, and disqualifies 3.
TEST_CASE("bls: DKG disqualifies a dealer that broadcasts two different deals", "[bls]") {
  for (std::uint64_t seed : {83u, 84u}) {
    INFO("reproduce with seed=" << seed);
    DkgRun run(seed, 7, 4);
    OtherDealing other(7, 4, 3, seed);
    run.start();
    for (Index to = 1; to <= 7; ++to) {  // the second deal, delayed differently per member
      if (to == 3) continue;
      run.net.queue.emplace(std::make_pair(run.net.rng.below(60), run.net.seq++), InFlight{3, to, other.deal});
    }
    run.finish();
    run.done.erase(3);
    REQUIRE(run.done.size() == 6);
    for (const auto& [i, f] : run.done) {
      INFO("member " << i);
      CHECK(f.qualified == std::vector<Index>{1, 2, 4, 5, 6, 7});
    }
    check_dkg_group(run, 4);
  }
}

// A forwarded deal is evidence only with its dealer's signature: a member that relays forged
// deals (another polynomial under the dealer's signature, or under its own) convicts nobody.
TEST_CASE("bls: DKG forwards: forged deals convict nobody, malformed forwards are rejected", "[bls]") {
  DkgRun run(85, 5, 3);
  OtherDealing other(5, 3, 2, 85);
  const auto other_deal = std::get<wire::DkgDeal>(*wire::decode(other.deal));
  run.net.tamper = [&](InFlight& m) {
    auto f = m.from == 2 ? wire::decode(m.bytes) : Result<wire::Message>(invalid_argument("not member 2's"));
    if (!f.ok() || !std::holds_alternative<wire::DkgForward>(*f)) return true;
    auto forged = std::get<wire::DkgForward>(*f);
    forged.deal.commitments = other_deal.commitments;  // under the true deal's signature
    m.bytes = wire::encode(forged);
    return true;
  };
  run.run();
  REQUIRE(run.done.size() == 5);
  for (const auto& [i, f] : run.done) CHECK(f.qualified.size() == 5);
  check_dkg_group(run, 3);

  auto dkg = *Dkg::create(dkg_config(5, 3, 1), seed_bytes(86, 3));
  dkg.start(0);
  OtherDealing three(5, 3, 3, 87);
  const wire::DkgForward forward{3, std::get<wire::DkgDeal>(*wire::decode(three.deal)), {}};
  auto wrong_dealer = forward;
  wrong_dealer.dealer = 4;  // dealer 4 did not sign it
  CHECK(dkg.handle(2, wire::encode(wrong_dealer), 10).code() == Code::kPermissionDenied);
  auto beyond = forward;
  beyond.dealer = 9;  // n = 5
  CHECK(dkg.handle(2, wire::encode(beyond), 10).code() == Code::kInvalidArgument);
  Bytes short_shape = wire::encode(forward);
  short_shape[0] = 0x94;
  CHECK(dkg.handle(2, short_shape, 10).code() == Code::kDecodeError);
  auto no_commitments = forward;
  no_commitments.deal.commitments.clear();
  CHECK(dkg.handle(2, wire::encode(no_commitments), 10).code() == Code::kInvalidArgument);
  Bytes other_session_deal;
  {
    auto d = *Dkg::create(dkg_config(5, 3, 3, Bytes{'s', '2'}), seed_bytes(88, 0x5e));
    d.start(0);
    while (auto o = d.poll_transmit()) if (!o->to) other_session_deal = o->bytes;
  }
  CHECK(dkg.handle(3, other_session_deal, 10).code() == Code::kPermissionDenied);  // signed for another session
  CHECK(dkg.handle(2, wire::encode(forward), 10).ok());
  CHECK(dkg.handle(4, wire::encode(forward), 10).code() == Code::kAlreadyExists);
  CHECK(dkg.handle(3, three.deal, 10).code() == Code::kAlreadyExists);  // the same deal, from its dealer
}

// The relay rule on a deal: after the first round (1000 ms) a deal needs a relayer's signature
// besides its dealer's, after the second two; a forged or repeated relay signature counts for
// nothing, a valid one is kept and ours appended.
TEST_CASE("bls: DKG relays: an item needs one more valid signature per round late", "[bls]") {
  OtherDealing three(5, 3, 3, 89);
  const wire::DkgForward bare{3, std::get<wire::DkgDeal>(*wire::decode(three.deal)), {}};
  const Bytes digest = [&] {
    const auto d = beacon_randomness(wire::encode(bare));
    return Bytes(d.begin(), d.end());
  }();
  const auto relay_sig = [&](Index by) {
    const auto sig = member_identity(by).sign(dkg_relay_message(Bytes{'s', '1'}, digest));
    return wire::RelaySig{by, Bytes(sig.begin(), sig.end())};
  };
  const auto fresh = [] {
    auto dkg = *Dkg::create(dkg_config(5, 3, 1), seed_bytes(90, 3));
    dkg.start(0);
    while (dkg.poll_transmit()) {
    }
    return dkg;
  };
  auto late = fresh();
  CHECK(late.handle(2, wire::encode(bare), 1000).code() == Code::kFailedPrecondition);
  auto relayed = bare;
  relayed.chain = {relay_sig(2)};
  auto forged = relayed;
  forged.chain[0].signer = 4;  // 2's signature in 4's name
  CHECK(late.handle(2, wire::encode(forged), 1500).code() == Code::kPermissionDenied);
  auto twice = relayed;
  twice.chain.push_back(relay_sig(2));
  CHECK(late.handle(2, wire::encode(twice), 2100).code() == Code::kFailedPrecondition);
  REQUIRE(late.handle(2, wire::encode(relayed), 1999).ok());
  auto out = late.poll_transmit();
  REQUIRE(out.has_value());
  const auto sent = std::get<wire::DkgForward>(*wire::decode(out->bytes));
  REQUIRE(sent.chain.size() == 2);
  CHECK(sent.chain[0].signer == 2);
  CHECK(sent.chain[1].signer == 1);
  CHECK(member_identity(1).peer_id().verify(dkg_relay_message(Bytes{'s', '1'}, digest), sent.chain[1].sig));
  auto twice_late = fresh();
  auto two = relayed;
  two.chain.push_back(relay_sig(4));
  CHECK(twice_late.handle(4, wire::encode(two), 2999).ok());
}

// Dealer 3's deal broadcast reaches only members 1 and 2 (its shares reach everyone): the others
// adopt it from the forwards, and everyone ends with the same seven dealers.
TEST_CASE("bls: DKG adopts a deal that reached only some members", "[bls]") {
  for (std::uint64_t seed : {91u, 92u}) {
    INFO("reproduce with seed=" << seed);
    DkgRun run(seed, 7, 4);
    run.net.tamper = [](InFlight& m) { return !(m.from == 3 && m.to > 2 && m.bytes.size() > 2 && m.bytes[1] == 0x01); };
    run.run();
    REQUIRE(run.done.size() == 7);
    for (const auto& [i, f] : run.done) CHECK(f.qualified == std::vector<Index>{1, 2, 3, 4, 5, 6, 7});
    check_dkg_group(run, 4);
  }
}

// Member 2 complains about every other dealer: about the odd ones on time, about the even ones
// just before the one-signature deadline (5000 ms: the complaint stage starts at 4000) at odd
// members and just after it at even ones. The members that accepted it relay it in time for the
// others, each honest dealer answers every complaint it accepts, and every member keeps every
// honest dealer.
TEST_CASE("bls: DKG false complaints, on time or at the deadline, disqualify no honest dealer", "[bls]") {
  for (std::uint64_t seed : {93u, 94u}) {
    INFO("reproduce with seed=" << seed);
    DkgRun run(seed, 7, 4);
    run.start();
    for (Index dealer = 1; dealer <= 7; ++dealer) {
      if (dealer == 2) continue;
      const auto sig = member_identity(2).sign(dkg_complaint_message(Bytes{'s', '1'}, 2, dealer));
      const Bytes complaint = wire::encode(wire::DkgComplaint{2, dealer, Bytes(sig.begin(), sig.end()), {}});
      for (Index to = 1; to <= 7; ++to) {
        if (to == 2) continue;
        const std::uint64_t at = dealer % 2 ? 4100 : (to % 2 ? 4990 : 5010);
        run.net.queue.emplace(std::make_pair(at, run.net.seq++), InFlight{2, to, complaint});
      }
    }
    run.finish();
    REQUIRE(run.done.size() == 7);
    for (const auto& [i, f] : run.done) {
      INFO("member " << i);
      CHECK(f.qualified == std::vector<Index>{1, 2, 3, 4, 5, 6, 7});
    }
    check_dkg_group(run, 4);
  }
}
