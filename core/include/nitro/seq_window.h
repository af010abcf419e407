// A sliding anti-replay window over 64-bit sequence numbers (the IPsec / WireGuard bitmap):
// remembers the highest number accepted and which of the kBits numbers below it were accepted.
// Fixed size, no allocation; used by SecureLink (frame counters) and ReplayGuard (envelope seqs).
#pragma once

#include <array>
#include <cstdint>

namespace nitro::crypto {

class SeqWindow {
 public:
  static constexpr std::uint64_t kBits = 1024;
  static constexpr std::uint64_t kSeqMax = UINT64_MAX;  // never accepted (reported kTooOld)
  enum class Verdict : std::uint8_t { kFresh, kReplayed, kTooOld };

  Verdict check(std::uint64_t seq) const;
  // Precondition: check(seq) == kFresh.
  void record(std::uint64_t seq);
  bool empty() const { return next_ == 0; }
  std::uint64_t highest() const { return next_ == 0 ? 0 : next_ - 1; }

 private:
  static constexpr std::size_t kWords = kBits / 64;
  static_assert(kBits % 64 == 0);
  void shift(std::uint64_t by);

  std::uint64_t next_ = 0;               // highest accepted + 1; 0 = nothing accepted yet
  std::array<std::uint64_t, kWords> bits_{};  // bit i (word i/64, bit i%64): seq highest - i
};

}  // namespace nitro::crypto
