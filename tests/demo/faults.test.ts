// The fault vocabulary: control-endpoint bodies and the `vagt demo --down/--slow/--error` flags.
import { describe, expect, it } from 'vitest';
import { describeFault, parseFault, parseFaultFlags } from '../../demo/faults.js';
import { SYSTEM_IDS } from '../../demo/systems.js';

describe('parseFaultFlags', () => {
  it('turns flags into faults', () => {
    const r = parseFaultFlags({ down: ['mitid'], slow: ['virk=3s', 'nemkonto=500ms'], error: ['sundhed-dk'] }, SYSTEM_IDS);
    expect(r).toEqual({
      ok: true,
      faults: {
        mitid: { mode: 'down' },
        virk: { mode: 'slow', latency_ms: 3000 },
        nemkonto: { mode: 'slow', latency_ms: 500 },
        'sundhed-dk': { mode: 'error' },
      },
    });
  });

  it('accepts comma-separated lists and a slow system without a duration', () => {
    const r = parseFaultFlags({ down: ['mitid, virk'], slow: ['eindkomst'] }, SYSTEM_IDS);
    expect(r).toEqual({
      ok: true,
      faults: { mitid: { mode: 'down' }, virk: { mode: 'down' }, eindkomst: { mode: 'slow', latency_ms: 3000 } },
    });
    expect(parseFaultFlags({}, SYSTEM_IDS)).toEqual({ ok: true, faults: {} });
  });

  it('reports every problem, one line each', () => {
    const r = parseFaultFlags({ down: ['skat', 'virk'], slow: ['virk=3s', 'mitid=fast', 'nemkonto=10m'] }, SYSTEM_IDS);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      expect.stringMatching(/^--down skat: unknown system; expected one of mitid, nemlog-in, /),
      '--slow virk=3s: virk is already set to down',
      expect.stringMatching(/^--slow mitid=fast: expected ID=DURATION/),
      expect.stringMatching(/^--slow nemkonto=10m: expected ID=DURATION/),
    ]);
  });
});

describe('parseFault', () => {
  it('accepts the four modes and normalises latency', () => {
    expect(parseFault({ mode: 'down' })).toEqual({ ok: true, fault: { mode: 'down' } });
    expect(parseFault({ mode: 'up', latency_ms: 5 })).toEqual({ ok: true, fault: { mode: 'up' } });
    expect(parseFault({ mode: 'error' })).toEqual({ ok: true, fault: { mode: 'error' } });
    expect(parseFault({ mode: 'slow' })).toEqual({ ok: true, fault: { mode: 'slow', latency_ms: 3000 } });
    expect(parseFault({ mode: 'slow', latency_ms: 1234.6 })).toEqual({ ok: true, fault: { mode: 'slow', latency_ms: 1235 } });
    expect(parseFault({ mode: 'slow', latency: '2s' })).toEqual({ ok: true, fault: { mode: 'slow', latency_ms: 2000 } });
  });

  it('rejects bad values with a clear message', () => {
    const bad: [unknown, RegExp][] = [
      [null, /JSON object/],
      [['down'], /JSON object/],
      [{}, /^mode: expected one of up, down, slow, error$/],
      [{ mode: 'DOWN' }, /^mode:/],
      [{ mode: 'slow', latency_ms: '3s' }, /^latency_ms: expected a number/],
      [{ mode: 'slow', latency_ms: 10_000_000 }, /^latency_ms: expected 0 to 120000$/],
      [{ mode: 'slow', latency: 'soon' }, /^latency: expected a duration/],
      [{ mode: 'down', why: 'x' }, /unknown key "why"/],
    ];
    for (const [v, msg] of bad) {
      const r = parseFault(v);
      expect(r.ok, JSON.stringify(v)).toBe(false);
      if (!r.ok) expect(r.error).toMatch(msg);
    }
  });

  it('describes faults for humans', () => {
    expect(describeFault({ mode: 'slow', latency_ms: 3000 })).toBe('slow (3000 ms)');
    expect(describeFault({ mode: 'down' })).toBe('down');
  });
});
