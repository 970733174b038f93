/**
 * The reverse channel: requests the Python sidekick makes to the real ElizaOS runtime (`useModel`,
 * memories, settings, TS actions) and the reply callback of the call being served. Every component call
 * opens an *invocation* (message, state, callback, live stream) whose id travels with the request, so the
 * sidekick's callbacks land on the right action's callback.
 */

import { randomUUID } from 'node:crypto';

import type {
  Action,
  ActionResult,
  Content,
  HandlerCallback,
  IAgentRuntime,
  Memory,
  State,
} from '@elizaos/core';

import { ErrorCode, type ActionResultWire, type JsonObject } from './protocol.js';
import { RpcError, type RequestContext, type RpcHandler } from './rpc.js';
import { toJson } from './wire.js';

type StreamSink = (chunk: string, messageId?: string) => void | Promise<void>;

export interface Invocation {
  id: string;
  message: Memory;
  state?: State;
  callback?: HandlerCallback;
  onStreamChunk?: StreamSink;
  streamMessageId?: string;
}

/** Actions a delegate must not call back into (it would recurse). */
export const NOT_CALLABLE = new Set(['PYTHON_DELEGATE']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function params(p: unknown): Record<string, unknown> {
  if (!isObject(p)) throw new RpcError(ErrorCode.INVALID_PARAMS, 'params must be an object');
  return p;
}

function str(p: Record<string, unknown>, key: string): string {
  const v = p[key];
  if (typeof v !== 'string' || !v) throw new RpcError(ErrorCode.INVALID_PARAMS, `${key} must be a non-empty string`);
  return v;
}

function opt<T>(p: Record<string, unknown>, key: string, type: 'string' | 'number' | 'boolean'): T | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== type) throw new RpcError(ErrorCode.INVALID_PARAMS, `${key} must be a ${type}`);
  return v as T;
}

function stripEmbeddings(memories: Memory[], keep: boolean): JsonObject[] {
  return memories.map((m) => {
    const { embedding, ...rest } = m;
    return toJson(keep ? { ...rest, embedding } : rest) as JsonObject;
  });
}

/** An action's return value as the wire's ActionResult (legacy `void`/boolean returns included). */
export function normalizeResult(result: unknown): ActionResultWire | null {
  if (result === undefined || result === null) return null;
  if (typeof result === 'boolean') return { success: result };
  if (!isObject(result)) return { success: true, data: { legacyResult: toJson(result) } };
  const r = result as Partial<ActionResult> & Record<string, unknown>;
  const out = toJson({ ...r, success: r.success ?? true }) as unknown as ActionResultWire;
  if (r.error !== undefined) out.error = r.error instanceof Error ? r.error.message : String(r.error);
  return out;
}

export class ReverseChannel implements RpcHandler {
  private readonly invocations = new Map<string, Invocation>();

  constructor(private readonly runtime: IAgentRuntime) {}

  open(inv: Omit<Invocation, 'id'>): Invocation {
    const full = { ...inv, id: randomUUID() };
    this.invocations.set(full.id, full);
    return full;
  }

  close(inv: Invocation): void {
    this.invocations.delete(inv.id);
  }

  get openInvocations(): number {
    return this.invocations.size;
  }

  private invocation(p: Record<string, unknown>): Invocation {
    const id = str(p, 'invocation');
    const inv = this.invocations.get(id);
    if (!inv) throw new RpcError(ErrorCode.INVALID_PARAMS, `unknown or finished invocation ${id}`);
    return inv;
  }

