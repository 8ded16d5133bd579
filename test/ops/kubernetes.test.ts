/**
 * deploy/kubernetes: every overlay and component builds with `kubectl kustomize`, every built
 * object passes the Kubernetes and prometheus-operator schemas (types and required fields from
 * the compiled JSON schemas of kubernetes-models, unknown fields from its TypeScript types, the
 * way the API server's strict field validation rejects them), the pods are locked down, the
 * copies of alerts.yml and the dashboard are current, and no key is in any manifest.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { requireProgram } from '../support/external.js';
import { rssPeaks, rssSteadyHighest } from './benchmark-figures.js';
import {
  DASHBOARD_KEY,
  KUBERNETES_DIR,
  REPO_ROOT,
  SOURCES,
  TARGETS,
  syncProblems,
} from '../../scripts/sync-kubernetes.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

const kubectl = requireProgram(['kubectl'], 'kubectl');

/**
 * The tree uses components, replacements and `labels`, which need the kustomize 5 of kubectl
 * 1.27 and later. Debian's own `kubernetes-client` is kubectl 1.20 with kustomize 2: install
 * `kubectl` from the Kubernetes apt repository (pkgs.k8s.io) instead.
 */
const MIN_KUSTOMIZE_MAJOR = 5;
function kustomizeTooOld(): string | undefined {
  if (kubectl.path === undefined) return undefined;
  const output = execFileSync(kubectl.path, ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  const version = (JSON.parse(output) as { kustomizeVersion?: string }).kustomizeVersion ?? 'unknown';
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? Number.NaN);
  if (major >= MIN_KUSTOMIZE_MAJOR) return undefined;
  const message = `kubectl at ${kubectl.path} embeds kustomize ${version}; deploy/kubernetes needs kustomize ${MIN_KUSTOMIZE_MAJOR} or later (kubectl 1.27+ from pkgs.k8s.io)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message}`);
  console.error(`\n*** SKIPPING TESTS: ${message} ***\n`);
  return message;
}
const kubectlUnusable = kubectl.missing || kustomizeTooOld() !== undefined;

type Json = Record<string, unknown>;
interface K8sObject extends Json {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
}

const PLACEHOLDER_KEY = 'REPLACE_ME';
const KEYS_MOUNT = '/run/secrets/zexa';
const KEYS_SECRET = 'zexa-exporter-keys';
const ACCOUNT_NAME = /^[a-z0-9_]{1,64}$/;

// ---------------------------------------------------------------------------------------------
// Schemas

type ValidatingModel = new (data: Json) => { validate(): void };
interface Schema {
  model: ValidatingModel;
  /** Where the TypeScript interface of the object lives, and its name. */
  module: string;
  type: string;
}
const SCHEMAS: Record<string, Schema> = {
  'v1/Namespace': {
    model: Namespace as unknown as ValidatingModel,
    module: 'kubernetes-models/v1/Namespace',
    type: 'INamespace',
  },
  'v1/ServiceAccount': {
    model: ServiceAccount as unknown as ValidatingModel,
    module: 'kubernetes-models/v1/ServiceAccount',
    type: 'IServiceAccount',
  },
  'v1/ConfigMap': {
    model: ConfigMap as unknown as ValidatingModel,
    module: 'kubernetes-models/v1/ConfigMap',
    type: 'IConfigMap',
  },
  'v1/Secret': { model: Secret as unknown as ValidatingModel, module: 'kubernetes-models/v1/Secret', type: 'ISecret' },
  'v1/Service': {
    model: Service as unknown as ValidatingModel,
    module: 'kubernetes-models/v1/Service',
    type: 'IService',
  },
  'apps/v1/Deployment': {
    model: Deployment as unknown as ValidatingModel,
    module: 'kubernetes-models/apps/v1/Deployment',
    type: 'IDeployment',
  },
  'apps/v1/StatefulSet': {
    model: StatefulSet as unknown as ValidatingModel,
    module: 'kubernetes-models/apps/v1/StatefulSet',
    type: 'IStatefulSet',
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    model: ServiceMonitor as unknown as ValidatingModel,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    type: 'IServiceMonitor',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    model: PrometheusRule as unknown as ValidatingModel,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    type: 'IPrometheusRule',
  },
};

