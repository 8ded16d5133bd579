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
  ])('blanks the field and keeps every later line on its number: %s', (_what, text) => {
    const out = withoutTopLevelField(text, 'accounts');
    expect(out).toBeDefined();
    const outLines = (out as string).split('\n');
    const lines = text.split('\n');
    // Every line kept is where it was; the field's lines are empty.
    outLines.forEach((line, i) => expect(line === '' || line === lines[i]).toBe(true));
    const parsed = loadYaml(out as string, 'the config file');
    expect(parsed.ok).toBe(true);
    const value = (parsed as { value: Record<string, unknown> }).value;
    expect(value).not.toHaveProperty('accounts');
    expect(value.web).toEqual({ port: 1 });
  });

  it('drops the blanked lines at the end, so a long list costs nothing to parse', () => {
    const entries = Array.from({ length: 1000 }, (_, i) => `  - name: a${i}\n    apiKeyFile: /k/a${i}\n`).join('');
    expect(withoutTopLevelField(`web:\n  port: 1\naccounts:\n${entries}`, 'accounts')).toBe('web:\n  port: 1\n');
  });

  it('leaves out nothing else: a field whose name only starts the same stays', () => {
    const text = 'accountsExtra: 1\naccounts_x:\n  - a\n';
    expect(withoutTopLevelField(text, 'accounts')).toBe(text);
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
