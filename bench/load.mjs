// A small closed-loop HTTP load generator (keep-alive), so the Python server
// is measured rather than a Python client. Usage: node load.mjs URL SECONDS CONCURRENCY
import http from 'node:http';

const [url, seconds = '5', concurrency = '16'] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const deadline = Date.now() + Number(seconds) * 1000;
let ok = 0;
let failed = 0;

function one() {
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) ok += 1; else failed += 1;
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
console.log(JSON.stringify({ ok, failed, rps: ok / elapsed }));
agent.destroy();
