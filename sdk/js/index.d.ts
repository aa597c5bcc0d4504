// TypeScript declarations for exthost sandboxed extensions: the `directus:api`
// module and the shapes of hooks, endpoints and operations (Directus's names).

/// <reference path="./directus-api.d.ts" />

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Accountability {
  user: string | null;
  role: string | null;
  admin: boolean;
}

// -- hooks -------------------------------------------------------------------

export interface SandboxHookMeta {
  event: string;
  collection?: string;
  payload?: Json;
  key?: string | number;
  keys?: (string | number)[];
  accountability?: Accountability | null;
  [key: string]: unknown;
}

export type SandboxFilterHandler = (payload: any, meta: SandboxHookMeta) => unknown | Promise<unknown>;
export type SandboxActionHandler = (meta: SandboxHookMeta) => void | Promise<void>;

export interface SandboxHookRegisterContext {
  filter(event: string, handler: SandboxFilterHandler): void;
  action(event: string, handler: SandboxActionHandler): void;
}

export type SandboxHookRegisterFunction = (context: SandboxHookRegisterContext) => void;

// -- endpoints ---------------------------------------------------------------

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
  body?: Json;
  headers?: Record<string, string>;
}

export type SandboxEndpointRouteHandler = (
  request: SandboxEndpointRequest,
) => SandboxEndpointResponse | Promise<SandboxEndpointResponse>;

export interface SandboxEndpointRouter {
  get(path: string, handler: SandboxEndpointRouteHandler): SandboxEndpointRouter;
  post(path: string, handler: SandboxEndpointRouteHandler): SandboxEndpointRouter;
  put(path: string, handler: SandboxEndpointRouteHandler): SandboxEndpointRouter;
  patch(path: string, handler: SandboxEndpointRouteHandler): SandboxEndpointRouter;
  delete(path: string, handler: SandboxEndpointRouteHandler): SandboxEndpointRouter;
}

export type SandboxEndpointRegisterFunction = (router: SandboxEndpointRouter) => void;

export interface SandboxEndpointConfig {
  id: string;
  handler: SandboxEndpointRegisterFunction;
}

// -- operations --------------------------------------------------------------

export interface SandboxOperationContext {
  data: Record<string, Json>;
  accountability: Accountability | null;
}

export interface SandboxOperationConfig<Options = Record<string, any>> {
  id: string;
  handler: (options: Options, context: SandboxOperationContext) => unknown | Promise<unknown>;
}

export function defineHook(register: SandboxHookRegisterFunction): SandboxHookRegisterFunction;
export function defineEndpoint<T extends SandboxEndpointRegisterFunction | SandboxEndpointConfig>(endpoint: T): T;
export function defineOperationApi<Options = Record<string, any>>(
  config: SandboxOperationConfig<Options>,
): SandboxOperationConfig<Options>;
