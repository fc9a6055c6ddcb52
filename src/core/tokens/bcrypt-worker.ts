/**
 * Runs in a worker thread (see hash.ts): bcrypt is deliberately slow, so it must never run on the
 * thread that answers requests. Synchronous calls are right here: this thread does nothing else.
 */
import bcrypt from 'bcryptjs';

export type BcryptTask = { op: 'hash'; secret: string; rounds: number } | { op: 'compare'; secret: string; hash: string };

export default function run(task: BcryptTask): string | boolean {
  if (task.op === 'hash') return bcrypt.hashSync(task.secret, task.rounds);
  try {
    return bcrypt.compareSync(task.secret, task.hash);
  } catch {
    // A malformed hash matches nothing.
    return false;
  }
}
