import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { Json } from "./api";
import type { Outcome } from "./hooks";

let moved = false;

/** The administrator moved to another page (or signed in): its heading takes the focus. */
export function markNavigation(): void {
  moved = true;
}

/** The page's heading: focused when the administrator moves to the page, so keyboard and
 * screen-reader users land on it (on a fresh load the focus stays at the document's start). */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (moved) ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function Failure({ error }: { error: Error | null }) {
  if (!error) return null;
  return (
    <p class="message error" role="alert">
      {error.message}
    </p>
  );
}

/** Where an action says how it went: a live region, announced when it changes. */
export function Report({ outcome }: { outcome: Outcome }) {
  return (
    <p class={`message ${outcome?.kind ?? "idle"}`} role={outcome?.kind === "error" ? "alert" : "status"}>
      {outcome?.text ?? ""}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? <p class="loading" aria-live="polite">Loading…</p> : null;
}

export function JsonBlock({ value, label }: { value: Json | undefined; label: string }) {
  return (
    <pre class="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value ?? null, null, 2)}
    </pre>
  );
}

export function Badge({ value }: { value: string }) {
  const tone = /^(ok|ready|active|success|resolve|enabled|granted)$/i.test(value)
    ? "good"
    : /^(error|failed|fault|reject|quarantined|warn|warning|closed)$/i.test(value)
      ? "bad"
      : "neutral";
  return <span class={`badge ${tone}`}>{value}</span>;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