function describeObject(object: K8sObject): string {
  return `${object.kind}/${object.metadata.name}`;
}

interface Labelled {
  object: K8sObject;
  /** Where the object came from, for messages. */
  label: string;
}

function labelled(objects: readonly K8sObject[], from?: string): Labelled[] {
  return objects.map((object) => ({
    object,
    label: from === undefined ? describeObject(object) : `${from}: ${describeObject(object)}`,
  }));
}

/**
 * Unknown fields, by type-checking each object as an object literal of its kubernetes-models
 * interface: TypeScript's excess-property check rejects any field the schema does not declare,
 * at every depth. The JSON schemas alone accept unknown fields (Kubernetes' OpenAPI does not
 * forbid them), and a misspelt `readOnlyRootFileSystem` would otherwise pass silently.
 */
/**
 * The library and kubernetes-models declaration files, parsed once for every program this file
 * builds (the compiler options never change): parsing them again was most of each check's time.
 */
const declarationFiles = new Map<string, ts.SourceFile>();

function unknownFieldProblems(objects: readonly Labelled[]): string[] {
  const fileName = join(REPO_ROOT, 'test', 'ops', '__kubernetes_strict_fields__.ts');
  const used = [...new Set(objects.map(({ object: o }) => `${o.apiVersion}/${o.kind}`))];
  let text = used
    .map(
      (key, i) => `import type { ${SCHEMAS[key]?.type ?? 'never'} as T${i} } from '${SCHEMAS[key]?.module ?? ''}';\n`,
    )
    .join('');
  const spans: { start: number; end: number; label: string }[] = [];
  for (const [n, { object, label }] of objects.entries()) {
    const start = text.length;
    text += `export const o${n}: T${used.indexOf(`${object.apiVersion}/${object.kind}`)} = ${JSON.stringify(object, null, 1)};\n`;
    spans.push({ start, end: text.length, label });
  }
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) => {
    if (name === fileName) return ts.createSourceFile(name, text, language, true);
    let parsed = declarationFiles.get(name);
    if (parsed === undefined) {
      parsed = getSourceFile.call(host, name, language, ...rest);
      if (parsed !== undefined) declarationFiles.set(name, parsed);
    }
    return parsed;
  };
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  host.readFile = (name) => (name === fileName ? text : readFile.call(host, name));
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    const at = diagnostic.start;
    const span =
      diagnostic.file?.fileName === fileName && at !== undefined
        ? spans.find((s) => at >= s.start && at < s.end)
        : undefined;
    return `${span?.label ?? diagnostic.file?.fileName ?? 'program'}: ${message}`;
  });
}

/**
 * Every schema problem of `objects`, one line each; empty when all are valid. One call type-checks
 * all of them in one TypeScript program, which is most of the cost, so pass everything at once.
 */
function schemaProblems(objects: readonly Labelled[]): string[] {
  const problems: string[] = [];
  const known: Labelled[] = [];
  for (const entry of objects) {
    const { object, label } = entry;
    const schema = SCHEMAS[`${object.apiVersion}/${object.kind}`];
    if (schema === undefined) {
      problems.push(`${label}: no schema for ${object.apiVersion} ${object.kind} in this test`);
      continue;
    }
    known.push(entry);
    try {
      new schema.model(object).validate();
    } catch (error) {
      problems.push(`${label}: ${(error as Error).message}`);
    }
  }
  return [...problems, ...unknownFieldProblems(known)];
}

// ---------------------------------------------------------------------------------------------
// Building

