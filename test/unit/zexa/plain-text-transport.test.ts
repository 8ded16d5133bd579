import { describe, expect, it } from 'vitest';
import { plainTextKeyWarning } from '../../../src/zexa/plain-text-transport.js';

describe('plain-text key transport warning (issue 12)', () => {
  it.each([
    ['http://api.zexa.ao', 'api.zexa.ao'],
    ['http://10.0.0.7:8080/zexa', '10.0.0.7:8080'],
    ['http://[2001:db8::1]', '[2001:db8::1]'],
    ['http://128.0.0.1', '128.0.0.1'],
    ['http://localhost.example.com', 'localhost.example.com'],
  ])('warns for %s', (url, host) => {
    expect(plainTextKeyWarning(url)).toBe(
      `the API URL is http://, so every poll sends its key unencrypted to ${host}; use https:// (plain http is meant for loopback only)`,
    );
  });

  it.each([
    ['https://api.zexa.ao'],
    ['http://127.0.0.1:8080'],
    ['http://127.9.8.7'],
    ['http://localhost:1'],
    ['http://[::1]:80'],
    ['http://sim.localhost'],
  ])('does not warn for %s', (url) => {
    expect(plainTextKeyWarning(url)).toBeUndefined();
  });
});
