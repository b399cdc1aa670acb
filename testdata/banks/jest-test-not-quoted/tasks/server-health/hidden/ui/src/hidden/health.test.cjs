describe('health', () => {
  test('shows OK', () => {});
  test('shows DOWN', () => {});
});
