/** A value quoted for a one-line error: 'as given', or JSON-escaped if it holds quotes or control characters. */
export function quote(value: string | undefined): string {
  if (value === undefined) return 'undefined';
  return /[\u0000-\u001f\u007f']/.test(value) ? JSON.stringify(value) : `'${value}'`;
}
