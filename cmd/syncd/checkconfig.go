package main

import (
	"fmt"
	"io"
)

// runCheckConfig validates the config file: exit 0 when it is good, 2 naming each bad key.
func runCheckConfig(f flags, stdout io.Writer, getenv func(string) string) error {
	_, warnings, err := loadConfig(f.configPath, getenv)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	fmt.Fprintf(stdout, "%s: ok\n", f.configPath)
	return nil
}
