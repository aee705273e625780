// A stand-in for Intl.Segmenter in the CLI bundle: tools/bundle-cli.mjs injects it wherever the
// bundled libraries write `Intl.Segmenter`. string-width (yargs' help layout, three copies) makes a
// segmenter when it loads, and yargs measures help text with it (a running command's help is no
// longer laid out at start: cli/help-cache.ts). The first real segmenter makes V8 load ICU's
// segmentation data: 2.5 MiB of RSS for the whole life of an idle relay or client (issue 21,
// measured in a bare node). This one splits text whose every character is a grapheme cluster of
// its own (UAX #29) without ICU, and hands any other text to a real Intl.Segmenter made with the
// same arguments the first time one is needed.

/**
 * Text made only of these code points splits into one grapheme cluster per code point: their
 * Grapheme_Cluster_Break property is Other (or Control, for U+00AD), and UAX #29 breaks between any
 * two such (rule GB999; Control breaks on both sides). None is CR or LF, a combining mark, a
 * joiner, a variation selector, Hangul jamo or a regional indicator, the code points that join
 * clusters. Printable ASCII, Latin-1 and Latin Extended letters, spacing modifiers, general
 * punctuation (dashes, quotes, ellipsis), arrows and mathematical operators.
 */
const SINGLE_CODE_POINT_CLUSTERS = /^[\x20-\x7e\u00a0-\u02ff\u2010-\u2027\u2030-\u205e\u2190-\u22ff]*$/

export class LazySegmenter {
  readonly #locales: string | string[] | undefined
  readonly #options: Intl.SegmenterOptions | undefined
  #real: Intl.Segmenter | undefined

  constructor (locales?: string | string[], options?: Intl.SegmenterOptions) {
    this.#locales = locales
    this.#options = options
  }

  /** The segments of `input`: plain objects for simple text, else the real segmenter's. */
  segment (input: string): Iterable<Intl.SegmentData> {
    if ((this.#options?.granularity ?? 'grapheme') === 'grapheme' && SINGLE_CODE_POINT_CLUSTERS.test(input)) {
      return Array.from(input, (segment, index) => ({ segment, index, input }))
    }
    return this.#segmenter().segment(input)
  }

  resolvedOptions (): Intl.ResolvedSegmenterOptions {
    return this.#segmenter().resolvedOptions()
  }

  #segmenter (): Intl.Segmenter {
    // globalThis.Intl: the bundle replaces every plain `Intl.Segmenter` with this class.
    this.#real ??= new globalThis.Intl.Segmenter(this.#locales, this.#options)
    return this.#real
  }
}
