import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, forgetToken, storedToken, storeToken, whenUnauthorized } from "./api";
import { ExtensionPage } from "./extension";
import { ExtensionsPage } from "./extensions";
import { FlowPage, FlowsPage } from "./flows";
import { HealthPage } from "./health";
import "./style.css";
import { markNavigation } from "./ui";

type Route = { page: "extensions" } | { page: "extension"; name: string } | { page: "flows" } | { page: "flow"; id: string } | { page: "health" };

function routeOf(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/");
  const rest = decodeURIComponent(parts.slice(1).join("/"));
  if (parts[0] === "extensions" && rest) return { page: "extension", name: rest };
  if (parts[0] === "flows" && rest) return { page: "flow", id: rest };
  if (parts[0] === "flows") return { page: "flows" };
  if (parts[0] === "health") return { page: "health" };
  return { page: "extensions" };
}

function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => {
      markNavigation();
      setHash(location.hash);
    };
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return routeOf(hash);
}

function SignIn({ onSignedIn, notice }: { onSignedIn: () => void; notice: string }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(notice);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      await call("GET", "/extensions", undefined, token.trim());
      storeToken(token.trim());
      setToken("");
      markNavigation();
      onSignedIn();
    } catch (failure) {
      setError(
        failure instanceof ApiError && (failure.status === 401 || failure.status === 403)
          ? "The host refused this token: sign in with the admin token (ADMIN_TOKEN)."
          : failure instanceof Error
            ? failure.message
            : String(failure),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>exthost console</h1>
      <form onSubmit={submit} method="post">
        <label for="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          aria-describedby={error ? "signin-error token-help" : "token-help"}
          aria-invalid={error ? true : undefined}
          required
          autofocus
        />
        <p id="token-help" class="help">
          The host's ADMIN_TOKEN. It is kept in this tab only (session storage) and sent as a Bearer header.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p id="signin-error" class={`message ${error ? "error" : "idle"}`} role="alert">
          {error}
        </p>
      </form>
    </main>
  );
}

const NAV: { page: Route["page"]; href: string; label: string; also?: Route["page"] }[] = [
  { page: "extensions", href: "#/extensions", label: "Extensions", also: "extension" },
  { page: "flows", href: "#/flows", label: "Flows", also: "flow" },
  { page: "health", href: "#/health", label: "Health" },
];

function Console({ onSignOut }: { onSignOut: () => void }) {
  const route = useRoute();
  return (
    <>
      <a class="skip" href="#main" onClick={(event) => { event.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">exthost console</span>
        <nav aria-label="Sections">
          <ul>
            {NAV.map((item) => {
              const current = route.page === item.page || route.page === item.also;
              return (
                <li key={item.page}>
                  <a href={item.href} aria-current={current ? "page" : undefined}>
                    {item.label}
                  </a>
                </li>
              );
            })}
          </ul>
        </nav>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === "extensions" && <ExtensionsPage />}
        {route.page === "extension" && <ExtensionPage key={route.name} name={route.name} />}
        {route.page === "flows" && <FlowsPage />}
        {route.page === "flow" && <FlowPage key={route.id} id={route.id} />}
        {route.page === "health" && <HealthPage />}
      </main>
    </>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(storedToken() !== null);
  const [notice, setNotice] = useState("");
  useEffect(() => {
    whenUnauthorized(() => {
      forgetToken();
      setNotice("The host no longer accepts your token: sign in again.");
      setSignedIn(false);
    });
  }, []);
  if (!signedIn) return <SignIn notice={notice} onSignedIn={() => setSignedIn(true)} />;
  return (
    <Console
      onSignOut={() => {
        forgetToken();
        setNotice("");
        setSignedIn(false);
      }}
    />
  );
}

render(<App />, document.getElementById("app")!);
