/** Turning ElizaOS runtime objects into JSON the sidekick can read, safely and within size bounds. */

import type { Memory, State } from '@elizaos/core';

import type { JsonObject } from './protocol.js';

/**
 * A JSON-safe deep copy: functions and symbols dropped, bigints as strings, Errors as messages, Dates as
 * ISO strings, binary data dropped, cycles cut. State objects built by plugins can hold any of these.
 */
export function toJson(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || value === undefined) return value ?? null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value.toString();
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  const obj = value as object;
  if (obj instanceof Date) return obj.toISOString();
  if (obj instanceof Error) return obj.message;
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return undefined;
  if (seen.has(obj)) return undefined;
  seen.add(obj);
  try {
    if (Array.isArray(obj)) return obj.map((v) => toJson(v, seen) ?? null);
    if (obj instanceof Map) return toJson(Object.fromEntries(obj), seen);
    if (obj instanceof Set) return toJson([...obj], seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const j = toJson(v, seen);
      if (j !== undefined) out[k] = j;
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}

export function wireMemory(memory: Memory): JsonObject {
  const { embedding: _embedding, ...rest } = memory;
  return toJson(rest) as JsonObject;
}

/**
 * The state for the sidekick: `values` and `text` always; `data` (provider results, action plans) only when
 * the whole state stays under `maxBytes`, so one big provider result cannot make every call fail.
 */
export function wireState(state: State | undefined, maxBytes: number): JsonObject {
  if (!state) return { values: {}, data: {}, text: '' };
  const values = (toJson(state.values ?? {}) ?? {}) as JsonObject;
  const text = typeof state.text === 'string' ? state.text : '';
  const data = (toJson(state.data ?? {}) ?? {}) as JsonObject;
  const full = { values, data, text };
  if (Buffer.byteLength(JSON.stringify(full)) <= maxBytes) return full;
  return { values, data: { omitted: 'state.data exceeded the size budget for the sidekick' }, text };
}
