// The host's HTTP API, called with the admin token as a Bearer header (never in a URL).

const TOKEN_KEY = "exthost.console.token";

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An error answer of the host (Directus's shape: `{"errors": [{"message", "extensions": {"code"}}]}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
let onUnauthorized: Listener = () => {};

/** Called when the host refuses the token (401): the console signs out. */
export function whenUnauthorized(listener: Listener): void {
  onUnauthorized = listener;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

async function errorOf(response: Response): Promise<ApiError> {
  let code = `HTTP_${response.status}`;
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = await response.json();
    const first = body?.errors?.[0];
    if (first?.message) message = String(first.message);
    if (first?.extensions?.code) code = String(first.extensions.code);
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message);
}

export async function call<T = Json>(
  method: string,
  path: string,
  body?: Json,
  token: string | null = storedToken(),
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && token !== null && token === storedToken()) onUnauthorized();
    throw error;
  }
  if (response.status === 204) return null as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** `{"data": ...}` of a host answer. */
export async function data<T>(method: string, path: string, body?: Json): Promise<T> {
  const answer = await call<{ data: T }>(method, path, body);
  return answer?.data as T;
}

/** A call answered in NDJSON (`Accept: application/x-ndjson`): `onLine` gets each progress
 * line as it arrives; the last line holds `{"data"}` (returned) or `{"errors"}` (thrown). */
export async function stream<T>(method: string, path: string, body: Json, onLine: (line: Record<string, string>) => void): Promise<T> {
  const token = storedToken();
  const headers: Record<string, string> = { Accept: "application/x-ndjson", "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, body: JSON.stringify(body), credentials: "omit", cache: "no-store" });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) onUnauthorized();
    throw error;
  }
  if (!(response.headers.get("content-type") ?? "").includes("ndjson") || !response.body) {
    return ((await response.json()) as { data: T }).data;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let last: { data?: T; errors?: { message?: string; extensions?: { code?: string } }[] } | null = null;
  const take = (text: string) => {
    if (!text.trim()) return;
    const line = JSON.parse(text);
    if ("data" in line || "errors" in line) last = line;
    else onLine(line);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n")) >= 0) {
      take(buffer.slice(0, end));
      buffer = buffer.slice(end + 1);
    }
  }
  take(buffer);
  const outcome = last as { data?: T; errors?: { message?: string; extensions?: { code?: string } }[] } | null;
  if (outcome?.errors) {
    const first = outcome.errors[0] ?? {};
    throw new ApiError(400, first.extensions?.code ?? "INVALID_PAYLOAD", first.message ?? "The call failed.");
  }
  if (!outcome || outcome.data === undefined) throw new ApiError(502, "INCOMPLETE", "The host's answer ended before its outcome.");
  return outcome.data;
}

export const enc = encodeURIComponent;
