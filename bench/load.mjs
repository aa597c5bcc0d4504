// A small closed-loop HTTP load generator (keep-alive), so the Python server
// is measured rather than a Python client. Usage: node load.mjs URL SECONDS CONCURRENCY
// Prints {ok, failed, rps, p50_ms, p99_ms} (latencies of the 200 responses).
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const [url, seconds = '5', concurrency = '16'] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const deadline = Date.now() + Number(seconds) * 1000;
let ok = 0;
let failed = 0;
const latencies = [];

function one() {
  return new Promise((resolve) => {
    const sent = performance.now();
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) {
          ok += 1;
          latencies.push(performance.now() - sent);
        } else failed += 1;
        resolve();
      });
    });
    req.on('error', () => { failed += 1; resolve(); });
  });
}

async function worker() {
  while (Date.now() < deadline) await one();
}

const started = Date.now();
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const elapsed = (Date.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const at = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : null);
console.log(JSON.stringify({ ok, failed, rps: ok / elapsed, p50_ms: at(0.5), p99_ms: at(0.99) }));
agent.destroy();
