package cloudevents

import (
	"fmt"
	"time"

	"github.com/vigilml/vigil/internal/yamlconf"
)

// Defaults of the cloudevents: section, documented in docs/configuration.md.
const (
	DefaultQueueSize  = 10000
	DefaultPairTTL    = 30 * time.Second
	DefaultMaxPending = 100000
)

// Config is the cloudevents: section. Its presence turns POST /api/v1/cloudevents on.
type Config struct {
	// QueueSize bounds the events accepted but not yet processed; past it the endpoint
	// answers 429 and counts the refusal.
	QueueSize int `yaml:"queue_size"`
	// PairTTL is how long a request waits for its response (and a response for its
	// request), by arrival time.
	PairTTL yamlconf.Duration `yaml:"pair_ttl"`
	// MaxPending bounds the events waiting for their partner; past it the oldest is dropped.
	MaxPending int `yaml:"max_pending"`
	// RequireBearerToken makes the endpoint demand ingest.bearer_token, for senders that
	// can set an Authorization header. Off by default: the KServe and Seldon Core 1 payload
	// loggers cannot send one.
	RequireBearerToken bool `yaml:"require_bearer_token"`
	// Models map inference services to vigil models. An inference service without a
	// mapping feeds the vigil model of its own name, with positional columns named 0, 1, ...
	Models []Mapping `yaml:"models"`
}

// Mapping says how one inference service's payloads become vigil predictions.
type Mapping struct {
	// InferenceService is the ce-inferenceservicename of the events (KServe: the
	// InferenceService; Seldon Core 1: the SeldonDeployment).
	InferenceService string `yaml:"inference_service"`
	// Model is the vigil model; default InferenceService.
	Model string `yaml:"model"`
	// Version is the model version of every prediction; default the ce-endpoint attribute
	// (KServe: default or canary; Seldon: the predictor name). An endpoint named canary
	// also sets the role canary.
	Version string `yaml:"version"`
	// Features name positional columns: v1 list instances, Seldon ndarray rows without
	// names, and the columns of a v2 input tensor that has exactly this many.
	Features []string `yaml:"features"`
	// Inputs are the v2 input tensors read as features; default all.
	Inputs []string `yaml:"inputs"`
	// Output is the v2 output tensor with the prediction (one value a row) or class
	// probabilities (wider); default the first.
	Output string `yaml:"output"`
	// Probabilities is a v2 output tensor with class probabilities besides Output.
	Probabilities string `yaml:"probabilities"`
	// Classes name the columns of class probabilities; default "0", "1", ...
	Classes []string `yaml:"classes"`
}

// UnmarshalYAML sets the defaults before the file's values are read.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = Config{QueueSize: DefaultQueueSize, PairTTL: yamlconf.Duration(DefaultPairTTL), MaxPending: DefaultMaxPending}
	type plain Config
	return unmarshal((*plain)(c))
}

// Validate checks the section; at names it in errors ("cloudevents").
func (c *Config) Validate(at string) error {
	switch {
	case c.QueueSize <= 0:
		return yamlconf.FieldErr(at+".queue_size", "must be positive")
	case c.PairTTL <= 0:
		return yamlconf.FieldErr(at+".pair_ttl", "must be positive")
	case c.MaxPending <= 0:
		return yamlconf.FieldErr(at+".max_pending", "must be positive")
	}
	seen := map[string]bool{}
	for i := range c.Models {
		m := &c.Models[i]
		mat := fmt.Sprintf("%s.models[%d]", at, i)
		if m.InferenceService == "" {
			return yamlconf.FieldErr(mat+".inference_service", "is required")
		}
		if seen[m.InferenceService] {
			return yamlconf.FieldErr(mat+".inference_service", "%q is mapped twice", m.InferenceService)
		}
		seen[m.InferenceService] = true
		if m.Model == "" {
			m.Model = m.InferenceService
		}
	}
	return nil
}

// mapping returns the mapping of an inference service.
func (c *Config) mapping(isvc string) *Mapping {
	for i := range c.Models {
		if c.Models[i].InferenceService == isvc {
			return &c.Models[i]
		}
	}
	return &Mapping{InferenceService: isvc, Model: isvc}
}
