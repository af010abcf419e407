// Seeds for node:test suites, the same scheme as native-tests/test_util.h: NITRO_SEED=<n> replays
// one seed; otherwise the seed derives from NITRO_COMMIT (scripts/test exports the commit hash)
// and the suite's name, so each commit explores new seeds and a rerun replays the same ones.
// Seeds are 31-bit (fast-check's seed is a 32-bit integer).
import { createHash } from 'node:crypto';

export function testSeed(suite) {
  if (process.env.NITRO_SEED) return Number(BigInt(process.env.NITRO_SEED) % 2147483647n);
  const h = createHash('sha256').update(`${process.env.NITRO_COMMIT ?? 'nitro'}/${suite}`).digest();
  return h.readUInt32LE(0) % 2147483647;
}

/** A seeded splitmix-style generator in [0, 1) for fault injection in tests. */
export function seededRandom(seed) {
  let s = BigInt(seed) & 0xffffffffffffffffn;
  return () => {
    s = (s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    z ^= z >> 31n;
    return Number(z >> 11n) / 2 ** 53;
  };
}
