package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const examplePath = "../configs/syncd.example.yaml"

// The example must load, and every value it shows for a key with a default must be that
// default, so the documentation cannot drift from the code.
func TestExampleConfigLoads(t *testing.T) {
	cfg, warnings, err := Load(examplePath, envOf(map[string]string{
		EnvBnovoAPIKey:   "example-key",
		EnvProBonusToken: "example-token",
	}))
	if err != nil {
		t.Fatal(err)
	}
	// The example's ProBonus is on a LAN host over plain http, which is allowed but warned about.
	if len(warnings) != 1 || !strings.Contains(warnings[0], "probonus.base_url is plain http") {
		t.Errorf("warnings = %q, want only the plain-http one", warnings)
	}

	want := Default()
	want.Bnovo.BaseURL, want.Bnovo.AccountID, want.Bnovo.APIKey = "https://api.pms.bnovo.ru", 12345, "example-key"
	want.ProBonus.BaseURL, want.ProBonus.AccountGroupID, want.ProBonus.Token = "http://192.168.1.20:6896", 1, "example-token"
	want.Accrual.SourcePercent = map[string]Percent{}
	want.ProBonus.IgnorePhones = []string{}
	want.ProBonus.IgnoreEmails = []string{}
	want.Status.Socket = "/var/lib/syncd/syncd.sock"
	want.Location, err = time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	assertConfigEqual(t, cfg, want)
}

// leafKeys lists the dotted keys of every setting in a config type.
func leafKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	fields := yamlFields(typ)
	for name, index := range fields {
		key := joinKey(prefix, name)
		ft := typ.Field(index).Type
		if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(unmarshalerType) {
			keys = append(keys, leafKeys(ft, key)...)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// documentedKeys maps each dotted key of a YAML document to whether a comment explains it.
func documentedKeys(node *yaml.Node, prefix string, out map[string]bool) {
	if node.Kind == yaml.DocumentNode {
		for _, c := range node.Content {
			documentedKeys(c, prefix, out)
		}
		return
	}
	if node.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		keyNode, value := node.Content[i], node.Content[i+1]
		key := joinKey(prefix, keyNode.Value)
		out[key] = strings.TrimSpace(keyNode.HeadComment+keyNode.LineComment+value.LineComment) != ""
		if prefix == "" && value.Kind == yaml.MappingNode {
			documentedKeys(value, key, out)
		}
	}
}

func TestExampleConfigDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	documentedKeys(&doc, "", documented)

	keys := leafKeys(reflect.TypeFor[Config](), "")
	if len(keys) < 25 {
		t.Fatalf("found only %d keys in Config: %q", len(keys), keys)
	}
	for _, key := range keys {
		has, present := documented[key]
		switch {
		case !present:
			t.Errorf("%s is missing from %s", key, examplePath)
		case !has:
			t.Errorf("%s has no comment in %s", key, examplePath)
		}
	}
}
