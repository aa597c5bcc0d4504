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

export const enc = encodeURIComponent;
