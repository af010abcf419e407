// A Nitro node with access control in its own process, for node-tests/auth*.test.mjs. Listens on
// a free loopback port; driven by JSON lines (serve.mjs):
//   argv: one JSON object {name, seed (hex), bootstrap: [url...], auth: {authorities, rules, tokens: [base64]}}
//   out:  {"ev":"ready","id","address"}, {"ev":"message","topic","msg","from"},
//         {"ev":"doc:rejected","doc","from","code","message"}
//   in:   {"cmd":"serve","methods"} {"cmd":"call","service","method",[token]} -> {result} | {code,message}
//         {"cmd":"subscribe","topic"} {"cmd":"publish","topic","value"}
//         {"cmd":"docSet","key","value",[doc],[token]} {"cmd":"docState",[doc]}
//         {"cmd":"setTokens","tokens"} {"cmd":"sendRaw","to","tokens"} {"cmd":"revoke","record"} {"cmd":"stats"} {"cmd":"close"}
//         token: a token id (hex) the call or the document's writes name (auth.md, "token references")
//   out:  {"ev":"reply","cmd",...} per command ({"error": "CODE message"} on failure).
import { createNode, websocket, codec, replicaOf } from '../../js/dist/node.js';
import { errorCodeAndMessage, send, serveCommands } from './serve.mjs';

const config = JSON.parse(process.argv[2]);
const bytes = (b64) => Uint8Array.from(Buffer.from(b64, 'base64'));

const node = await createNode({
  name: config.name,
  identity: Uint8Array.from(Buffer.from(config.seed, 'hex')),
  transport: websocket({ listen: 0, url: config.bootstrap ?? [] }),
  auth: { ...config.auth, tokens: (config.auth.tokens ?? []).map(bytes) },
});
node.on('error', (e) => send({ ev: 'error', message: String(e) }));
// Documents by name, opened on first use (with the token their writes name, if any).
const docs = new Map();
function docOf(name = 'board', token) {
  if (!docs.has(name)) {
    const doc = node.doc(name, { antiEntropyMs: 300, ...(token ? { authToken: token } : {}) });
    replicaOf(doc)?.on('rejected', (r) => send({ ev: 'doc:rejected', doc: name, from: r.from, code: r.code, message: r.message }));
    docs.set(name, doc);
  }
  return docs.get(name);
}
docOf('board');
send({ ev: 'ready', id: node.id, address: node.address });

const commands = {
  serve: ({ methods }) => {
    for (const m of methods) node.handle(m, async (req) => ({ ok: true, method: m, req }));
    return {};
  },
  call: async ({ service, method, token }) => {
    try {
      return { result: await node.call(service, method, { from: config.name }, { timeoutMs: 3000, ...(token ? { authToken: token } : {}) }) };
    } catch (e) {
      return { code: e.code ?? 'UNKNOWN', message: String(e.message) };
    }
  },
  subscribe: ({ topic }) => {
    node.subscribe(topic, (msg, meta) => send({ ev: 'message', topic, msg, from: meta.from }));
    return {};
  },
  publish: async ({ topic, value }) => ({ seq: await node.publish(topic, value) }),
  docSet: ({ key, value, doc, token }) => {
    docOf(doc, token).getMap('m').set(key, value);
    return {};
  },
  docState: ({ doc }) => ({ map: docOf(doc).getMap('m').toJSON() }),
  setTokens: ({ tokens }) => {
    node.auth.setTokens(tokens.map(bytes));
    return {};
  },
  // What a dishonest node does: bypasses its own checks and sends a bundle of raw bytes on the
  // auth channel (msgpack [1, [token...]]), the same frame an honest node presents.
  sendRaw: async ({ to, tokens }) => {
    await node.sendDirect(to, 'auth', codec.encode([1, tokens.map(bytes)]));
    return {};
  },
  revoke: ({ record }) => {
    node.auth.revoke(bytes(record));
    return {};
  },
  stats: () => ({ auth: node.stats().auth, peers: node.peers().map((p) => p.id) }),
  close: async () => {
    await node.close();
    return {};
  },
};

serveCommands(commands, { errorText: errorCodeAndMessage });
