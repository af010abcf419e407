#include "nitro/seq_window.h"

#include <cassert>

namespace nitro::crypto {

SeqWindow::Verdict SeqWindow::check(std::uint64_t seq) const {
  if (seq == kSeqMax) return Verdict::kTooOld;  // next_ would overflow
  if (seq >= next_) return Verdict::kFresh;
  std::uint64_t age = next_ - 1 - seq;  // 0 = the highest itself
  if (age >= kBits) return Verdict::kTooOld;
  bool seen = (bits_[age / 64] >> (age % 64)) & 1u;
  return seen ? Verdict::kReplayed : Verdict::kFresh;
}

void SeqWindow::shift(std::uint64_t by) {
  if (by >= kBits) {
    bits_.fill(0);
    return;
  }
  const std::size_t words = static_cast<std::size_t>(by / 64);
  const unsigned rem = static_cast<unsigned>(by % 64);
  for (std::size_t i = kWords; i-- > 0;) {
    std::uint64_t v = 0;
    if (i >= words) {
      v = bits_[i - words] << rem;
      if (rem != 0 && i > words) v |= bits_[i - words - 1] >> (64 - rem);
    }
    bits_[i] = v;
  }
}

void SeqWindow::record(std::uint64_t seq) {
  assert(check(seq) == Verdict::kFresh);
  if (seq >= next_) {
    shift(seq + 1 - next_ > kBits || next_ == 0 ? kBits : seq + 1 - next_);
    next_ = seq + 1;
    bits_[0] |= 1u;
    return;
  }
  std::uint64_t age = next_ - 1 - seq;
  bits_[age / 64] |= std::uint64_t{1} << (age % 64);
}

}  // namespace nitro::crypto
