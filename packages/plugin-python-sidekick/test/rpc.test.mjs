// The TS half of the protocol without a runtime: framing, the JSON-RPC connection, configuration, and a
// clear failure when the Python side cannot start.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { sidekickSettings, within } from './helpers.mjs';

const { LineDecoder, RpcConnection, RpcError, ErrorCode, sniffHead, parseCommand, readConfig, default: plugin } =
  await import('../dist/index.js');

/** Two connections wired back to back (what one writes, the other receives), like the in-memory pair. */
function pair(aHandler = {}, bHandler = {}, options = {}) {
  const handler = (h) => ({
    onRequest: h.onRequest ?? (async (method) => { throw new RpcError(ErrorCode.METHOD_NOT_FOUND, `method not found: ${method}`); }),
    onNotification: h.onNotification ?? (() => undefined),
  });
  let a;
  let b;
  const sentByA = [];
  const sentByB = [];
  a = new RpcConnection((frame) => { sentByA.push(frame); queueMicrotask(() => b.receive(frame)); }, handler(aHandler), options.a);
  b = new RpcConnection((frame) => { sentByB.push(frame); queueMicrotask(() => a.receive(frame)); }, handler(bHandler), options.b);
  return { a, b, sentByA, sentByB };
}

/** A connection whose output is captured, for feeding it hand-written frames. */
function capture(handler = {}, options = {}) {
  const out = [];
  const conn = new RpcConnection((frame) => out.push(JSON.parse(frame)), {
    onRequest: handler.onRequest ?? (async (m) => ({ echoed: m })),
    onNotification: handler.onNotification ?? (() => undefined),
  }, options);
  const next = async () => {
    for (let i = 0; i < 100 && out.length === 0; i++) await new Promise((r) => setImmediate(r));
    return out.shift();
  };
  return { conn, out, next };
}

describe('LineDecoder', () => {
  it('reassembles lines across chunks (multi-byte characters included) and skips blank lines', () => {
    const lines = [];
    const d = new LineDecoder(100, (l) => lines.push(l), () => assert.fail('no oversize expected'));
    const text = Buffer.from('{"t":"ü"}\n\n{"b":2}\n');
    d.push(text.subarray(0, 7)); // splits the two bytes of ü
    d.push(text.subarray(7));
    assert.deepEqual(lines, ['{"t":"ü"}', '{"b":2}']);
  });

  it('drops an oversize frame up to its newline and carries on', () => {
    const lines = [];
    const big = [];
    const d = new LineDecoder(16, (l) => lines.push(l), (size, head) => big.push({ size, head }));
    d.push(Buffer.from('{"id":5,"method":"m","params":"' + 'x'.repeat(40)));
    d.push(Buffer.from('"}\n{"ok":1}\n'));
    assert.equal(big.length, 1);
    assert.equal(big[0].size, 73); // the whole dropped line, without its newline
    assert.ok(big[0].head.startsWith('{"id":5'));
    assert.deepEqual(lines, ['{"ok":1}']);
  });
});

describe('sniffHead', () => {
  it('finds only the top-level id', () => {
    assert.deepEqual(sniffHead('{"jsonrpc":"2.0","method":"x","params":{"id":9,'), { id: null, keys: new Set(['jsonrpc', 'method', 'params']) });
    assert.equal(sniffHead('{"params":{"id":3},"id":5,"method":"m"').id, 5);
    assert.equal(sniffHead('{"jsonrpc":"2.0","id":12').id, null); // truncated number
    assert.equal(sniffHead('{"jsonrpc":"2.0","id":"r-1","result":').id, 'r-1');
  });
});

