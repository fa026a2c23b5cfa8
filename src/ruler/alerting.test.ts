import { describe, expect, it } from 'vitest';
import { labelsFromObject, labelsToObject } from '../model/index.js';
import { AlertingRuleState, RuleEvalError, recordSamples, type RuleSample } from './alerting.js';
import { compileRule, type RuleSpec } from './rule-group.js';

const S = 1000;

function alertRule(extra: Partial<RuleSpec> = {}): AlertingRuleState {
  return new AlertingRuleState(compileRule({ alert: 'HighErrors', expr: 'sum by (app) (count_over_time({job="x"}[1m])) > 1', ...extra }, 'g', 0));
}

const sample = (labels: Record<string, string>, value: number): RuleSample => ({ labels: labelsFromObject(labels), value });

describe('alerting rule state', () => {
  it('goes pending, firing after `for`, then resolved and forgotten after 15m', () => {
    const r = alertRule({ for: '2m', labels: { severity: 'page' } });
    const hit = [sample({ __name__: 'ignored', app: 'api' }, 7)];
    const at = (s: number): number => 1_000_000 * S + s * S;

    r.eval(hit, at(0), 0, {}, '');
    expect(r.state()).toBe('pending');
    expect(r.alertsToSend(at(0), 60 * S, 60 * S)).toEqual([]); // pending alerts are never sent
    r.eval(hit, at(60), 0, {}, '');
    expect(r.state()).toBe('pending');
    const out = r.eval(hit, at(120), 0, {}, '');
    expect(r.state()).toBe('firing');
    const a = r.activeAlerts()[0]!;
    expect(labelsToObject(a.labels)).toEqual({ alertname: 'HighErrors', app: 'api', severity: 'page' });
    expect({ activeAt: a.activeAtMs, firedAt: a.firedAtMs }).toEqual({ activeAt: at(0), firedAt: at(120) });
    expect(out.map((s) => [labelsToObject(s.labels), s.value])).toEqual([
      [{ __name__: 'ALERTS', alertname: 'HighErrors', alertstate: 'firing', app: 'api', severity: 'page' }, 1],
      [{ __name__: 'ALERTS_FOR_STATE', alertname: 'HighErrors', app: 'api', severity: 'page' }, Math.floor(at(0) / 1000)],
    ]);

    // Sent once, then only after resend_delay (1m here) has passed.
    const sent = r.alertsToSend(at(120), 60 * S, 10 * S);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.validUntilMs).toBe(at(120) + 4 * 60 * S);
    expect(r.alertsToSend(at(150), 60 * S, 10 * S)).toEqual([]);
    expect(r.alertsToSend(at(181), 60 * S, 10 * S)).toHaveLength(1);

    // The condition stops holding: resolved, sent at once, kept for 15 minutes.
    r.eval([], at(190), 0, {}, '');
    expect(r.state()).toBe('inactive');
    expect(r.activeAlerts()).toEqual([]);
    const resolved = r.alertsToSend(at(190), 60 * S, 10 * S);
    expect(resolved.map((x) => x.resolvedAtMs)).toEqual([at(190)]);
    expect(r.alertsToSend(at(200), 60 * S, 10 * S)).toEqual([]);
    r.eval([], at(190 + 15 * 60), 0, {}, '');
    expect(r.active.size).toBe(1);
    r.eval([], at(191 + 15 * 60), 0, {}, '');
    expect(r.active.size).toBe(0);
  });

  it('drops a pending alert as soon as its condition stops holding', () => {
    const r = alertRule({ for: '5m' });
    r.eval([sample({ app: 'a' }, 2)], 0, 0, {}, '');
    r.eval([], 60 * S, 0, {}, '');
    expect(r.active.size).toBe(0);
    // Coming back starts the `for` period again.
    r.eval([sample({ app: 'a' }, 2)], 120 * S, 0, {}, '');
    expect(r.activeAlerts()[0]!.activeAtMs).toBe(120 * S);
  });

  it('fires on the first evaluation without `for`', () => {
    const r = alertRule();
    r.eval([sample({ app: 'a' }, 2)], 5 * S, 0, {}, '');
    expect(r.state()).toBe('firing');
  });

  it('keeps firing for keep_firing_for after the condition clears', () => {
    const r = alertRule({ keep_firing_for: '30s' });
    r.eval([sample({ app: 'a' }, 2)], 0, 0, {}, '');
    r.eval([], 10 * S, 0, {}, '');
    expect(r.state()).toBe('firing');
    r.eval([], 39 * S, 0, {}, '');
    expect(r.state()).toBe('firing');
    r.eval([], 40 * S, 0, {}, '');
    expect(r.state()).toBe('inactive');
  });

  it('templates labels and annotations with $labels, $value and $externalLabels', () => {
    const r = alertRule({ labels: { team: '{{ $labels.app }}-team' }, annotations: { summary: '{{ $labels.app }}: {{ $value }} errors in {{ $externalLabels.cluster }}', missing: '[{{ $labels.nope }}]' } });
    r.eval([sample({ app: 'api' }, 12.5)], 0, 0, { cluster: 'eu-1' }, '');
    const a = r.activeAlerts()[0]!;
    expect(labelsToObject(a.labels)).toEqual({ alertname: 'HighErrors', app: 'api', team: 'api-team' });
    expect(a.annotations).toEqual({ summary: 'api: 12.5 errors in eu-1', missing: '[]' });
  });

  it('fails on duplicate label sets and on exceeding the limit', () => {
    const r = alertRule({ labels: { app: 'same' } });
    expect(() => r.eval([sample({ app: 'a' }, 2), sample({ app: 'b' }, 3)], 0, 0, {}, '')).toThrow(new RuleEvalError('vector contains metrics with the same labelset after applying alert labels'));
    const l = alertRule();
    expect(() => l.eval([sample({ app: 'a' }, 2), sample({ app: 'b' }, 3), sample({ app: 'c' }, 3)], 0, 2, {}, '')).toThrow('exceeded limit of 2 with 3 alerts');
    expect(l.active.size).toBe(0);
  });
});

describe('recording rule', () => {
  const rule = compileRule({ record: 'app:lines:rate1m', expr: 'sum by (app) (rate({job="x"}[1m]))', labels: { source: 'silt', app: '' } }, 'g', 0);

  it('names the series, applies labels (empty deletes) and keeps values', () => {
    const out = recordSamples(rule, [sample({ app: 'a', env: 'p' }, 1.5), sample({ env: 'q' }, 2)], 42, 0);
    expect(out.map((s) => [labelsToObject(s.labels), s.tsMs, s.value])).toEqual([
      [{ __name__: 'app:lines:rate1m', env: 'p', source: 'silt' }, 42, 1.5],
      [{ __name__: 'app:lines:rate1m', env: 'q', source: 'silt' }, 42, 2],
    ]);
  });

  it('rejects duplicate series and results over the limit', () => {
    expect(() => recordSamples(rule, [sample({ app: 'a' }, 1), sample({ app: 'b' }, 2)], 0, 0)).toThrow('vector contains metrics with the same labelset after applying rule labels');
    expect(() => recordSamples(rule, [sample({ env: 'a' }, 1), sample({ env: 'b' }, 2)], 0, 1)).toThrow('exceeded limit of 1 with 2 series');
  });
});
