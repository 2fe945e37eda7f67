/**
 * Reading line-oriented input (stdin) for commands that send one message per line.
 *
 * @module
 */

/**
 * Yields the lines of `stream` as they arrive, without the `\n` (other bytes, `\r`
 * included, are kept as they are); empty lines are skipped.
 */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(0);
  for await (const chunk of stream) {
    const joined = new Uint8Array(buf.length + chunk.length);
    joined.set(buf);
    joined.set(chunk, buf.length);
    let start = 0;
    for (let i = 0; i < joined.length; i++) {
      if (joined[i] !== 0x0a) continue;
      if (i > start) yield joined.slice(start, i);
      start = i + 1;
    }
    buf = joined.slice(start);
  }
  if (buf.length) yield buf;
}

/** Reads all of `stream`'s lines (see {@link readLines}). */
export async function readAllLines(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const lines: Uint8Array[] = [];
  for await (const l of readLines(stream)) lines.push(l);
  return lines;
}
