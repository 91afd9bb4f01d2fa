// A gRPC app (grpc-js) with server streams that never end by themselves.
// baton's drain cannot end a gRPC stream well on its own (it can only drop the
// connection at the drain timeout), so the app does it with onDrain, as the
// drain starts: each open stream ends with UNAVAILABLE, which clients retry,
// and their retries reach the next generation.
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import loader from '@grpc/proto-loader';
import { onDrain } from 'batonjs';

// ticker.proto declares the package ticker with the service Ticker.
const { ticker } = /** @type {{ ticker: { Ticker: grpc.ServiceClientConstructor } }} */ (
  grpc.loadPackageDefinition(loader.loadSync(fileURLToPath(new URL('./ticker.proto', import.meta.url))))
);
const port = Number(process.env.PORT ?? 50051);
const TICK_MS = 100;

/** Each open stream, with the timer that feeds it. */
const streams = new Map();

const server = new grpc.Server();
server.addService(ticker.Ticker.service, {
  Watch(call) {
    let n = 0;
    streams.set(
      call,
      setInterval(() => call.write({ pid: process.pid, n: n++ }), TICK_MS),
    );
    call.write({ pid: process.pid, n: n++ });
    for (const event of ['cancelled', 'close']) call.on(event, () => stop(call));
  },
  Who(_call, callback) {
    callback(null, { pid: process.pid, n: 0 });
  },
});

function stop(call) {
  clearInterval(streams.get(call));
  streams.delete(call);
}

onDrain(() => {
  for (const call of [...streams.keys()]) {
    stop(call);
    call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'server restart' });
  }
});

server.bindAsync(`${process.env.HOST ?? '0.0.0.0'}:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  console.log(`grpc app on ${port} pid ${process.pid}`);
});
