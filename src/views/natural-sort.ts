/**
 * Natural order of names: runs of digits compare as numbers, so `a2` comes before `a10`.
 * Numbers of any length compare exactly (by length once leading zeros are dropped, then digit by
 * digit); names equal in that order (`a01` and `a1`) fall back to plain code-unit order, so the
 * order is total and the same on every render.
 */

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      let endA = i;
      while (endA < a.length && isDigit(a.charCodeAt(endA))) endA++;
      let endB = j;
      while (endB < b.length && isDigit(b.charCodeAt(endB))) endB++;
      let startA = i;
      while (startA < endA - 1 && a.charCodeAt(startA) === 48) startA++;
      let startB = j;
      while (startB < endB - 1 && b.charCodeAt(startB) === 48) startB++;
      const lengths = endA - startA - (endB - startB);
      if (lengths !== 0) return lengths;
      for (let k = 0; k < endA - startA; k++) {
        const d = a.charCodeAt(startA + k) - b.charCodeAt(startB + k);
        if (d !== 0) return d;
      }
      i = endA;
      j = endB;
      continue;
    }
    const la = ca >= 65 && ca <= 90 ? ca + 32 : ca;
    const lb = cb >= 65 && cb <= 90 ? cb + 32 : cb;
    if (la !== lb) return la - lb;
    i++;
    j++;
  }
  const rest = a.length - i - (b.length - j);
  if (rest !== 0) return rest;
  return a < b ? -1 : a > b ? 1 : 0;
}
