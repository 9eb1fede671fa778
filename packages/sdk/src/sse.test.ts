import { describe, expect, it } from 'vitest';
import { EventStreamParser } from './sse.js';

describe('EventStreamParser', () => {
  it('parses events, multi-line data, comments and CRLF', () => {
    const got: [string, string][] = [];
    const p = new EventStreamParser((e, d) => got.push([e, d]));
    p.push(': hello\r\nevent: config\r\ndata: a\r\ndata: b\r\n\r\ndata: plain\n\n');
    expect(got).toEqual([
      ['config', 'a\nb'],
      ['message', 'plain'],
    ]);
  });
});
