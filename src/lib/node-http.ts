/**
 * `node:http`, taken with process.getBuiltinModule instead of an ES import. To build a builtin's
 * ES module, Node.js reads every one of its exports, and from Node.js 22 on `node:http` exports
 * WebSocket, CloseEvent and MessageEvent as lazy getters that load Node.js's own copy of undici
 * (fetch and WebSocket). An `import ... from 'node:http'` anywhere cost 13.5 MB of RSS on Node.js 24
 * (2 MB on 20) for classes the exporter never uses; this is the same object without reading them.
 * Import types from 'node:http' as usual (`import type`), values from here.
 */
export const http = process.getBuiltinModule('node:http');
