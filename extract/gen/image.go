package gen

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
)

// ImagePDF writes a PDF whose one A4 page is img and nothing else: no text
// layer, as a scanner makes. The image is stored grey, 8 bits a pixel,
// Flate-compressed.
func ImagePDF(img image.Image) ([]byte, error) {
	r := img.Bounds()
	var pix bytes.Buffer
	z := zlib.NewWriter(&pix)
	row := make([]byte, r.Dx())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			row[x-r.Min.X] = byte((299*cr + 587*cg + 114*cb) / 1000 >> 8)
		}
		if _, err := z.Write(row); err != nil {
			return nil, fmt.Errorf("compress image: %w", err)
		}
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("compress image: %w", err)
	}

	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := []int{0}
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets)-1, body)
	}
	content := fmt.Sprintf("q %d 0 0 %d 0 0 cm /Im1 Do Q\n", pageWidth, pageHeight)
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
		pageWidth, pageHeight))
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content))
	obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream",
		r.Dx(), r.Dy(), pix.Len(), pix.Bytes()))
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(offsets))
	for _, off := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), xref)
	return b.Bytes(), nil
}
