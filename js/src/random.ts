// The one source of fresh entropy for the JS layer (identities, seeds of the core's engines).
// Protocol randomness never comes from here at run time: the core draws it from the seed it was
// given (a seeded stream in simulation).

/** `n` bytes from crypto.getRandomValues (Node 18+, browsers, workers). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** A random non-negative integer below 2^53 (exact as a JS number). */
export function randomSafeInteger(): number {
  const b = randomBytes(7);
  let v = b[0] & 0x1f;
  for (let i = 1; i < 7; i++) v = v * 256 + b[i];
  return v;
}
