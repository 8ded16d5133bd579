/** Reading the status page's table in a browser, for the Chromium tests. */
import type { Page } from 'playwright-core';

export interface Row {
  name: string;
  state: string;
  balance: string;
  /** The sparkline's title: the balance over the history, and the thresholds drawn. */
  sparkline: string | null;
  /** Whether the sparkline draws a balance line (it has no data before the first success). */
  line: boolean;
  /** The History cell's shown text: the placeholder saying why there is no balance to draw, else ''. */
  history: string;
  burn: string;
  runsOut: string;
  error: string;
  requestId: string | null;
  /** The Key cell: the fingerprint, and a shared-key marker. */
  key: string;
  /** The Key age cell: the age, the key's source and a rotation marker. */
  keyAge: string;
}

/** The table's rows; the columns are found by their headers, so a new column moves nothing. */
export function readRows(page: Page): Promise<Row[]> {
  return page.$$eval('table', (tables) => {
    const table = tables[0];
    if (table === undefined) return [];
    const headers = [...table.querySelectorAll('thead th')].map((th) => (th.textContent ?? '').trim());
    return [...table.querySelectorAll('tbody tr')].map((tr) => {
      const cells = [...tr.querySelectorAll('th, td')];
      // innerText, not textContent: the small print under a value is a block of its own (CSS,
      // no <br>), and the sparkline's <title> is not shown text.
      const text = (header: string): string =>
        ((cells[headers.indexOf(header)] as { innerText?: string } | undefined)?.innerText ?? '')
          .replace(/\s+/g, ' ')
          .trim();
      return {
        name: text('Account'),
        state: text('State'),
        balance: text('Balance'),
        sparkline: tr.querySelector('svg title')?.textContent ?? null,
        line: tr.querySelector('svg path.bl') !== null,
        history: text('History'),
        burn: text('Burn'),
        runsOut: text('Runs out'),
        error: text('Last error'),
        requestId: cells[headers.indexOf('Last error')]?.querySelector('.rid code')?.textContent ?? null,
        key: text('Key'),
        keyAge: text('Key age'),
      };
    });
  });
}
