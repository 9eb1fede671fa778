/**
 * The "Why Sortition" section of README.md shows `sortition simulate` commands and their output.
 * This runs each of those commands with the built binary, in an empty folder, and requires exactly
 * the output the README shows: the numbers there are a real run's, and stay so.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const readmePath = fileURLToPath(new URL('../../../README.md', import.meta.url));

interface ReadmeExample {
  readonly command: string;
  readonly args: readonly string[];
  readonly output: string;
}

/** The `sortition simulate` commands of the section, each with the text block that follows it. */
function simulateExamples(readme: string): ReadmeExample[] {
  const start = readme.indexOf('\n## Why Sortition\n');
  if (start < 0) throw new Error('README.md has no "## Why Sortition" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1] ?? '', body: m[2] ?? '' }));
  const examples: ReadmeExample[] = [];
  blocks.forEach((block, i) => {
    const command = block.body.trim();
    if (block.lang !== 'sh' || !command.startsWith('sortition simulate')) return;
    const next = blocks[i + 1];
    if (next?.lang !== 'text') throw new Error(`README.md: "${command}" is not followed by a text block with its output`);
    if (command.includes('\n') || /["'$\\|&;<>]/.test(command)) throw new Error(`README.md: "${command}" must be one plain command line`);
    examples.push({ command, args: command.split(/\s+/).slice(1), output: next.body.replace(/\n$/, '') });
  });
  return examples;
}

const readme = await readFile(readmePath, 'utf8');
const examples = simulateExamples(readme);
const dir = await mkdtemp(join(tmpdir(), 'sortition-readme-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('README.md, "Why Sortition"', () => {
  it('shows the default post-mortem run, replicates, and the partitioned ramp', () => {
    expect(examples.map((e) => e.command)).toEqual(expect.arrayContaining(['sortition simulate postmortem']));
    expect(examples.some((e) => e.args.includes('--replicates') && e.args[1] === 'postmortem')).toBe(true);
    expect(examples.some((e) => e.args[1] === 'partitioned-ramp')).toBe(true);
  });

  it.each(examples.map((e, i) => [e.command, i] as const))('%s prints what the README shows', async (_command, i) => {
    const example = examples[i]!;
    const cwd = await mkdtemp(join(dir, 'run-'));
    const { stdout } = await run(process.execPath, [bin, ...example.args], { cwd, maxBuffer: 16 * 1024 * 1024 });
    expect(stdout.replace(/\n$/, '')).toBe(example.output);
  });
});

describe('simulateExamples', () => {
  it('pairs each command with the text block after it and refuses a command without output', () => {
    const text = '# x\n\n## Why Sortition\n\n```sh\nsortition simulate postmortem --users 100\n```\n\n```text\nline 1\nline 2\n```\n\n## Next\n\n```sh\nsortition simulate other\n```\n';
    expect(simulateExamples(text)).toEqual([{ command: 'sortition simulate postmortem --users 100', args: ['simulate', 'postmortem', '--users', '100'], output: 'line 1\nline 2' }]);
    expect(() => simulateExamples('\n## Why Sortition\n\n```sh\nsortition simulate postmortem\n```\n')).toThrow(/not followed by a text block/);
    expect(() => simulateExamples('# nothing\n')).toThrow(/no "## Why Sortition" section/);
  });
});
