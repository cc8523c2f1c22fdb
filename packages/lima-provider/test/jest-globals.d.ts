// The jest globals these tests use (jest injects them; assertions use node:assert).
declare global {
  function describe(name: string, fn: () => void): void;
  function it(name: string, fn: () => void | Promise<void>, timeoutMs?: number): void;
  function beforeAll(fn: () => void | Promise<void>, timeoutMs?: number): void;
  function afterAll(fn: () => void | Promise<void>, timeoutMs?: number): void;
}
export {};
