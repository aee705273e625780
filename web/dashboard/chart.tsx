// A uPlot chart as a Preact component: created once when mounted (its spec is fixed), fed new
// data on every render. `testId`, `points` and `total` end up as data-* attributes, so a test (or
// a curious person) can see what the chart holds without reading pixels.
import type uPlot from 'uplot'
import { useEffect, useRef } from 'preact/hooks'
import { mountChart, type ChartSpec } from '../common/chart.js'

export interface ChartProps {
  title: string
  spec: ChartSpec
  data: uPlot.AlignedData
  /** data-chart: which chart this is (a proxy name, `rtt`, ...). */
  name: string
  /** data-total: a number that grows with what the chart shows (bytes, samples). */
  total?: number
}

export function Chart ({ title, spec, data, name, total }: ChartProps): preact.JSX.Element {
  const box = useRef<HTMLDivElement>(null)
  const chart = useRef<ReturnType<typeof mountChart> | undefined>(undefined)
  useEffect(() => {
    if (box.current === null) return
    chart.current = mountChart(box.current, spec, data)
    return () => {
      chart.current?.destroy()
      chart.current = undefined
    }
    // The spec is read once: a chart with another spec is another component (keyed by its caller).
  }, [])
  useEffect(() => { chart.current?.plot.setData(data) }, [data])
  return (
    <figure class="chart" data-chart={name} data-points={data[0].length} data-total={total ?? 0}>
      <figcaption>{title}</figcaption>
      <div class="chart-box" ref={box} />
    </figure>
  )
}
