// Native codec throughput: for each frame given as hex on the command line, decode/encode
// rates of the C++ core (median of 7 samples). Prints one JSON line per frame.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "nitro/codec.h"

namespace {

nitro::Bytes from_hex(const std::string& hex) {
  nitro::Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

template <typename F>
double median_ops_per_s(F&& fn) {
  using clock = std::chrono::steady_clock;
  std::vector<double> rates;
  for (int s = 0; s < 7; ++s) {
    std::size_t n = 0;
    auto start = clock::now();
    auto now = start;
    while (now - start < std::chrono::milliseconds(200)) {
      fn();
      ++n;
      now = clock::now();
    }
    rates.push_back(n / std::chrono::duration<double>(now - start).count());
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const nitro::Bytes frame = from_hex(argv[i]);
    auto value = nitro::codec::decode(frame);
    if (!value.ok()) return 1;
    volatile std::size_t sink = 0;
    double enc = median_ops_per_s([&] { sink = sink + nitro::codec::encode(*value).size(); });
    double dec = median_ops_per_s([&] { sink = sink + nitro::codec::decode(frame).ok(); });
    std::printf("{\"bytes\":%zu,\"encode_per_s\":%.0f,\"decode_per_s\":%.0f}\n", frame.size(), enc, dec);
  }
  return 0;
}
