/** Control characters, which would break a one-line message. */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A value quoted for a one-line error: 'as given', or JSON-escaped if it holds quotes or control characters. */
export function quote(value: string | undefined): string {
  if (value === undefined) return 'undefined';
  return CONTROL.test(value) || value.includes("'") ? JSON.stringify(value) : `'${value}'`;
}

/** A path shown unquoted in a one-line message: JSON-escaped only if it holds control characters. */
export function oneLine(p: string): string {
  return CONTROL.test(p) ? JSON.stringify(p) : p;
}
