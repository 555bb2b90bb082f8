// Package deploy holds vigil's deployment artifacts, not code: kustomize bases, components
// and overlays, the recommended Prometheus alerts, an Alertmanager example and Grafana
// provisioning. Its tests render and check all of them offline; docs/deploy.md explains
// how to use them.
package deploy
