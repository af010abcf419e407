// Catch-up of the beacon engine: a member missing settled rounds asks one peer (rotating, rate
// limited) for their recovered signatures, verifies each against the group key, and fills in.
#include <algorithm>
#include <string>

#include "bls/wire.h"
#include "nitro/bls_beacon.h"

namespace nitro::bls {

void BeaconEngine::maybe_sync(std::uint64_t now_ms) {
  // A round counts as settled half a period after the next one began: before that its
  // partials may still be in flight.
  const std::uint64_t half = config_.period_ms / 2;
  const std::uint64_t settled = now_ms >= half ? round_at(now_ms - half) : 0;
  if (config_.n == 1 || settled < 2 || now_ms < sync_next_ms_) return;  // n = 1: nobody to ask
  const std::uint64_t last_wanted = settled - 1;
  const std::uint64_t window_start =
      last_wanted > config_.history_rounds_max ? last_wanted - config_.history_rounds_max + 1 : 1;
  // The first missing round at or above the floor (rounds below it no peer could serve). Chained
  // rounds have no floor: a round nobody recovered yet is re-signed by catch-up, so asking again
  // later is not futile.
  const std::uint64_t floor = scheme_chained(config_.scheme) ? 0 : sync_floor_;
  std::uint64_t first = std::max({window_start, floor, forgotten_ + 1});
  for (auto it = rounds_.lower_bound(first); it != rounds_.end() && it->first == first; ++it) ++first;
  if (first > last_wanted) return;
  const std::uint64_t last = std::min(last_wanted, first + config_.sync_batch_max - 1);
  sync_peer_ = sync_peer_ % config_.n + 1;  // next peer in rotation, never self (n >= 2 here)
  if (sync_peer_ == config_.share.index) sync_peer_ = sync_peer_ % config_.n + 1;
  out_.push_back(Outgoing{sync_peer_, wire::encode(wire::SyncRequest{first, last})});
  sync_first_ = first;
  sync_next_ms_ = now_ms + std::max<std::uint64_t>(half, 1);
}

Status BeaconEngine::on_sync_request(Index from, std::uint64_t first, std::uint64_t last) {
  if (first == 0 || last < first) {
    Status st = invalid_argument("beacon: bad sync range");
    reject(from, first, st);
    return st;
  }
  last = std::min(last, first + config_.sync_batch_max - 1);
  wire::SyncResponse resp;
  const bool chained = scheme_chained(config_.scheme);
  for (auto it = rounds_.lower_bound(first); it != rounds_.end() && it->first <= last; ++it) {
    auto prev = chained ? previous_of(it->first) : std::nullopt;
    resp.rounds.push_back(wire::SyncEntry{it->first, it->second, prev ? *prev : Bytes{}});
  }
  out_.push_back(Outgoing{from, wire::encode(resp)});
  return Status::ok_status();
}

Status BeaconEngine::on_sync_response(Index from, std::vector<Synced> rounds, std::uint64_t now_ms) {
  std::sort(rounds.begin(), rounds.end(), [](const Synced& a, const Synced& b) { return a.round < b.round; });
  const std::uint64_t cur = round_at(now_ms);
  const bool chained = scheme_chained(config_.scheme);
  bool progressed = false;
  for (auto& [round, sig, prev] : rounds) {
    if (rounds_.count(round) || round <= forgotten_) continue;
    if (round == 0 || round > cur) {
      Status st{Code::kOutOfRange, "beacon: synced round " + std::to_string(round) + " is in the future"};
      reject(from, round, st);
      return st;
    }
    // Chained: the entry's own previous signature anchors a round whose predecessor we lack (a
    // valid group signature over (prev, round) proves prev is the chain's previous signature).
    auto known_prev = chained ? previous_of(round) : std::optional<Bytes>(Bytes{});
    if (chained && !known_prev && prev.empty()) continue;
    Bytes use_prev = known_prev ? *known_prev : prev;
    auto m = beacon_message(config_.scheme, round, use_prev);
    auto ok = verify(suite_, group_key_, m, sig);
    if (!ok.ok() || !*ok) {
      Status st = ok.ok() ? permission_denied("beacon: synced round does not verify") : ok.status();
      reject(from, round, st);
      return st;
    }
    accept_round(round, std::move(sig), chained ? std::move(use_prev) : Bytes{});
    progressed = true;
  }
  if (progressed) sync_next_ms_ = now_ms;  // keep pulling while behind
  if (sync_first_ != 0 && !rounds_.count(sync_first_)) {
    // Every other member asked in turn lacked this round: nobody recovered it, stop asking.
    if (++sync_misses_ + 1 >= config_.n) {
      sync_floor_ = sync_first_ + 1;
      sync_misses_ = 0;
    }
  } else {
    sync_misses_ = 0;
  }
  return Status::ok_status();
}

std::optional<std::uint64_t> BeaconEngine::next_deadline() const {
  // The next round start; sooner when a catch-up retry is due.
  std::uint64_t deadline = config_.genesis_ms + round_at(now_ms_) * config_.period_ms;
  if (sync_next_ms_ > now_ms_) deadline = std::min(deadline, sync_next_ms_);
  if (catchup_due_) deadline = now_ms_ + 1;  // more chained rounds to sign right away
  return deadline;
}

}  // namespace nitro::bls
