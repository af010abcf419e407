// The 'protobuf' content type through the public API: typed services declared with
// protobuf(RequestSchema, ResponseSchema) send protobuf binary encoded by @bufbuild/protobuf.
// Interop is checked against bytes written by hand from the protobuf encoding spec (field tag =
// number << 3 | wire type; strings length-delimited, ints varint) and against the library's own
// toBinary/fromBinary on the other side of the call, for all four kinds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, createFileRegistry, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { createNode, init, memory, MemoryNetwork, defineService, createClient, implement, method, protobuf } from '../js/dist/node.js';

await init();

// greet.proto, hand-written as a FileDescriptorProto (what protoc would embed in generated code):
//   message HelloRequest { string name = 1; int32 times = 2; }
//   message HelloReply { string msg = 1; repeated string tags = 2; }
const TYPE_INT32 = 5;
const TYPE_STRING = 9;
const OPTIONAL = 1;
const REPEATED = 3;
const registry = createFileRegistry(create(FileDescriptorProtoSchema, {
  name: 'greet.proto', package: 'greet', syntax: 'proto3',
  messageType: [
    { name: 'HelloRequest', field: [
      { name: 'name', jsonName: 'name', number: 1, type: TYPE_STRING, label: OPTIONAL },
      { name: 'times', jsonName: 'times', number: 2, type: TYPE_INT32, label: OPTIONAL },
    ] },
    { name: 'HelloReply', field: [
      { name: 'msg', jsonName: 'msg', number: 1, type: TYPE_STRING, label: OPTIONAL },
      { name: 'tags', jsonName: 'tags', number: 2, type: TYPE_STRING, label: REPEATED },
    ] },
  ],
}), () => undefined);
const HelloRequest = registry.getMessage('greet.HelloRequest');
const HelloReply = registry.getMessage('greet.HelloReply');

const Greeter = defineService('Greeter', {
  hello: method.unary(protobuf(HelloRequest, HelloReply)),
  repeat: method.serverStream(protobuf(HelloRequest, HelloReply)),
  collect: method.clientStream(protobuf(HelloRequest, HelloReply)),
  chat: method.bidi(protobuf(HelloRequest, HelloReply)),
});

const ascii = (s) => [...s].map((c) => c.charCodeAt(0));
// HelloRequest { name: "ab", times: 3 }: field 1 (len) "ab", field 2 (varint) 3.
const requestBytes = Uint8Array.from([0x0a, 0x02, ...ascii('ab'), 0x10, 0x03]);
// HelloReply { msg: "hi ab", tags: ["x", "y"] }
const replyBytes = Uint8Array.from([0x0a, 0x05, ...ascii('hi ab'), 0x12, 0x01, ...ascii('x'), 0x12, 0x01, ...ascii('y')]);

async function pair(t) {
  const network = new MemoryNetwork();
  const server = await createNode({ name: 'Greeter', transport: memory({ network }) });
  const caller = await createNode({ name: 'caller', transport: memory({ network }), bootstrap: ['mem:Greeter'] });
  t.after(() => Promise.all([caller.close(), server.close()]));
  return { server, caller };
}

test('protobuf: the hand-written schema encodes as the spec says', () => {
  assert.deepEqual(toBinary(HelloRequest, create(HelloRequest, { name: 'ab', times: 3 })), requestBytes);
  assert.deepEqual(fromBinary(HelloReply, replyBytes).tags, ['x', 'y']);
});

test('protobuf: a typed client puts protobuf binary on the wire and reads a protobuf reply', { timeout: 30000 }, async (t) => {
  const { server, caller } = await pair(t);
  let seen;
  // An untyped handler sees the call's raw payload: the encoded request, content type 'protobuf'.
  server.handle('Greeter.hello', (req) => { seen = req; return replyBytes; });
  const reply = await createClient(caller, Greeter).hello(create(HelloRequest, { name: 'ab', times: 3 }), { timeoutMs: 5000 });
  assert.deepEqual(seen, requestBytes);
  assert.equal(reply.$typeName, 'greet.HelloReply');
  assert.equal(reply.msg, 'hi ab');
  assert.deepEqual(reply.tags, ['x', 'y']);
});

test('protobuf: typed handlers decode requests and encode replies, for all four kinds', { timeout: 30000 }, async (t) => {
  const { server, caller } = await pair(t);
  const reply = (msg, tags = []) => create(HelloReply, { msg, tags });
  implement(server, Greeter, {
    hello: (req) => reply(`hi ${req.name}`, Array(req.times).fill('t')),
    repeat: async function* (req) { for (let i = 0; i < req.times; i++) yield reply(`${req.name}${i}`); },
    collect: async (reqs) => { const names = []; for await (const r of reqs) names.push(r.name); return reply(names.join('+')); },
    chat: async function* (reqs) { for await (const r of reqs) yield reply(r.name.toUpperCase()); },
  });
  // An untyped caller with content type 'protobuf' speaks to the typed handler in bytes.
  const raw = await caller.call('Greeter', 'Greeter.hello', requestBytes, { contentType: 'protobuf', timeoutMs: 5000 });
  assert.deepEqual(fromBinary(HelloReply, raw), reply('hi ab', ['t', 't', 't']));

  const client = createClient(caller, Greeter);
  const got = [];
  for await (const r of client.repeat(create(HelloRequest, { name: 'n', times: 3 }))) got.push(r.msg);
  assert.deepEqual(got, ['n0', 'n1', 'n2']);
  const up = client.collect();
  await up.send(create(HelloRequest, { name: 'a' }));
  await up.send(create(HelloRequest, { name: 'b' }));
  assert.equal((await up.end()).msg, 'a+b');
  const chat = client.chat();
  await chat.send(create(HelloRequest, { name: 'x' }));
  await chat.end();
  const echoed = [];
  for await (const r of chat) echoed.push(r.msg);
  assert.deepEqual(echoed, ['X']);
  // An empty message encodes to zero bytes and still arrives as a message.
  assert.deepEqual(await client.hello(create(HelloRequest)), reply('hi ', []));
});

test('protobuf: bytes that are not the schema, or a msgpack call, fail with INVALID_ARGUMENT', { timeout: 30000 }, async (t) => {
  const { server, caller } = await pair(t);
  implement(server, Greeter, {
    hello: () => create(HelloReply), repeat: async function* () {}, collect: () => create(HelloReply), chat: async function* () {},
  });
  const truncated = requestBytes.subarray(0, 3);  // a length-delimited field cut short
  await assert.rejects(caller.call('Greeter', 'Greeter.hello', truncated, { contentType: 'protobuf', timeoutMs: 5000 }),
    (e) => e.code === 'INVALID_ARGUMENT' && /not a greet\.HelloRequest/.test(e.message));
  await assert.rejects(caller.call('Greeter', 'Greeter.hello', { name: 'ab' }, { timeoutMs: 5000 }),
    (e) => e.code === 'INVALID_ARGUMENT' && /expected a protobuf message/.test(e.message));
  await assert.rejects(async () => caller.call('Greeter', 'Greeter.hello', { name: 'ab' }, { contentType: 'protobuf' }),
    (e) => e.code === 'INVALID_ARGUMENT');
  await assert.rejects(async () => caller.call('Greeter', 'Greeter.hello', {}, { contentType: 'xml' }), (e) => e.code === 'INVALID_ARGUMENT');
});
