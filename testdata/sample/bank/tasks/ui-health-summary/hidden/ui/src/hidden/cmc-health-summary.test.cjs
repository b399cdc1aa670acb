'use strict';

const { healthSummary } = require('../lib/health.cjs');

const components = [
  { name: 'meshery-istio', status: 'ok' },
  { name: 'meshery-linkerd', status: 'down' },
  { name: 'meshery-cilium', status: 'degraded' },
  { name: 'meshery-app-mesh', status: 'down' },
  { name: 'meshery-nsm', status: 'ok' },
];

describe('cmc healthSummary', () => {
  test('counts components by status', () => {
    expect(healthSummary(components).counts).toEqual({ ok: 2, degraded: 1, down: 2 });
    expect(healthSummary([]).counts).toEqual({ ok: 0, degraded: 0, down: 0 });
  });

  test('names the worst status', () => {
    expect(healthSummary(components).worst).toBe('down');
    expect(healthSummary(components.filter((c) => c.status !== 'down')).worst).toBe('degraded');
    expect(healthSummary([]).worst).toBe('ok');
    expect(() => healthSummary([{ name: 'x', status: 'unknown' }])).toThrow(TypeError);
  });

  test('lists the components that are down, sorted', () => {
    expect(healthSummary(components).down).toEqual(['meshery-app-mesh', 'meshery-linkerd']);
    const input = components.slice();
    healthSummary(input);
    expect(input).toEqual(components);
  });
});
