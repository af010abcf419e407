// ReplayGuard: (origin, seq) acceptance with a bounded, LRU-evicted origin table.
#include <cassert>

#include "nitro/envelope.h"

namespace nitro::crypto {

ReplayGuard::ReplayGuard(const ReplayGuardLimits& limits) : limits_(limits) { assert(limits_.origins_max > 0); }

Status ReplayGuard::check_freshness(std::uint64_t timestamp_ms, std::uint64_t now_ms) const {
  if (now_ms > limits_.max_age_ms && timestamp_ms < now_ms - limits_.max_age_ms) {
    return {Code::kOutOfRange, "envelope too old"};
  }
  const std::uint64_t latest_ms =
      now_ms > UINT64_MAX - limits_.future_skew_ms ? UINT64_MAX : now_ms + limits_.future_skew_ms;
  if (timestamp_ms > latest_ms) return {Code::kOutOfRange, "envelope timestamp in the future"};
  return {};
}

Status ReplayGuard::check(const PeerId& origin, std::uint64_t seq, std::uint64_t timestamp_ms,
                          std::uint64_t now_ms) const {
  NITRO_TRY(check_freshness(timestamp_ms, now_ms));
  auto it = by_origin_.find(origin);
  SeqWindow::Verdict v = it == by_origin_.end() ? SeqWindow{}.check(seq) : it->second.window.check(seq);
  switch (v) {
    case SeqWindow::Verdict::kReplayed: return {Code::kAlreadyExists, "envelope replayed"};
    case SeqWindow::Verdict::kTooOld: return {Code::kOutOfRange, "envelope seq below the replay window"};
    case SeqWindow::Verdict::kFresh: break;
  }
  return {};
}

void ReplayGuard::evict_one() {
  assert(!by_last_used_.empty());
  auto oldest = by_last_used_.begin();
  by_origin_.erase(oldest->second);
  by_last_used_.erase(oldest);
  evictions_++;
}

Status ReplayGuard::accept(const PeerId& origin, std::uint64_t seq, std::uint64_t timestamp_ms,
                           std::uint64_t now_ms) {
  NITRO_TRY(check(origin, seq, timestamp_ms, now_ms));
  auto it = by_origin_.find(origin);
  if (it == by_origin_.end()) {
    if (by_origin_.size() >= limits_.origins_max) evict_one();
    it = by_origin_.emplace(origin, Entry{}).first;
  } else {
    by_last_used_.erase(it->second.last_used);
  }
  it->second.window.record(seq);
  it->second.last_used = ++tick_;
  by_last_used_.emplace(tick_, origin);
  assert(by_origin_.size() == by_last_used_.size());
  assert(by_origin_.size() <= limits_.origins_max);
  return {};
}

}  // namespace nitro::crypto
