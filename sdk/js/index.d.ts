// TypeScript declarations for exthost sandboxed extensions (`@exthost/sdk`): the `directus:api`
// module (directus-api.d.ts, Directus's `Sandbox*` names) re-exported, with the `define*` helpers.

/// <reference path="./directus-api.d.ts" />

export type {
  Json,
  Accountability,
  SandboxHookMeta,
  SandboxHookHandlerFn,
  SandboxHookRegisterFn,
  SandboxHookRegisterContext,
  SandboxEndpointRequest,
  SandboxEndpointResponse,
  SandboxEndpointRouteHandlerFn,
  SandboxEndpointRegisterFn,
  SandboxEndpointRouter,
  SandboxOperationContext,
  SandboxOperationHandlerFn,
  SandboxOperationConfig,
  SandboxRequestOptions,
  SandboxRequestResponse,
} from 'directus:api';

export type {
  SandboxHookRegisterFunction,
  SandboxEndpointRegisterFunction,
  SandboxEndpointConfig,
} from '@directus/extensions-sdk';

export { defineHook, defineEndpoint, defineOperationApi } from '@directus/extensions-sdk';

import type { SandboxHookHandlerFn, SandboxEndpointRouteHandlerFn } from 'directus:api';
/** Earlier exthost names, kept: a filter's and an action's handler, a route's handler. */
export type SandboxFilterHandler = SandboxHookHandlerFn;
export type SandboxActionHandler = SandboxHookHandlerFn;
export type SandboxEndpointRouteHandler = SandboxEndpointRouteHandlerFn;