const scratch = mkdtempSync(join(tmpdir(), 'zexa-kustomize-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function kustomize(dir: string): K8sObject[] {
  const output = execFileSync(kubectl.path ?? 'kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(output).map((document) => {
    if (document.errors.length > 0) throw new Error(`kustomize output of ${dir}: ${document.errors.join('; ')}`);
    return document.toJS() as K8sObject;
  });
}

/** A component cannot be built alone: build it on top of base, as an overlay would. */
function kustomizeComponent(component: string): K8sObject[] {
  const dir = mkdtempSync(join(scratch, `${component}-`));
  const root = relative(dir, KUBERNETES_DIR);
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'namespace: monitoring',
      'resources:',
      `  - ${root}/base`,
      'components:',
      `  - ${root}/components/${component}`,
      '',
    ].join('\n'),
  );
  return kustomize(dir);
}

function subdirectories(dir: string): string[] {
  return readdirSync(join(KUBERNETES_DIR, dir)).filter((entry) =>
    statSync(join(KUBERNETES_DIR, dir, entry)).isDirectory(),
  );
}

const OVERLAYS = subdirectories('overlays');
const COMPONENTS = subdirectories('components');

// ---------------------------------------------------------------------------------------------
// Reading built objects

function ofKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

function only(objects: readonly K8sObject[], kind: string): K8sObject {
  const found = ofKind(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as K8sObject;
}

function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? (value as Json[]) : [];
}

interface Workload {
  object: K8sObject;
  pod: Json;
  container: Json;
}

function workloads(objects: readonly K8sObject[]): Workload[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .map((object) => {
      const pod = at(object, 'spec', 'template', 'spec') as Json;
      const container = list(pod.containers).find((c) => c.name === 'zexa-exporter');
      if (container === undefined) throw new Error(`${describeObject(object)} has no zexa-exporter container`);
      return { object, pod, container };
    });
}

function env(container: Json): Json[] {
  return list(container.env);
}

function envValue(container: Json, name: string): string | undefined {
  const found = env(container).find((e) => e.name === name)?.value;
  return typeof found === 'string' ? found : undefined;
}

/** Kubernetes' $(VAR) expansion, enough for the manifests here. */
function expand(value: string, variables: Record<string, string>): string {
  return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => variables[name] ?? whole);
}

/**
 * Loads the exporter's real configuration as the pod would see it: the env of the container,
 * the config file from its ConfigMap, and the Secret's keys as files next to the kubelet's
 * `..data` bookkeeping entries.
 */
function configOfPod(objects: readonly K8sObject[], workload: Workload, podEnv: Record<string, string> = {}): Config {
  const volumes = list(workload.pod.volumes);
  const mounts = list(workload.container.volumeMounts);
  const files = new Map<string, string>();
  const dirs = new Map<string, string[]>();
  for (const mount of mounts) {
    const volume = volumes.find((v) => v.name === mount.name);
    const mountPath = String(mount.mountPath);
    const configMapName = at(volume, 'configMap', 'name');
    const secretName = at(volume, 'secret', 'secretName');
    let data: Record<string, string>;
    if (configMapName !== undefined) {
      const configMap = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name === configMapName);
      data = (configMap?.data ?? {}) as Record<string, string>;
    } else if (secretName !== undefined) {
      const secret = ofKind(objects, 'Secret').find((s) => s.metadata.name === secretName);
      // Base alone has no Secret (the user brings it): stand in one placeholder account.
      const encoded = (secret?.data ?? { placeholder: Buffer.from(PLACEHOLDER_KEY).toString('base64') }) as Record<
        string,
        string
      >;
      data = Object.fromEntries(
        Object.entries(encoded).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    } else {
      continue;
    }
    dirs.set(mountPath, ['..data', '..2025_01_01_00_00_00.000000000', ...Object.keys(data)]);
    for (const [key, value] of Object.entries(data)) files.set(`${mountPath}/${key}`, value);
  }
  const variables: Record<string, string> = { ...podEnv };
  for (const entry of env(workload.container)) {
    if (typeof entry.value === 'string') variables[String(entry.name)] = expand(entry.value, variables);
  }
  const enoent = (path: string): Error => Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return loadConfig({
    argv: [],
    env: variables,
    readFile(path) {
      if (dirs.has(path)) throw Object.assign(new Error(`EISDIR: ${path}`), { code: 'EISDIR' });
      const content = files.get(path);
      if (content === undefined) throw enoent(path);
      return content;
    },
    readDir(path) {
      const entries = dirs.get(path);
      if (entries === undefined) throw enoent(path);
      return entries;
    },
  });
}