describe('RpcConnection', () => {
  it('matches concurrent answers to their requests', async () => {
    const { a } = pair({}, {
      onRequest: async (_m, p) => {
        await new Promise((r) => setTimeout(r, 30 - p.n * 10));
        return p.n * 2;
      },
    });
    assert.deepEqual(await Promise.all([0, 1, 2].map((n) => a.request('m', { n }))), [0, 2, 4]);
  });

  it('times out, rejects with REQUEST_TIMEOUT and tells the peer to cancel', async () => {
    let aborted;
    const wasAborted = new Promise((resolve) => { aborted = resolve; });
    const { a } = pair({}, {
      onRequest: (_m, _p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => { aborted(); reject(new Error('stop')); })),
    });
    await assert.rejects(a.request('hang', {}, { timeoutMs: 50 }), (e) => e.code === ErrorCode.REQUEST_TIMEOUT && /hang got no answer within 50 ms/.test(e.message));
    await wasAborted;
  });

  it('answers malformed frames with JSON-RPC errors and keeps going', async () => {
    const { conn, next } = capture();
    conn.receive('{not json');
    assert.deepEqual(await next(), { jsonrpc: '2.0', id: null, error: { code: ErrorCode.PARSE_ERROR, message: 'parse error' } });
    conn.receive('{"jsonrpc":"2.0","id":4,"method":7}');
    const bad = await next();
    assert.equal(bad.id, 4);
    assert.equal(bad.error.code, ErrorCode.INVALID_REQUEST);
    conn.receive('[1,2]');
    assert.equal((await next()).error.code, ErrorCode.INVALID_REQUEST);
    conn.receive('{"jsonrpc":"2.0","id":99,"result":"for nobody"}'); // ignored
    conn.receive('{"jsonrpc":"2.0","id":5,"method":"ok"}');
    assert.deepEqual(await next(), { jsonrpc: '2.0', id: 5, result: { echoed: 'ok' } });
  });

  it('answers an oversize request with FRAME_TOO_LARGE and its id', async () => {
    const { conn, next } = capture({}, { maxFrameBytes: 1024 });
    conn.receiveOversize(5000, '{"jsonrpc":"2.0","id":77,"method":"action/invoke","params":{"blob":"xxxx');
    const err = await next();
    assert.equal(err.id, 77);
    assert.equal(err.error.code, ErrorCode.FRAME_TOO_LARGE);
  });

  it('refuses to send a frame over the peer limit and answers OVERLOADED beyond its own', async () => {
    const { a } = pair();
    a.setPeerLimits({ maxFrameBytes: 1024, maxInFlight: 4 });
    await assert.rejects(a.request('m', { blob: 'x'.repeat(2000) }), (e) => e.code === ErrorCode.FRAME_TOO_LARGE);

    let release;
    const gate = new Promise((r) => { release = r; });
    const { conn, next } = capture({ onRequest: () => gate }, { maxInFlight: 1 });
    conn.receive('{"jsonrpc":"2.0","id":1,"method":"slow"}');
    conn.receive('{"jsonrpc":"2.0","id":2,"method":"slow"}');
    const refused = await next();
    assert.deepEqual([refused.id, refused.error.code], [2, ErrorCode.OVERLOADED]);
    release('done');
    assert.deepEqual(await next(), { jsonrpc: '2.0', id: 1, result: 'done' });
  });

  it('keeps its own requests within the peer maxInFlight', async () => {
    let active = 0;
    let peak = 0;
    const { a } = pair({}, {
      onRequest: async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active -= 1;
        return 'ok';
      },
    });
    a.setPeerLimits({ maxFrameBytes: 1 << 20, maxInFlight: 2 });
    const results = await Promise.all(Array.from({ length: 8 }, () => a.request('m', {})));
    assert.equal(results.length, 8);
    assert.equal(peak, 2);
  });

  it('maps thrown errors in one place and routes progress to the caller', async () => {
    const { a } = pair({}, {
      onRequest: async (method, _p, ctx) => {
        if (method === 'boom') throw new TypeError('bad thing');
        ctx.progress({ message: 'half', progress: 1, total: 2 });
        return 'done';
      },
    });
    await assert.rejects(a.request('boom', {}), (e) => e.code === ErrorCode.HANDLER_FAILED && e.message === 'TypeError: bad thing' && e.data.exception === 'TypeError');
    const seen = [];
    assert.equal(await a.request('work', {}, { onProgress: (p) => seen.push(p.message) }), 'done');
    assert.deepEqual(seen, ['half']);
  });

  it('fails pending requests when closed, and refuses new ones', async () => {
    const { a } = pair({}, { onRequest: () => new Promise(() => undefined) });
    const pending = a.request('hang', {});
    a.close(new RpcError(ErrorCode.UNAVAILABLE, 'the Python sidekick exited with code 1'));
    await assert.rejects(pending, /exited with code 1/);
    await assert.rejects(a.request('again', {}), (e) => e.code === ErrorCode.UNAVAILABLE);
  });
});

