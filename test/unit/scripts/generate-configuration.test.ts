/**
 * docs/configuration.md is generated from the settings table (scripts/generate-configuration.ts);
 * this fails while the committed page differs from what the generator writes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_PATH, renderConfigurationPage } from '../../../scripts/generate-configuration.js';
import { SETTING_LIST } from '../../../src/config/settings.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('docs/configuration.md', () => {
  it('is what `npm run generate` makes of the settings table', () => {
    const committed = readFileSync(join(ROOT, CONFIGURATION_PATH), 'utf8');
    expect(committed, `${CONFIGURATION_PATH} is out of date: run npm run generate`).toBe(renderConfigurationPage());
  });

  it('has one row per setting of the table, in its order, under Settings', () => {
    const page = renderConfigurationPage();
    const section = page.slice(page.indexOf('\n## Settings\n'), page.indexOf('\n## Keys\n'));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
    expect(rows).toEqual(SETTING_LIST.map((s) => s.env));
  });
});
