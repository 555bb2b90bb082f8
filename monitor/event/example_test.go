package event_test

import (
	"fmt"
	"sync"

	"github.com/vigilml/vigil/monitor/event"
)

// An ingest handler keeps decoders in a pool, copies what it keeps from each
// prediction, and reports every rejected record.
func Example() {
	pool := sync.Pool{New: func() any { return event.NewDecoder(event.Limits{}) }}

	body := []byte(`{"model":"fraud","id":"a","features":{"amount":125.5,"country":"DE"},"score":0.83}
{"model":"fraud","id":"b","feautres":{"amount":3}}

{"model":"fraud","id":"c","features":{"amount":1e400}}
`)
	d := pool.Get().(*event.Decoder)
	defer pool.Put(d)
	var kept []event.Prediction
	records, errs, err := d.Predictions(body, event.NDJSON, "", func(_ int, p *event.Prediction) {
		c := *p
		c.Features = append([]event.Feature(nil), p.Features...)
		kept = append(kept, c)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("records:", records, "accepted:", len(kept))
	for _, p := range kept {
		fmt.Println(p.ID, p.Features, p.Score)
	}
	for _, e := range errs {
		fmt.Println(e.Reason, e.Error())
	}
	// Output:
	// records: 3 accepted: 1
	// a [{amount 125.5} {country DE}] 0.83
	// unknown_field record 1: unknown field "feautres"; did you mean "features"?
	// invalid_value record 2: features.amount: number 1e400 overflows float64 (NaN and infinite numbers are not accepted)
}
