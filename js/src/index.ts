// The platform-neutral API of @gonitro/nitro. Entry points re-export this after installing a
// wasm loader for their platform.
export { init, getModule, loadBls, blsLoaded } from './wasm.js';
export type { InitOptions, InstantiateWasm, WasmSource } from './wasm.js';
export * from './errors.js';
export { Evented } from './events.js';
export type { EventArgs, PayloadEvents, Listener, OnceOptions, OnceValue } from './events.js';
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
export { Doc, SharedText, SharedList, SharedMap, SharedCounter, SharedSet, SharedEvent } from './doc.js';
export type { DocOptions, DocEvents, UpdateListener, SharedKind, SharedType, SharedTypeEvents } from './doc.js';
export type {
  Transaction, TextDelta, ListDelta, KeyChange, Path, TextEvent, ListEvent, MapEvent, Observer, DeepObserver, RelativePosition,
} from './doc.js';
export { UndoManager, StackItem } from './undo.js';
export { Presence, kPresenceChannel } from './presence.js';
export type { PresenceChange, PresenceEvents, PresenceOptions } from './presence.js';
export type { UndoManagerOptions, StackEvent, UndoManagerEvents } from './undo.js';
export { memoryStore, persist, docLog, asDocStore } from './store.js';
export type { DocStore, Persistence, Store, StoreOp, StoreListOptions, StoreListPage, KvStore, StoreClockOptions } from './store.js';

// ---- node host and transports ----
export { createNode } from './create.js';
export type { CreateNodeOptions } from './create.js';
export { NitroNode } from './host/node.js';
export type { Message, MessageMeta, MessageHandler, NodeSubscribeOptions, Subscription, NodeEvents, NodeEventName, PeerEvent, DirectMessage, ProtocolEvent } from './host/node.js';
export type { NodeCore, PeerInfo, NodeStats, NodeTimers, NodeLimits, NodeTuning, BroadcastMode } from './host/core.js';
export type { Transport, TransportInstance, TransportSink, TransportContext } from './host/transport.js';
export { memory, memoryNetwork, MemoryNetwork } from './host/transports/memory.js';
export type { MemoryOptions, MemoryFaults, MemoryFrame } from './host/transports/memory.js';
export { websocket } from './host/transports/websocket.js';
export type { WebSocketOptions } from './host/transports/websocket.js';
export { multi } from './host/transport.js';
export type { TransportNode } from './host/transport.js';
export { webrtc, signalStats, onSignalRefused } from './host/transports/webrtc.js';
export type { WebRtcOptions, SignalStats } from './host/transports/webrtc.js';
// ---- end node host ----

// ---- replicated documents: node.doc(name) ----
export { replicaOf, docTopic, kDocSyncChannel, DocReplica } from './host/doc-sync.js';
export type { DocReplicaEvents, DocSyncOptions, DocSyncStats, RejectedUpdate, DocRejectedListener, DocErrorListener } from './host/doc-sync.js';
// ---- end replicated documents ----
export { Simulation } from './sim.js';
export type { SimulationOptions, SimDelivery } from './sim.js';
// ---- beacon on a node ----
export { NodeBeacon, kBeaconHistoryMax, kWatchBufferMax } from './host/beacon.js';
export { Chain, chainKeys, verifyRead } from './chain.js';
export type { ChainValidator, ChainKeys, ConsensusOptions, ChainState, ChainContext, ChainHandler, ChainEvents, CommitEvent, EpochEvent, ValidatorChange, SubmitResult, ReadResult, VerifiedRead } from './chain.js';
export type { BeaconNodeOptions, BeaconDealer, BeaconRound, BeaconRejected, NodeBeaconEvents } from './host/beacon.js';
// ---- end beacon on a node ----

// ---- access control ----
export { issueToken, delegateToken, inspectToken, verifyToken, revocationRecord, inspectRevocation, checkRules, attachAuth, NodeAuth, tokenRef, TOKEN_METADATA_KEY } from './auth.js';
export type { AuthOp, AuthOptions, TokenGrant, IssueTokenOptions, TokenInfo, VerifyResult, AuthStats } from './auth.js';
// ---- end access control ----

// ---- RPC ----
export { Rpc, MemoryNetwork as RpcMemoryNetwork, SocketLink } from './rpc.js';
export { defineService, createClient, implement, method, protobuf } from './rpc.js';
export type { WireCodec } from './rpc.js';
export type { ServiceDef, MethodDef, Parser, Client, Handlers, TypedClientStream, TypedBidiStream } from './rpc.js';
export type { RpcLink, SocketLike, CallOptions, HandlerContext, ClientCallInfo, ClientInterceptor, ServerInterceptor,
  RpcOptions, ClientStream, BidiStream, StreamKind, ContentType, Strategy, Metadata } from './rpc.js';
export { attachRpc } from './rpc-node.js';
export type { NodeRpcOptions, RpcNodeMethods } from './rpc-node.js';
// ---- end RPC ----
export type { Broker, BrokerInstance, BrokerContext, SubscribeOptions } from './broker/types.js';
export type { Discovery, DiscoveryInstance, DiscoveryContext } from './discovery/types.js';
export { Config, openConfig, defaults, object, env, replicated, mergeConfig } from './config.js';
export type { ConfigEvents, ConfigOptions, ConfigSource, ConfigObject, ConfigValidator, ReplicatedSource, EnvOptions, WatchFn } from './config.js';

// sync: locks and leader election
export { NodeSync, Leader, attachSync } from './sync.js';
export type { LockOptions, LockHandle, Holder, SyncBackend, SyncBackendFactory, LeaderEvents } from './sync.js';
export { etcd } from './sync-etcd.js';
export type { EtcdSyncOptions } from './sync-etcd.js';
export { chainSync, lockStateKey } from './sync-chain.js';
export type { SyncChain } from './sync-chain.js';
