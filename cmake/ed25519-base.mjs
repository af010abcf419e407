// libsodium's Ed25519 base-point table (ref10 `base[32][8]`, 30 KB that gzip cannot shrink),
// computed instead of downloaded: the build (cmake/wasm-split.mjs) finds these exact bytes in
// nitro.wasm's data, zeroes them there and records their address; the loader writes them back
// into memory before the core runs. Entry [i][j] is (j+1)·256^i·B in precomputed form
// (y+x, y−x, 2d·x·y), each coordinate as fe25519_frombytes leaves it: ten signed 25/26-bit limbs.
// Curve constants from RFC 8032 (edwards25519). BigInt arithmetic, one field inversion in all.
const p = (1n << 255n) - 19n;
const d2 = 0x2406d9dc56dffce7198e80f2eef3d13000e0149a8283b156ebd69b9426b2f159n;  // 2d mod p
const bx = 0x216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51an;
const by = 0x6666666666666666666666666666666666666666666666666666666666666658n;
const mod = (a) => ((a % p) + p) % p;

function inverse(a) {
  let r = 1n;
  for (let e = p - 2n, b = a; e > 0n; e >>= 1n, b = (b * b) % p) if (e & 1n) r = (r * b) % p;
  return r;
}

// Extended twisted Edwards coordinates (a = -1): "add-2008-hwcd-3", unified, so it also doubles.
function add([x1, y1, z1, t1], [x2, y2, z2, t2]) {
  const a = ((y1 - x1) * (y2 - x2)) % p, b = ((y1 + x1) * (y2 + x2)) % p;
  const c = (((t1 * d2) % p) * t2) % p, d = (2n * z1 * z2) % p;
  const e = b - a, f = d - c, g = d + c, h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

// fe25519_frombytes on the canonical little-endian encoding of v (in doubles: every value < 2^53).
function limbs(v) {
  const hex = v.toString(16).padStart(64, '0');
  const s = (o) => parseInt(hex.slice(62 - 2 * o, 64 - 2 * o), 16);
  const l3 = (o) => s(o) + s(o + 1) * 256 + s(o + 2) * 65536;
  const l4 = (o) => l3(o) + s(o + 3) * 16777216;
  const h = [l4(0), l3(4) * 64, l3(7) * 32, l3(10) * 8, l3(13) * 4, l4(16), l3(20) * 128, l3(23) * 32,
    l3(26) * 16, (l3(29) % 8388608) * 4];
  const carry = (i, bits, to, times = 1) => {
    const c = Math.floor((h[i] + 2 ** (bits - 1)) / 2 ** bits);
    h[to] += c * times;
    h[i] -= c * 2 ** bits;
  };
  carry(9, 25, 0, 19); carry(1, 25, 2); carry(3, 25, 4); carry(5, 25, 6); carry(7, 25, 8);
  carry(0, 26, 1); carry(2, 26, 3); carry(4, 26, 5); carry(6, 26, 7); carry(8, 26, 9);
  return h;
}

/** The 30720 bytes of ref10's `base` table, as in libsodium's data (little-endian int32 limbs). */
export function ed25519BaseTable() {
  const points = [];
  let step = [bx, by, 1n, (bx * by) % p];
  for (let i = 0; i < 32; i++) {
    for (let j = 0, q = step; j < 8; j++, q = add(q, step)) points.push(q);
    for (let k = 0; k < 8; k++) step = add(step, step);
  }
  // Affine x, y for every point with one inversion (Montgomery's batch trick).
  const prefix = [];
  let run = 1n;
  for (const q of points) { prefix.push(run); run = (run * q[2]) % p; }
  let inv = inverse(run);
  const out = new Int32Array(points.length * 30);
  for (let k = points.length - 1; k >= 0; k--) {
    const zi = (inv * prefix[k]) % p;
    inv = (inv * points[k][2]) % p;
    const x = (points[k][0] * zi) % p, y = (points[k][1] * zi) % p;
    [mod(y + x), mod(y - x), (((d2 * x) % p) * y) % p].forEach((v, f) => out.set(limbs(v), k * 30 + f * 10));
  }
  return new Uint8Array(out.buffer);
}
