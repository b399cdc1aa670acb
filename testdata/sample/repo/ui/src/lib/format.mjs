// Formatting helpers for values shown in the UI.

/**
 * pluralize returns "1 model", "2 models", "0 models".
 * @param {number} count
 * @param {string} word the singular form
 * @param {string} [plural] the plural form, default word + "s"
 */
export function pluralize(count, word, plural = `${word}s`) {
  return `${count} ${count === 1 ? word : plural}`;
}

/**
 * truncate cuts text to at most max characters, ending with "…" when cut.
 * @param {string} text
 * @param {number} max
 */
export function truncate(text, max) {
  if (text.length <= max) return text;
  if (max <= 1) return '…'.slice(0, max);
  return `${text.slice(0, max - 1)}…`;
}

/**
 * formatBytes renders a byte count with binary units.
 *
 * Below 1024 it is "<n> B". Otherwise the value is divided by 1024 until it
 * is below 1024 (or the unit is TiB), rounded to one decimal, with a
 * trailing ".0" dropped, and followed by the unit: KiB, MiB, GiB or TiB
 * (1536 → "1.5 KiB", 1048576 → "1 MiB"). A negative, non-finite or
 * non-number input throws a RangeError.
 * @param {number} n
 * @returns {string}
 */
export function formatBytes(n) {
  return '';
}
