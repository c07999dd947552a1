package loadtest

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 860, 340
	padL, padR     = 64, 24
	padT, padB     = 40, 56
)

// barChart is a bar per label with an optional dashed mean line and an
// optional overlay series drawn as a step line (e.g. the planned load).
type barChart struct {
	Title, XLabel, YLabel string
	Labels                []string
	Values                []float64
	// LabelEvery shows every n-th label (0 or 1: all).
	LabelEvery int
	// Mean draws the mean of Values as a dashed line.
	Mean bool
	// Overlay, when as long as Values, is drawn as a step line named
	// OverlayName.
	Overlay     []float64
	OverlayName string
	// Notes are printed under the title, one per line.
	Notes []string
}

func (c barChart) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	top := 0.0
	for i, v := range c.Values {
		top = math.Max(top, v)
		if len(c.Overlay) == len(c.Values) {
			top = math.Max(top, c.Overlay[i])
		}
	}
	step := niceStep(top, 5)
	top = math.Max(step, math.Ceil(top/step)*step)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB-12*len(c.Notes))
	y0 := float64(chartH - padB)
	yOf := func(v float64) float64 { return y0 - v/top*plotH }
	header(p, c.Title, c.Notes)
	// Axes and grid.
	for v := 0.0; v <= top+step/2; v += step {
		y := yOf(v)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e3e3e3"/>`+"\n", padL, y, chartW-padR, y)
		p(`<text x="%d" y="%.1f" text-anchor="end" class="tick">%s</text>`+"\n", padL-6, y+4, formatTick(v))
	}
	n := max(1, len(c.Values))
	slot := plotW / float64(n)
	every := max(1, c.LabelEvery)
	for i, v := range c.Values {
		x := float64(padL) + float64(i)*slot
		bar := math.Max(1, slot*0.8)
		p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#4e79a7"><title>%s: %s</title></rect>`+"\n",
			x+(slot-bar)/2, yOf(v), bar, y0-yOf(v), esc(label(c.Labels, i)), formatTick(v))
		if i%every == 0 {
			p(`<text x="%.1f" y="%.1f" text-anchor="middle" class="tick">%s</text>`+"\n", x+slot/2, y0+16, esc(label(c.Labels, i)))
		}
	}
	if len(c.Overlay) == len(c.Values) && len(c.Values) > 0 {
		p(`<polyline fill="none" stroke="#f28e2b" stroke-width="2" points="`)
		for i, v := range c.Overlay {
			x := float64(padL) + float64(i)*slot
			p("%.1f,%.1f %.1f,%.1f ", x, yOf(v), x+slot, yOf(v))
		}
		p(`"/>` + "\n")
		legend(p, 1, "#f28e2b", "", c.OverlayName)
	}
	if c.Mean && len(c.Values) > 0 {
		sum := 0.0
		for _, v := range c.Values {
			sum += v
		}
		mean := sum / float64(len(c.Values))
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e15759" stroke-width="1.5" stroke-dasharray="6 4"/>`+"\n", padL, yOf(mean), chartW-padR, yOf(mean))
		legend(p, 0, "#e15759", "6 4", fmt.Sprintf("mean %s", formatTick(mean)))
	}
	p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#333"/>`+"\n", padL, y0, chartW-padR, y0)
	p(`<text x="%d" y="%d" text-anchor="middle" class="axis">%s</text>`+"\n", padL+int(plotW)/2, chartH-12, esc(c.XLabel))
	p(`<text x="14" y="%.1f" text-anchor="middle" class="axis" transform="rotate(-90 14 %.1f)">%s</text>`+"\n", y0-plotH/2, y0-plotH/2, esc(c.YLabel))
	p("</svg>\n")
	return bw.Flush()
}

// timeline draws one row per node over simulated time, with the spans it
// was down and what each fault cost.
type timeline struct {
	Title    string
	From, To time.Time
	Rows     []timelineRow
	Notes    []string
}

type timelineRow struct {
	Name string
	Down []downSpan
}

type downSpan struct {
	From, To time.Time // To zero: down until the end
	Label    string
}

func (t timeline) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	header(p, t.Title, t.Notes)
	plotW := float64(chartW - padL - padR)
	span := t.To.Sub(t.From)
	if span <= 0 {
		span = time.Hour
	}
	xOf := func(at time.Time) float64 {
		f := float64(at.Sub(t.From)) / float64(span)
		return float64(padL) + plotW*math.Min(1, math.Max(0, f))
	}
	rowTop := padT + 20 + 12*len(t.Notes)
	const rowH = 46
	for i, r := range t.Rows {
		y := float64(rowTop + i*rowH)
		p(`<text x="%d" y="%.1f" text-anchor="end" class="axis">%s</text>`+"\n", padL-8, y+16, esc(r.Name))
		p(`<rect x="%d" y="%.1f" width="%.1f" height="22" fill="#59a14f"/>`+"\n", padL, y, plotW)
		for _, d := range r.Down {
			end := d.To
			if end.IsZero() {
				end = t.To
			}
			x0, x1 := xOf(d.From), xOf(end)
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="22" fill="#e15759"><title>%s</title></rect>`+"\n", x0, y, math.Max(2, x1-x0), esc(d.Label))
			p(`<text x="%.1f" y="%.1f" class="tick">%s</text>`+"\n", x0, y+36, esc(d.Label))
		}
	}
	y0 := rowTop + len(t.Rows)*rowH + 4
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", padL, y0, chartW-padR, y0)
	hours := int(span / time.Hour)
	every := max(1, hours/12)
	for h := 0; h <= hours; h += every {
		at := t.From.Add(time.Duration(h) * time.Hour)
		p(`<text x="%.1f" y="%d" text-anchor="middle" class="tick">%s</text>`+"\n", xOf(at), y0+16, at.Format("Mon 15h"))
	}
	p(`<text x="%d" y="%d" text-anchor="middle" class="axis">simulated time (UTC); green up, red down</text>`+"\n", padL+int(plotW)/2, y0+40)
	p("</svg>\n")
	return bw.Flush()
}

func header(p func(string, ...any), title string, notes []string) {
	p(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="sans-serif">`+"\n", chartW, chartH, chartW, chartH)
	p(`<style>.title{font-size:16px;font-weight:bold}.note{font-size:12px;fill:#555}.tick{font-size:11px;fill:#444}.axis{font-size:12px;fill:#222}</style>` + "\n")
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="24" class="title">%s</text>`+"\n", padL, esc(title))
	for i, n := range notes {
		p(`<text x="%d" y="%d" class="note">%s</text>`+"\n", padL, 40+12*i, esc(n))
	}
}

func legend(p func(string, ...any), row int, color, dash, text string) {
	x, y := chartW-padR-220, padT+4+16*row
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", x, y, x+24, y, color, dash)
	p(`<text x="%d" y="%d" class="tick">%s</text>`+"\n", x+30, y+4, esc(text))
}

func label(labels []string, i int) string {
	if i < len(labels) {
		return labels[i]
	}
	return fmt.Sprint(i)
}

func esc(s string) string { return html.EscapeString(s) }

// niceStep is a 1, 2 or 5 times a power of ten giving about n steps to top.
func niceStep(top float64, n int) float64 {
	if top <= 0 {
		return 1
	}
	raw := top / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func formatTick(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
