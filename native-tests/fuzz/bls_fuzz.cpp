// Fuzz target: BLS point/signature decoding, the beacon wire decoder and the DKG/beacon engines
// handle() must be total. The first byte picks the surface; the rest is the input. Accepted
// points must re-encode to the same bytes (the compressed encoding is canonical); every
// rejection must be a typed error.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "bls/curve.h"
#include "bls/wire.h"
#include "nitro/bls.h"
#include "nitro/bls_beacon.h"

namespace {

void check_point(nitro::bls::Group g, std::span<const std::uint8_t> in) {
  auto p = nitro::bls::detail::decode_point(g, in, true);
  if (!p.ok()) {
    if (p.status().code() != nitro::Code::kDecodeError) std::abort();
    return;
  }
  auto again = nitro::bls::detail::encode_point(*p);
  if (again.size() != in.size() || !std::equal(again.begin(), again.end(), in.begin())) std::abort();
}

void check_beacon(std::span<const std::uint8_t> in) {
  // A fixed valid quicknet key (drand's), the input as the signature.
  static const nitro::Bytes pk = [] {
    const char* hex =
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a";
    nitro::Bytes out;
    for (int i = 0; hex[i] && hex[i + 1]; i += 2) {
      auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
      out.push_back(static_cast<std::uint8_t>(nib(hex[i]) * 16 + nib(hex[i + 1])));
    }
    return out;
  }();
  auto r = nitro::bls::verify_beacon(nitro::bls::Scheme::kBlsUnchainedG1Rfc9380, pk, 1, in);
  if (!r.ok() && r.status().code() != nitro::Code::kDecodeError) std::abort();
}

void check_wire(std::span<const std::uint8_t> in) {
  auto m = nitro::bls::wire::decode(in);
  if (!m.ok()) {
    if (m.status().code() != nitro::Code::kDecodeError) std::abort();
    return;
  }
  auto again = nitro::bls::wire::decode(nitro::bls::wire::encode(*m));
  if (!again.ok()) std::abort();
}

// Any frame from a member leaves a beacon engine (and a DKG) running: typed errors only.
void check_engines(std::span<const std::uint8_t> in) {
  using namespace nitro::bls;
  static const BeaconEngine beacon_proto = [] {
    auto d = *threshold::deal(Group::kG2, 2, 3, nitro::Bytes(32, 5));
    BeaconConfig c;
    c.scheme = Scheme::kBlsUnchainedG1Rfc9380;
    c.poly = d.poly;
    c.share = d.shares[0];
    c.n = 3;
    c.genesis_ms = 0;
    c.period_ms = 1000;
    auto e = *BeaconEngine::create(c);
    e.tick(4500);
    while (e.poll_transmit()) {}
    return e;
  }();
  static const Dkg dkg_proto = [] {
    // A stand-in signature scheme the fuzzer can satisfy (0x5a first), so it reaches the checks
    // behind the signature: a forged deal is only a rejected signature with the real one.
    DkgConfig c{Group::kG2, 3, 2, 1, 1000};
    c.sign = [](ByteSpan) { return nitro::Bytes(64, 0x5a); };
    c.verify = [](Index, ByteSpan, ByteSpan sig) { return sig.size() == 64 && sig[0] == 0x5a; };
    auto dkg = *Dkg::create(c, nitro::Bytes(32, 6));
    dkg.start(0);
    while (dkg.poll_transmit()) {}
    return dkg;
  }();
  BeaconEngine beacon = beacon_proto;
  (void)beacon.handle(2, in, 4600);
  beacon.tick(6000);
  while (beacon.poll_transmit()) {}
  while (beacon.poll_event()) {}
  Dkg dkg = dkg_proto;
  (void)dkg.handle(3, in, 500);
  dkg.tick(20000);  // runs every stage to the end
  if (!dkg.poll_event()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::span<const std::uint8_t> in(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0: check_point(nitro::bls::Group::kG1, in); break;
    case 1: check_point(nitro::bls::Group::kG2, in); break;
    case 2: check_beacon(in); break;
    case 3: check_wire(in); break;
    default: check_engines(in); break;
  }
  return 0;
}
