// The baseline a user would write: a Node.js `ws` broadcast hub.
// Probes connect to /ws/probe and every message they send is broadcast to
// every client of /ws. No decoding, no backpressure, no caches.
// Run: NODE_PATH=<dir with node_modules> node ws_hub.js  (prints "listening PORT")
'use strict';
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 16 << 20 });
const viewers = new Set();

wss.on('connection', (ws, req) => {
  ws.on('error', () => {});
  if (req.url.startsWith('/ws/probe')) {
    ws.on('message', (data, isBinary) => {
      for (const v of viewers) {
        v.send(data, { binary: isBinary });
      }
    });
  } else {
    viewers.add(ws);
    ws.on('close', () => viewers.delete(ws));
  }
});

wss.on('listening', () => {
  process.stdout.write(`listening ${wss.address().port}\n`);
});

process.on('SIGTERM', () => process.exit(0));
