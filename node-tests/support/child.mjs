// A Node.js child process driven over JSON lines: commands go to stdin as {"cmd", ...}, every
// stdout line is an event; replies are events {"ev":"reply","cmd",...}. Shared by the
// multi-process suites (websocket, doc-sync).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { within } from './wait.mjs';

export class ChildProcess {
  constructor(name, script, args, { env = process.env, replyTimeoutMs = 10000 } = {}) {
    this.name = name;
    this.events = [];
    this.waiters = new Set();
    this.replyTimeoutMs = replyTimeoutMs;
    this.child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'], env });
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
}
