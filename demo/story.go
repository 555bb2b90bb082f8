package demo

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// The demo's models, as named in config.yaml.tmpl.
const (
	ModelFraud     = "fraud"
	ModelSentiment = "sentiment"
	ModelHouses    = "house-prices"
)

var models = []string{ModelFraud, ModelSentiment, ModelHouses}

// world is what the schedule changes about the traffic.
type world struct {
	// amountFactor multiplies fraud's amount: a drifted feature.
	amountFactor float64
	// brokenSegment is the fraud country whose predictions turn mostly wrong.
	brokenSegment string
	// stalled models send nothing.
	stalled map[string]bool
}

// phase is one step of the story, at a story time.
type phase struct {
	at    time.Duration
	title string
	text  string
	apply func(*world)
}

// storyLength is the story's length at speed 1; the last phase starts before it ends
// so that its alerts have time to resolve.
const storyLength = 180 * time.Second

var schedule = []phase{
	{at: 0, title: "Warm-up: normal traffic",
		text: "fraud (binary, v3 with a v4 canary on 10%), sentiment (multiclass) and house-prices (regression)\n" +
			"send predictions and, soon after, their labels. Each model's first 1,000 predictions become its\n" +
			"reference; drift is measured against it from then on.",
		apply: func(w *world) { w.amountFactor = 1 }},
	{at: 25 * time.Second, title: "Drift: fraud's `amount` feature shifts",
		text: "An upstream service starts sending amounts with tax included (×1.6). Expect FeatureDrift for\n" +
			"model=fraud, feature=amount once the window has enough shifted values.",
		apply: func(w *world) { w.amountFactor = 1.6 }},
	{at: 55 * time.Second, title: "Drift fixed",
		text: "Amounts are back to normal. Once the drifted values have left the 1,000-prediction window,\n" +
			"FeatureDrift resolves.",
		apply: func(w *world) { w.amountFactor = 1 }},
	{at: 80 * time.Second, title: "A segment breaks: fraud's accuracy in country=FR drops",
		text: "A French data feed goes bad; fraud's predictions for FR are now right only half the time.\n" +
			"The whole model still looks fine; expect SegmentAccuracyDrop for segment=\"country=FR\".",
		apply: func(w *world) { w.brokenSegment = "FR" }},
	{at: 110 * time.Second, title: "Segment fixed",
		text: "FR predictions are good again; SegmentAccuracyDrop resolves once accuracy is back above 0.85\n" +
			"(the rule's clear level, so it does not flap).",
		apply: func(w *world) { w.brokenSegment = "" }},
	{at: 135 * time.Second, title: "A source stalls: house-prices stops sending",
		text:  "The house-prices model server hangs. Expect DeadFeed once nothing has arrived for 8 story seconds.",
		apply: func(w *world) { w.stalled[ModelHouses] = true }},
	{at: 160 * time.Second, title: "Source back",
		text:  "house-prices sends again; DeadFeed resolves.",
		apply: func(w *world) { w.stalled[ModelHouses] = false }},
}

var (
	countries = []string{"DE", "FR", "US", "GB"}
	channels  = []string{"web", "app"}
	langs     = []string{"en", "de", "fr"}
	classes   = []string{"negative", "neutral", "positive"}
	cities    = []string{"Berlin", "Paris", "Lyon", "Munich"}
)

type prediction struct {
	Model      string             `json:"model"`
	Version    string             `json:"version"`
	Role       string             `json:"role,omitempty"`
	ID         string             `json:"id"`
	Features   map[string]any     `json:"features"`
	Prediction any                `json:"prediction"`
	Score      *float64           `json:"score,omitempty"`
	Scores     map[string]float64 `json:"scores,omitempty"`
}

type label struct {
	Model string `json:"model"`
	ID    string `json:"id"`
	Label any    `json:"label"`
}

// batch makes n predictions of model and their labels, as NDJSON.
func (g *generator) batch(model string, n int) (preds, labels []byte) {
	var pb, lb bytes.Buffer
	pe, le := json.NewEncoder(&pb), json.NewEncoder(&lb)
	for range n {
		g.seq++
		p, l := g.one(model, "r"+strconv.Itoa(g.seq))
		_ = pe.Encode(p)
		_ = le.Encode(l)
	}
	return pb.Bytes(), lb.Bytes()
}

func (g *generator) one(model, id string) (prediction, label) {
	r := g.rng
	p := prediction{Model: model, Version: "v1", ID: id}
	switch model {
	case ModelFraud:
		country := countries[r.IntN(len(countries))]
		p.Version = "v3"
		accuracy := 0.93
		if r.Float64() < 0.1 {
			p.Version, p.Role, accuracy = "v4", "canary", 0.95
		}
		if country == g.world.brokenSegment {
			accuracy = 0.5
		}
		p.Features = map[string]any{
			"amount":  round(math.Exp(4+0.6*r.NormFloat64())*g.world.amountFactor, 2),
			"age":     round(max(18, 40+12*r.NormFloat64()), 0),
			"country": country,
			"channel": channels[r.IntN(len(channels))],
		}
		y := 0
		if r.Float64() < 0.2 {
			y = 1
		}
		pred := y
		if r.Float64() > accuracy {
			pred = 1 - y
		}
		conf := 0.6 + 0.4*r.Float64()
		score := conf
		if pred == 0 {
			score = 1 - conf
		}
		score = round(score, 4)
		p.Prediction, p.Score = pred, &score
		return p, label{Model: model, ID: id, Label: y}
	case ModelSentiment:
		y := r.IntN(len(classes))
		pred := y
		if r.Float64() > 0.88 {
			pred = (y + 1 + r.IntN(len(classes)-1)) % len(classes)
		}
		scores := map[string]float64{}
		top := round(0.5+0.4*r.Float64(), 4)
		for i, c := range classes {
			if i == pred {
				scores[c] = top
				continue
			}
			scores[c] = round((1-top)/2, 4)
		}
		p.Features = map[string]any{"length": round(math.Max(1, 80+30*r.NormFloat64()), 0), "lang": langs[r.IntN(len(langs))]}
		p.Prediction, p.Scores = classes[pred], scores
		return p, label{Model: model, ID: id, Label: classes[y]}
	default:
		sqft := round(math.Max(300, 1400+400*r.NormFloat64()), 0)
		rooms := math.Max(1, math.Round(sqft/450))
		price := 50000 + 210*sqft + 8000*rooms
		truth := round(price*(1+0.08*r.NormFloat64()), 0)
		p.Features = map[string]any{"sqft": sqft, "rooms": rooms, "city": cities[r.IntN(len(cities))]}
		p.Prediction = round(price, 0)
		return p, label{Model: model, ID: id, Label: truth}
	}
}

func round(v float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(v*f) / f
}
