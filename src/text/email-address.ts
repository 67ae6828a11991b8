const DOMAIN = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*';
const DOT_ATOM_LOCAL = '[^\\s@<>(),;:"\\\\]+';
// RFC 5321 §4.1.2 Quoted-string: printable ASCII and spaces, with " and \ escaped by a backslash.
const QUOTED_LOCAL = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*"';
const EMAIL = new RegExp(`^(?:${DOT_ATOM_LOCAL}|${QUOTED_LOCAL})@${DOMAIN}$`);

/** An address as mail carries it: a plain local part, or a quoted one ("john doe"@example.com), at a host name. */
export function isEmailAddress(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

/** An address on the internet: its domain has a dot (no "jane@localhost" from a public form). */
export function isInternetEmailAddress(value: string): boolean {
  return isEmailAddress(value) && value.slice(value.lastIndexOf('@') + 1).includes('.');
}