  async onRequest(method: string, raw: unknown, ctx: RequestContext): Promise<unknown> {
    const rt = this.runtime;
    const p = params(raw);
    switch (method) {
      case 'runtime/useModel': {
        const modelType = str(p, 'modelType');
        const useModel = rt.useModel.bind(rt) as (t: string, params: unknown) => Promise<unknown>;
        return { result: toJson(await useModel(modelType, p.params ?? {})) };
      }
      case 'runtime/getMemories': {
        const memories = await rt.getMemories({
          tableName: opt<string>(p, 'tableName', 'string') ?? 'messages',
          roomId: opt(p, 'roomId', 'string'),
          entityId: opt(p, 'entityId', 'string'),
          worldId: opt(p, 'worldId', 'string'),
          count: opt(p, 'count', 'number'),
          offset: opt(p, 'offset', 'number'),
          unique: opt(p, 'unique', 'boolean'),
          start: opt(p, 'start', 'number'),
          end: opt(p, 'end', 'number'),
        });
        return { memories: stripEmbeddings(memories, p.withEmbeddings === true) };
      }
      case 'runtime/searchMemories': {
        let embedding = Array.isArray(p.embedding) ? (p.embedding as number[]) : undefined;
        const query = opt<string>(p, 'query', 'string');
        if (!embedding) {
          if (!query) throw new RpcError(ErrorCode.INVALID_PARAMS, 'searchMemories needs an embedding or a query');
          const useModel = rt.useModel.bind(rt) as (t: string, params: unknown) => Promise<unknown>;
          embedding = (await useModel('TEXT_EMBEDDING', { text: query })) as number[];
        }
        const memories = await rt.searchMemories({
          tableName: opt<string>(p, 'tableName', 'string') ?? 'messages',
          embedding,
          query,
          match_threshold: opt(p, 'matchThreshold', 'number'),
          count: opt(p, 'count', 'number'),
          unique: opt(p, 'unique', 'boolean'),
          roomId: opt(p, 'roomId', 'string'),
          worldId: opt(p, 'worldId', 'string'),
          entityId: opt(p, 'entityId', 'string'),
        } as Parameters<IAgentRuntime['searchMemories']>[0]);
        return { memories: stripEmbeddings(memories, p.withEmbeddings === true) };
      }
      case 'runtime/createMemory': {
        if (!isObject(p.memory)) throw new RpcError(ErrorCode.INVALID_PARAMS, 'memory must be an object');
        let memory = { agentId: rt.agentId, ...p.memory } as unknown as Memory;
        if (p.embed === true && !memory.embedding) memory = await rt.addEmbeddingToMemory(memory);
        const id = await rt.createMemory(memory, opt<string>(p, 'tableName', 'string') ?? 'messages', opt(p, 'unique', 'boolean'));
        return { id };
      }
      case 'runtime/getSetting':
        return { value: rt.getSetting(str(p, 'key')) ?? null };
      case 'runtime/invokeAction':
        return this.invokeAction(this.invocation(p), str(p, 'name'), isObject(p.parameters) ? p.parameters : {}, ctx);
      case 'callback/send': {
        const inv = this.invocation(p);
        if (!isObject(p.content)) throw new RpcError(ErrorCode.INVALID_PARAMS, 'content must be an object');
        const memories = inv.callback ? await inv.callback(p.content as Content) : [];
        return { memories: stripEmbeddings(Array.isArray(memories) ? memories : [], false) };
      }
      default:
        throw new RpcError(ErrorCode.METHOD_NOT_FOUND, `method not found: ${method}`);
    }
  }

  onNotification(method: string, raw: unknown): void {
    if (method !== 'callback/chunk' || !isObject(raw)) return;
    const inv = typeof raw.invocation === 'string' ? this.invocations.get(raw.invocation) : undefined;
    if (!inv?.onStreamChunk || typeof raw.text !== 'string') return;
    void Promise.resolve(inv.onStreamChunk(raw.text, inv.streamMessageId)).catch(() => undefined);
  }

  /** Run one of the runtime's TS actions for a Python caller (the delegate's tool loop). */
  private async invokeAction(
    inv: Invocation,
    name: string,
    parameters: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<unknown> {
    const action = findAction(this.runtime.actions, name);
    if (!action || NOT_CALLABLE.has(action.name)) {
      throw new RpcError(ErrorCode.INVALID_PARAMS, `no callable TS action named ${name}`);
    }
    const said: JsonObject[] = [];
    const collect: HandlerCallback = async (content) => {
      said.push(toJson(content) as JsonObject);
      return [];
    };
    let result: unknown;
    try {
      result = await action.handler(
        this.runtime,
        inv.message,
        inv.state,
        { parameters, actionContext: { previousResults: [] }, abortSignal: ctx.signal },
        collect,
        [],
      );
    } catch (err) {
      result = { success: false, error: err instanceof Error ? err.message : String(err) };
    }
    return { result: normalizeResult(result), callbacks: said };
  }
}

export function findAction(actions: Action[], name: string): Action | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/_/g, '');
  return actions.find((a) => a.name === name) ?? actions.find((a) => norm(a.name) === norm(name));
}
