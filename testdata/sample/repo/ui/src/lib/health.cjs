'use strict';

/**
 * healthSummary counts components by status, names the worst status
 * present and lists the components that are down.
 *
 * @param {{name: string, status: string}[]} components
 * @returns {{counts: {ok: number, degraded: number, down: number}, worst: string, down: string[]}}
 */
function healthSummary(components) {
  return { counts: {}, worst: '', down: [] };
}

module.exports = { healthSummary };
