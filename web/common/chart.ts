// uPlot charts for the dashboards and the bench report: one factory so both look alike. The chart
// takes its container's width (and follows it on resize: phones too), a fixed height, and a
// legend that shows the values under the cursor.
import uPlot from 'uplot'

export interface SeriesSpec {
  label: string
  color: string
  /** The y scale the series is drawn on (default 'y'); a second scale gets its own axis on the right. */
  scale?: string
  /** Value shown in the legend. */
  value?: (v: number | null) => string
  /** Draw as steps (a setting that changes rarely, like an MSS). */
  steps?: boolean
  /** Draw as points only. */
  points?: boolean
  /** Join the line across missing values (curves sampled on another series' grid). */
  spanGaps?: boolean
  /** A dashed line (to tell apart two series that often coincide, like an echo's in and out). */
  dash?: number[]
}

export interface ChartSpec {
  series: SeriesSpec[]
  /** x as a time axis (seconds since the epoch), else a plain number axis. */
  time: boolean
  /** Format of the y axis ticks and of the x values in the legend. */
  yFormat: (v: number) => string
  y2Format?: (v: number) => string
  xFormat?: (v: number) => string
  /** x ticks at whole numbers and log10(2) only (the percentile curve: 0 %, 50 %, 90 %, 99 %, ...). */
  xDecades?: boolean
  xLabel?: string
  height?: number
}

export const COLORS = { in: '#2f7ed8', out: '#e4572e', third: '#2ca58d', fourth: '#8e6cc4', muted: '#888888' } as const

const DEFAULT_HEIGHT_PX = 180
const MIN_WIDTH_PX = 200

export function chartOptions (spec: ChartSpec, width: number): uPlot.Options {
  // One point has no span: uPlot then draws a thousand days; a minute around it reads better.
  const timeRange: uPlot.Scale.Range = (u, min, max) => {
    const xs = u.data[0] ?? []
    if (xs.length > 1) return [min, max]
    const at = xs[0] ?? min
    return [at - 30, at + 30]
  }
  const scales: uPlot.Scales = { x: spec.time ? { time: true, range: timeRange } : { time: false } }
  const scaleNames = new Set(spec.series.map((s) => s.scale ?? 'y'))
  for (const name of scaleNames) scales[name] = { auto: true, range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] }
  const x: uPlot.Axis = {
    ...(spec.xLabel === undefined ? {} : { label: spec.xLabel }),
    ...(spec.xFormat === undefined ? {} : { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => spec.xFormat?.(t) ?? String(t)) }),
    ...(spec.xDecades === true ? { splits: (_u: uPlot, _i: number, _min: number, max: number) => [0, Math.log10(2), ...Array.from({ length: Math.max(0, Math.floor(max)) }, (_, i) => i + 1)] } : {}),
  }
  const axes: uPlot.Axis[] = [x, { scale: 'y', values: (_u, ticks) => ticks.map((t) => spec.yFormat(t)), size: 84 }]
  if (scaleNames.size > 1) {
    const second = [...scaleNames].find((n) => n !== 'y') ?? 'y2'
    axes.push({ scale: second, side: 1, grid: { show: false }, values: (_u, ticks) => ticks.map((t) => (spec.y2Format ?? spec.yFormat)(t)), size: 84 })
  }
  return {
    width: Math.max(MIN_WIDTH_PX, width),
    height: spec.height ?? DEFAULT_HEIGHT_PX,
    scales,
    axes,
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    series: [
      {
        label: spec.xLabel ?? (spec.time ? 'time' : 'x'),
        ...(spec.xFormat === undefined ? {} : { value: (_u: uPlot, v: number | null) => (v === null ? '–' : spec.xFormat?.(v) ?? String(v)) }),
      },
      ...spec.series.map((s): uPlot.Series => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        scale: s.scale ?? 'y',
        spanGaps: s.spanGaps === true,
        ...(s.dash === undefined ? {} : { dash: s.dash }),
        ...(s.value === undefined ? {} : { value: (_u: uPlot, v: number | null) => s.value?.(v) ?? '' }),
        ...(s.steps === true && uPlot.paths.stepped !== undefined ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
        // uPlot shows the points of a sparse series by itself (a lone sample stays visible).
        ...(s.points === true ? { paths: () => null, points: { show: true, size: 6, fill: s.color } } : {}),
      })),
    ],
  }
}

/** A chart in `container` that follows its width; returns the plot and a function that removes it. */
export function mountChart (container: HTMLElement, spec: ChartSpec, data: uPlot.AlignedData): { plot: uPlot, destroy: () => void } {
  const plot = new uPlot(chartOptions(spec, container.clientWidth), data, container)
  const observer = new ResizeObserver(() => {
    const width = Math.max(MIN_WIDTH_PX, container.clientWidth)
    if (Math.abs(width - plot.width) > 1) plot.setSize({ width, height: spec.height ?? DEFAULT_HEIGHT_PX })
  })
  observer.observe(container)
  return { plot, destroy: () => { observer.disconnect(); plot.destroy() } }
}
