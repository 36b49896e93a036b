// Configuration through the function's env: deploy with --env GREETING=… --env PUNCTUATION=…
// (the values are stored with the version; only admin and deploy keys can read them back).
export default async function greeter(event, context) {
  const greeting = process.env.GREETING ?? 'Hello';
  const punctuation = process.env.PUNCTUATION ?? '.';
  const name = typeof event?.name === 'string' ? event.name : 'world';
  return { message: `${greeting}, ${name}${punctuation}`, version: context.version };
}
