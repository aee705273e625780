// The shape of frp's auth.tokenSource (token-source.ts reads and checks it); apart so that the
// schema does not import the checks.
import { z } from 'zod'

export const tokenSourceSchema = z.strictObject({
  type: z.enum(['file', 'exec']).describe('Where the token comes from: file (read at start and on reload). frp\'s exec is refused: a config file does not run programs here.'),
  file: z.strictObject({
    path: z.string().min(1).describe('The file holding the token (surrounding whitespace trimmed). Relative to this file\'s directory.'),
  }).optional(),
  exec: z.looseObject({}).optional().describe('frp\'s exec source: refused.'),
}).describe('frp\'s auth.tokenSource: read auth.token from a file instead of writing it here. Not together with auth.token.')

export type TokenSourceInput = z.infer<typeof tokenSourceSchema>
