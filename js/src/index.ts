// The platform-neutral API of @gonitro/nitro. Entry points re-export this after installing a
// wasm loader for their platform.
export { init, getModule } from './wasm.js';
export type { InitOptions } from './wasm.js';
export * from './errors.js';
export { codec } from './codec.js';
export type { NitroValue } from './codec.js';
export { versions } from './versions.js';
export { Identity, SecureLink, ReplayGuard, envelope, peerId } from './crypto.js';
export type {
  PeerIdText, PwhashParams, LinkOptions, LinkLimits, LinkEvent, LinkState, LinkCounters,
  OpenedEnvelope, EnvelopeFields, ReplayGuardOptions,
} from './crypto.js';
export { Beacon, bls, threshold, toBytes, toHex } from './beacon.js';
export type {
  BeaconScheme, BeaconVerifyInput, BeaconVerifyResult, BytesLike, SigGroup, SuiteOptions,
  KeyPair, Share, PartialSignature, Dealing,
} from './beacon.js';
export { Doc, SharedText, SharedList, SharedMap, SharedCounter, SharedSet } from './doc.js';
export type { DocOptions, UpdateListener } from './doc.js';
export { memoryStore, persist } from './store.js';
export type { DocStore, Persistence } from './store.js';
