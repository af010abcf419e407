// Native crypto benchmark: full SecureLink handshakes per second and transport seal/open MB/s,
// the same work bench/crypto.mjs measures through wasm. Prints one JSON object per line:
//   {"op":"handshake","per_s":N}
//   {"op":"seal","bytes":B,"mb_per_s":X}   {"op":"open","bytes":B,"mb_per_s":X}
// Medians of 7 samples of ~200 ms each.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "nitro/link.h"

using namespace nitro;
using namespace nitro::crypto;

namespace {

using Clock = std::chrono::steady_clock;

// Median over `samples` of (calls per second) of fn, each sample running ~sample_ms.
double rate(const std::function<void()>& fn, int samples = 7, double sample_ms = 200) {
  auto one = [&](double ms) {
    std::uint64_t n = 0;
    auto start = Clock::now();
    double elapsed = 0;
    while (elapsed < ms) {
      fn();
      ++n;
      elapsed = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    }
    return n * 1000.0 / elapsed;
  };
  one(100);
  std::vector<double> rates;
  for (int i = 0; i < samples; ++i) rates.push_back(one(sample_ms));
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

Seed seed_of(std::uint8_t fill) {
  Seed s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(fill + i * 7);
  return s;
}

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "crypto_bench: %s\n", what);
    std::exit(1);
  }
}

void handshake(const Identity& a, const Identity& b, std::uint8_t n) {
  auto init = SecureLink::initiator(a, seed_of(n));
  auto resp = SecureLink::responder(b, seed_of(static_cast<std::uint8_t>(n + 1)));
  require(resp.handle(*init.poll_transmit()).ok(), "msg1");
  require(init.handle(*resp.poll_transmit()).ok(), "msg2");
  require(resp.handle(*init.poll_transmit()).ok(), "msg3");
  require(init.established() && resp.established(), "established");
}

}  // namespace

int main() {
  const Identity a = Identity::from_seed(seed_of(1)), b = Identity::from_seed(seed_of(2));
  std::uint8_t n = 0;
  std::printf("{\"op\":\"handshake\",\"per_s\":%.1f}\n", rate([&] { handshake(a, b, n += 2); }));

  auto init = SecureLink::initiator(a, seed_of(10));
  auto resp = SecureLink::responder(b, seed_of(20));
  require(resp.handle(*init.poll_transmit()).ok() && init.handle(*resp.poll_transmit()).ok() &&
              resp.handle(*init.poll_transmit()).ok(), "bench link");
  while (init.poll_event()) {}
  while (resp.poll_event()) {}
  for (std::size_t bytes : {std::size_t{1024}, std::size_t{65536}}) {
    Bytes msg(bytes, 0x5A);
    double seal = rate([&] {
      require(init.send(msg).ok(), "send");
      require(init.poll_transmit().has_value(), "frame");
    });
    std::printf("{\"op\":\"seal\",\"bytes\":%zu,\"mb_per_s\":%.1f}\n", bytes, seal * bytes / 1e6);
    // Open: each sample pre-seals a batch of distinct frames (untimed), then times opening them.
    const int batch = bytes <= 1024 ? 20000 : 400;
    std::vector<double> rates;
    for (int sample = 0; sample < 7; ++sample) {
      std::vector<Bytes> frames;
      for (int i = 0; i < batch; ++i) {
        require(init.send(msg).ok(), "send");
        frames.push_back(*init.poll_transmit());
      }
      auto start = Clock::now();
      for (const auto& f : frames) {
        require(resp.handle(f).ok(), "handle");
        require(resp.poll_event().has_value(), "event");
      }
      rates.push_back(batch / std::chrono::duration<double>(Clock::now() - start).count());
    }
    std::sort(rates.begin(), rates.end());
    const double open = rates[rates.size() / 2];
    std::printf("{\"op\":\"open\",\"bytes\":%zu,\"mb_per_s\":%.1f}\n", bytes, open * bytes / 1e6);
  }
  return 0;
}
