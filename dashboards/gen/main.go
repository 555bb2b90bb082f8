// Command gen writes vigil's Grafana dashboards as JSON: into dashboards/ and into the
// kustomize component that ships them to the Grafana sidecar. Run it from the repository
// root after changing package dashboards:
//
//	go run ./dashboards/gen
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vigilml/vigil/dashboards"
)

func main() {
	// Where the generated JSON goes, relative to the repository root.
	dirs := []string{"dashboards", filepath.Join("deploy", "kustomize", "components", "grafana-dashboards")}
	for _, d := range dashboards.All() {
		b, err := dashboards.JSON(d)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, dir := range dirs {
			p := filepath.Join(dir, d.File)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Println("wrote", p)
		}
	}
}
