/** A uPlot line chart that fills its container's width and redraws when its data changes. */
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  stroke: string;
  dash?: number[];
  /** Draw across windows without a value (latency where nothing finished). */
  spanGaps?: boolean;
}

export function Chart({ title, series, data, unit }: { title: string; series: ChartSeries[]; data: uPlot.AlignedData; unit: string }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = (): number => Math.max(240, el.clientWidth);
    const p = new uPlot(
      {
        width: width(),
        height: 180,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor', label: unit, size: 56 }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            width: 2,
            ...(s.dash && { dash: s.dash }),
            spanGaps: s.spanGaps ?? false,
            points: { show: s.spanGaps ?? false, size: 4 },
          })),
        ],
      },
      data,
      el,
    );
    plot.current = p;
    const ro = new ResizeObserver(() => p.setSize({ width: width(), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = null;
    };
    // The chart is made once; its data changes below.
  }, []);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title} chart`} />
    </figure>
  );
}
