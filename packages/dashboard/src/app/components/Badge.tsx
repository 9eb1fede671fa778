/** Small status labels: planner verdicts, experiment states, SRM outcomes. Text always says it; colour only repeats it. */
import type { ReactNode } from 'react';

export type Tone = 'good' | 'info' | 'warn' | 'bad' | 'neutral';

const VERDICT_TONE: Readonly<Record<string, Tone>> = {
  safe: 'good',
  unchanged: 'neutral',
  declared: 'info',
  refused: 'bad',
  invalid: 'bad',
  running: 'good',
  scheduled: 'info',
  ended: 'neutral',
  ok: 'good',
  warn: 'warn',
  alert: 'bad',
  'insufficient-data': 'neutral',
  'expected-split-unknown': 'neutral',
  rerandomized: 'info',
  undeclared: 'bad',
};

export function Badge({ children, tone }: { readonly children: ReactNode; readonly tone?: Tone }): ReactNode {
  const t = tone ?? (typeof children === 'string' ? (VERDICT_TONE[children] ?? 'neutral') : 'neutral');
  return <span className={`badge badge-${t}`}>{children}</span>;
}
