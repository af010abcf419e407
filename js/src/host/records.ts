// Where a node keeps its identity seed and its saved state: two records in a DocStore (the same
// memoryStore() / fileStore(dir) that documents use), each replaced as a whole (compact()).
import type { DocStore } from '../store.js';

export type NodeRecordKind = 'identity' | 'state';

export class NodeRecords {
  /** Records are named `nitro.node/<name>/<kind>`, so several nodes can share one store. */
  constructor(private readonly store: DocStore, private readonly name: string) {}

  async get(kind: NodeRecordKind): Promise<Uint8Array | undefined> {
    const records = await this.store.load(this.key(kind));
    return records[records.length - 1];
  }

  async set(kind: NodeRecordKind, bytes: Uint8Array): Promise<void> {
    await this.store.compact(this.key(kind), bytes);
  }

  private key(kind: NodeRecordKind): string {
    return `nitro.node/${this.name}/${kind}`;
  }
}
