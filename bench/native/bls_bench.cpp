// Native BLS timings of the core (blst with its assembly): quicknet verify, sign, aggregate of
// 100 signatures, threshold recovery. One JSON line per operation: {"op", "ms" (median wall time
// of 7 samples), "cpu_ms" (median CPU time)}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "nitro/bls.h"
#include "nitro/bls_threshold.h"

namespace {

using namespace nitro;

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

double g_cpu_ms = 0;  // median CPU ms per op of the latest median_ms call (the machine is shared)

template <typename F>
double median_ms(F&& fn, int per_sample) {
  using clock = std::chrono::steady_clock;
  std::vector<double> ms, cpu;
  fn();  // warm-up
  for (int s = 0; s < 7; ++s) {
    auto start = clock::now();
    std::clock_t c0 = std::clock();
    for (int i = 0; i < per_sample; ++i) fn();
    cpu.push_back(static_cast<double>(std::clock() - c0) * 1000.0 / CLOCKS_PER_SEC / per_sample);
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - start).count() / per_sample);
  }
  std::sort(ms.begin(), ms.end());
  std::sort(cpu.begin(), cpu.end());
  g_cpu_ms = cpu[3];
  return ms[3];
}

void report(const char* op, double ms) {
  std::printf("{\"op\":\"%s\",\"ms\":%.4f,\"cpu_ms\":%.4f}\n", op, ms, g_cpu_ms);
}

}  // namespace

int main() {
  // quicknet round 1 (drand's League of Entropy; the same beacon as ../shared/vectors/drand.json).
  const Bytes pk = from_hex(
      "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a");
  const Bytes sig = from_hex("b55e7cb2d5c613ee0b2e28d6750aabbb78c39dcc96bd9d38c2c2e12198df95571de8e8e402a0cc48871c7089a2b3af4b");
  const auto scheme = bls::Scheme::kBlsUnchainedG1Rfc9380;
  bool ok = true;
  report("verify_quicknet", median_ms([&] { ok = ok && bls::verify_beacon(scheme, pk, 1, sig)->valid; }, 50));
  auto key = *bls::PublicKey::decode(bls::Group::kG2, pk);
  report("verify_quicknet_cached_key", median_ms([&] { ok = ok && bls::verify_beacon(scheme, key, 1, sig)->valid; }, 50));
  auto sk = *bls::key_gen(Bytes(32, 7));
  Bytes msg(32, 1);
  report("sign_g1", median_ms([&] { (void)bls::sign(sk, bls::kMinSigBasic, msg); }, 50));
  report("sign_g2", median_ms([&] { (void)bls::sign(sk, bls::kMinPkBasic, msg); }, 50));
  std::vector<Bytes> sigs;
  for (int i = 0; i < 100; ++i) {
    auto k = *bls::key_gen(Bytes(32, static_cast<std::uint8_t>(i + 1)));
    sigs.push_back(bls::sign(k, bls::kMinSigBasic, msg));
  }
  report("aggregate_100_g1", median_ms([&] { ok = ok && bls::aggregate(bls::Group::kG1, sigs).ok(); }, 10));
  auto d = *bls::threshold::deal(bls::Group::kG2, 4, 7, Bytes(32, 3));
  std::vector<bls::threshold::Partial> partials;
  for (int i = 0; i < 4; ++i) partials.push_back(bls::threshold::partial_sign(d.shares[i], bls::kMinSigBasic, msg));
  report("threshold_recover_4_of_7_g1", median_ms([&] { ok = ok && bls::threshold::recover(bls::Group::kG1, partials, 4).ok(); }, 20));
  return ok ? 0 : 1;
}
