/**
 * The sidekick protocol on the wire (JSON-RPC 2.0, one JSON object per line). The Python side is
 * `src/elizapy/sidekick/wire.py`; `docs/sidekick-protocol.md` documents every method. Keep the three in step.
 */

export const PROTOCOL_VERSION = '1.0';
export const SUPPORTED_VERSIONS: readonly string[] = ['1.0'];
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_IN_FLIGHT = 64;

/** JSON-RPC 2.0 codes, then the implementation-defined range -32000..-32099 (same values as Python). */
export const ErrorCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  HANDLER_FAILED: -32000,
  REQUEST_CANCELLED: -32001,
  REQUEST_TIMEOUT: -32002,
  OVERLOADED: -32003,
  FRAME_TOO_LARGE: -32004,
  NOT_INITIALIZED: -32005,
  UNSUPPORTED_VERSION: -32006,
  UNAVAILABLE: -32007,
  SHUTTING_DOWN: -32008,
} as const;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: unknown };
export type RequestId = number | string;

export interface Limits {
  maxFrameBytes: number;
  maxInFlight: number;
}

export interface PeerInfo {
  name: string;
  version: string;
}

export interface AgentInfo {
  id: string;
  name: string;
  character: JsonObject;
}

export interface ActionSpec {
  name: string;
  description: string;
  similes: string[];
  parameters?: JsonObject | null;
  examples: { name: string; content: JsonObject }[][];
  hasValidate: boolean;
}

export interface ProviderSpec {
  name: string;
  description: string;
  dynamic: boolean;
  private: boolean;
  position: number;
}

export interface EvaluatorSpec {
  name: string;
  description: string;
  similes: string[];
  alwaysRun: boolean;
  hasValidate: boolean;
}

export interface ServiceSpec {
  serviceType: string;
  description: string;
}

export interface Manifest {
  actions: ActionSpec[];
  providers: ProviderSpec[];
  evaluators: EvaluatorSpec[];
  services: ServiceSpec[];
  delegate: boolean;
}

export interface InitializeParams {
  protocolVersions: string[];
  host: PeerInfo;
  agent: AgentInfo;
  limits: Limits;
}

export interface InitializeResult {
  protocolVersion: string;
  sidekick: PeerInfo;
  limits: Limits;
  manifest: Manifest;
}

export interface PingResult {
  uptimeS: number;
  inFlight: number;
}

/** What every component call carries. `invocation` names the call for the reverse channel while it runs. */
export interface InvocationParams {
  invocation: string;
  message: JsonObject;
  state: JsonObject;
}

export interface ActionResultWire {
  success: boolean;
  text?: string;
  values?: JsonObject;
  data?: JsonObject;
  error?: string;
}

export interface ActionInvokeParams extends InvocationParams {
  name: string;
  options: { parameters: JsonObject; actionContext: { previousResults: ActionResultWire[] } };
  responses: JsonObject[];
  streaming: boolean;
}

export interface ProviderResultWire {
  text?: string;
  values?: JsonObject;
  data?: JsonObject;
}

export interface ToolSpecWire {
  name: string;
  description: string;
  parameters?: JsonObject | null;
}

export interface DelegateParams extends InvocationParams {
  task: string;
  tools: ToolSpecWire[];
  maxSteps?: number;
  modelType?: string;
}

export interface DelegateResult {
  text: string;
  thought?: string;
  toolCalls: { name: string; arguments: JsonObject; success: boolean; output: string }[];
  success: boolean;
}

export interface ProgressParams {
  id: RequestId;
  message?: string;
  progress?: number;
  total?: number;
}
