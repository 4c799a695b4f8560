// The JS peers, bundled by esbuild into one script (global `Engines`).
// `prepare(g)` builds the engine's graph from the JSON graph (positions in
// link lengths, scaled by the engine's own link length) and returns
// { run(), positions() }: run() does the 300 iterations, positions()
// returns [x0, y0, x1, y1, ...].
import { forceSimulation, forceLink, forceManyBody, forceCenter } from 'd3-force';
import createGraph from 'ngraph.graph';
import createLayout from 'ngraph.forcelayout';
import Graph from 'graphology';
import forceAtlas2 from 'graphology-layout-forceatlas2';

const ITERATIONS = 300;

// d3-force with its defaults (link distance 30, many-body -30, θ 0.9);
// 300 ticks is one full cooling run of its default alpha decay.
export function d3(g) {
  const s = 30;
  const nodes = [];
  for (let i = 0; i < g.nodes; i++) nodes.push({ x: g.xy[2 * i] * s, y: g.xy[2 * i + 1] * s });
  const links = [];
  for (let e = 0; e < g.edges.length; e += 2) links.push({ source: g.edges[e], target: g.edges[e + 1] });
  const sim = forceSimulation(nodes)
    .force('link', forceLink(links))
    .force('charge', forceManyBody())
    .force('center', forceCenter(0, 0))
    .stop();
  return {
    iterations: ITERATIONS,
    run() { for (let i = 0; i < ITERATIONS; i++) sim.tick(); },
    positions() { const xy = []; for (const n of nodes) xy.push(n.x, n.y); return xy; },
  };
}

// ngraph.forcelayout with its default physics (spring length 10).
export function ngraph(g) {
  const s = 10;
  const graph = createGraph();
  for (let i = 0; i < g.nodes; i++) graph.addNode(i);
  for (let e = 0; e < g.edges.length; e += 2) graph.addLink(g.edges[e], g.edges[e + 1]);
  const layout = createLayout(graph);
  for (let i = 0; i < g.nodes; i++) layout.setNodePosition(i, g.xy[2 * i] * s, g.xy[2 * i + 1] * s);
  return {
    iterations: ITERATIONS,
    run() { for (let i = 0; i < ITERATIONS; i++) layout.step(); },
    positions() {
      const xy = [];
      for (let i = 0; i < g.nodes; i++) { const p = layout.getNodePosition(i); xy.push(p.x, p.y); }
      layout.dispose();
      return xy;
    },
  };
}

// graphology ForceAtlas2 with the settings its docs recommend
// (inferSettings: Barnes-Hut only above 2,000 nodes).
export function forceatlas2(g) {
  const s = 30;
  const graph = new Graph({ type: 'undirected' });
  for (let i = 0; i < g.nodes; i++) graph.addNode(i, { x: g.xy[2 * i] * s, y: g.xy[2 * i + 1] * s });
  for (let e = 0; e < g.edges.length; e += 2) graph.addEdge(g.edges[e], g.edges[e + 1]);
  const settings = forceAtlas2.inferSettings(graph);
  return {
    iterations: ITERATIONS,
    note: settings.barnesHutOptimize ? 'Barnes-Hut θ 0.5' : 'exact O(n²) repulsion, as inferSettings picks at ≤ 2,000 nodes',
    run() { forceAtlas2.assign(graph, { iterations: ITERATIONS, settings }); },
    positions() {
      const xy = [];
      for (let i = 0; i < g.nodes; i++) { const a = graph.getNodeAttributes(i); xy.push(a.x, a.y); }
      return xy;
    },
  };
}
