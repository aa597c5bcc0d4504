-- The wrk script of bench/common.py `load_stats`.
-- Request: WRK_METHOD (default GET), the body read from the file WRK_BODY_FILE and its
-- WRK_CONTENT_TYPE, when set. Report: after wrk's own, one line
-- "WRK_JSON {ok, failed, rps, p50_ms, p99_ms}"; wrk counts an answer of status 400 or above
-- in errors.status.
local body_file = os.getenv("WRK_BODY_FILE")
wrk.method = os.getenv("WRK_METHOD") or "GET"
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = os.getenv("WRK_CONTENT_TYPE") or "application/octet-stream"
end

function done(summary, latency, requests)
  local e = summary.errors
  local ok = summary.requests - e.status
  io.write(string.format(
    'WRK_JSON {"ok": %d, "failed": %d, "rps": %.3f, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    ok, e.status + e.connect + e.read + e.write + e.timeout, ok / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
