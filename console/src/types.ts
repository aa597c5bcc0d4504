import type { Json } from "./api";

export type RequestScope = { urls: string[]; methods?: string[] };
export type Scopes = { log?: Record<string, never>; sleep?: Record<string, never>; request?: RequestScope } & Record<string, Json | undefined>;

export type RecentError = string | { message?: string; at?: string; level?: string; stack?: string | null };

export type Metrics = { calls?: number; errors?: number; faults?: number; p50_ms?: number | null; p99_ms?: number | null };

export type Extension = {
  name: string;
  type: string | null;
  version: string | null;
  runtime: string | null;
  status: string;
  enabled?: boolean;
  requested_scopes: Scopes;
  granted_scopes?: Scopes | null;
  /** What the installed version requests beyond its grant: waits for the administrator's consent. */
  pending_scopes?: Scopes | null;
  error?: string | null;
  reload_error?: string | null;
  recent_errors?: RecentError[];
  faults_in_a_row?: number;
  next_probe_at?: string | null;
  source?: string | null;
  metrics?: Metrics;
};

export type LogLine = { level?: string; message?: string; at?: string; stack?: string | null; process?: string | null };

export type Flow = {
  id: string;
  name: string;
  status: string;
  trigger: string | null;
  accountability: string | null;
  description?: string | null;
  options?: Record<string, Json> | null;
};

export type Step = {
  operation: string;
  key: string;
  type: string;
  status: string;
  duration_ms: number;
  options?: Json;
  data?: Json;
};

export type Run = {
  id: string;
  status: string;
  trigger: string;
  user: string | null;
  started_at: string | null;
  duration_ms: number;
  accountability: string;
  steps: Step[];
  data: Json;
  error: string | null;
  job: { key: string; attempt: number } | null;
};
