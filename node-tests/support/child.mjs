// A Node.js child process driven over JSON lines: commands go to stdin as {"cmd", ...}, every
// stdout line is an event; replies are events {"ev":"reply","cmd",...}. The child side is
// serve.mjs (serveCommands). spawnNodes() starts a file's node processes and kills whatever a
// failed test left running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import { within } from './wait.mjs';

export class ChildProcess {
  /** `launcher`: a command that runs node for us (e.g. ['ip', 'netns', 'exec', ns]). */
  constructor(name, script, args, { env = process.env, replyTimeoutMs = 10000, launcher = [] } = {}) {
    this.name = name;
    this.events = [];
    this.waiters = new Set();
    this.replyTimeoutMs = replyTimeoutMs;
    const [command, ...prefix] = [...launcher, process.execPath];
    this.child = spawn(command, [...prefix, script, ...args], { stdio: ['pipe', 'pipe', 'inherit'], env });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.onLine(JSON.parse(line)));
    this.pending = Promise.resolve();
  }

  onLine(msg) {
    this.events.push(msg);
    for (const w of [...this.waiters]) w();
  }

  /** The first event (already seen or future) matching `pred`. */
  next(pred, timeoutMs = 10000, what = 'an event') {
    const found = this.events.find(pred);
    if (found) return Promise.resolve(found);
    return within(new Promise((resolve) => {
      const w = () => {
        const hit = this.events.find(pred);
        if (!hit) return;
        this.waiters.delete(w);
        resolve(hit);
      };
      this.waiters.add(w);
    }), timeoutMs, `${what} on ${this.name}`);
  }

  /** Waits for {"ev":"ready"} and keeps its id and address on the process. */
  async ready(timeoutMs = 15000) {
    const ready = await this.next((e) => e.ev === 'ready', timeoutMs, 'ready');
    this.id = ready.id;
    this.address = ready.address;
    return ready;
  }

  /** The pub/sub messages received so far on `topic`. */
  messages(topic) {
    return this.events.filter((e) => e.ev === 'message' && e.topic === topic);
  }

  /** Commands run one at a time per process; resolves with the reply. */
  request(cmd, args = {}) {
    const run = async () => {
      const seen = this.events.length;
      this.child.stdin.write(JSON.stringify({ cmd, ...args }) + '\n');
      const reply = await this.next((e, i) => i >= seen && e.ev === 'reply' && e.cmd === cmd, this.replyTimeoutMs, `reply to ${cmd}`);
      if (reply.error) throw new Error(`${this.name} ${cmd}: ${reply.error}`);
      return reply;
    };
    this.pending = this.pending.then(run, run);
    return this.pending;
  }

  /** Sends "close" and requires the process to exit by itself with code 0 within `timeoutMs`. */
  async close(timeoutMs = 10000) {
    await this.request('close');
    const { code } = await within(this.exited, timeoutMs, `${this.name} to exit`);
    assert.equal(code, 0, `${this.name} exits by itself`);
  }

  /** Whether the process is still running. */
  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

/**
 * The node processes of one test file, all running `script`. Call at module level: it registers
 * an after() hook that SIGKILLs whatever is still running (only a failed test leaves any) and
 * waits for them to exit. `start(name, args, options)` spawns one and waits for its "ready".
 */
export function spawnNodes(script, defaults = {}) {
  const all = [];
  after(async () => {
    const left = all.filter((p) => p.running);
    for (const p of left) p.child.kill('SIGKILL');
    await Promise.all(left.map((p) => p.exited));
  });
  return {
    all,
    /** Spawns without waiting for "ready". */
    spawn(name, args, options = {}) {
      const p = new ChildProcess(name, script, args, { ...defaults, ...options });
      all.push(p);
      return p;
    },
    async start(name, args, options = {}) {
      const p = this.spawn(name, args, options);
      await p.ready();
      return p;
    },
  };
}
