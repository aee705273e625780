// The CLI bundle's stand-in for Intl.Segmenter (issue 21, idle memory): it must split text exactly
// as the real one does, and make no real segmenter (ICU's data) for the text of our help pages.
import { afterEach, describe, expect, it } from 'vitest'
import { LazySegmenter } from '../../cli/lazy-segmenter.js'

const RealSegmenter = Intl.Segmenter
let made = 0
class CountingSegmenter extends RealSegmenter {
  constructor (...args: ConstructorParameters<typeof Intl.Segmenter>) {
    super(...args)
    made++
  }
}

/** Intl.Segmenter is a writable property (its TypeScript type says read-only). */
function setSegmenter (value: typeof Intl.Segmenter): void {
  Object.defineProperty(Intl, 'Segmenter', { value, writable: true, configurable: true })
}

function countRealSegmenters (): void {
  made = 0
  setSegmenter(CountingSegmenter)
}

afterEach(() => { setSegmenter(RealSegmenter) })

const segments = (it: Iterable<Intl.SegmentData>): Array<{ segment: string, index: number }> => Array.from(it, ({ segment, index }) => ({ segment, index }))

const SIMPLE = [
  '',
  'tunnel server -c frps.yml',
  '[string] [default: "./frps.yml"]',
  'TOML (frp’s documented format), a .ini file — “quoted” … 5 × 3 → ≤ ±2 ¬ café Ærø ŝ ǅ ʰ',
]
const COMPLEX = [
  'e\u0301 combining', 'crlf\r\nend', '👍🏽 skin tone', '👨‍👩‍👧 family', '🇩🇪 flag', '한국어', 'क्षि', '\u2764\ufe0f heart', 'tab\there',
]

describe('the bundle\'s Intl.Segmenter stand-in', () => {
  it('splits every text into the same graphemes as Intl.Segmenter', () => {
    const real = new RealSegmenter()
    for (const text of [...SIMPLE, ...COMPLEX]) {
      expect(segments(new LazySegmenter().segment(text)), text).toEqual(segments(real.segment(text)))
    }
  })

  it('makes no real segmenter for the plain and typographic text of help pages', () => {
    countRealSegmenters()
    const s = new LazySegmenter()
    for (const text of SIMPLE) s.segment(text)
    expect(made).toBe(0)
  })

  it('makes one real segmenter, with its arguments, for the first text that needs one', () => {
    const words = segments(new RealSegmenter('en', { granularity: 'word' }).segment('two words'))
    countRealSegmenters()
    const s = new LazySegmenter('en', { granularity: 'word' })
    expect(made).toBe(0)
    expect(segments(s.segment('two words'))).toEqual(words)
    s.segment('e\u0301')
    expect(s.resolvedOptions().granularity).toBe('word')
    expect(made).toBe(1)
  })
})
