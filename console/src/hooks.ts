import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";

export type Loaded<T> = { value: T | undefined; error: ApiError | Error | null; loading: boolean; reload: () => void };

/** Runs `load` now and whenever `deps` change; `reload()` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (result) => {
        if (!live) return;
        setValue(result);
        setError(null);
        setLoading(false);
      },
      (failure: unknown) => {
        if (!live) return;
        setError(failure instanceof Error ? failure : new Error(String(failure)));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { value, error, loading, reload };
}

export type Outcome = { kind: "ok" | "error"; text: string } | null;

/** An action's busy flag and the sentence that reports how it went. */
export function useAction(): [boolean, Outcome, (work: () => Promise<string>) => Promise<void>] {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const run = useCallback(async (work: () => Promise<string>) => {
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome({ kind: "ok", text: await work() });
    } catch (failure) {
      setOutcome({ kind: "error", text: failure instanceof Error ? failure.message : String(failure) });
    } finally {
      setBusy(false);
    }
  }, []);
  return [busy, outcome, run];
}
