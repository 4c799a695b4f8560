// wiremap-kfl (WASM) against @marcbachmann/cel-js on the same entries and
// expressions, in this page. Results go to the runner by POST /result.
import init, * as kfl from './pkg/wiremap_kfl_wasm_bench.js';
import { parse } from './celjs/lib/index.js';

const params = new URLSearchParams(location.search);
const N = Number(params.get('n') || 1000000);
const ROUNDS = Number(params.get('rounds') || 5);
const out = document.getElementById('out');
const log = (msg) => {
  out.textContent += '\n' + msg;
  return fetch('/log', { method: 'POST', body: msg });
};

function best(rounds, f) {
  let bestMs = Infinity;
  let value;
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    value = f();
    const ms = performance.now() - t;
    if (ms < bestMs) bestMs = ms;
  }
  return { ms: bestMs, value };
}

// Mean time of one call of `f`, over ~200 ms.
function perCall(f) {
  let n = 0;
  const t = performance.now();
  while (performance.now() - t < 200) { f(); n++; }
  return (performance.now() - t) / n;
}

async function main() {
  await init();
  let t = performance.now();
  kfl.generate(N, 42);
  await log(`generated ${N} entries in WASM in ${(performance.now() - t).toFixed(0)} ms`);

  // The same entries as plain JS objects for cel-js, built before timing.
  t = performance.now();
  const flags = kfl.flags();
  const status = kfl.status_codes();
  const elapsed = kfl.elapsed();
  const paths = kfl.path_table();
  const pathIds = kfl.path_ids();
  const srcIds = kfl.src_ids();
  const dstIds = kfl.dst_ids();
  const peers = kfl.identity_pod_namespaces().map((ns) => ({ pod: { namespace: ns } }));
  const contexts = new Array(N);
  for (let i = 0; i < N; i++) {
    contexts[i] = {
      http: (flags[i] & 1) !== 0,
      dns: (flags[i] & 2) !== 0,
      redis: (flags[i] & 4) !== 0,
      status_code: BigInt(status[i]),
      elapsed_time: BigInt(elapsed[i]),
      path: paths[pathIds[i]],
      src: peers[srcIds[i]],
      dst: peers[dstIds[i]],
    };
  }
  await log(`built ${N} cel-js contexts in ${(performance.now() - t).toFixed(0)} ms`);

  const results = [];
  for (const line of kfl.expressions().split('\n')) {
    const [name, src] = line.split('\t');
    // Warm both engines up (JIT tiers) before timing anything.
    kfl.compile_only(src, 200);
    for (let i = 0; i < 200; i++) parse(src);
    const oursCompileMs = perCall(() => kfl.compile_only(src, 1));
    const h = kfl.compile(src);
    const ours = best(ROUNDS, () => kfl.count(h));
    const blocks = best(ROUNDS, () => kfl.count_blocks(h));

    const celCompileMs = perCall(() => parse(src));
    const fn = parse(src);
    let celErrors = 0;
    const cel = best(ROUNDS, () => {
      let m = 0;
      celErrors = 0;
      for (let i = 0; i < N; i++) {
        try {
          if (fn(contexts[i]) === true) m++;
        } catch (e) {
          celErrors++;
        }
      }
      return m;
    });
    const r = {
      name, src, n: N,
      ours: { evals_per_s: N / (ours.ms / 1000), ms: ours.ms, matches: ours.value, compile_us: oursCompileMs * 1000 },
      blocks: { evals_per_s: N / (blocks.ms / 1000), ms: blocks.ms, matches: blocks.value, compile_us: oursCompileMs * 1000 },
      celjs: { evals_per_s: N / (cel.ms / 1000), ms: cel.ms, matches: cel.value, errors: celErrors, compile_us: celCompileMs * 1000 },
    };
    results.push(r);
    await log(`${name}: wiremap-kfl ${(r.ours.evals_per_s / 1e6).toFixed(1)} M/s (${r.ours.matches} matches), ` +
      `in blocks ${(r.blocks.evals_per_s / 1e6).toFixed(1)} M/s (${r.blocks.matches} matches), ` +
      `cel-js ${(r.celjs.evals_per_s / 1e6).toFixed(1)} M/s (${r.celjs.matches} matches)`);
  }
  await fetch('/result', { method: 'POST', body: JSON.stringify({ userAgent: navigator.userAgent, results }) });
}

main().catch((e) => fetch('/result', { method: 'POST', body: JSON.stringify({ error: String(e && e.stack || e) }) }));
