import { useState } from "preact/hooks";
import { data, enc } from "./api";
import { useAction, useLoad } from "./hooks";
import { summary } from "./scopes";
import type { Extension, RecentError } from "./types";
import { Badge, Failure, Loading, PageTitle, Report, when } from "./ui";

export function recentErrors(extension: Extension): RecentError[] {
  const list = extension.recent_errors ?? extension.errors ?? [];
  if (list.length === 0 && extension.error) return [extension.error];
  return list;
}

export function errorText(error: RecentError): string {
  if (typeof error === "string") return error;
  const moment = error.at ?? error.time ?? error.timestamp;
  return `${moment ? `${when(moment)}: ` : ""}${error.message ?? JSON.stringify(error)}`;
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
          <button type="button" class="secondary" onClick={list.reload}>
            Refresh
          </button>
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
                    {extension.granted_scopes === undefined ? "not reported" : summary(extension.granted_scopes) || "none"}
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

function Install({ onInstalled }: { onInstalled: () => void }) {
  const [spec, setSpec] = useState("");
  const [busy, outcome, run] = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const wanted = spec.trim();
    if (!wanted) return;
    void run(async () => {
      const installed = await data<Extension | null>("POST", "/extensions", { spec: wanted });
      onInstalled();
      setSpec("");
      const name = installed?.name ?? wanted;
      return `Installed ${name}${installed && installed.enabled === false ? ": disabled until you grant its scopes" : ""}.`;
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
          placeholder="name, name@version or @scope/name@range"
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
        An npm package of a sandboxed Directus extension. It is installed disabled, until you grant what it requests.
      </p>
      <Report outcome={outcome} />
    </section>
  );
}
