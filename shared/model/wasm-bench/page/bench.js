// Runs every engine on every graph named in ?graphs=a,b,… (best of
// ?repeat=N runs for graphs under 5,000 nodes, one run above), then the
// aggregation scenario, POSTing each result to the driver. Besides wall
// time (performance.now) it asks the driver for the renderer processes' CPU
// time (GET /cpu) around each phase: the machine is shared.
import init, { WasmLayout, WasmAggregation } from './pkg/wasm_bench.js';

const params = new URLSearchParams(location.search);
const graphs = (params.get('graphs') || '').split(',').filter(Boolean);
const repeat = Math.max(1, parseInt(params.get('repeat') || '3', 10));
const engines = (params.get('engines') || 'ours-wasm,ngraph,d3-force,forceatlas2').split(',');
const log = (s) => { document.getElementById('log').textContent += '\n' + s; };

async function post(path, body) {
  const r = await fetch(path, { method: 'POST', body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`POST ${path}: ${r.status}`);
}

async function cpu() {
  const r = await fetch('/cpu');
  const v = parseFloat(await r.text());
  return Number.isFinite(v) ? v : NaN;
}

// Ours: runs until the layout stops by itself (alpha below its minimum,
// then overlap resolution), which is 300 ticks from alpha 1.
function ours(g) {
  const l = new WasmLayout(g.nodes, Uint32Array.from(g.edges), Float64Array.from(g.xy));
  return {
    run() { while (l.step(1)) { /* until it stops */ } },
    get iterations() { return l.ticks(); },
    positions() { const xy = Array.from(l.positions()); l.free(); return xy; },
  };
}

const runners = {
  'ours-wasm': ours,
  'ngraph': (g) => Engines.ngraph(g),
  'd3-force': (g) => Engines.d3(g),
  'forceatlas2': (g) => Engines.forceatlas2(g),
};

async function once(engine, g) {
  await new Promise((r) => setTimeout(r, 50));
  const c0 = await cpu();
  const t0 = performance.now();
  const h = runners[engine](g);
  const t1 = performance.now();
  const c1 = await cpu();
  const t2 = performance.now();
  h.run();
  const t3 = performance.now();
  const c2 = await cpu();
  return {
    setup_ms: t1 - t0, run_ms: t3 - t2, setup_cpu_ms: c1 - c0, run_cpu_ms: c2 - c1,
    iterations: h.iterations, note: h.note || '', positions: () => h.positions(),
  };
}

async function main() {
  await init();
  for (const name of graphs) {
    const g = await (await fetch(`graphs/${name}.json`)).json();
    const runs = g.nodes < 5000 ? repeat : 1;
    for (const engine of engines) {
      let best = null;
      const totals = [];
      const cpus = [];
      for (let r = 0; r < runs; r++) {
        const res = await once(engine, g);
        res.xy = res.positions();
        delete res.positions;
        totals.push(res.setup_ms + res.run_ms);
        cpus.push(res.setup_cpu_ms + res.run_cpu_ms);
        if (!best || res.setup_ms + res.run_ms < best.setup_ms + best.run_ms) best = res;
      }
      log(`${name} ${engine}: wall ${totals.map((t) => t.toFixed(0)).join(', ')} ms; cpu ${cpus.join(', ')} ms`);
      await post('/result', { graph: name, engine, runs, totals_ms: totals, cpus_ms: cpus, ...best });
    }
  }
  if (params.get('aggregation') !== '0') {
    const agg = new WasmAggregation();
    const t0 = performance.now();
    agg.fill();
    const fill_ms = performance.now() - t0;
    const cases = [];
    for (let c = 0; c < agg.cases(); c++) {
      await new Promise((r) => setTimeout(r, 50));
      const times = [];
      let edges = 0;
      const c0 = await cpu();
      for (let r = 0; r < 10; r++) {
        const t = performance.now();
        edges = agg.run(c);
        times.push(performance.now() - t);
      }
      const cpu_ms = (await cpu()) - c0;
      cases.push({ name: agg.case_name(c), edges, times_ms: times, cpu_ms_per_run: cpu_ms / 10 });
      log(`aggregation ${agg.case_name(c)}: ${Math.min(...times).toFixed(1)} ms`);
    }
    await post('/aggregation', { entries: agg.entries(), fill_ms, cases });
    agg.free();
  }
  await post('/done', { user_agent: navigator.userAgent });
}

main().catch((e) => post('/error', { message: String(e && e.stack || e) }));
