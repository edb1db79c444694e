package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeStrict fills cfg from a YAML document and reports which dotted keys the document sets.
//
// yaml.v3's own errors say "line 3: field base_ulr not found in type config.Bnovo" and stop at
// the first custom-type error, so the document is walked here instead: every unknown key,
// duplicate key and badly typed value is collected with its dotted path and line. A final
// KnownFields(true) decode of the same bytes guards against the walk and the library ever
// disagreeing about what is valid.
//
// The returned map gives the line of every key the document sets, by dotted path. The returned
// problems are what the walk found wrong in the document; cfg holds every value that could be
// read (and the default for those that could not), so Validate can still report the rest of
// the file's mistakes in the same run. err is a document that could not be read at all.
func decodeStrict(data []byte, cfg *Config) (map[string]int, []Problem, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			// An empty file (or one of comments only) means all defaults.
			return map[string]int{}, nil, nil
		}
		return nil, nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("line %d: a second YAML document; the config is one document", extra.Line)
	}

	w := walker{lines: map[string]int{}}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return map[string]int{}, nil, nil
		}
		root = root.Content[0]
	}
	if !isNull(root) && root.Kind != yaml.MappingNode {
		return nil, nil, &ValidationError{Problems: []Problem{{Message: "the config must be a mapping of keys (bnovo:, probonus:, ...)", Line: root.Line}}}
	}
	w.decode(root, reflect.ValueOf(cfg).Elem(), "")
	if len(w.problems) > 0 {
		return w.lines, w.problems, nil
	}

	check := Default()
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&check); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	return w.lines, nil, nil
}

type walker struct {
	problems []Problem
	lines    map[string]int // dotted key → line of the key in the document
}

func (w *walker) fail(key string, node *yaml.Node, format string, args ...any) {
	w.problems = append(w.problems, Problem{Key: key, Message: fmt.Sprintf(format, args...), Line: node.Line})
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func isNull(node *yaml.Node) bool {
	return node.Kind == 0 || (node.Kind == yaml.ScalarNode && node.ShortTag() == "!!null")
}

// decode fills v from node. A null value keeps what v holds (the default) for scalars and
// sections, and empties lists and maps, the way yaml.v3 itself treats null.
func (w *walker) decode(node *yaml.Node, v reflect.Value, path string) {
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	if reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		w.leaf(node, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		w.section(node, v, path)
	case reflect.Map:
		w.mapping(node, v, path)
	case reflect.Slice:
		w.list(node, v, path)
	default:
		w.leaf(node, v, path)
	}
}

// yamlFields maps a struct's YAML keys to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = i
	}
	return fields
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *walker) section(node *yaml.Node, v reflect.Value, path string) {
	if isNull(node) {
		return
	}
	if node.Kind != yaml.MappingNode {
		w.fail(path, node, "must be a mapping of keys, not %s", describe(node))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		keyNode, valueNode := node.Content[i], node.Content[i+1]
		if keyNode.Kind != yaml.ScalarNode {
			w.fail(path, keyNode, "keys must be plain names")
			continue
		}
		key := joinKey(path, keyNode.Value)
		if keyNode.Value == "<<" {
			w.fail(key, keyNode, "merge keys are not supported; write the keys out")
			continue
		}
		if first, dup := seen[keyNode.Value]; dup {
			w.fail(key, keyNode, "duplicate key (first at line %d)", first)
			continue
		}
		seen[keyNode.Value] = keyNode.Line
		index, known := fields[keyNode.Value]
		if !known {
			w.fail(key, keyNode, "unknown key")
			continue
		}
		w.lines[key] = keyNode.Line
		w.decode(valueNode, v.Field(index), key)
	}
}

// mapping fills a map with string keys (accrual.source_percent); its keys are data, so any
// key is accepted. The map is replaced, not merged with the default.
func (w *walker) mapping(node *yaml.Node, v reflect.Value, path string) {
	if isNull(node) {
		v.SetZero()
		return
	}
	if node.Kind != yaml.MappingNode {
		w.fail(path, node, "must be a mapping, not %s", describe(node))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		w.fail(path, node, "unsupported map type %s", v.Type())
		return
	}
	result := reflect.MakeMapWithSize(v.Type(), len(node.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		keyNode, valueNode := node.Content[i], node.Content[i+1]
		if keyNode.Kind != yaml.ScalarNode {
			w.fail(path, keyNode, "keys must be plain text")
			continue
		}
		// Map keys are names from the PMS ("Booking.com", "Островок!"), so they are quoted to
		// keep the dotted path readable.
		key := path + "[" + strconv.Quote(keyNode.Value) + "]"
		if first, dup := seen[keyNode.Value]; dup {
			w.fail(key, keyNode, "duplicate key (first at line %d)", first)
			continue
		}
		seen[keyNode.Value] = keyNode.Line
		w.lines[key] = keyNode.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		w.decode(valueNode, elem, key)
		result.SetMapIndex(reflect.ValueOf(keyNode.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(result)
}

// list fills a slice; an explicit [] gives an empty, non-nil slice so "no exclusions" stays
// distinguishable from "not configured".
func (w *walker) list(node *yaml.Node, v reflect.Value, path string) {
	if isNull(node) {
		v.SetZero()
		return
	}
	if node.Kind != yaml.SequenceNode {
		w.fail(path, node, "must be a list, not %s", describe(node))
		return
	}
	result := reflect.MakeSlice(v.Type(), len(node.Content), len(node.Content))
	for i, item := range node.Content {
		key := fmt.Sprintf("%s[%d]", path, i)
		w.lines[key] = item.Line
		w.decode(item, result.Index(i), key)
	}
	v.Set(result)
}

func (w *walker) leaf(node *yaml.Node, v reflect.Value, path string) {
	if node.Kind == yaml.MappingNode || node.Kind == yaml.SequenceNode {
		w.fail(path, node, "%s, not %s", expectation(v.Type()), describe(node))
		return
	}
	err := node.Decode(v.Addr().Interface())
	if err == nil {
		return
	}
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		w.fail(path, node, "%s, not %s", expectation(v.Type()), describe(node))
		return
	}
	w.fail(path, node, "%s", err)
}

// expectation says in words what a value of type t looks like.
func expectation(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[Percent]():
		return "must be a number like 5 or 7.5"
	case reflect.TypeFor[Duration]():
		return "must be a duration like 30s or 2m"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "must be a whole number"
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	case reflect.Bool:
		return "must be true or false"
	case reflect.String:
		return "must be text"
	default:
		return "has the wrong type"
	}
}

func describe(node *yaml.Node) string {
	switch node.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return strconv.Quote(node.Value)
	}
}
