// Package notifyutil is what vigil's integrations (alerting/slack, alerting/pagerduty,
// alerting/webhook, alerting/alertmanager) share, so that each keeps only what is its
// own:
//
//   - secrets: the Secret type, ${ENV} expansion and *_file resolution (secret.go);
//   - config: strict decoding with the defaults set, validation errors that name their
//     line, and the Build adapter for alerting.Builders (config.go);
//   - HTTP: client timeouts, a transport that records what the peer answered,
//     Retry-After, and the classification of answers into alerting.Retryable and
//     permanent errors (http.go);
//   - errors that never carry a secret: URL, path, query, tokens, basic auth (redact.go);
//   - message text: the templates' data and functions, and how numbers, durations and
//     labels are shown (text.go).
//
// Its tests' fakes, fixtures and golden files live in the notifytest sub-package.
package notifyutil
