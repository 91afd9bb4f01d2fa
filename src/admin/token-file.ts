/**
 * The admin token, read once at start from a file: never from the command
 * line, where `ps` shows it to every user. A file other users can read or
 * write is refused, as ssh refuses such a private key; so is a token too
 * short to hold 128 bits (32 hex characters), which no limit on attempts
 * could keep from being guessed, or one an Authorization header cannot carry.
 */
import fs from 'node:fs';
import { quote } from '../protocol/quote.js';

/** The shortest token taken: 32 hex characters are 128 bits. */
const MIN_TOKEN_CHARS = 32;

/** The token in `file`, trimmed. Throws a one-line error naming the input (`what`), the file and the fix. */
export function readTokenFile(file: string, what: string): string {
  let st: fs.Stats;
  let text: string;
  try {
    st = fs.statSync(file);
    if (!st.isFile()) throw new Error(`${what}: ${quote(file)} is not a file (give a file holding the token)`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new Error(
      `${what}: cannot read ${quote(file)} (${code}); give a file holding the token, readable by this user`,
    );
  }
  if ((st.mode & 0o007) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new Error(
      `${what}: ${quote(file)} is open to other users (mode ${mode}); make it private: chmod 600 ${quote(file)}`,
    );
  }
  const token = text.trim();
  const make = `openssl rand -hex 32 > ${quote(file)}`;
  if (token === '')
    throw new Error(`${what}: ${quote(file)} is empty; write a long random token into it (e.g. ${make})`);
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new Error(
      `${what}: ${quote(file)} holds a space or a character a bearer token cannot carry; write a random hex token into it (e.g. ${make})`,
    );
  }
  if (token.length < MIN_TOKEN_CHARS) {
    throw new Error(
      `${what}: the token in ${quote(file)} is ${token.length} characters; use at least ${MIN_TOKEN_CHARS} random hex characters (128 bits), e.g. ${make}`,
    );
  }
  return token;
}
