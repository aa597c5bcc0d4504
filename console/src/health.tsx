import { call, data } from "./api";
import type { Json } from "./api";
import { stateOf } from "./extensions";
import { useLoad } from "./hooks";
import type { Extension } from "./types";
import { Badge, Failure, JsonBlock, Loading, PageTitle } from "./ui";

type Health = { status?: string } & Record<string, Json | undefined>;

export function HealthPage() {
  const health = useLoad(() => call<Health>("GET", "/server/health"), []);
  const extensions = useLoad(() => data<Extension[]>("GET", "/extensions"), []);
  const counts = new Map<string, number>();
  for (const extension of extensions.value ?? []) {
    const state = stateOf(extension);
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  const others = Object.fromEntries(Object.entries(health.value ?? {}).filter(([key]) => key !== "status")) as Json;
  return (
    <>
      <PageTitle>Health</PageTitle>
      <div class="section-head">
        <p class="help">What the host says about itself.</p>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            health.reload();
            extensions.reload();
          }}
        >
          Refresh
        </button>
      </div>
      <Loading when={health.loading && !health.value} />
      <Failure error={health.error} />
      <dl class="facts">
        <dt>Host</dt>
        <dd>{health.value ? <Badge value={String(health.value.status ?? "unknown")} /> : health.error ? <Badge value="error" /> : "…"}</dd>
        <dt>Extensions</dt>
        <dd>
          {extensions.value
            ? [...counts.entries()].map(([state, count]) => `${count} ${state}`).join(", ") || "none installed"
            : "…"}
        </dd>
      </dl>
      <Failure error={extensions.error} />
      {health.value && Object.keys(others as object).length > 0 && <JsonBlock label="Health details" value={others} />}
    </>
  );
}
