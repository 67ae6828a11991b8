/**
 * Tests wait for facts, never for a fixed time: a row exists, a subscription is registered, a
 * log line appeared. The timeout only bounds how long a broken system is given before the test
 * fails; reaching the fact sooner moves on at once.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, { timeout = 10_000, what = 'condition' }: { timeout?: number; what?: string } = {}): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * For a server in another process, whose subscriptions cannot be counted: repeats `probe` (a
 * write that publishes an event) until `received` says the event reached the subscribers. An
 * event arriving is the proof that the subscription is registered.
 */
export async function probeUntil(received: () => boolean, probe: () => Promise<unknown>, { timeout = 30_000, what = 'probe event' }: { timeout?: number; what?: string } = {}): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    await probe();
    try {
      // How long one probe is given before the next is sent; it decides no outcome.
      await waitFor(received, { timeout: 1000, what });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}
