/**
 * JSON-RPC 2.0 over newline-delimited frames: the framing, and the connection that owns request ids,
 * timeouts, `$/cancelRequest`, `$/progress`, the in-flight bounds and the single place where a thrown error
 * becomes a JSON-RPC error (`errorFor`). It knows method names and plain objects only — the Python twin is
 * `elizapy.sidekick.dispatcher`.
 */

import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_IN_FLIGHT,
  ErrorCode,
  type Limits,
  type ProgressParams,
  type RequestId,
} from './protocol.js';

const HEAD_CHARS = 256;
const STACK_CHARS = 2000;

/** A JSON-RPC error: thrown by a handler to answer with `code`, or received from the peer. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }
}

/** Splits a byte stream into lines of at most `maxFrameBytes`; a longer line is dropped and reported. */
export class LineDecoder {
  private chunks: Buffer[] = [];
  private size = 0;
  private skipping: number | null = null;
  private head = '';

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOversize: (size: number, head: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (this.skipping !== null) {
        this.skipping += piece.length;
      } else if (this.size + piece.length > this.maxFrameBytes) {
        this.head = Buffer.concat([...this.chunks, piece.subarray(0, HEAD_CHARS)])
          .subarray(0, HEAD_CHARS)
          .toString('utf8');
        this.skipping = this.size + piece.length;
        this.chunks = [];
        this.size = 0;
      } else if (nl >= 0) {
        const line = this.size ? Buffer.concat([...this.chunks, piece]).toString('utf8') : piece.toString('utf8');
        this.chunks = [];
        this.size = 0;
        if (line.trim()) this.onLine(line);
      } else {
        this.chunks.push(piece);
        this.size += piece.length;
      }
      if (nl >= 0 && this.skipping !== null) {
        const size = this.skipping;
        const head = this.head;
        this.skipping = null;
        this.head = '';
        this.onOversize(size, head);
      }
      if (nl < 0) break;
      start = nl + 1;
    }
  }
}

/**
 * Coalesces the frames written during one turn of the event loop into a single write on `sink` (newline
 * terminated), flushed in the same turn's check phase: under concurrent load one pipe write carries many
 * frames instead of one syscall and one wake-up of the peer each.
 */
export function coalescingWriter(sink: (data: string) => void): (frame: string) => void {
  let queued: string[] = [];
  const flush = (): void => {
    const batch = queued;
    queued = [];
    batch.push('');
    sink(batch.join('\n'));
  };
  return (frame: string): void => {
    if (queued.length === 0) setImmediate(flush);
    queued.push(frame);
  };
}

export interface RequestContext {
  id: RequestId;
  method: string;
  /** Aborted when the peer sends `$/cancelRequest` for this request or the connection closes. */
  signal: AbortSignal;
  progress(p: Omit<ProgressParams, 'id'>): void;
}

export interface RpcHandler {
  onRequest(method: string, params: unknown, ctx: RequestContext): Promise<unknown>;
  /** Called in arrival order; must return quickly. */
  onNotification(method: string, params: unknown): void;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: ProgressParams) => void;
}

export interface ConnectionOptions {
  maxFrameBytes?: number;
  /** Incoming requests served at once; more are answered OVERLOADED. */
  maxInFlight?: number;
  defaultTimeoutMs?: number;
  onWarning?: (message: string) => void;
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onProgress?: (p: ProgressParams) => void;
}

/** The one mapping from a thrown value to the JSON-RPC error object sent to the peer. */
export function errorFor(err: unknown): { code: number; message: string; data?: unknown } {
  if (err instanceof RpcError) {
    return err.data === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, data: err.data };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    code: ErrorCode.HANDLER_FAILED,
    message: `${e.name}: ${e.message}`,
    data: { exception: e.name, traceback: (e.stack ?? '').slice(-STACK_CHARS) },
  };
}

