/** Asserting that no key, nor any 8-character slice of one, appears in some output. */

export function slices(key: string, length = 8): string[] {
  const out: string[] = [];
  for (let i = 0; i + length <= key.length; i++) out.push(key.slice(i, i + length));
  return out;
}

/** Throws naming the slice found (never the key itself) and where. */
export function expectNoKey(where: string, text: string, keys: readonly string[]): void {
  for (const key of keys) {
    for (const slice of slices(key)) {
      if (text.includes(slice)) throw new Error(`${where} contains "${slice}", a slice of a key`);
    }
  }
}