// ---------------------------------------------------------------------------------------------

describe('the schema check itself', () => {
  it('rejects a field of the wrong type', () => {
    const broken = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'broken' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { spec: { containers: [{ name: 'c', image: 'i', securityContext: { runAsUser: 'root' } }] } },
      },
    } as K8sObject;
    expect(schemaProblems(labelled([broken])).join('\n')).toMatch(/Deployment\/broken: .*runAsUser must be integer/);
  });

  it('rejects a misspelt field at any depth, in Kubernetes and prometheus-operator objects alike', () => {
    const misspeltSecurity = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'misspelt' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          spec: { containers: [{ name: 'c', image: 'i', securityContext: { readOnlyRootFileSystem: true } }] },
        },
      },
    } as K8sObject;
    const misspeltInterval = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'misspelt' },
      spec: { selector: {}, endpoints: [{ port: 'metrics', intervall: '30s' }] },
    } as K8sObject;
    const problems = schemaProblems(labelled([misspeltSecurity, misspeltInterval]));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^Deployment\/misspelt: .*readOnlyRootFileSystem.* does not exist in type 'ISecurityContext'/,
    );
    expect(problems[1]).toMatch(/^ServiceMonitor\/misspelt: .*intervall.* does not exist in type/);
  });

  it('rejects a kind it has no schema for instead of waving it through', () => {
    const unknownKind = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } } as K8sObject;
    expect(schemaProblems(labelled([unknownKind]))).toEqual(['Pod/p: no schema for v1 Pod in this test']);
  });
});