describe('configuration and start-up', () => {
  const fakeRuntime = (settings) => ({
    agentId: '00000000-0000-0000-0000-0000000000aa',
    character: { name: 'Cfg', bio: [] },
    getSetting: (k) => settings[k] ?? null,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });

  it('parses the command as JSON or words and appends the module', () => {
    assert.deepEqual(parseCommand('["py thon", "-m", "x"]'), ['py thon', '-m', 'x']);
    assert.deepEqual(parseCommand(' elizapy  sidekick '), ['elizapy', 'sidekick']);
    const cfg = readConfig(fakeRuntime({ PYTHON_SIDEKICK_MODULE: 'mymod' }));
    assert.deepEqual(cfg.command, ['elizapy', 'sidekick', '--module', 'mymod']);
    assert.throws(() => readConfig(fakeRuntime({})), /set PYTHON_SIDEKICK_MODULE/);
  });

  it('fails init with the sidekick\'s own error when the module cannot be loaded', async () => {
    const runtime = fakeRuntime(sidekickSettings({ PYTHON_SIDEKICK_MODULE: 'no_such_module_xyz' }));
    await assert.rejects(plugin.init({}, runtime), (e) =>
      /could not start the Python sidekick/.test(e.message) && /cannot load sidekick module 'no_such_module_xyz'/.test(e.message));
  });

  it('fails init clearly when the command does not exist', async () => {
    const runtime = fakeRuntime({ PYTHON_SIDEKICK_MODULE: 'm', PYTHON_SIDEKICK_COMMAND: '/nonexistent/python-sidekick' });
    await assert.rejects(plugin.init({}, runtime), /could not start the Python sidekick .*ENOENT/);
  });
});

describe('SidekickSupervisor', () => {
  it('restarts with exponential backoff while restarts fail, then recovers', async () => {
    const { SidekickSupervisor } = await import('../dist/index.js');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fake-sidekick-')), 'fail');
    const supervisor = new SidekickSupervisor({
      command: [process.execPath, new URL('./fixtures/fake-sidekick.mjs', import.meta.url).pathname],
      env: { ...process.env, FAKE_SIDEKICK_FAIL: marker },
      agent: { id: 'a', name: 'A', character: {} },
      handler: { onRequest: async () => ({}), onNotification: () => undefined },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      backoffInitialMs: 40,
      healthIntervalMs: 0,
    });
    try {
      await supervisor.start();
      const attempts = [];
      const recovered = new Promise((resolve) => {
        supervisor.onStateChange((state) => {
          if (state === 'starting') {
            attempts.push(performance.now());
            if (attempts.length === 4) fs.rmSync(marker); // the 4th attempt will succeed
          }
          if (state === 'ready') resolve();
        });
      });
      fs.writeFileSync(marker, '');
      const killedAt = performance.now();
      supervisor.kill('SIGKILL');
      await supervisor.waitFor('restarting', 5_000);
      assert.match(supervisor.unavailable().message, /is down \(killed by SIGKILL at .*\); restart attempt 1 in \d+ ms/);
      await within(recovered, 10_000, 'recovery');
      const gaps = attempts.map((t, i) => t - (i === 0 ? killedAt : attempts[i - 1]));
      // 40, 80, 160, 320 ms after each failure (plus the time the failed start took)
      assert.ok(gaps[0] >= 35 && gaps[1] >= 75 && gaps[2] >= 155 && gaps[3] >= 315, JSON.stringify(gaps));
      assert.equal(supervisor.restarts, 4);
      assert.equal((await supervisor.ping()).inFlight, 1);
    } finally {
      await supervisor.stop();
    }
    assert.equal(supervisor.state, 'stopped');
    await assert.rejects(supervisor.call('$/ping', {}), /has been stopped/);
  });
});
