// Helpers shared by the Catch2 suites.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace nitro::test {

// splitmix64: the suites' one seeded source of randomness (a failing seed replays exactly).
struct SplitMix {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }  // [0, 1)
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  bool chance(double p) { return unit() < p; }
  bool percent(int pct) { return below(100) < static_cast<std::uint64_t>(pct); }
};

// Seeds that vary per commit and replay exactly. scripts/test exports NITRO_COMMIT (the commit
// hash); the base seed is derived from it, so each commit explores new seeds and a rerun of the
// same commit explores the same ones. NITRO_SEED=<n> replays one seed: test_seeds() then returns
// just that seed. Every simulation names its seed on failure ("reproduce with NITRO_SEED=<n>").
inline std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

inline std::uint64_t base_seed() {
  const char* commit = std::getenv("NITRO_COMMIT");
  return fnv1a(commit && *commit ? commit : "nitro");
}

inline std::optional<std::uint64_t> replay_seed() {
  const char* s = std::getenv("NITRO_SEED");
  if (!s || !*s) return std::nullopt;
  return std::strtoull(s, nullptr, 10);
}

// `count` seeds for the suite named `salt` (distinct suites draw distinct seeds), or the one
// NITRO_SEED names. NITRO_SEEDS=<n> asks every suite for n seeds instead (long swarm runs:
// scripts/sim). Seeds stay below 2^53 so JS hosts can replay them too.
inline std::vector<std::uint64_t> test_seeds(const std::string& salt, std::size_t count) {
  if (auto one = replay_seed()) return {*one};
  if (const char* n = std::getenv("NITRO_SEEDS"); n && *n) count = std::strtoull(n, nullptr, 10);
  SplitMix mix{base_seed() ^ fnv1a(salt)};
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(mix.next() >> 11);
  return out;
}

// The same, followed by seeds that once failed (each run keeps replaying them as regressions).
inline std::vector<std::uint64_t> test_seeds(const std::string& salt, std::size_t count,
                                             std::initializer_list<std::uint64_t> regressions) {
  std::vector<std::uint64_t> out = test_seeds(salt, count);
  if (!replay_seed()) out.insert(out.end(), regressions.begin(), regressions.end());
  return out;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::uint8_t> from_hex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::runtime_error("bad hex");
  };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<std::uint8_t>(nib(hex[i]) * 16 + nib(hex[i + 1])));
  return out;
}

inline std::string to_hex(const std::vector<std::uint8_t>& bytes) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto b : bytes) { s += d[b >> 4]; s += d[b & 15]; }
  return s;
}

inline std::string source_path(const std::string& rel) { return std::string(NITRO_SOURCE_DIR) + "/" + rel; }
inline std::string shared_path(const std::string& rel) { return std::string(NITRO_SHARED_DIR) + "/" + rel; }

}  // namespace nitro::test