describe.skipIf(kubectlUnusable)('deploy/kubernetes', () => {
  const builds = new Map<string, K8sObject[]>();

  beforeAll(() => {
    builds.set('base', kustomize(join(KUBERNETES_DIR, 'base')));
    for (const overlay of OVERLAYS)
      builds.set(`overlays/${overlay}`, kustomize(join(KUBERNETES_DIR, 'overlays', overlay)));
    for (const component of COMPONENTS) builds.set(`components/${component}`, kustomizeComponent(component));
    // Six kubectl runs of a few hundred ms each: far above the default hook timeout on a busy CI box.
  }, 120_000);

  function build(name: string): K8sObject[] {
    const objects = builds.get(name);
    if (objects === undefined) throw new Error(`${name} was not built`);
    return objects;
  }

  it('has the overlays and components the docs describe', () => {
    expect(OVERLAYS.sort()).toEqual(['example', 'sharded']);
    expect(COMPONENTS.sort()).toEqual(['grafana-dashboard', 'prometheus-operator', 'sharded']);
  });

  it('validates every built object against the Kubernetes and prometheus-operator schemas', () => {
    const all = [...builds.entries()].flatMap(([name, objects]) => labelled(objects, name));
    expect(all.length).toBeGreaterThan(20);
    expect(schemaProblems(all)).toEqual([]);
  });

  it('runs every workload locked down: non-root, read-only root filesystem, no privileges', () => {
    const all = [...builds.values()].flatMap(workloads);
    expect(all.length).toBeGreaterThanOrEqual(builds.size);
    for (const { object, pod, container } of all) {
      const where = describeObject(object);
      expect(at(pod, 'securityContext', 'runAsNonRoot'), where).toBe(true);
      expect(at(pod, 'securityContext', 'runAsUser'), where).toBe(1000);
      expect(at(pod, 'securityContext', 'seccompProfile', 'type'), where).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken, where).toBe(false);
      expect(pod.enableServiceLinks, where).toBe(false);
      for (const hostAccess of ['hostNetwork', 'hostPID', 'hostIPC']) expect(pod[hostAccess], where).toBeUndefined();
      for (const c of [...list(pod.containers), ...list(pod.initContainers)]) {
        const security = c.securityContext as Json | undefined;
        expect(at(security, 'readOnlyRootFilesystem'), where).toBe(true);
        expect(at(security, 'allowPrivilegeEscalation'), where).toBe(false);
        expect(at(security, 'privileged'), where).not.toBe(true);
        expect(at(security, 'capabilities', 'drop'), where).toEqual(['ALL']);
        expect(at(security, 'capabilities', 'add'), where).toBeUndefined();
        expect(at(security, 'runAsUser') ?? 1000, where).not.toBe(0);
      }
      expect(container.ports, where).toEqual([{ name: 'metrics', containerPort: 10025, protocol: 'TCP' }]);
      expect(at(container, 'livenessProbe', 'httpGet'), where).toEqual({ path: '/healthz', port: 'metrics' });
      expect(at(container, 'readinessProbe', 'httpGet'), where).toEqual({ path: '/readyz', port: 'metrics' });
      expect(at(container, 'resources'), where).toEqual({
        requests: { cpu: expect.any(String), memory: expect.any(String) },
        limits: { memory: expect.any(String) },
      });
    }
  });

  it('sizes memory from BENCHMARKS.md: request above the steady RSS at 10,000 accounts, limit 1.5x every measured peak', () => {
    const mebibytes = (quantity: unknown): number => {
      const match = /^(\d+)Mi$/.exec(String(quantity));
      if (match === null) throw new Error(`memory quantity ${String(quantity)} is not in Mi`);
      return Number(match[1]);
    };
    const [base] = workloads(build('base'));
    if (base === undefined) throw new Error('base has no workload');
    const { container } = base;
    const request = mebibytes(at(container, 'resources', 'requests', 'memory')) * 2 ** 20;
    const limit = mebibytes(at(container, 'resources', 'limits', 'memory')) * 2 ** 20;
    // The highest steady RSS of any Node.js version measured: the image runs Node.js 24.
    const steady = rssSteadyHighest('10,000 accounts');
    expect(request, `request against the steady RSS of ${steady.where}`).toBeGreaterThanOrEqual(steady.bytes);
    const peaks = rssPeaks();
    expect(peaks.length, 'peaks found in BENCHMARKS.md').toBeGreaterThanOrEqual(4);
    for (const peak of peaks)
      expect(
        limit,
        `limit against the ${peak.scenario} peak of ${(peak.bytes / 2 ** 20).toFixed(0)} MiB`,
      ).toBeGreaterThanOrEqual(1.5 * peak.bytes);
    // V8's heap ceiling sits below the limit, so the heap fills before the cgroup kills the pod.
    const heap = /--max-old-space-size=(\d+)/.exec(envValue(container, 'NODE_OPTIONS') ?? '');
    expect(heap).not.toBeNull();
    expect(Number(heap?.[1]) * 2 ** 20).toBeLessThan(limit * 0.8);
  });

  it('mounts the keys as a whole Secret volume, so a rotated key reaches the pod without a restart', () => {
    for (const { object, pod, container } of [...builds.values()].flatMap(workloads)) {
      const where = describeObject(object);
      const volume = list(pod.volumes).find((v) => at(v, 'secret', 'secretName') === KEYS_SECRET);
      expect(volume, where).toBeDefined();
      const mode = Number(at(volume, 'secret', 'defaultMode'));
      expect(mode & 0o007, `${where}: key files must not be world-readable`).toBe(0);
      const mount = list(container.volumeMounts).find((m) => m.name === volume?.name);
      // subPath mounts are never updated by the kubelet.
      expect(mount, where).toEqual({ name: volume?.name, mountPath: KEYS_MOUNT, readOnly: true });
      // No key reaches the container through its environment, where `kubectl describe` shows it.
      for (const entry of env(container)) {
        if (/KEY|TOKEN|SECRET|PASSWORD/i.test(String(entry.name)))
          expect(entry.value, `${where} env ${String(entry.name)}`).toBeUndefined();
        expect(at(entry, 'valueFrom', 'secretKeyRef'), `${where} env ${String(entry.name)}`).toBeUndefined();
      }
      expect(container.envFrom, where).toBeUndefined();
    }
  });

  it('resolves every name a workload refers to within the same build', () => {
    for (const [name, objects] of builds) {
      for (const { object, pod } of workloads(objects)) {
        const where = `${name}: ${describeObject(object)}`;
        const namespace = object.metadata.namespace;
        const exists = (kind: string, objectName: unknown): boolean =>
          objects.some((o) => o.kind === kind && o.metadata.name === objectName && o.metadata.namespace === namespace);
        expect(exists('ServiceAccount', pod.serviceAccountName), `${where} serviceAccountName`).toBe(true);
        for (const volume of list(pod.volumes)) {
          const configMap = at(volume, 'configMap', 'name');
          if (configMap !== undefined)
            expect(exists('ConfigMap', configMap), `${where} ConfigMap ${String(configMap)}`).toBe(true);
          const secret = at(volume, 'secret', 'secretName');
          // Base and the components expect the user's Secret; the overlays bring one.
          if (secret !== undefined && name.startsWith('overlays/'))
            expect(exists('Secret', secret), `${where} Secret ${String(secret)}`).toBe(true);
        }
        if (object.kind === 'StatefulSet')
          expect(exists('Service', at(object, 'spec', 'serviceName')), `${where} serviceName`).toBe(true);
      }
    }
  });

  it('loads the exporter configuration the pod sees: one account per key in the Secret', () => {
    for (const [name, objects] of builds) {
      for (const workload of workloads(objects)) {
        const config = configOfPod(objects, workload, { ZEXA_SHARD_INDEX: '0' });
        const secret = ofKind(objects, 'Secret').find((s) => s.metadata.name === KEYS_SECRET);
        const expected = secret === undefined ? ['placeholder'] : Object.keys((secret.data ?? {}) as Json).sort();
        expect(
          config.accounts.map((a) => a.name),
          name,
        ).toEqual(expected);
        expect(
          config.accounts.every((a) => a.key.kind === 'file' && a.key.path.startsWith(`${KEYS_MOUNT}/`)),
          name,
        ).toBe(true);
        expect(config.web.port, name).toBe(10025);
        expect(config.configFile, name).toBe(envValue(workload.container, 'ZEXA_EXPORTER_CONFIG'));
      }
    }
  });

  it('serves the metrics port through the Service and scrapes it with the ServiceMonitor, as job="zexa"', () => {
    const objects = build('overlays/example');
    const service = only(objects, 'Service');
    const podLabels = at(only(objects, 'Deployment'), 'spec', 'template', 'metadata', 'labels') as Json;
    expect(at(service, 'spec', 'ports')).toEqual([
      { name: 'metrics', port: 10025, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    expect(podLabels).toMatchObject(at(service, 'spec', 'selector') as Json);

    const monitor = only(objects, 'ServiceMonitor');
    expect(service.metadata.labels).toMatchObject(at(monitor, 'spec', 'selector', 'matchLabels') as Json);
    const endpoints = list(at(monitor, 'spec', 'endpoints'));
    expect(endpoints.map((e) => e.port)).toEqual(['metrics']);
    // Every job the alerts and the dashboard select on is the job the ServiceMonitor gives the
    // exporter's targets (the dashboard's JSON escapes the quotes).
    const selected = [SOURCES.alerts, SOURCES.dashboard].flatMap((path) =>
      [...readFileSync(path, 'utf8').matchAll(/\bjob=\\?"([^"\\]+)\\?"/g)].map((m) => m[1]),
    );
    expect(selected.length).toBeGreaterThan(0);
    const relabeledJob = list(endpoints[0]?.relabelings).find((r) => r.targetLabel === 'job')?.replacement;
    expect([...new Set(selected)]).toEqual([relabeledJob]);
  });

  it('carries exactly the groups of prometheus/alerts.yml in the PrometheusRule', () => {
    expect(
      existsSync(SOURCES.alerts),
      'prometheus/alerts.yml is missing: the PrometheusRule has nothing to match',
    ).toBe(true);
    const alerts = parse(readFileSync(SOURCES.alerts, 'utf8')) as Json;
    expect(Array.isArray(alerts.groups) && alerts.groups.length > 0).toBe(true);
    for (const name of ['overlays/example', 'components/prometheus-operator']) {
      expect(at(only(build(name), 'PrometheusRule'), 'spec', 'groups'), name).toEqual(alerts.groups);
    }
  });

  it('carries grafana/dashboards/zexa-credits.json unchanged in a ConfigMap the Grafana sidecar loads', () => {
    expect(
      existsSync(SOURCES.dashboard),
      'grafana/dashboards/zexa-credits.json is missing: the dashboard ConfigMap has nothing to match',
    ).toBe(true);
    const dashboard = readFileSync(SOURCES.dashboard, 'utf8');
    for (const name of ['overlays/example', 'components/grafana-dashboard']) {
      const configMap = ofKind(build(name), 'ConfigMap').find((c) => c.metadata.labels?.grafana_dashboard === '1');
      expect(configMap, name).toBeDefined();
      expect(at(configMap, 'data', DASHBOARD_KEY), name).toBe(dashboard);
    }
  });

  it('has every generated file up to date with its source', () => {
    expect(syncProblems()).toEqual([]);
  });

  it('derives each StatefulSet pod shard from its ordinal, and the shard count from the replica count', () => {
    for (const name of ['overlays/sharded', 'components/sharded']) {
      const objects = build(name);
      expect(ofKind(objects, 'Deployment'), name).toEqual([]);
      const workload = workloads(objects)[0] as Workload;
      const replicas = Number(at(workload.object, 'spec', 'replicas'));
      expect(replicas, name).toBeGreaterThan(1);
      const shardEnv = env(workload.container).filter((e) => String(e.name).startsWith('ZEXA_SHARD'));
      // $(VAR) only expands variables defined earlier in the list.
      expect(shardEnv, name).toEqual([
        {
          name: 'ZEXA_SHARD_INDEX',
          valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } },
        },
        { name: 'ZEXA_SHARD', value: `$(ZEXA_SHARD_INDEX)/${replicas}` },
      ]);
      for (let ordinal = 0; ordinal < replicas; ordinal++) {
        expect(
          configOfPod(objects, workload, { ZEXA_SHARD_INDEX: String(ordinal) }).shard,
          `${name} pod ${ordinal}`,
        ).toEqual({
          index: ordinal,
          count: replicas,
        });
      }
    }
    expect(Number(at(only(build('overlays/sharded'), 'StatefulSet'), 'spec', 'replicas'))).toBe(3);
  });

  it('gives the StatefulSet the same pod as the Deployment, plus the shard', () => {
    const deployment = only(build('overlays/example'), 'Deployment');
    const statefulSet = only(build('overlays/sharded'), 'StatefulSet');
    const template = structuredClone(at(statefulSet, 'spec', 'template')) as Json;
    const container = list(at(template, 'spec', 'containers'))[0] as Json;
    container.env = env(container).filter((e) => !String(e.name).startsWith('ZEXA_SHARD'));
    expect(template).toEqual(at(deployment, 'spec', 'template'));
    expect(at(statefulSet, 'spec', 'selector')).toEqual(at(deployment, 'spec', 'selector'));
  });

  it('pins the image to the version in package.json, never :latest', () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const [name, objects] of builds) {
      for (const { object, container } of workloads(objects)) {
        expect(String(container.image), `${name}: ${describeObject(object)}`).toMatch(
          new RegExp(`:${version.replaceAll('.', '\\.')}$`),
        );
      }
    }
  });

  it('has no key in any manifest: only the overlays carry a Secret, with placeholders only', () => {
    for (const [name, objects] of builds) {
      for (const secret of ofKind(objects, 'Secret')) {
        expect(name.startsWith('overlays/'), `${name} has a Secret`).toBe(true);
        expect(secret.stringData, name).toBeUndefined();
        const data = Object.entries((secret.data ?? {}) as Record<string, string>);
        expect(data.length, name).toBeGreaterThan(0);
        for (const [account, encoded] of data) {
          expect(account, `${name}: Secret key ${account} must be an account name`).toMatch(ACCOUNT_NAME);
          // Compared as a boolean: a failure message must not echo what may be a real key.
          const isPlaceholder = Buffer.from(encoded, 'base64').toString('utf8') === PLACEHOLDER_KEY;
          expect(isPlaceholder, `${name}: Secret key ${account} holds something other than ${PLACEHOLDER_KEY}`).toBe(
            true,
          );
        }
      }
    }
    // The sources: the Secret only ever comes from the example overlay's generator.
    const sources = walk(KUBERNETES_DIR);
    for (const path of sources) {
      const text = readFileSync(path, 'utf8');
      const where = relative(REPO_ROOT, path);
      expect(/^kind:\s*Secret\s*$/m.test(text), `${where} defines a Secret`).toBe(false);
      expect(/\bBearer\s+\S/.test(text), `${where} holds a Bearer token`).toBe(false);
      if (/secretGenerator/.test(text))
        expect(where).toMatch(/^deploy\/kubernetes\/overlays\/[a-z-]+\/kustomization\.yaml$/);
      // Anything long and random-looking outside the generated copies is a key until proven otherwise.
      if (!Object.values(TARGETS).includes(path as never)) {
        const suspectLines = text
          .split('\n')
          .flatMap((line, i) =>
            [...line.matchAll(/[A-Za-z0-9_+/=-]{24,}/g)].some(
              ([token]) => /[a-z]/.test(token) && /[A-Z]/.test(token) && /[0-9]/.test(token),
            )
              ? [i + 1]
              : [],
          );
        expect(suspectLines, `${where}: lines with a long random-looking token`).toEqual([]);
      }
    }
    for (const overlay of OVERLAYS) {
      const kustomization = parse(
        readFileSync(join(KUBERNETES_DIR, 'overlays', overlay, 'kustomization.yaml'), 'utf8'),
      ) as Json;
      for (const generator of list(kustomization.secretGenerator)) {
        // Literals only: a `files:` or `envs:` entry would be a key file sitting in the repository.
        expect(Object.keys(generator).sort(), overlay).toEqual(['literals', 'name', 'options']);
        const literals = list(generator.literals) as unknown as string[];
        expect(literals.length, overlay).toBeGreaterThan(0);
        for (const [i, literal] of literals.entries()) {
          const isPlaceholder = new RegExp(`^[a-z0-9_]{1,64}=${PLACEHOLDER_KEY}$`).test(literal);
          expect(isPlaceholder, `${overlay}: secretGenerator literal ${i + 1} is not ACCOUNT=${PLACEHOLDER_KEY}`).toBe(
            true,
          );
        }
      }
    }
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
