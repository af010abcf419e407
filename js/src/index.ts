// The platform-neutral API of @gonitro/nitro. Entry points re-export this after installing a
// wasm loader for their platform.
export { init, getModule } from './wasm.js';
export type { InitOptions } from './wasm.js';
export * from './errors.js';
export { codec } from './codec.js';
export type { NitroValue } from './codec.js';
export { versions } from './versions.js';
export { Identity, SecureLink, envelope, peerId } from './crypto.js';
export type {
  PeerIdText, PwhashParams, LinkOptions, LinkLimits, LinkEvent, LinkState, LinkCounters,
  OpenedEnvelope, EnvelopeFields,
} from './crypto.js';
