// The lab's Kafka workloads (kafkajs against the Tansu broker).
//
// usage: node kafka.js produce  BROKER TOPIC          checkout: orders, forever
//        node kafka.js consume  BROKER TOPIC GROUP    shipping / analytics
//        node kafka.js scripted BROKER TOPIC N        exactly N messages, one per
//              request; prints the requests kafkajs sent, per API, as JSON
const { Kafka, logLevel } = require(process.env.KAFKAJS || 'kafkajs');

const [mode, broker, topic, arg] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(new Date().toISOString().slice(11, 19), ...a);

function client(id) {
  return new Kafka({
    clientId: id,
    brokers: [broker],
    logLevel: logLevel.ERROR,
    retry: { retries: 8, initialRetryTime: 300 },
  });
}

async function produce() {
  let n = 0;
  for (;;) {
    const p = client('checkout').producer();
    try {
      await p.connect();
      for (;;) {
        const k = 1 + (n % 3);
        const messages = [];
        for (let j = 0; j < k; j++, n++) {
          messages.push({
            key: 'order-' + n,
            value: JSON.stringify({ order: n, user: 'u' + (n % 9), items: 1 + (n % 4), cents: 990 + n % 5000 }),
          });
        }
        await p.send({ topic, messages });
        if (n % 100 < k) log('produced', n);
        await sleep(400);
      }
    } catch (e) {
      log('producer error:', e.message);
      await p.disconnect().catch(() => {});
      await sleep(2000);
    }
  }
}

async function consume(group) {
  let got = 0;
  for (;;) {
    const c = client(group).consumer({ groupId: group, maxWaitTimeInMs: 1000 });
    try {
      await c.connect();
      await c.subscribe({ topic, fromBeginning: false });
      await c.run({
        eachMessage: async () => {
          if (++got % 100 === 0) log(group, 'consumed', got);
        },
      });
      // run() returns once the consumer runs; stay here until it crashes.
      await new Promise((_, reject) => c.on(c.events.CRASH, (e) => reject(e.payload.error)));
    } catch (e) {
      log('consumer error:', e.message);
      await c.disconnect().catch(() => {});
      await sleep(2000);
    }
  }
}

async function scripted(n) {
  const requests = {};
  const p = client('tester').producer();
  p.on(p.events.REQUEST, (e) => {
    requests[e.payload.apiName] = (requests[e.payload.apiName] || 0) + 1;
  });
  await p.connect();
  let sent = 0;
  for (let i = 0; i < n; i++) {
    await p.send({ topic, acks: 1, messages: [{ key: 'qa-' + i, value: 'scripted message ' + i }] });
    sent++;
  }
  await p.disconnect();
  console.log(JSON.stringify({ messages: sent, requests }));
}

const run = { produce: () => produce(), consume: () => consume(arg), scripted: () => scripted(+arg) }[mode];
if (!run) {
  console.error('usage: node kafka.js produce|consume|scripted BROKER TOPIC [GROUP|N]');
  process.exit(2);
}
run().catch((e) => {
  console.error('kafka error:', e.message);
  process.exit(1);
});
