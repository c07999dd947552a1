package loadtest

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
)

// Write writes report.json, report.md and the SVG charts into dir.
func Write(dir string, r Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	errs := []error{os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644)}
	files := map[string]func(io.Writer) error{
		"report.md": func(w io.Writer) error { return writeMarkdown(w, r) },
		hourlySVG:   hourlyChart(r).write,
		nodesSVG:    nodesChart(r).write,
		latenessSVG: latenessChart(r).write,
		failoverSVG: failoverChart(r).write,
	}
	for name, write := range files {
		errs = append(errs, writeFile(filepath.Join(dir, name), write))
	}
	return errors.Join(errs...)
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
