// The lines of the ConfigError that `fn` throws (each `file:line:col path: message (CODE)`), for
// tests of config refusals; anything else thrown is rethrown, and no throw fails the test.
import { ConfigError } from '../../shared/errors.js'

export function configErrorLines (fn: () => unknown): string[] {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n')
    throw err
  }
  throw new Error('expected a ConfigError')
}
