import { describe, expect, it } from 'vitest';
import { loadYaml, withoutTopLevelField } from '../../../src/lib/yaml.js';

describe('withoutTopLevelField', () => {
  it.each([
    ['a block sequence under the key', 'web:\n  port: 1\naccounts:\n  - name: a\n    x: 1\nlog:\n  level: info\n'],
    ['a sequence at the key indentation', 'accounts:\n- name: a\n-\n  name: b\nweb:\n  port: 1\n'],
    ['a flow sequence on the key line', 'accounts: [{name: a}, {name: b}]\nweb: {port: 1}\n'],
    ['a quoted key, comments and blank lines', "# top\n'accounts':\n\n  # an entry\n  - name: a\nweb:\n  port: 1\n"],
    ['a document start marker first', '---\naccounts:\n  - a\nweb:\n  port: 1\n'],
    ['CRLF line ends', 'accounts:\r\n  - name: a\r\nweb:\r\n  port: 1\r\n'],
  ])('leaves the field out and numbers every later line as in the file: %s', (_what, text) => {
    const out = withoutTopLevelField(text, 'accounts');
    expect(out).toBeDefined();
    const { text: left, leftOut } = out as NonNullable<typeof out>;
    expect(left).not.toMatch(/accounts|name: a/);
    const parsed = loadYaml(left, 'the config file', leftOut);
    expect(parsed.ok).toBe(true);
    const { value, lineCounter } = parsed as Extract<typeof parsed, { ok: true }>;
    expect(value).not.toHaveProperty('accounts');
    expect((value as Record<string, unknown>).web).toEqual({ port: 1 });
    const webLine = text.split('\n').findIndex((line) => line.startsWith('web')) + 1;
    expect(lineCounter.linePos(left.indexOf('web')).line).toBe(webLine);
    expect(lineCounter.linePos(left.indexOf('port') === -1 ? 0 : left.indexOf('port')).line).toBe(
      text.split('\n').findIndex((line) => line.includes('port')) + 1,
    );
  });

  it('reports a YAML problem after the field on its line in the file', () => {
    const text = 'accounts:\n  - name: a\n  - name: b\nweb:\n  port: 1\n  port: 2\n';
    const out = withoutTopLevelField(text, 'accounts') as NonNullable<ReturnType<typeof withoutTopLevelField>>;
    const parsed = loadYaml(out.text, 'the config file', out.leftOut);
    expect(parsed).toMatchObject({ ok: false, problems: [{ line: 6, message: 'invalid YAML: duplicate key' }] });
  });

  it('records nothing for lines left out at the end: no later line needs its number', () => {
    const entries = Array.from({ length: 1000 }, (_, i) => `  - name: a${i}\n    apiKeyFile: /k/a${i}\n`).join('');
    expect(withoutTopLevelField(`web:\n  port: 1\naccounts:\n${entries}`, 'accounts')).toEqual({
      text: 'web:\n  port: 1\n',
      leftOut: [],
    });
  });

  it('leaves out nothing else: a field whose name only starts the same stays', () => {
    const text = 'accountsExtra: 1\naccounts_x:\n  - a\n';
    expect(withoutTopLevelField(text, 'accounts')).toEqual({ text, leftOut: [] });
  });

  it.each([
    ['a flow mapping at the top', '{web: {port: 1}, accounts: []}\n'],
    ['a flow sequence continued at column 0', 'accounts: [\n{name: a}\n]\nweb: {port: 1}\n'],
    ['a directive', '%YAML 1.2\n---\nweb: {port: 1}\n'],
    ['a second document', 'web: {port: 1}\n---\naccounts: []\n'],
    ['a complex key', '? accounts\n: []\n'],
    ['a sequence outside the field', 'web:\n- 1\n'],
    ['a scalar continued at column 0', 'shard: "1/\n2"\naccounts: []\n'],
    ['a top-level sequence', '- accounts\n'],
  ])('is not sure, and says so, for %s', (_what, text) => {
    expect(withoutTopLevelField(text, 'accounts')).toBeUndefined();
  });
});
