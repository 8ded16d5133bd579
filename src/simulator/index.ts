/**
 * The built-in Zexa API simulator: `GET /v1/credits` on loopback with scriptable accounts and
 * faults, for `npm run demo`, the integration and end-to-end tests, and the benchmarks.
 */
export { startSimulator } from './server.js';
export { demoAccounts, generateAccounts, generatedKey } from './fixtures.js';
export { SimulatorUsageError } from './errors.js';
export { HUGE_BODY_MIN_BYTES } from './responses.js';
export {
  MAX_REQUEST_RECORDS,
  type SimAccountSpec,
  type SimFault,
  type SimRequestRecord,
  type SimulatorOptions,
  type ZexaSimulator,
} from './types.js';
