import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterComponents } from '../lib/filters.mjs';

const cmcComponents = () => [
  { name: 'virtualservice', displayName: 'Virtual Service', kind: 'VirtualService', model: 'istio' },
  { name: 'service', displayName: 'Service', kind: 'Service', model: 'kubernetes' },
  { name: 'gateway', displayName: 'Gateway', kind: 'Gateway', model: 'istio' },
  { name: 'pod', displayName: 'Pod', kind: 'Pod', model: 'kubernetes' },
  { name: 'httproute', displayName: 'HTTP Route', kind: 'HTTPRoute', model: 'gateway-api' },
];

const cmcNames = (list) => list.map((c) => c.name);

test('cmc filterComponents matches free text in name or displayName', () => {
  const all = cmcComponents();
  assert.deepEqual(cmcNames(filterComponents(all, 'SERVICE')), ['service', 'virtualservice']);
  assert.deepEqual(cmcNames(filterComponents(all, 'virtual   serv')), ['virtualservice']);
  assert.deepEqual(cmcNames(filterComponents(all, 'http route')), ['httproute']);
  assert.deepEqual(filterComponents(all, 'nothing-matches'), []);
});

test('cmc filterComponents applies kind and model qualifiers', () => {
  const all = cmcComponents();
  assert.deepEqual(cmcNames(filterComponents(all, 'model:ISTIO')), ['gateway', 'virtualservice']);
  assert.deepEqual(cmcNames(filterComponents(all, 'kind:service')), ['service']);
  assert.deepEqual(cmcNames(filterComponents(all, 'model:istio gate')), ['gateway']);
  assert.deepEqual(cmcNames(filterComponents(all, 'model:gateway')), []);
  assert.deepEqual(cmcNames(filterComponents(all, 'kind:Pod model:istio')), []);
});

test('cmc filterComponents sorts results and leaves the input intact', () => {
  const all = cmcComponents();
  const before = JSON.stringify(all);
  const got = filterComponents(all, '  ');
  assert.deepEqual(cmcNames(got), ['gateway', 'httproute', 'pod', 'service', 'virtualservice']);
  assert.notEqual(got, all);
  assert.equal(JSON.stringify(all), before);
  const twins = [
    { name: 'b', displayName: 'Same', kind: 'K', model: 'm' },
    { name: 'a', displayName: 'Same', kind: 'K', model: 'm' },
  ];
  assert.deepEqual(cmcNames(filterComponents(twins, '')), ['a', 'b']);
});
