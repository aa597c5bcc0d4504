import { useState } from "preact/hooks";
import { call, data, enc } from "./api";
import type { Json } from "./api";
import { useAction, useLoad } from "./hooks";
import type { Flow, Run } from "./types";
import { Badge, Failure, JsonBlock, Loading, PageTitle, Report, when } from "./ui";

export function FlowsPage() {
  const flows = useLoad(() => data<Flow[]>("GET", "/flows?limit=-1&sort=name"), []);
  return (
    <>
      <PageTitle>Flows</PageTitle>
      <div class="section-head">
        <p class="help">Every flow of this host. Open one to run it by hand or to read its runs.</p>
        <button type="button" class="secondary" onClick={flows.reload}>
          Refresh
        </button>
      </div>
      <Loading when={flows.loading && !flows.value} />
      <Failure error={flows.error} />
      {flows.value && flows.value.length === 0 && <p>No flow yet.</p>}
      {flows.value && flows.value.length > 0 && (
        <table class="cards">
          <caption class="visually-hidden">Flows</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Trigger</th>
              <th scope="col">Run log</th>
            </tr>
          </thead>
          <tbody>
            {flows.value.map((flow) => (
              <tr key={flow.id} data-flow={flow.id}>
                <th scope="row" data-label="Name">
                  <a href={`#/flows/${enc(flow.id)}`}>{flow.name}</a>
                </th>
                <td data-label="Status">
                  <Badge value={flow.status} />
                </td>
                <td data-label="Trigger">{flow.trigger ?? "none"}</td>
                <td data-label="Run log">{flow.accountability ?? "off"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function FlowPage({ id }: { id: string }) {
  const flow = useLoad(() => data<Flow>("GET", `/flows/${enc(id)}`), [id]);
  const runs = useLoad(() => data<Run[]>("GET", `/flows/${enc(id)}/runs?limit=20`), [id]);
  return (
    <>
      <p class="crumbs">
        <a href="#/flows">Flows</a>
      </p>
      <PageTitle>{flow.value?.name ?? "Flow"}</PageTitle>
      <Loading when={flow.loading && !flow.value} />
      <Failure error={flow.error} />
      {flow.value && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Badge value={flow.value.status} />
            </dd>
            <dt>Trigger</dt>
            <dd>{flow.value.trigger ?? "none"}</dd>
            <dt>Run log</dt>
            <dd>{flow.value.accountability ?? "off"}</dd>
            {flow.value.description && (
              <>
                <dt>Description</dt>
                <dd>{flow.value.description}</dd>
              </>
            )}
          </dl>
          {flow.value.trigger === "manual" && <Trigger flow={flow.value} onRan={runs.reload} />}
        </>
      )}
      <section aria-labelledby="runs-heading">
        <div class="section-head">
          <h2 id="runs-heading">Runs</h2>
          <button type="button" class="secondary" onClick={runs.reload}>
            Refresh runs
          </button>
        </div>
        <Loading when={runs.loading && !runs.value} />
        <Failure error={runs.error} />
        {runs.value && runs.value.length === 0 && <p>No run recorded.</p>}
        {runs.value && runs.value.length > 0 && (
          <ol class="runs">
            {runs.value.map((run) => (
              <RunView key={run.id} run={run} />
            ))}
          </ol>
        )}
      </section>
    </>
  );
}

function RunView({ run }: { run: Run }) {
  return (
    <li data-run={run.id}>
      <details>
        <summary>
          <Badge value={run.status} /> {when(run.started_at)} · {run.trigger} · {run.steps.length}{" "}
          {run.steps.length === 1 ? "step" : "steps"} · {run.duration_ms} ms
        </summary>
        {run.error && (
          <p class="message error">
            <strong>Error:</strong> {run.error}
          </p>
        )}
        {run.job && (
          <p class="help">
            Queued job {run.job.key}, attempt {run.job.attempt}
          </p>
        )}
        <ol class="steps" aria-label="Steps">
          {run.steps.map((step, index) => (
            <li key={index}>
              <h3>
                {step.key} <span class="muted">({step.type})</span> <Badge value={step.status} />{" "}
                <span class="muted">{step.duration_ms} ms</span>
              </h3>
              {"options" in step && <JsonBlock label={`Options of ${step.key}`} value={step.options} />}
              {"data" in step && <JsonBlock label={`Data of ${step.key}`} value={step.data} />}
            </li>
          ))}
        </ol>
        {run.data !== null && run.data !== undefined && (
          <>
            <h3>Final data</h3>
            <JsonBlock label="Final data of the run" value={run.data} />
          </>
        )}
      </details>
    </li>
  );
}

function Trigger({ flow, onRan }: { flow: Flow; onRan: () => void }) {
  const options = (flow.options ?? {}) as { collections?: string[]; requireSelection?: boolean };
  const collections = options.collections ?? [];
  const needsKeys = options.requireSelection !== false;
  const [collection, setCollection] = useState(collections[0] ?? "");
  const [keys, setKeys] = useState("");
  const [busy, outcome, run] = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const selected = keys
      .split(",")
      .map((key) => key.trim())
      .filter(Boolean);
    void run(async () => {
      const result = await call<Json>("POST", `/flows/trigger/${enc(flow.id)}`, { collection, keys: selected });
      onRan();
      return result === null ? "The flow started." : `The flow ran: ${JSON.stringify(result)}`;
    });
  };
  return (
    <section aria-labelledby="trigger-heading">
      <h2 id="trigger-heading">Run by hand</h2>
      <form onSubmit={submit} method="post" class="stack">
        <label for="trigger-collection">Collection</label>
        <select id="trigger-collection" value={collection} onChange={(event) => setCollection(event.currentTarget.value)}>
          {collections.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
        <label for="trigger-keys">Item keys{needsKeys ? "" : " (optional)"}</label>
        <input
          id="trigger-keys"
          value={keys}
          onInput={(event) => setKeys(event.currentTarget.value)}
          aria-describedby="trigger-keys-help"
          autocomplete="off"
          required={needsKeys}
        />
        <p id="trigger-keys-help" class="help">
          Comma-separated keys of the items to run the flow on.
        </p>
        <div>
          <button type="submit" disabled={busy}>
            {busy ? "Running…" : "Run flow"}
          </button>
        </div>
      </form>
      <Report outcome={outcome} />
    </section>
  );
}
