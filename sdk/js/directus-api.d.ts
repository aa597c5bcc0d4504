// The ambient `directus:api` module: what a sandboxed extension may import. The `Sandbox*`
// names, and what each accepts, are Directus's own (its `api.d.ts` for `directus:api`);
// where exthost gives more (the request's params and query, the operation's context), the
// types say so, and code written against Directus's declarations type-checks here too.

declare module 'directus:api' {
  export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

  export interface Accountability {
    user: string | null;
    role: string | null;
    admin: boolean;
  }

  // -- endpoints -----------------------------------------------------------------------

  export interface SandboxEndpointRequest {
    url: string;
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    path: string;
    params: Record<string, string>;
    query: Record<string, string | string[]>;
    headers: Record<string, string>;
    body: any;
    accountability: Accountability | null;
  }

  export interface SandboxEndpointResponse {
    status: number;
    body?: Json | Record<string, unknown> | unknown[];
    headers?: Record<string, string>;
  }

  export type SandboxEndpointRouteHandlerFn = (
    request: SandboxEndpointRequest,
  ) => Promise<SandboxEndpointResponse> | SandboxEndpointResponse;

  export type SandboxEndpointRegisterFn = (path: string, handler: SandboxEndpointRouteHandlerFn) => void;

  export interface SandboxEndpointRouter {
    get: SandboxEndpointRegisterFn;
    patch: SandboxEndpointRegisterFn;
    put: SandboxEndpointRegisterFn;
    post: SandboxEndpointRegisterFn;
    delete: SandboxEndpointRegisterFn;
  }

  // -- hooks ---------------------------------------------------------------------------

  export interface SandboxHookMeta {
    event: string;
    collection?: string;
    payload?: Json;
    key?: string | number;
    keys?: (string | number)[];
    accountability?: Accountability | null;
    [key: string]: unknown;
  }

  /** A filter gets `(payload, meta)` and returns the new payload; an action gets `(meta)`. */
  export type SandboxHookHandlerFn = (payload: any, meta: SandboxHookMeta) => any;

  export type SandboxHookRegisterFn = (event: string, handler: SandboxHookHandlerFn) => void;

  export interface SandboxHookRegisterContext {
    action: SandboxHookRegisterFn;
    filter: SandboxHookRegisterFn;
  }

  // -- operations ----------------------------------------------------------------------

  export interface SandboxOperationContext {
    data: Record<string, Json>;
    accountability: Accountability | null;
  }

  export type SandboxOperationHandlerFn<Options = Record<string, any>> = (
    options: Options,
    context: SandboxOperationContext,
  ) => any;

  export interface SandboxOperationConfig<Options = Record<string, any>> {
    id: string;
    handler: SandboxOperationHandlerFn<Options>;
  }

  // -- API functions -------------------------------------------------------------------

  export interface SandboxRequestOptions {
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
    headers?: Record<string, string>;
    /** A string is sent as is; anything else as JSON. */
    body?: Record<string, any> | unknown[] | string | number | boolean | null;
  }

  export interface SandboxRequestResponse<T = any> {
    status: number;
    statusText: string;
    headers: Record<string, string>;
    /** Parsed JSON when the response is JSON, else the text. */
    data: T;
  }

  export type SandboxRequestFn = <T = any>(url: string, options?: SandboxRequestOptions) => Promise<SandboxRequestResponse<T>>;
  export type SandboxSleepFn = (milliseconds: number) => Promise<void>;
  export type SandboxLogFn = (...messages: unknown[]) => void;

  /** Outbound HTTP within `"request": {"urls": [...], "methods": [...]}`. Rejects when refused. */
  export const request: SandboxRequestFn;
  /** Resolves after `milliseconds`. Scope: `"sleep": {}`. Does not count as guest time. */
  export const sleep: SandboxSleepFn;
  /** Writes to the host log, tagged with the extension's name. Scope: `"log": {}`. */
  export const log: SandboxLogFn;
}

// The `define*` helpers of Directus's extension SDK: `exthost build` replaces this import with
// functions that return their argument (sdk/js/bundle-extension.mjs).
declare module '@directus/extensions-sdk' {
  import type {
    SandboxEndpointRouter,
    SandboxHookRegisterContext,
    SandboxOperationConfig,
  } from 'directus:api';

  export type SandboxHookRegisterFunction = (context: SandboxHookRegisterContext) => void;
  export type SandboxEndpointRegisterFunction = (router: SandboxEndpointRouter) => void;
  export interface SandboxEndpointConfig {
    id: string;
    handler: SandboxEndpointRegisterFunction;
  }

  export function defineHook(register: SandboxHookRegisterFunction): SandboxHookRegisterFunction;
  export function defineEndpoint<T extends SandboxEndpointRegisterFunction | SandboxEndpointConfig>(endpoint: T): T;
  export function defineOperationApi<Options = Record<string, any>>(
    config: SandboxOperationConfig<Options>,
  ): SandboxOperationConfig<Options>;
}
