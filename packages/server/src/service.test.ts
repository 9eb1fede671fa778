/**
 * Graceful shutdown: close() must not wait for SDKs holding the config stream (GET /v1/sdk/stream)
 * open; it ends every stream, and the clients see a clean end of the stream.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from './store/memory.js';
import { startTestService } from './test-support/service.js';

/** Reads a text stream until `until` appears; returns the text read. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: string): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(until)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the stream ended before ${JSON.stringify(until)}; read: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

/** Reads to the end; resolves with whatever came after the first event. */
async function readToEnd(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}

describe('service.close()', () => {
  it('ends every open config stream, resolves, and stops accepting connections', { timeout: 15_000 }, async () => {
    const t = await startTestService(new MemoryStore());
    const sdk = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'stream' } })).body as { secret: string }).secret;
    const open = async (): Promise<ReadableStreamDefaultReader<Uint8Array>> => {
      const response = await fetch(`${t.service.url}/v1/sdk/stream`, { headers: { authorization: `Bearer ${sdk}`, accept: 'text/event-stream' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      const reader = response.body!.getReader();
      expect(await readUntil(reader, '\n\n')).toMatch(/^id: 1\nevent: config\ndata: \{"version":1,/);
      return reader;
    };
    const readers = await Promise.all([open(), open(), open()]);
    const ends = readers.map((reader) => readToEnd(reader));

    await t.service.close();
    // Each client saw its stream end cleanly (no error, nothing more after the first event).
    expect(await Promise.all(ends)).toEqual(['', '', '']);
    await expect(fetch(`${t.service.url}/health`)).rejects.toThrow(/fetch failed/);
    // Closing twice is harmless.
    await t.service.close();
  });
});
