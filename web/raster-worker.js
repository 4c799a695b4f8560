// wiremap's raster worker: paints bands of the map's picture on a second
// core (web/src/raster_worker.rs). The page starts it from this file, which
// the relay serves next to the app (a policy of `worker-src 'self'` allows
// it), or else from a `blob:` URL of the same text. It instantiates the
// WASM module the page sends once it runs, with stand-in imports (the
// rasteriser calls none), then paints each job and transfers the rows
// back.
let wasm = null;
onmessage = (e) => {
  const d = e.data;
  if (d.module) {
    // Sent once the script runs, ahead of the first job (or with it).
    try {
      const imports = {};
      for (const i of WebAssembly.Module.imports(d.module)) {
        if (i.kind !== 'function') throw new Error('import ' + i.name + ' is a ' + i.kind);
        (imports[i.module] = imports[i.module] || {})[i.name] = () => {
          throw new Error('the raster worker calls no import');
        };
      }
      wasm = new WebAssembly.Instance(d.module, imports).exports;
    } catch (err) {
      postMessage({ failed: 'its module: ' + String(err) });
      return;
    }
  }
  if (d.job === undefined) return;
  try {
    const job = new Uint8Array(d.job);
    const at = wasm.wiremap_raster_alloc(job.length);
    new Uint8Array(wasm.memory.buffer, at, job.length).set(job);
    const out = wasm.wiremap_raster_paint(at, job.length);
    if (out === 0) throw new Error('malformed raster job');
    const pixels = new Uint8Array(wasm.memory.buffer, out, d.bytes).slice();
    postMessage({ id: d.id, pixels: pixels.buffer }, [pixels.buffer]);
  } catch (err) {
    postMessage({ id: d.id, error: String(err) });
  }
};
// The script runs: the page sends the module, then jobs.
postMessage({ ready: true });
