package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Figure is one headline number of the report.
type Figure struct {
	Name   string  `json:"name"`
	Label  string  `json:"label"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target *string `json:"target"` // a comparison such as ">= 0.85"; null for figures only reported
	Passed *bool   `json:"passed"`
	Detail string  `json:"detail,omitempty"`
}

// NewFigure makes a figure and checks it against target ("" for none).
func NewFigure(name, label string, value float64, unit, target, detail string) Figure {
	f := Figure{Name: name, Label: label, Value: round(value, 4), Unit: unit, Detail: detail}
	if target != "" {
		t := target
		f.Target = &t
		if ok, err := Compare(value, target); err == nil {
			f.Passed = &ok
		}
	}
	return f
}

// Compare checks v against a comparison ">= x", "<= x", "> x" or "< x".
func Compare(v float64, target string) (bool, error) {
	f := strings.Fields(target)
	if len(f) != 2 {
		return false, fmt.Errorf("bad target %q", target)
	}
	x, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return false, fmt.Errorf("bad target %q", target)
	}
	switch f[0] {
	case ">=":
		return v >= x, nil
	case "<=":
		return v <= x, nil
	case ">":
		return v > x, nil
	case "<":
		return v < x, nil
	}
	return false, fmt.Errorf("bad target %q", target)
}

func round(v float64, digits int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// WriteJSON writes the figures, one object each.
func WriteJSON(path string, figs []Figure) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // targets read ">= 0.85", not "\u003e= 0.85"
	enc.SetIndent("", "  ")
	if err := enc.Encode(figs); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// ReadJSON reads figures written by WriteJSON (for the previous run's
// values); a missing file gives none.
func ReadJSON(path string) map[string]Figure {
	out := map[string]Figure{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	var figs []Figure
	if json.Unmarshal(b, &figs) == nil {
		for _, f := range figs {
			out[f.Name] = f
		}
	}
	return out
}

// FormatValue prints a value with its unit.
func FormatValue(v float64, unit string) string {
	var s string
	switch {
	case math.Abs(v) >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	switch unit {
	case "ratio":
		return s + "×"
	case "":
		return s
	}
	return s + " " + unit
}

// ScalePoint is one size of the library in the scaling table.
type ScalePoint struct {
	Documents   int     `json:"documents"` // index documents (passages)
	Records     int     `json:"records"`   // research records they belong to
	IndexStepS  float64 `json:"indexStepSeconds"`
	IndexTotalS float64 `json:"indexTotalSeconds"`
	PortalP50   float64 `json:"portalP50Ms"`
	PortalP99   float64 `json:"portalP99Ms"`
	RawP50      float64 `json:"rawP50Ms"`
	RawP99      float64 `json:"rawP99Ms"`
	Skipped     string  `json:"skipped,omitempty"`
}

// ScalingSVG draws search latency and indexing time against the number of
// documents (logarithmic axis), hand-written SVG with no dependency.
func ScalingSVG(points []ScalePoint) string {
	var pts []ScalePoint
	for _, p := range points {
		if p.Skipped == "" {
			pts = append(pts, p)
		}
	}
	const W, H = 920, 380
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	if len(pts) == 0 {
		b.WriteString(`<text x="20" y="40">no scaling points were measured</text></svg>`)
		return b.String()
	}
	minX, maxX := math.Log10(float64(pts[0].Documents)), math.Log10(float64(pts[len(pts)-1].Documents))
	if maxX-minX < 1e-9 {
		minX, maxX = minX-0.5, maxX+0.5
	}
	type series struct {
		name, color, dash string
		y                 func(ScalePoint) float64
	}
	panel := func(x0 int, title, yLabel string, ss []series) {
		const pw, ph, top = 360, 260, 50
		left := x0 + 60
		maxY := 0.0
		for _, p := range pts {
			for _, s := range ss {
				maxY = max(maxY, s.y(p))
			}
		}
		maxY = niceCeil(maxY)
		fmt.Fprintf(&b, `<text x="%d" y="24" font-size="14" font-weight="bold">%s</text>`+"\n", x0+20, title)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", left, top, pw, ph)
		px := func(d int) float64 {
			return float64(left) + (math.Log10(float64(d))-minX)/(maxX-minX)*pw*0.9 + pw*0.05
		}
		py := func(v float64) float64 { return float64(top+ph) - v/maxY*float64(ph) }
		for i := 0; i <= 5; i++ {
			v := maxY * float64(i) / 5
			y := py(v)
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", left, left+pw, y, y)
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-5, y+4, trimFloat(v))
		}
		for _, p := range pts {
			x := px(p.Documents)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, top+ph+16, humanCount(p.Documents))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">documents in the research index (log scale)</text>`+"\n", left+pw/2, top+ph+34)
		fmt.Fprintf(&b, `<text x="%d" y="%d" transform="rotate(-90 %d %d)" text-anchor="middle">%s</text>`+"\n", x0+14, top+ph/2, x0+14, top+ph/2, yLabel)
		for i, s := range ss {
			var path []string
			for _, p := range pts {
				path = append(path, fmt.Sprintf("%.1f,%.1f", px(p.Documents), py(s.y(p))))
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", strings.Join(path, " "), s.color, s.dash)
			for _, p := range pts {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p.Documents), py(s.y(p)), s.color)
			}
			ly := top + 14 + i*16
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`, left+8, left+28, ly-4, ly-4, s.color, s.dash)
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+32, ly, s.name)
		}
	}
	panel(0, "Member search latency, 1 connection", "milliseconds", []series{
		{"portal p99", "#b2182b", "6 3", func(p ScalePoint) float64 { return p.PortalP99 }},
		{"raw p99", "#2166ac", "6 3", func(p ScalePoint) float64 { return p.RawP99 }},
		{"portal p50", "#b2182b", "", func(p ScalePoint) float64 { return p.PortalP50 }},
		{"raw p50", "#2166ac", "", func(p ScalePoint) float64 { return p.RawP50 }},
	})
	panel(460, "Indexing time (bulk NDJSON, cumulative)", "seconds", []series{
		{"index from empty to N", "#1b7837", "", func(p ScalePoint) float64 { return p.IndexTotalS }},
	})
	b.WriteString("</svg>\n")
	return b.String()
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func humanCount(n int) string {
	switch {
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	case n >= 1000:
		return strconv.FormatFloat(float64(n)/1000, 'f', 1, 64) + "k"
	}
	return strconv.Itoa(n)
}
