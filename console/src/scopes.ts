import type { Json } from "./api";
import type { Scopes } from "./types";

export const ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/** One thing an administrator can grant: a capability, or one URL glob or method of `request`. */
export type Grantable = { id: string; label: string };

/** Everything `requested` asks for, item by item. */
export function grantables(requested: Scopes): Grantable[] {
  const items: Grantable[] = [];
  for (const [scope, value] of Object.entries(requested)) {
    if (value === undefined || value === null) continue;
    if (scope === "request") {
      const request = value as { urls?: string[]; methods?: string[] };
      for (const url of request.urls ?? []) items.push({ id: `request.url:${url}`, label: `request ${url}` });
      for (const method of request.methods ?? ALL_METHODS) items.push({ id: `request.method:${method}`, label: `request method ${method}` });
    } else {
      items.push({ id: scope, label: scope });
    }
  }
  return items;
}

/** The ids of `grantables(requested)` that `granted` covers. */
export function grantedIds(requested: Scopes, granted: Scopes | null | undefined): Set<string> {
  const ids = new Set<string>();
  if (!granted) return ids;
  for (const item of grantables(requested)) {
    if (item.id.startsWith("request.url:")) {
      if (granted.request?.urls?.includes(item.id.slice("request.url:".length))) ids.add(item.id);
    } else if (item.id.startsWith("request.method:")) {
      const methods = granted.request ? (granted.request.methods ?? ALL_METHODS) : [];
      if (methods.includes(item.id.slice("request.method:".length))) ids.add(item.id);
    } else if (granted[item.id] !== undefined && granted[item.id] !== null) {
      ids.add(item.id);
    }
  }
  return ids;
}

/** The `granted_scopes` object for the chosen ids: `request` only with at least one URL and one method. */
export function grantOf(requested: Scopes, chosen: Set<string>): Record<string, Json> {
  const grant: Record<string, Json> = {};
  const urls: string[] = [];
  const methods: string[] = [];
  for (const item of grantables(requested)) {
    if (!chosen.has(item.id)) continue;
    if (item.id.startsWith("request.url:")) urls.push(item.id.slice("request.url:".length));
    else if (item.id.startsWith("request.method:")) methods.push(item.id.slice("request.method:".length));
    else grant[item.id] = (requested[item.id] ?? {}) as Json;
  }
  if (urls.length && methods.length) grant.request = { urls, methods };
  return grant;
}

/** A one-line summary of a scopes object, for the list. */
export function summary(scopes: Scopes | null | undefined): string {
  if (!scopes) return "";
  const parts: string[] = [];
  for (const [scope, value] of Object.entries(scopes)) {
    if (value === undefined || value === null) continue;
    if (scope === "request") {
      const request = value as { urls?: string[]; methods?: string[] };
      parts.push(`request (${(request.methods ?? ALL_METHODS).join(", ")}) ${(request.urls ?? []).join(" ")}`);
    } else {
      parts.push(scope);
    }
  }
  return parts.join("; ");
}
