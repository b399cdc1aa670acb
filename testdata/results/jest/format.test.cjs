'use strict';

// A recorded jest run: a pass, a failure with a colour-coded diff, a
// skipped test and a todo.
function formatBytes(n) {
  return n < 1024 ? `${n} B` : `${Math.round(n / 1024)} KiB`;
}

describe('formatBytes', () => {
  test('keeps bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
  });

  describe('units', () => {
    test('scales', () => {
      expect(formatBytes(1536)).toBe('1.5 KiB');
    });
    test.skip('later', () => {});
  });
});

test.todo('todo for later');
