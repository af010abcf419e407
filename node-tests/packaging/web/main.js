// The page: runs the round trip itself, or in a module Web Worker, when the test asks.
import * as nitro from '@gonitro/nitro';
import { roundTrip, verifyBeacon } from './round-trip.js';

function inWorker(url, beacon) {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => { worker.terminate(); data.ok ? resolve(data.result) : reject(new Error(data.error)); };
    worker.onerror = (e) => { worker.terminate(); reject(new Error(`worker: ${e.message}`)); };
    worker.postMessage({ url, beacon });
  });
}

window.consumer = {
  roundTrip: (url) => roundTrip(nitro, url),
  verifyBeacon: (beacon) => verifyBeacon(nitro, beacon),
  inWorker,
};
document.body.dataset.ready = 'true';
