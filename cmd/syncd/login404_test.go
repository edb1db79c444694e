package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// bnovo.base_url pointing at a host that is not Bnovo's API (the hotel's website, a typo'd
// host behind a catch-all proxy) answers 404 to the login. Bnovo answers 404 to a wrong key
// too, so the error named only bnovo.api_key and bnovo.account_id: the operator checked a key
// that was right. It must name bnovo.base_url as well, and still fail at once with exit 1.
func TestLoginNotFoundNamesTheBaseURL(t *testing.T) {
	r := newSimRig(t, rigOptions{bookings: 3})
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<html>Not Found</html>"))
	}))
	defer site.Close()
	cfg, err := os.ReadFile(r.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	r.writeConfig(t, strings.Replace(string(cfg), "base_url: "+r.bn.URL+"\n", "base_url: "+site.URL+"\n", 1), 0o600)
	_, errOut, code := r.run(t, "-once")
	if code != exitFailed || !strings.Contains(errOut, "bnovo.base_url") {
		t.Errorf("-once against a host that 404s everything: exit %d, stderr %q; want %d naming bnovo.base_url", code, errOut, exitFailed)
	}
}
