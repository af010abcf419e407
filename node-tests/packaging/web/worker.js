// A module Web Worker doing what the page does.
import * as nitro from '@gonitro/nitro';
import { roundTrip, verifyBeacon } from './round-trip.js';

self.onmessage = async ({ data }) => {
  try {
    const trip = await roundTrip(nitro, data.url);
    const beacon = await verifyBeacon(nitro, data.beacon);
    self.postMessage({ ok: true, result: { ...trip, beacon } });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e?.stack ?? e) });
  }
};
