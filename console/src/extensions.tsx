import { useState } from "preact/hooks";
import { data, enc, stream } from "./api";
import { useAction, useLoad } from "./hooks";
import { summary } from "./scopes";
import type { Extension, RecentError } from "./types";
import { Badge, Failure, Loading, PageTitle, Report, when } from "./ui";

/** The extension's errors, newest last: why it did not load or reload, then what it logged as errors. */
export function recentErrors(extension: Extension): RecentError[] {
  const list: RecentError[] = [];
  if (extension.error) list.push(extension.error);
  if (extension.reload_error) list.push(`reload failed (the previous version still serves): ${extension.reload_error}`);
  return [...list, ...(extension.recent_errors ?? [])];
}

export function errorText(error: RecentError): string {
  if (typeof error === "string") return error;
  return `${error.at ? `${when(error.at)}: ` : ""}${error.message ?? JSON.stringify(error)}`;
}

/** The host's word for the extension's state (`ready`, `disabled`, `quarantined`, `error`, ...). */
export function stateOf(extension: Extension): string {
  return extension.status || "unknown";
}

export function ExtensionsPage() {
  const list = useLoad(() => data<Extension[]>("GET", "/extensions"), []);
  return (
    <>
      <PageTitle>Extensions</PageTitle>
      <Install onInstalled={list.reload} />
      <section aria-labelledby="installed-heading">
        <div class="section-head">
          <h2 id="installed-heading">Installed</h2>
          <div class="buttons">
            <button type="button" class="secondary" onClick={list.reload}>
              Refresh
            </button>
            <ReloadAll onReloaded={list.reload} />
          </div>
        </div>
        <Loading when={list.loading && !list.value} />
        <Failure error={list.error} />
        {list.value && list.value.length === 0 && <p>No extension is installed.</p>}
        {list.value && list.value.length > 0 && (
          <table class="cards">
            <caption class="visually-hidden">Installed extensions</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Runtime</th>
                <th scope="col">Requested scopes</th>
                <th scope="col">Granted scopes</th>
                <th scope="col">Recent errors</th>
              </tr>
            </thead>
            <tbody>
              {list.value.map((extension) => (
                <tr key={extension.name} data-extension={extension.name}>
                  <th scope="row" data-label="Name">
                    <a href={`#/extensions/${enc(extension.name)}`}>{extension.name}</a>
                    {extension.type && <span class="muted"> {extension.type}</span>}
                  </th>
                  <td data-label="State">
                    <Badge value={stateOf(extension)} />
                  </td>
                  <td data-label="Runtime">{extension.runtime ?? "—"}</td>
                  <td data-label="Requested scopes">{summary(extension.requested_scopes) || "none"}</td>
                  <td data-label="Granted scopes">
                    <span class="granted">{summary(extension.granted_scopes) || "none"}</span>
                    {summary(extension.pending_scopes) && (
                      <p class="pending">Waiting for consent: {summary(extension.pending_scopes)}</p>
                    )}
                  </td>
                  <td data-label="Recent errors">
                    {recentErrors(extension).length === 0 ? (
                      "none"
                    ) : (
                      <ul class="errors">
                        {recentErrors(extension)
                          .slice(-3)
                          .map((error, index) => (
                            <li key={index}>{errorText(error)}</li>
                          ))}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function ReloadAll({ onReloaded }: { onReloaded: () => void }) {
  const [busy, outcome, run] = useAction();
  return (
    <>
      <button
        type="button"
        class="secondary"
        disabled={busy}
        onClick={() =>
          void run(async () => {
            const all = await data<Extension[]>("POST", "/extensions/reload", {});
            onReloaded();
            const failed = all.filter((extension) => extension.reload_error || extension.status === "error");
            return failed.length
              ? `Reloaded from disk; ${failed.length} with errors: ${failed.map((e) => e.name).join(", ")}.`
              : `Reloaded ${all.length} extensions from disk.`;
          })
        }
      >
        {busy ? "Reloading…" : "Reload from disk"}
      </button>
      <Report outcome={outcome} />
    </>
  );
}

type Progress = { step?: string; message?: string };

function Install({ onInstalled }: { onInstalled: () => void }) {
  const [spec, setSpec] = useState("");
  const [steps, setSteps] = useState<Progress[]>([]);
  const [busy, outcome, run] = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const wanted = spec.trim();
    if (!wanted) return;
    setSteps([]);
    void run(async () => {
      const installed = await stream<Extension>("POST", "/extensions", { spec: wanted }, (line: Progress) =>
        setSteps((seen) => [...seen, line]),
      );
      onInstalled();
      setSpec("");
      const pending = summary(installed.pending_scopes);
      return `Installed ${installed.name} ${installed.version ?? ""}`.trim() + (pending ? `: it waits for your consent to ${pending}.` : ".");
    });
  };
  return (
    <section aria-labelledby="install-heading">
      <h2 id="install-heading">Install</h2>
      <form class="inline" onSubmit={submit} method="post">
        <label for="install-spec">Package</label>
        <input
          id="install-spec"
          name="spec"
          value={spec}
          onInput={(event) => setSpec(event.currentTarget.value)}
          aria-describedby="install-help"
          autocomplete="off"
          spellcheck={false}
          required
        />
        <button type="submit" disabled={busy}>
          {busy ? "Installing…" : "Install"}
        </button>
      </form>
      <p id="install-help" class="help">
        An npm package (<code>name</code>, <code>name@version</code>, <code>@scope/name@range</code>), a <code>.tgz</code> or a
        folder on the host. It is installed disabled until you grant what it requests.
      </p>
      {steps.length > 0 && (
        <ol class="progress" aria-label="Install progress">
          {steps.map((line, index) => (
            <li key={index}>
              <strong>{line.step}</strong> {line.message}
            </li>
          ))}
        </ol>
      )}
      <Report outcome={outcome} />
    </section>
  );
}
