/**
 * The key character rule: a Bearer token is printable ASCII; anything else would be mangled or
 * rejected in the header, and a 401 for a key that merely has a stray character is confusing.
 */
export function isSendableKey(key: string): boolean {
  return /^[\x21-\x7e]+$/.test(key);
}
