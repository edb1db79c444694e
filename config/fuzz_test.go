package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary documents to the config decoder and validation. Neither may panic;
// every problem must say what is wrong and, when tied to the document, a line inside it; every
// problem Validate finds must name its dotted key; and decoding is deterministic (the same
// document gives the same configuration). Seeds: every file of testdata/ and testdata/fuzz.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yml"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "---\n", "bnovo: [1, 2]\n", "a: &x [*x]\n", "bnovo:\n  base_url: !!binary aGk=\n", "{bnovo: {account_id: 1e400}}", "- 1\n- 2\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFileSize {
			return // Load refuses such a file before decoding it
		}
		lines := strings.Count(string(data), "\n") + 1
		cfg := Default()
		keyLines, problems, err := decodeStrict(data, &cfg)
		var invalid *ValidationError
		if errors.As(err, &invalid) {
			problems = append(problems, invalid.Problems...)
		}
		for _, p := range problems {
			if p.Message == "" || p.Line < 0 || p.Line > lines {
				t.Fatalf("problem %+v: want a message and a line of the %d-line document", p, lines)
			}
		}
		for key, line := range keyLines {
			if key == "" || line < 1 || line > lines {
				t.Fatalf("key %q at line %d of a %d-line document", key, line, lines)
			}
		}
		if err != nil || len(problems) > 0 {
			return
		}
		again := Default()
		if _, _, err := decodeStrict(data, &again); err != nil || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("decoding the same document twice differs (%v)", err)
		}
		if err := cfg.Validate(); err != nil {
			if !errors.As(err, &invalid) {
				t.Fatalf("Validate: %v is not a *ValidationError", err)
			}
			for _, p := range invalid.Problems {
				if p.Key == "" || p.Message == "" {
					t.Fatalf("validation problem %+v does not name its key", p)
				}
			}
		}
	})
}
