// A webhook receiver: checks that a push notification has the fields it needs before anything
// acts on it. A bad payload fails the execution with code INVALID_PAYLOAD and the fields at
// fault in error.details, so the sender (or a dead-letter reader) sees exactly what was wrong.
class InvalidPayload extends Error {
  constructor(problems) {
    super(`invalid payload: ${problems.join('; ')}`);
    this.name = 'InvalidPayload';
    this.code = 'INVALID_PAYLOAD';
    this.problems = problems;
  }
}

export default async function webhook(event) {
  const problems = [];
  if (typeof event !== 'object' || event === null) throw new InvalidPayload(['the body must be a JSON object']);
  if (event.event !== 'push') problems.push(`event must be "push", got ${JSON.stringify(event.event)}`);
  if (typeof event.repository?.name !== 'string') problems.push('repository.name must be a string');
  if (!Array.isArray(event.commits) || event.commits.length === 0) problems.push('commits must be a non-empty array');
  else
    event.commits.forEach((c, i) => {
      if (typeof c?.id !== 'string' || typeof c?.message !== 'string') problems.push(`commits[${i}] needs an id and a message`);
    });
  if (problems.length > 0) throw new InvalidPayload(problems);
  console.log(`accepted push to ${event.repository.name}: ${event.commits.length} commit(s)`);
  return {
    accepted: true,
    repository: event.repository.name,
    commits: event.commits.map((c) => ({ id: c.id.slice(0, 7), message: c.message.split('\n')[0], author: c.author ?? 'unknown' })),
  };
}