class Slots {
  private used = 0;
  private waiters: (() => void)[] = [];
  constructor(public total: number) {}
  acquire(): Promise<void> {
    if (this.used < this.total) {
      this.used += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.used -= 1;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is RequestId => typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));

export class RpcConnection {
  peerLimits: Limits = { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, maxInFlight: DEFAULT_MAX_IN_FLIGHT };
  private nextId = 0;
  private readonly pending = new Map<RequestId, Pending>();
  private readonly incoming = new Map<RequestId, AbortController>();
  private readonly slots = new Slots(DEFAULT_MAX_IN_FLIGHT);
  private closedError: Error | null = null;
  readonly maxFrameBytes: number;
  readonly maxInFlight: number;
  readonly defaultTimeoutMs: number;
  private readonly warn: (message: string) => void;

  constructor(
    private readonly write: (frame: string) => void,
    private readonly handler: RpcHandler,
    options: ConnectionOptions = {},
  ) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    this.warn = options.onWarning ?? (() => undefined);
  }

  /** What this side accepts (sent to the peer in `initialize`). */
  get limits(): Limits {
    return { maxFrameBytes: this.maxFrameBytes, maxInFlight: this.maxInFlight };
  }

  setPeerLimits(limits: Limits): void {
    this.peerLimits = limits;
    this.slots.total = limits.maxInFlight;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  get inFlight(): number {
    return this.incoming.size;
  }

  // --- sending --------------------------------------------------------------------------------------------

  private send(message: Record<string, unknown>, what: string): void {
    const frame = JSON.stringify(message);
    if (Buffer.byteLength(frame) > this.peerLimits.maxFrameBytes) {
      throw new RpcError(
        ErrorCode.FRAME_TOO_LARGE,
        `${what} of ${Buffer.byteLength(frame)} bytes exceeds the peer's maxFrameBytes (${this.peerLimits.maxFrameBytes})`,
      );
    }
    this.write(frame);
  }

  notify(method: string, params?: unknown): void {
    if (this.closedError) throw new RpcError(ErrorCode.UNAVAILABLE, `cannot send ${method}: ${this.closedError.message}`);
    this.send(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }, `${method} notification`);
  }

