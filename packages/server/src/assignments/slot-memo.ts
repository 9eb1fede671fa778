/**
 * Slots remembered per unit. A unit's slot in a layer is a pure function of the layer's slot
 * function (its key, id and slot count) and the unit's canonical id, but each costs an HMAC-SHA256,
 * and assign() computes it on every call: for the experiment's layer, and for each global holdout's
 * layer when no record decides. For a returning unit that is most of what assign() does.
 *
 * assign() is given a view of the config (made once per config) whose layers' slot functions look in
 * the cached state of the unit being assigned first (UnitState.slots), and remember what they
 * compute there. Only while SlotMemo.assign() runs, and only for the very unit id it was given, is
 * the state consulted; any other call computes the slot as the config's own function does. The
 * memo is keyed by the config's slot function itself, so a new config version (or a committed
 * layer's keyed config) never sees a slot computed under another key.
 */
import { assign, type AssignInput, type Assignment, type CompiledConfig, type CompiledExperiment, type CompiledLayer, type SlotFunction } from '@sortition/core';
import type { UnitState } from './unit-state.js';

/** Slot functions remembered per unit (pairs); older ones are dropped beyond this (config versions). */
const MAX_REMEMBERED = 8;

type GlobalHoldout = CompiledExperiment['globalHoldouts'][number];

export class SlotMemo {
  /** The unit being assigned, and its id as assign() will pass it to the slot functions. */
  private state: UnitState | null = null;
  private unitId: unknown = undefined;
  private readonly views = new WeakMap<CompiledConfig, CompiledConfig>();
  /** The last config asked for and its view (almost every call is for the config in force). */
  private lastConfig: CompiledConfig | null = null;
  private lastView: CompiledConfig | null = null;

  /** assign() for the unit whose cached state is `state` (null: nothing remembered). */
  assign(config: CompiledConfig, input: AssignInput, state: UnitState | null): Assignment {
    if (state === null) return assign(config, input);
    const experiment = config.experiments.get(input.experiment);
    if (experiment === undefined) return assign(config, input);
    this.state = state;
    this.unitId = input.units[experiment.layer.unit];
    try {
      return assign(this.view(config), input);
    } finally {
      this.state = null;
      this.unitId = undefined;
    }
  }

  /** `config` with remembering slot functions; everything else is the config's own. */
  view(config: CompiledConfig): CompiledConfig {
    if (config === this.lastConfig && this.lastView !== null) return this.lastView;
    let view = this.views.get(config);
    if (view === undefined) {
      const layers = new Map<CompiledLayer, CompiledLayer>();
      const layer = (l: CompiledLayer): CompiledLayer => {
        let wrapped = layers.get(l);
        if (wrapped === undefined) {
          wrapped = { ...l, slotOf: this.remembering(l.slotOf) };
          layers.set(l, wrapped);
        }
        return wrapped;
      };
      const experiments = new Map<string, CompiledExperiment>();
      for (const [key, e] of config.experiments) {
        experiments.set(key, { ...e, layer: layer(e.layer), globalHoldouts: e.globalHoldouts.map((g): GlobalHoldout => ({ ...g, layer: layer(g.layer) })) });
      }
      view = { ...config, layers: new Map([...config.layers].map(([id, l]) => [id, layer(l)])), experiments };
      this.views.set(config, view);
    }
    this.lastConfig = config;
    this.lastView = view;
    return view;
  }

  private remembering(slotOf: SlotFunction): SlotFunction {
    return (unitId) => {
      const state = this.state;
      if (state === null || unitId !== this.unitId) return slotOf(unitId);
      const slots = (state.slots ??= []);
      for (let i = 0; i < slots.length; i += 2) if (slots[i] === slotOf) return slots[i + 1] as number;
      const slot = slotOf(unitId);
      if (typeof slot === 'number') {
        if (slots.length >= 2 * MAX_REMEMBERED) slots.splice(0, 2);
        slots.push(slotOf, slot);
      }
      return slot;
    };
  }
}
