// A slow job that says how far it got: one log line per step (follow them with
// `taskforge logs <id> -f`), and it stops early, with what it finished, when the time left
// before its timeout would not cover another step.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export default async function slowJob(event, context) {
  const steps = Number.isInteger(event?.steps) ? event.steps : 5;
  const stepMs = Number.isInteger(event?.stepMs) ? event.stepMs : 400;
  const done = [];
  for (let i = 1; i <= steps; i++) {
    if (context.remainingTimeMs() < stepMs * 2) {
      console.warn(`stopping after ${done.length} of ${steps} steps: ${context.remainingTimeMs()} ms left`);
      return { completed: done.length, of: steps, stoppedEarly: true };
    }
    await sleep(stepMs);
    done.push(i);
    console.log(`step ${i}/${steps} done (${Math.round((i / steps) * 100)}%)`);
  }
  return { completed: done.length, of: steps, stoppedEarly: false };
}