  /**
   * Send a request; resolves with its result or rejects with an RpcError. The timeout covers waiting for an
   * in-flight slot too; on timeout or abort the peer is sent `$/cancelRequest`.
   */
  request<T = unknown>(method: string, params: unknown, options: RequestOptions = {}): Promise<T> {
    if (this.closedError) {
      return Promise.reject(new RpcError(ErrorCode.UNAVAILABLE, `cannot send ${method}: ${this.closedError.message}`));
    }
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const id = ++this.nextId;
    const frame = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    const size = Buffer.byteLength(frame);
    if (size > this.peerLimits.maxFrameBytes) {
      return Promise.reject(
        new RpcError(
          ErrorCode.FRAME_TOO_LARGE,
          `${method} request of ${size} bytes exceeds the peer's maxFrameBytes (${this.peerLimits.maxFrameBytes})`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let sent = false;
      let holding = false;
      const onAbort = (): void => {
        if (sent) this.cancelRemote(id);
        finish(new RpcError(ErrorCode.REQUEST_CANCELLED, `${method} was cancelled`));
      };
      const finish = (error: Error | null, value?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        if (holding) this.slots.release();
        if (error) reject(error);
        else resolve(value as T);
      };
      const timer = setTimeout(() => {
        if (sent) this.cancelRemote(id);
        finish(new RpcError(ErrorCode.REQUEST_TIMEOUT, `${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      void this.slots.acquire().then(() => {
        if (settled) {
          this.slots.release();
          return;
        }
        holding = true;
        if (this.closedError) {
          finish(new RpcError(ErrorCode.UNAVAILABLE, `cannot send ${method}: ${this.closedError.message}`));
          return;
        }
        this.pending.set(id, {
          method,
          resolve: (v) => finish(null, v),
          reject: (e) => finish(e),
          onProgress: options.onProgress,
        });
        sent = true;
        try {
          this.write(frame);
        } catch (err) {
          finish(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
  }

  private cancelRemote(id: RequestId): void {
    if (this.closedError || !this.pending.has(id)) return;
    try {
      this.notify('$/cancelRequest', { id });
    } catch {
      // best effort: the connection is going away
    }
  }

  private reply(id: RequestId | null, result: unknown, error?: { code: number; message: string; data?: unknown }): void {
    if (this.closedError) return;
    let frame: string | undefined;
    if (!error) {
      try {
        frame = JSON.stringify({ jsonrpc: '2.0', id, result: result === undefined ? null : result });
      } catch (err) {
        error = { code: ErrorCode.INTERNAL_ERROR, message: `the result is not JSON-serializable: ${String(err)}` };
      }
      if (frame !== undefined && Buffer.byteLength(frame) > this.peerLimits.maxFrameBytes) {
        error = {
          code: ErrorCode.FRAME_TOO_LARGE,
          message: `the result of ${Buffer.byteLength(frame)} bytes exceeds the peer's maxFrameBytes (${this.peerLimits.maxFrameBytes})`,
        };
      }
    }
    if (error) frame = JSON.stringify({ jsonrpc: '2.0', id, error });
    try {
      this.write(frame as string);
    } catch (err) {
      this.warn(`could not send the answer to ${String(id)}: ${String(err)}`);
    }
  }

  // --- receiving ------------------------------------------------------------------------------------------

  receive(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.warn(`unparseable frame (${line.length} chars)`);
      this.reply(null, undefined, { code: ErrorCode.PARSE_ERROR, message: 'parse error' });
      return;
    }
    if (!isObject(msg)) {
      this.reply(null, undefined, { code: ErrorCode.INVALID_REQUEST, message: 'invalid request: not an object' });
      return;
    }
    const isResponse = !('method' in msg) && ('result' in msg || 'error' in msg);
    const problem = validateFrame(msg);
    if (problem) {
      if (isResponse) {
        this.warn(`malformed response ignored: ${problem}`);
        return;
      }
      this.reply(isId(msg.id) ? msg.id : null, undefined, { code: ErrorCode.INVALID_REQUEST, message: `invalid request: ${problem}` });
      return;
    }
    if (typeof msg.method === 'string') {
      if ('id' in msg) this.onRequest(msg.id as RequestId, msg.method, msg.params);
      else this.onNotification(msg.method, msg.params);
      return;
    }
    const pending = this.pending.get(msg.id as RequestId);
    if (!pending) return; // an answer to a request that timed out or was cancelled
    if ('error' in msg) {
      const e = msg.error as { code: number; message: string; data?: unknown };
      pending.reject(new RpcError(e.code, e.message, e.data));
    } else {
      pending.resolve(msg.result);
    }
  }

  receiveOversize(size: number, head: string): void {
    const { id, keys } = sniffHead(head);
    this.warn(`dropped a frame of ${size} bytes (maxFrameBytes ${this.maxFrameBytes})`);
    if (!keys.has('method') && (keys.has('result') || keys.has('error'))) {
      if (id !== null) {
        this.pending
          .get(id)
          ?.reject(new RpcError(ErrorCode.FRAME_TOO_LARGE, `the answer of ${size} bytes exceeds this side's maxFrameBytes (${this.maxFrameBytes})`));
      }
      return;
    }
    if (keys.has('method') && id === null) return; // a notification: nobody to answer
    this.reply(id, undefined, {
      code: ErrorCode.FRAME_TOO_LARGE,
      message: `frame of ${size} bytes exceeds maxFrameBytes (${this.maxFrameBytes})`,
      data: { maxFrameBytes: this.maxFrameBytes, size },
    });
  }

  private onRequest(id: RequestId, method: string, params: unknown): void {
    if (this.incoming.size >= this.maxInFlight) {
      this.reply(id, undefined, {
        code: ErrorCode.OVERLOADED,
        message: `too many requests in flight (maxInFlight ${this.maxInFlight}); retry later`,
      });
      return;
    }
    if (this.incoming.has(id)) {
      this.reply(id, undefined, { code: ErrorCode.INVALID_REQUEST, message: `duplicate request id ${String(id)}` });
      return;
    }
    const controller = new AbortController();
    this.incoming.set(id, controller);
    const ctx: RequestContext = {
      id,
      method,
      signal: controller.signal,
      progress: (p) => {
        try {
          this.notify('$/progress', { id, ...p });
        } catch {
          // progress is advisory
        }
      },
    };
    Promise.resolve()
      .then(() => this.handler.onRequest(method, params, ctx))
      .then(
        (result) => {
          if (controller.signal.aborted) this.reply(id, undefined, { code: ErrorCode.REQUEST_CANCELLED, message: 'request cancelled' });
          else this.reply(id, result);
        },
        (err: unknown) => this.reply(id, undefined, errorFor(err)),
      )
      .finally(() => this.incoming.delete(id));
  }

  private onNotification(method: string, params: unknown): void {
    const p = isObject(params) ? params : {};
    if (method === '$/cancelRequest') {
      if (isId(p.id)) this.incoming.get(p.id)?.abort();
      return;
    }
    if (method === '$/progress') {
      if (!isId(p.id)) return;
      const pending = this.pending.get(p.id);
      try {
        pending?.onProgress?.(p as unknown as ProgressParams);
      } catch (err) {
        this.warn(`progress callback failed: ${String(err)}`);
      }
      return;
    }
    try {
      this.handler.onNotification(method, params);
    } catch (err) {
      this.warn(`notification ${method} failed: ${String(err)}`);
    }
  }

  /** Fail every pending request with `error` and abort every handler; later sends are refused. */
  close(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const pending of [...this.pending.values()]) pending.reject(error);
    this.pending.clear();
    for (const controller of this.incoming.values()) controller.abort();
  }
}

function validateFrame(msg: Record<string, unknown>): string | null {
  if (msg.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
  if ('method' in msg) {
    if (typeof msg.method !== 'string') return 'method must be a string';
    if ('id' in msg && !isId(msg.id)) return 'id must be a string or an integer';
    if (msg.params !== undefined && !(typeof msg.params === 'object' && msg.params !== null)) return 'params must be an object or an array';
    return null;
  }
  if (!('result' in msg) && !('error' in msg)) return 'neither a request nor a response';
  if (!isId(msg.id) && !(msg.id === null && 'error' in msg)) return 'response id must be a string or an integer';
  if ('error' in msg) {
    const e = msg.error;
    if (!isObject(e) || typeof e.code !== 'number' || typeof e.message !== 'string') return 'error must be {code, message}';
  }
  return null;
}

/** The top-level `id` and keys visible in the first characters of a truncated JSON object. */
export function sniffHead(head: string): { id: RequestId | null; keys: Set<string> } {
  const keys = new Set<string>();
  let id: RequestId | null = null;
  let depth = 0;
  let expectKey = false;
  let i = 0;
  const stringEnd = (from: number): number => {
    for (let j = from + 1; j < head.length; j++) {
      if (head[j] === '\\') j++;
      else if (head[j] === '"') return j;
    }
    return -1;
  };
  while (i < head.length) {
    const ch = head[i];
    if (ch === '"') {
      const end = stringEnd(i);
      if (end < 0) break;
      if (depth === 1 && expectKey) {
        const key = head.slice(i + 1, end);
        keys.add(key);
        let j = end + 1;
        while (j < head.length && ' \t\r\n:'.includes(head[j] as string)) j++;
        if (key === 'id') {
          const m = /^(-?\d+)[,}\s]|^("(?:[^"\\]|\\.)*")/.exec(head.slice(j));
          if (m?.[1] !== undefined) id = Number(m[1]);
          else if (m?.[2] !== undefined) id = JSON.parse(m[2]) as string;
        }
        expectKey = false;
        i = j;
        continue;
      }
      i = end + 1;
      continue;
    }
    if (ch === '{' || ch === '[') {
      depth += 1;
      expectKey = ch === '{' && depth === 1;
    } else if (ch === '}' || ch === ']') {
      depth -= 1;
    } else if (ch === ',' && depth === 1) {
      expectKey = true;
    }
    i += 1;
  }
  return { id, keys };
}
