import { useEffect, useState } from "preact/hooks";
import { data, enc } from "./api";
import { errorText, recentErrors, stateOf } from "./extensions";
import { useAction, useLoad } from "./hooks";
import { grantables, grantedIds, grantOf, summary } from "./scopes";
import type { Extension, LogLine } from "./types";
import { Badge, Failure, Loading, PageTitle, Report, when } from "./ui";

function readExtension(name: string): Promise<Extension> {
  return data<Extension>("GET", `/extensions/${enc(name)}`);
}

export function ExtensionPage({ name }: { name: string }) {
  const loaded = useLoad(() => readExtension(name), [name]);
  const extension = loaded.value;
  return (
    <>
      <p class="crumbs">
        <a href="#/extensions">Extensions</a>
      </p>
      <PageTitle>{name}</PageTitle>
      <Loading when={loaded.loading && !extension} />
      <Failure error={loaded.error} />
      {extension && (
        <>
          <Overview extension={extension} onChange={loaded.reload} />
          <Consent extension={extension} onChange={loaded.reload} />
          <Errors extension={extension} />
          <Logs name={name} />
        </>
      )}
    </>
  );
}

function Overview({ extension, onChange }: { extension: Extension; onChange: () => void }) {
  const [busy, outcome, run] = useAction();
  const state = stateOf(extension);
  const enabled = extension.enabled !== false;
  const toggle = () =>
    run(async () => {
      await data("PATCH", `/extensions/${enc(extension.name)}`, { meta: { enabled: !enabled } });
      onChange();
      return enabled ? `${extension.name} is disabled.` : `${extension.name} is enabled.`;
    });
  const metrics = extension.metrics;
  return (
    <section aria-labelledby="overview-heading">
      <h2 id="overview-heading">Overview</h2>
      <dl class="facts">
        <dt>State</dt>
        <dd>
          <Badge value={state} />
        </dd>
        <dt>Type</dt>
        <dd>{extension.type ?? "—"}</dd>
        <dt>Version</dt>
        <dd>{extension.version ?? "—"}</dd>
        <dt>Runtime</dt>
        <dd>{extension.runtime ?? "—"}</dd>
        {extension.faults_in_a_row ? (
          <>
            <dt>Faults in a row</dt>
            <dd>{extension.faults_in_a_row}</dd>
          </>
        ) : null}
        {extension.source ? (
          <>
            <dt>Installed from</dt>
            <dd>{extension.source}</dd>
          </>
        ) : null}
        {metrics ? (
          <>
            <dt>Calls</dt>
            <dd>
              {metrics.calls ?? 0} ({metrics.errors ?? 0} errors, {metrics.faults ?? 0} faults)
            </dd>
            <dt>Duration</dt>
            <dd>{metrics.p50_ms == null ? "no call yet" : `p50 ${metrics.p50_ms} ms, p99 ${metrics.p99_ms} ms`}</dd>
          </>
        ) : null}
        {extension.next_probe_at ? (
          <>
            <dt>Next probe</dt>
            <dd>{when(extension.next_probe_at)}</dd>
          </>
        ) : null}
      </dl>
      {extension.enabled !== undefined && (
        <button type="button" onClick={toggle} disabled={busy}>
          {enabled ? "Disable" : "Enable"}
        </button>
      )}
      <Report outcome={outcome} />
    </section>
  );
}

function Consent({ extension, onChange }: { extension: Extension; onChange: () => void }) {
  const items = grantables(extension.requested_scopes ?? {});
  const current = grantedIds(extension.requested_scopes ?? {}, extension.granted_scopes);
  const [chosen, setChosen] = useState<Set<string>>(current);
  const [busy, outcome, run] = useAction();
  const currentKey = [...current].sort().join("\n");
  useEffect(() => setChosen(new Set(current)), [extension.name, currentKey]);
  const save = (ids: Set<string>) =>
    run(async () => {
      const grant = grantOf(extension.requested_scopes ?? {}, ids);
      await data("PATCH", `/extensions/${enc(extension.name)}`, { granted_scopes: grant });
      onChange();
      const names = Object.keys(grant);
      return names.length ? `Granted: ${names.join(", ")}.` : "Nothing is granted.";
    });
  const toggle = (id: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(id);
    else next.delete(id);
    setChosen(next);
  };
  return (
    <section aria-labelledby="consent-heading">
      <h2 id="consent-heading">Scopes</h2>
      {items.length === 0 ? (
        <p>This extension requests no scope.</p>
      ) : (
        <form
          method="post"
          onSubmit={(event) => {
            event.preventDefault();
            void save(chosen);
          }}
        >
          <fieldset>
            <legend>Granted of what it requests</legend>
            {summary(extension.pending_scopes) && (
              <p class="pending">
                The installed version also requests {summary(extension.pending_scopes)}: it waits for your consent.
              </p>
            )}
            <ul class="checks">
              {items.map((item) => (
                <li key={item.id}>
                  <input
                    type="checkbox"
                    id={`grant-${item.id}`}
                    checked={chosen.has(item.id)}
                    onChange={(event) => toggle(item.id, event.currentTarget.checked)}
                  />
                  <label for={`grant-${item.id}`}>{item.label}</label>
                </li>
              ))}
            </ul>
            <p class="help">A request grant needs at least one URL and one method.</p>
          </fieldset>
          <div class="buttons">
            <button type="submit" disabled={busy}>
              Save grant
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => void save(new Set(items.map((i) => i.id)))}>
              Grant all
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => void save(new Set())}>
              Revoke all
            </button>
          </div>
        </form>
      )}
      <Report outcome={outcome} />
    </section>
  );
}

function Errors({ extension }: { extension: Extension }) {
  const errors = recentErrors(extension);
  return (
    <section aria-labelledby="errors-heading">
      <h2 id="errors-heading">Recent errors</h2>
      {errors.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul class="errors">
          {errors.map((error, index) => (
            <li key={index}>
              <pre class="wrap">{errorText(error)}</pre>
              {typeof error !== "string" && error.stack && <pre class="wrap stack">{error.stack}</pre>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}


function Logs({ name }: { name: string }) {
  const logs = useLoad(() => data<LogLine[]>("GET", `/extensions/${enc(name)}/logs`), [name]);
  return (
    <section aria-labelledby="logs-heading">
      <div class="section-head">
        <h2 id="logs-heading">Logs</h2>
        <button type="button" class="secondary" onClick={logs.reload}>
          Refresh logs
        </button>
      </div>
      <Loading when={logs.loading && !logs.value} />
      <Failure error={logs.error} />
      {logs.value && logs.value.length === 0 && <p>No log line yet.</p>}
      {logs.value && logs.value.length > 0 && (
        <ol class="logs" aria-label={`Log lines of ${name}`}>
          {logs.value.map((line, index) => (
            <li key={index} class={`level-${line.level ?? "info"}`}>
              <span class="log-time">{when(line.at)}</span> <Badge value={line.level ?? "info"} />{" "}
              <span class="log-message">{line.message ?? JSON.stringify(line)}</span>
              {line.stack && <pre class="wrap stack">{line.stack}</pre>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
