/* global document */
/**
 * The browser example: local evaluation with @sortition/sdk from a bootstrap payload (config.json,
 * bundled in; no service needed), an anonymous id kept in localStorage, and the unit's assignment kept
 * in localStorage too (LocalStorageStickyAdapter), so a reload shows the same variant.
 * Bundled by serve.mjs (esbuild); see README.md.
 */
import { LocalStorageStickyAdapter, SortitionClient } from '@sortition/sdk';
import payload from './config.json' with { type: 'json' };

const ID_KEY = 'example:anonymousId';
const EXPERIMENT = 'pay_button';
const DEFAULT = { label: 'Continue', color: '#57606a' };

/** The device's anonymous id: read from localStorage, or created once and stored. */
function anonymousId() {
  try {
    const stored = localStorage.getItem(ID_KEY);
    if (stored !== null && stored !== '') return { id: stored, fresh: false };
    const id = crypto.randomUUID();
    localStorage.setItem(ID_KEY, id);
    return { id, fresh: true };
  } catch {
    // Storage refused (private mode, quota): this page view still gets an id, just not a durable one.
    return { id: crypto.randomUUID(), fresh: true };
  }
}

function show(id, text) {
  const element = document.getElementById(id);
  if (element !== null) element.textContent = text;
}

async function main() {
  const { id, fresh } = anonymousId();
  const client = new SortitionClient({
    payload,
    sticky: new LocalStorageStickyAdapter(localStorage, { onError: (error) => console.warn('sticky write refused', error) }),
    onError: (error) => console.warn('sortition', error.code, error.message),
  });
  await client.ready();
  const result = client.get(EXPERIMENT, { anonymousId: id }, DEFAULT);

  show('experiment', EXPERIMENT);
  show('anonymous-id', id);
  show('id-origin', fresh ? 'new on this load' : 'from localStorage');
  show('variant', result.variant ?? '(none)');
  show('reason', result.errorCode === undefined ? result.reason : `${result.reason} (${result.errorCode})`);
  show('slot', result.assignment?.slot == null ? '-' : String(result.assignment.slot));
  show('sticky', result.assignment?.stickyStatus ?? '-');
  show('config-version', String(client.version));
  const button = document.getElementById('pay');
  if (button !== null) {
    button.textContent = result.value.label;
    button.style.background = result.value.color;
  }
  document.getElementById('forget')?.addEventListener('click', () => {
    localStorage.removeItem(ID_KEY);
    localStorage.removeItem(`sortition:anonymousId:${id}`);
    document.location.reload();
  });
  document.body.dataset.variant = result.variant ?? '';
  document.body.dataset.ready = 'true';
}

main().catch((error) => {
  show('variant', `error: ${error instanceof Error ? error.message : String(error)}`);
  document.body.dataset.ready = 'error';
});
