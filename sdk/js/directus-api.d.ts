// The ambient `directus:api` module: what a sandboxed extension may import.

declare module 'directus:api' {
  /** Writes to the host log, tagged with the extension's name. Scope: `"log": {}`. */
  export function log(...messages: unknown[]): void;

  /** Resolves after `milliseconds`. Scope: `"sleep": {}`. Does not count as guest time. */
  export function sleep(milliseconds: number): Promise<void>;

  export interface SandboxRequestOptions {
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
    headers?: Record<string, string>;
    /** A string is sent as is; anything else as JSON. */
    body?: unknown;
  }

  export interface SandboxRequestResponse<T = unknown> {
    status: number;
    statusText: string;
    headers: Record<string, string>;
    /** Parsed JSON when the response is JSON, else the text. */
    data: T;
  }

  /** Outbound HTTP within `"request": {"urls": [...], "methods": [...]}`. Rejects when refused. */
  export function request<T = unknown>(url: string, options?: SandboxRequestOptions): Promise<SandboxRequestResponse<T>>;
}
