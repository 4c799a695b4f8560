#!/usr/bin/env node
// One command for the in-browser benchmark:
//   node shared/kfl/wasm-bench/run.mjs [--n 1000000] [--rounds 5]
// Builds this crate for wasm32 (release), runs wasm-bindgen, installs
// @marcbachmann/cel-js from npm into ~/.cache/wiremap-bench/celjs if absent,
// serves the page on 127.0.0.1, runs it in headless Chromium and prints the
// figures as a markdown table. Exit 1 if the engines' match counts differ.
// Env: CARGO_TARGET_DIR, CHROMIUM (default chromium), CELJS_VERSION.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const n = Number(opt('n', '1000000'));
const rounds = Number(opt('rounds', '5'));

function run(cmd, argv, extra = {}) {
  console.error(`$ ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...extra });
  if (r.status !== 0) {
    console.error(`${cmd} failed (${r.status ?? r.error})`);
    process.exit(2);
  }
}

// 1. Build the WASM module.
const targetDir = process.env.CARGO_TARGET_DIR || join(here, 'target');
run('cargo', ['build', '--release', '--target', 'wasm32-unknown-unknown',
  '--manifest-path', join(here, 'Cargo.toml')], { env: { ...process.env, CARGO_TARGET_DIR: targetDir } });
const wasm = join(targetDir, 'wasm32-unknown-unknown', 'release', 'wiremap_kfl_wasm_bench.wasm');
const pkg = join(here, 'out', 'pkg');
mkdirSync(pkg, { recursive: true });
run('wasm-bindgen', ['--target', 'web', '--no-typescript', '--out-dir', pkg, wasm]);

// 2. The peer, from the npm registry, into the benchmark cache.
const cache = join(homedir(), '.cache', 'wiremap-bench', 'celjs');
const celjs = join(cache, 'node_modules', '@marcbachmann', 'cel-js');
if (!existsSync(join(celjs, 'package.json'))) {
  mkdirSync(cache, { recursive: true });
  const v = process.env.CELJS_VERSION || 'latest';
  run('npm', ['install', '--prefix', cache, '--no-save', `@marcbachmann/cel-js@${v}`]);
}
const celjsVersion = JSON.parse(readFileSync(join(celjs, 'package.json'), 'utf8')).version;

// 3. Serve the page, the module and cel-js; collect the results.
const roots = [['/pkg/', pkg], ['/celjs/', celjs], ['/', join(here, 'page')]];
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
let finish;
const done = new Promise((resolve) => { finish = resolve; });
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'POST') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      res.end('ok');
      if (url.pathname === '/log') console.error(`page: ${body}`);
      if (url.pathname === '/result') finish(JSON.parse(body));
    });
    return;
  }
  const path = url.pathname === '/' ? '/index.html' : url.pathname;
  const [prefix, dir] = roots.find(([p]) => path.startsWith(p));
  const file = normalize(join(dir, path.slice(prefix.length)));
  if (!file.startsWith(dir) || !existsSync(file)) {
    res.statusCode = 404;
    res.end();
    return;
  }
  res.setHeader('content-type', types[extname(file)] || 'application/octet-stream');
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

// 4. Headless Chromium.
const profile = mkdtempSync(join(tmpdir(), 'kfl-bench-chromium-'));
const chromium = spawn(process.env.CHROMIUM || 'chromium', [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', `--user-data-dir=${profile}`,
  `http://127.0.0.1:${port}/index.html?n=${n}&rounds=${rounds}`,
], { stdio: ['ignore', 'ignore', 'ignore'] });
const timer = setTimeout(() => finish({ error: 'timed out after 15 minutes' }), 15 * 60 * 1000);
const result = await done;
clearTimeout(timer);
chromium.kill();
server.close();
try { rmSync(profile, { recursive: true, force: true }); } catch { /* Chromium may still hold it */ }

if (result.error) {
  console.error(`benchmark failed: ${result.error}`);
  process.exit(2);
}
console.log(`${result.userAgent}; ${n} entries; best of ${rounds}; cel-js ${celjsVersion}\n`);
console.log('| expression | engine | compile | evals/s | ns/eval | matches |');
console.log('|---|---|---:|---:|---:|---:|');
let same = true;
for (const r of result.results) {
  const rows = [['wiremap-kfl (WASM)', r.ours], ['wiremap-kfl (WASM), blocks of 64', r.blocks], [`cel-js ${celjsVersion}`, r.celjs]];
  for (const [label, x] of rows) {
    console.log(`| ${r.name} | ${label} | ${x.compile_us.toFixed(1)} µs | ${(x.evals_per_s / 1e6).toFixed(1)} M | ` +
      `${(x.ms * 1e6 / r.n).toFixed(1)} | ${x.matches} |`);
  }
  const ok = r.ours.matches === r.celjs.matches && r.blocks.matches === r.ours.matches && !r.celjs.errors;
  same &&= ok;
  console.log(`| ${r.name} | ratio (per entry) | | ${(r.ours.evals_per_s / r.celjs.evals_per_s).toFixed(1)}× | | ${ok ? 'same' : 'DIFFERENT'} |`);
  console.log(`| ${r.name} | ratio (blocks) | | ${(r.blocks.evals_per_s / r.celjs.evals_per_s).toFixed(1)}× | | |`);
}
process.exit(same ? 0 : 1);
