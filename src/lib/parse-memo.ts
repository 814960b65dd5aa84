// What a request body's exact text parsed and validated to, for bodies a
// client sends again and again: a runner's poll repeats the same JSON every
// few seconds, and parsing plus validating it was a sixth of a poll's CPU.
// Only texts whose request then succeeded are remembered (the caller
// decides), so failed guesses cannot fill it; it is bounded and simply
// starts over when full. Values are frozen: every later request with the
// same text shares them.

export class ParseMemo<T> {
  private readonly byText = new Map<string, T>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxTextLength: number,
  ) {}

  get(text: string): T | undefined {
    return this.byText.get(text);
  }

  remember(text: string, value: T): void {
    if (text.length > this.maxTextLength || this.byText.has(text)) return;
    if (this.byText.size >= this.maxEntries) this.byText.clear();
    this.byText.set(text, deepFreeze(value));
  }

  get size(): number {
    return this.byText.size;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
